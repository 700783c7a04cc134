"""Building kits: the one entry point, :func:`build_kit`, and the checks it makes first.

Steps, each cached in ``<cache>/kits`` and skipped when present:

- ``<arch>-musl<ver>`` (loader-only kit, :mod:`.musl`): musl's loader, ``libc.so``, startup
  files and headers, plus the kernel's headers from zig;
- ``cpython/<arch>-py<X.Y>`` and ``<arch>-musl<ver>-py<X.Y>`` (:mod:`.cpython`);
- the kits' directories, times and locks are :mod:`.store`'s.

Build trees live in a temporary directory outside the cache and are removed afterwards.
The arch arrives here as a name (the CLI's ``--arch``) and becomes an :class:`~muslwheel.arch.Arch`
once, in :func:`build_kit`; everything below takes the :class:`~muslwheel.arch.Arch`.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from ..arch import Arch, get_arch
from ..hostpython import HostPythonError, find_build_python
from ..progress import Progress, Steps
from ..versions import CPython
from . import Kit, KitError, read_kit
from .cpython import (
    CPYTHON_SOURCES,
    FREE_THREADED,
    build_cpython_tree,
    build_host_python,
    build_python_kit,
    cpython_tarball,
    kit_pythons,
)
from .musl import DEBIAN_BINARY_MUSL, NEWEST_MUSL, base_musl, build_musl_kit, musl_from_debian_packages
from .store import (
    KIT_ESTIMATE,
    MUSL_RECIPES,
    RECIPE,
    StderrProgress,
    _stderr,
    cpython_tree_dir,
    current,
    kit_directory,
    kit_meta,
)
from .store import kit_steps as _Steps

__all__ = [
    "CPYTHON_SOURCES",
    "DEBIAN_BINARY_MUSL",
    "FREE_THREADED",
    "KIT_ESTIMATE",
    "NEWEST_MUSL",
    "RECIPE",
    "StderrProgress",
    "build_cpython_tree",
    "build_host_python",
    "build_kit",
    "build_musl_kit",
    "build_python_kit",
    "check_source_tarball",
    "kit_pythons",
]


def build_kit(
    arch: str | Arch,
    musl: str,
    python: CPython | None = None,
    *,
    musl_source: Path | None = None,
    cpython_source: Path | None = None,
    jobs: int = 2,
    progress: Progress = _stderr,
    bare: bool = False,
) -> Kit:
    """Build the kit (arch, musl, python) and what it needs, unless present; return it. A CPython
    kit is Alpine-like (its system libraries in ``usr/lib``, built by :mod:`muslwheel.libs`)
    unless *bare* (``kit build --bare``: none, for CI speed)."""
    a = arch if isinstance(arch, Arch) else get_arch(arch)
    if not re.fullmatch(r"1\.[0-9]+\.[0-9]+", musl):
        raise KitError(f"--musl {musl!r}: give a musl release such as 1.2.3 or {NEWEST_MUSL}")
    build = _kit_python(python) if python is not None else None
    if bare and build is None:
        raise KitError("--bare goes with --python X.Y (a loader-only kit has no system libraries either way)")
    if cpython_source is not None and build is None:
        raise KitError("--cpython-source goes with --python X.Y")
    if musl_source is not None:
        check_source_tarball(musl_source, "musl", musl)
    if cpython_source is not None and build is not None:
        check_source_tarball(cpython_source, "cpython", build.version)
    # a kit already built from another source is not silently kept as if built from this one
    if musl_source is not None:
        _refuse_other_source(kit_directory(a, musl, None), "musl_source", musl_source, MUSL_RECIPES)
    if cpython_source is not None and build is not None:
        _refuse_other_source(kit_directory(a, musl, build, bare), "cpython_source", cpython_source)
    # the source first: a minor Debian serves no tarball of fails in one line, before any build
    if build is not None and cpython_source is None and not _cpython_built(a, musl, build, bare):
        cpython_tarball(build.version, None)
    steps: Steps = _Steps(progress, _plan(a, musl, build, musl_source, bare))
    musl_kit = build_musl_kit(a, musl, musl_source=musl_source, jobs=jobs, steps=steps)
    if build is None:
        return musl_kit
    return build_python_kit(musl_kit, build, cpython_source=cpython_source, jobs=jobs, steps=steps, bare=bare)


def _kit_python(python: CPython) -> CPython:
    """*python* when kits can have that build, else :class:`KitError`."""
    if python not in kit_pythons():
        raise KitError(f"--python {python}: kits have CPython {', '.join(map(str, kit_pythons()))}")
    return python


def _cpython_built(arch: Arch, musl: str, python: CPython, bare: bool) -> bool:
    """Whether the kit, or the CPython tree it would be made of, is built already."""
    return current(kit_directory(arch, musl, python, bare)) or current(
        cpython_tree_dir(arch, python, base_musl(arch, musl), bare)
    )


def _refuse_other_source(directory: Path, key: str, given: Path, recipes: tuple[int, ...] = (RECIPE,)) -> None:
    """:class:`KitError` when the kit in *directory* is built (of one of *recipes*: a loader-only
    kit's are :data:`~muslwheel.kits.MUSL_RECIPES`), but not from the tarball *given* (its
    ``kit.json`` names the source it was built from under *key*)."""
    if not current(directory, recipes):
        return
    recorded = kit_meta(read_kit(directory), key)
    if recorded != given.name:
        raise KitError(
            f"kit {directory.name} is already built from {recorded or 'another source'}, not {given.name}: "
            f"remove {directory} to build it from {given}"
        )


#: what identifies a source tree: (file whose text names the version, pattern of the version)
_LANDMARKS = {
    "musl": ("VERSION", re.compile(r"^([0-9][^\s]*)")),
    "cpython": ("Include/patchlevel.h", re.compile(r'#define PY_VERSION\s+"([^"]+)"', re.M)),
}


def check_source_tarball(path: Path, what: str, version: str) -> str:
    """The version of the *what* (``musl`` or ``cpython``) source tree in tarball *path*, checked
    against *version* (musl: equal; CPython: same minor) before anything is built or written;
    :class:`KitError` naming the file otherwise."""
    import tarfile

    label = {"musl": "musl", "cpython": "CPython"}[what]
    if not path.is_file():
        raise KitError(f"{path}: no such source tarball")
    landmark, pattern = _LANDMARKS[what]
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                parts = member.name.split("/", 1)
                if len(parts) == 2 and parts[1] == landmark and member.isfile():
                    f = tar.extractfile(member)
                    text = f.read(65536).decode("utf-8", "replace") if f else ""
                    break
            else:
                raise KitError(f"{path}: not {label}'s source (no {landmark} in it)")
    except tarfile.ReadError:
        raise KitError(f"{path}: not a tarball (tar, gzip, bzip2 or xz)") from None
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:
        raise KitError(f"{path}: not a readable source tarball ({' '.join(str(e).split())})") from None
    m = pattern.search(text)
    found = m.group(1) if m else "an unknown version"
    ok = found == version if what == "musl" else found.startswith(version + ".") or found == version
    if not ok:
        raise KitError(f"{path}: {label} {found}'s source, not {label} {version}")
    return found


def _plan(arch: Arch, musl: str, python: CPython | None, musl_source: Path | None, bare: bool = False) -> list[str]:
    """The kinds of step building this kit still needs, for the estimate."""
    plan = []
    if not current(kit_directory(arch, musl, None), MUSL_RECIPES):
        plan.append("musl-deb" if musl_from_debian_packages(arch, musl, musl_source) else "musl-src")
    if python is None or current(kit_directory(arch, musl, python, bare)):
        return plan
    base = base_musl(arch, musl)
    if base != musl and not current(kit_directory(arch, base, None), MUSL_RECIPES):
        plan.append("musl-deb")
    if not current(cpython_tree_dir(arch, python, base, bare)):
        cpython = ["cpython-bare"] if bare else ["system-libs", "cpython"]
        with contextlib.suppress(HostPythonError):
            find_build_python(python.version)
            return [*plan, *cpython]
        plan += ["build-python", *cpython]
    return plan
