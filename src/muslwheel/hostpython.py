"""The host CPython that runs builds and cross-builds for a target of one CPython minor.

One search order, for kits (``--with-build-python`` of a kit's CPython) and for ``muslwheel
build`` (the build environment of a ``--kit`` or a ``--cpython`` target alike), so two targets of
one minor always get the same host Python:

1. the one the kits built from Debian's CPython source (``<cache>/kits/build-python/X.Y``, see
   :func:`muslwheel.kits.cpython.build_host_python`): the same source as the kits' CPythons;
2. ``pythonX.Y`` on ``PATH``, if it runs (a pyenv shim of a version not selected does not);
3. the interpreter running muslwheel, if it is that minor.

A free-threaded target (``"3.13t"``) gets the default build of its minor: CPython's configure
checks only that ``--with-build-python`` is the same minor (configure.ac: ``build_python_ver``
against ``PACKAGE_VERSION``), and the build Python runs with the target's ``_sysconfigdata``
(``_PYTHON_SYSCONFIGDATA_NAME``), whose ``Py_GIL_DISABLED``, ``SOABI`` and ``EXT_SUFFIX`` make
what it builds and tags free-threaded (a cp313t wheel's tag is ``packaging``'s answer for that
sysconfig). So one host Python serves both builds of a minor.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .cache import kits_dir
from .errors import MuslwheelError


class HostPythonError(MuslwheelError):
    """No host CPython of the minor asked for."""


def host_minor(python: str) -> str:
    """The minor whose host CPython builds for *python*: ``"3.13t"`` -> ``"3.13"``."""
    return python[:-1] if python.endswith("t") else python


def built_host_python_dir(minor: str) -> Path:
    """Where the kits keep the host CPython *minor* they built: ``<kits>/build-python/X.Y``."""
    return kits_dir() / "build-python" / host_minor(minor)


def find_build_python(minor: str) -> Path:
    """A host CPython *minor* (``"3.11"``; ``"3.13t"`` is served by ``3.13``), in the module's
    search order; :class:`HostPythonError` if there is none."""
    minor = host_minor(minor)
    built = built_host_python_dir(minor) / "bin" / f"python{minor}"
    if built.exists():
        return built
    found = shutil.which(f"python{minor}")
    if found and _runs(found):
        return Path(found)
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == minor:
        return Path(sys.executable)
    raise HostPythonError(
        f"no host CPython {minor} to build with (pythonX.Y on PATH, or "
        f"`muslwheel kit build --arch ARCH --musl VERSION --python {minor}` builds one from Debian's source)"
    )


def _runs(executable: str) -> bool:
    try:
        return subprocess.run([executable, "-c", ""], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
