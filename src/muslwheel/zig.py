"""zig, the C compiler of every musl target: where it is, its cache, and its wrapper scripts.

**Where zig is** (:func:`zig_executable`), in this order: the ``ziglang`` wheel's ``zig``
(``pip install 'muslwheel[build]'``, the version the project is tested with), else ``zig`` on
``PATH``. The path is resolved (a ``zig`` on PATH is often a symlink), so ``<zig>/../lib`` is
zig's own library (compiler_rt, the kernel headers a kit copies).

**Its cache** (:func:`zig_cache_dir`): ``$ZIG_GLOBAL_CACHE_DIR`` if the user set it, else
``<cache>/zig``, given to every zig run through
``ZIG_GLOBAL_CACHE_DIR`` (:func:`zig_environment`), so that kits and builds share it and
nothing lands in ``~/.cache/zig``.

**The wrappers** (:func:`write_wrappers`): build systems want one program per tool, so each
target gets small shell scripts ``cc``, ``c++``, ``ar``, ``ranlib``, ``objcopy`` and ``readelf``.
One flag policy for all of them:

- every script exports ``ZIG_GLOBAL_CACHE_DIR``, and either exports ``ZIG_LIBC`` (a zig libc
  file naming the target's own musl headers and startup files, so zig compiles and links
  against that musl rather than its bundled stand-in) or unsets it (never one inherited);
- ``cc``/``c++`` always pass ``-target <zig target>`` and then the caller's *flags*;
- the flags of a **wheel** build are :func:`wheel_flags`: ``-fPIC``, ``-fno-sanitize=undefined``
  (zig's default debug mode links the UBSan runtime into every object; a gcc-built wheel has
  none, and i386 PIC cannot take it), ``-dynamic`` (zig links executables statically unless
  told, and configure/CMake probe the compiler by linking one against a kit's ``libc.so``) and
  ``-ffile-prefix-map`` (the work directory's random path never reaches a binary);
- a **kit** build (musl itself, CPython) passes no extra flags: those recipes give theirs in
  ``CFLAGS``/``LDFLAGS`` (musl is linked with ``-rtlib=none`` and must not get ``-dynamic``).
- ``readelf`` is binutils' (it reads every arch); the rest are zig's.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .cache import cache_dir
from .errors import MuslwheelError

#: the constant every work directory path becomes inside binaries (``-ffile-prefix-map``)
BUILD_PATH = "/muslwheel-build"


class ZigError(MuslwheelError):
    """No zig to compile with."""


def zig_executable() -> Path:
    """The zig compiler: the ``ziglang`` wheel's, else ``zig`` on PATH (resolved)."""
    spec = importlib.util.find_spec("ziglang")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "zig"
            if candidate.is_file():
                return candidate
    found = shutil.which("zig")
    if found:
        return Path(found).resolve()
    raise ZigError(
        "no zig to compile with: pip install 'muslwheel[build]' (the ziglang wheel, 'ziglang>=0.15.1,<0.16') "
        "or put zig on PATH"
    )


def zig_lib_dir() -> Path:
    """zig's own library directory (``compiler_rt.zig``, ``libc/include/…``)."""
    return zig_executable().parent / "lib"


def zig_cache_dir() -> Path:
    """zig's cache, shared by kits and builds: ``$ZIG_GLOBAL_CACHE_DIR`` if set, else ``<cache>/zig``."""
    env = os.environ.get("ZIG_GLOBAL_CACHE_DIR")
    return Path(env) if env else cache_dir() / "zig"


def zig_environment() -> dict[str, str]:
    """What every zig run gets in its environment."""
    return {"ZIG_GLOBAL_CACHE_DIR": str(zig_cache_dir())}


def wheel_flags(work: Path) -> list[str]:
    """The compiler flags of a wheel build in *work* (see the module's flag policy)."""
    return ["-fPIC", "-fno-sanitize=undefined", "-dynamic", f"-ffile-prefix-map={work}={BUILD_PATH}"]


@dataclass(frozen=True)
class Wrappers:
    """The wrapper scripts of one target, all in one directory."""

    bindir: Path

    @property
    def cc(self) -> Path:
        return self.bindir / "cc"

    @property
    def cxx(self) -> Path:
        return self.bindir / "c++"

    @property
    def ar(self) -> Path:
        return self.bindir / "ar"

    @property
    def ranlib(self) -> Path:
        return self.bindir / "ranlib"

    @property
    def readelf(self) -> Path:
        return self.bindir / "readelf"

    def make_vars(self) -> dict[str, str]:
        """``CC``, ``CXX``, ``AR``, ``RANLIB`` naming the scripts."""
        return {"CC": str(self.cc), "CXX": str(self.cxx), "AR": str(self.ar), "RANLIB": str(self.ranlib)}


def _script(path: Path, lines: list[str]) -> None:
    path.write_text("#!/bin/sh\n" + "\n".join(lines) + "\n")
    path.chmod(0o755)


def write_wrappers(bindir: Path, zig_target: str, *, libc_file: Path | None, flags: Sequence[str] = ()) -> Wrappers:
    """Write the wrapper scripts for zig targeting *zig_target* into *bindir* (created)."""
    zig = shlex.quote(str(zig_executable()))
    bindir.mkdir(parents=True, exist_ok=True)
    env = [f"export {k}={shlex.quote(v)}" for k, v in zig_environment().items()]
    env.append(f"export ZIG_LIBC={shlex.quote(str(libc_file))}" if libc_file else "unset ZIG_LIBC")
    cflags = " ".join(shlex.quote(f) for f in ["-target", zig_target, *flags])
    readelf = shlex.quote(shutil.which("readelf") or "readelf")
    bodies = {
        "cc": f'exec {zig} cc {cflags} "$@"',
        "c++": f'exec {zig} c++ {cflags} "$@"',
        "ar": f'exec {zig} ar "$@"',
        "ranlib": f'exec {zig} ranlib "$@"',
        "objcopy": f'exec {zig} objcopy "$@"',
        "readelf": f'exec {readelf} "$@"',
    }
    for name, body in bodies.items():
        _script(bindir / name, [*env, body])
    return Wrappers(bindir)
