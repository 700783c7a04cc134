"""numpy's C headers for the target: a cross build never compiles against the host's of another size.

pip installs the *host's* numpy into the build venv (it must import there: build scripts call
``numpy.get_include()``), and numpy's ``_numpyconfig.h`` bakes in the sizes of the machine it
was built for (``NPY_SIZEOF_PY_INTPTR_T``, ``NPY_SIZEOF_LONG``, ``NPY_SIZEOF_LONGDOUBLE``). On a
64-bit host every 64-bit Linux target has the same sizes, so the host's headers serve; an
extension compiled against them for a 32-bit target (i686, armv7l, armv6l) would lay out
``npy_intp`` as 8 bytes where the target's numpy uses 4, silently.

So for such a target the build takes numpy's headers from a numpy wheel *of the target*, found in
``--find-links`` (``muslwheel build numpy-X.tar.gz --arch armv7l`` makes one: numpy's meson runs
its ``long double`` check with the kit's loader, :mod:`muslwheel.builder.toolchain`'s
``run-target``). The target's own venv (an overlay of the cached build venv) gets a copy of the
host's numpy package, hard-linked, whose ``_core/include`` and ``_core/lib`` (``npymath``,
``numpy.pc``) are the target wheel's: ``import numpy`` still runs on the host, and every path
numpy hands a build (``get_include()``, ``numpy-config``, pkg-config) leads to the target's
headers. numpy's sized names for ``long double`` (``float128``/``complex256`` where it is 16 bytes,
``float96``/``complex192`` where 12) are the one Python-level answer that differs by machine, and
build scripts ask it (h5py's ``hasattr(numpy, 'complex256')`` decides whether its generated C uses
``npy_complex256``): the copy's ``__init__`` drops the host's names the target lacks. The cached
venv is never touched. Without such a wheel the build is refused before the
backend runs, in one line that says how to get one. The same wheel then serves the import proof
(``--find-links`` is where its dependencies come from), so the extension runs against the numpy
it was compiled for.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import WheelError
from ..tags import PlatformTarget, tags_for_target
from ..versions import MuslVersion
from ..wheelfile import check_member_name, parse_wheel_name
from .pep517 import BuildEnv
from .target import BuildError, Target

__all__ = ["numpy_headers_for_target", "target_numpy_wheel"]

#: what of a numpy wheel is the target's own C interface: headers, ``npymath``, ``numpy.pc``
_C_PARTS = ("numpy/_core/include/", "numpy/_core/lib/")

#: numpy's scalar names for ``long double``, by its size in bytes (none where it is a double's 8)
_LONG_DOUBLE_NAMES = {16: ("float128", "complex256"), 12: ("float96", "complex192")}


def numpy_headers_for_target(env: BuildEnv, target: Target, find_links: Sequence[Path] = ()) -> str | None:
    """Make numpy's C headers in *env* (the target's overlay venv) the target's when the host's
    are of another pointer size (see the module); a note saying which wheel gave them, or None
    when nothing was changed (no numpy, or the host's sizes are the target's). BuildError, one
    line, when the target needs its own numpy and *find_links* has none."""
    size = env.numpy_pointer_size()
    want = 4 if target.arch.is_32bit else 8
    if size is None or size == want:
        return None
    host_version = env.numpy_version()
    wheel = target_numpy_wheel(find_links, target, prefer=host_version)
    if wheel is None:
        raise BuildError(
            f"numpy's C headers in the build environment are the host's (npy_intp of {size} bytes; "
            f"{target.arch.name}'s is {want}): an extension compiled against them would be wrong for "
            f"{target.arch.name}; give a numpy wheel of the target with --find-links DIR "
            f"(`muslwheel build numpy-X.tar.gz --arch {target.arch.name}` makes one)"
        )
    _shadow_numpy(env, wheel)
    got = env.numpy_pointer_size()
    if got != want:
        raise BuildError(
            f"{wheel.name}: its numpy headers say npy_intp is {got} bytes, not {target.arch.name}'s {want}"
        )
    return f"numpy's C headers from {wheel.name} (the host's numpy {host_version or '?'} runs the build)"


def target_numpy_wheel(find_links: Sequence[Path], target: Target, *, prefer: str | None = None) -> Path | None:
    """The numpy wheel in *find_links* that *target*'s CPython installs: the one of version
    *prefer* (the host's numpy in the build venv) when there is one, else the newest; None if none."""
    musl = target.musl or MuslVersion(1, 2, 99)  # an installed CPython of unknown musl: any 1.x wheel
    accepted = set(tags_for_target(PlatformTarget(musl, target.arch.name).platform_tags(), target.python))
    found: list[tuple[bool, tuple[int, ...], str, Path]] = []
    for directory in find_links:
        for path in sorted(Path(directory).glob("numpy-*.whl")):
            try:
                name = parse_wheel_name(path.name)
            except WheelError:
                continue
            if name.distribution.lower() != "numpy" or not (name.tags & accepted):
                continue
            numbers = tuple(int(n) for n in re.findall(r"\d+", name.version)[:3])
            found.append((name.version == prefer, numbers, path.name, path))
    return max(found)[3] if found else None


def _shadow_numpy(env: BuildEnv, wheel: Path) -> None:
    """Copy the host's numpy package (and its ``numpy.libs``) into *env*'s own site-packages,
    hard-linked, and put *wheel*'s C parts in place of the host's there."""
    own = env.site_packages()
    source = next((s for s in env.sites() if (s / "numpy").is_dir()), None)
    if source is None:
        raise BuildError("numpy is not in the build environment")
    host_long_double = env.numpy_config("NPY_SIZEOF_LONGDOUBLE")
    if source != own:
        for part in ("numpy", "numpy.libs"):
            if (source / part).is_dir():
                shutil.copytree(source / part, own / part, copy_function=_link_or_copy, dirs_exist_ok=True)
    for part in _C_PARTS:
        shutil.rmtree(own / part, ignore_errors=True)
    try:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if info.is_dir() or not info.filename.startswith(_C_PARTS):
                    continue
                check_member_name(info.filename)
                out = own / info.filename
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except (zipfile.BadZipFile, OSError, WheelError) as exc:
        raise BuildError(f"{wheel.name}: cannot take numpy's headers from it ({exc})") from None
    target_long_double = env.numpy_config("NPY_SIZEOF_LONGDOUBLE")
    if host_long_double and host_long_double != target_long_double:
        _drop_names(own / "numpy" / "__init__.py", _LONG_DOUBLE_NAMES.get(host_long_double, ()))


def _drop_names(init: Path, names: Sequence[str]) -> None:
    """Append to the copy's ``numpy/__init__.py`` (a new file: the old one is a hard link into
    the cached venv) the removal of *names*, so that ``hasattr(numpy, name)`` answers False."""
    if not names or not init.is_file():
        return
    text = init.read_text()
    init.unlink()
    init.write_text(
        text + "\n# muslwheel: the target's long double has another size; its numpy has none of these names\n"
        f"for _mw_name in {tuple(names)!r}:\n"
        "    globals().pop(_mw_name, None)\n"
        "    if isinstance(globals().get('__all__'), list) and _mw_name in __all__:\n"
        "        __all__.remove(_mw_name)\n"
        "del _mw_name\n"
    )


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst
