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
- ``cc``/``c++`` always pass ``-target <zig target>``, then the arch's ``-mcpu=`` when its zig
  target alone means a newer CPU (:func:`target_args`: armv6l's ``arm-linux-musleabihf`` is
  ARMv7-A with NEON to zig, so ``-mcpu=arm1176jzf_s``, the Raspberry Pi Zero's and 1's ARMv6
  CPU; an ARMv7 instruction in a wheel would stop it with SIGILL), then the caller's *flags*;
- the flags of a **wheel** build are :func:`wheel_flags`: ``-fPIC``, ``-fno-sanitize=undefined``
  (zig's default debug mode links the UBSan runtime into every object; a gcc-built wheel has
  none, and i386 PIC cannot take it), ``-dynamic`` (zig links executables statically unless
  told, and configure/CMake probe the compiler by linking one against a kit's ``libc.so``) and
  ``-ffile-prefix-map`` (the work directory's random path never reaches a binary);
- a **kit** build (musl itself, CPython) passes no extra flags: those recipes give theirs in
  ``CFLAGS``/``LDFLAGS`` (musl is linked with ``-rtlib=none`` and must not get ``-dynamic``).
- ``readelf`` is binutils' (it reads every arch); the rest are zig's; ``ar`` makes a full
  archive where a thin one is asked (:data:`_THIN_AR`: zig's linker reads no thin archive);
- with *guard* (wheel builds and :mod:`muslwheel.libs`' builds), ``cc``/``c++`` refuse a flag
  that names a host system directory (``-I/usr/include/libxml2``, ``-L/usr/lib/x86_64-linux-gnu``,
  :data:`HOST_DIRS`): the host's headers and libraries describe glibc builds of another arch, and
  a project whose probe found them would otherwise compile against the wrong library, or
  silently link it. The script prints one line (:data:`GUARD_MARK`, the flag, and who added it:
  ``$CFLAGS``/``$CPPFLAGS``/``$LDFLAGS`` when the flag is in one, else the build system or a
  ``*-config`` script it ran) and exits 1; :func:`host_leak` finds that line in a build log.

**Cross files** (:func:`write_cmake_toolchain`, :func:`write_meson_cross_file`): one writer of
each for every build that needs one (``build``'s targets, :mod:`muslwheel.libs`' recipes),
from :data:`muslwheel.arch.ARCHES`' CMake and meson names; given a program that runs a target
binary here (``build``'s ``tools/run-target``: the kit's musl loader, under qemu for another
arch, or this host's for an installed musl CPython), meson's ``exe_wrapper`` and CMake's ``CMAKE_CROSSCOMPILING_EMULATOR`` name it, so a
project's run checks (numpy's ``long double`` layout, ``try_run``) get the target's answer.

**Rust's linker** (:func:`write_rust_linker`): rustc calls its linker as it would call gcc for a
musl target; a script ``rust-cc`` rewrites those arguments by cargo-zigbuild's rules
(rust-cross/cargo-zigbuild ``src/zig.rs``, ``filter_linker_arg``; :func:`rust_linker_args`) and
hands them to the target's ``cc`` above, so a Rust extension is linked with the same flags and
the same musl as a C one: ``-lgcc_s`` becomes zig's static ``-lunwind`` (a wheel carries no
libgcc_s), rustc's self-contained ``crt*.o`` and ``-lc`` are dropped (zig links the target's
musl itself; twice would duplicate symbols), as are ``-Wl,-melf_i386``, ``--target=…``,
``-Wl,--no-undefined-version`` and ``-march=`` on arm and i686 (zig rejects them); on arm
rustc's ``compiler_builtins`` goes (zig's compiler_rt has the same symbols). Long command lines
come as an ``@…linker-arguments`` file, rewritten in place by the same rules.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .arch import Arch
from .cache import cache_dir
from .errors import MuslwheelError

#: the constant every work directory path becomes inside binaries (``-ffile-prefix-map``)
BUILD_PATH = "/muslwheel-build"
#: the host's system directories a target's compiler or linker flag must never name (glob
#: patterns of the shell's ``case``): headers and libraries of the host's own libc and arch
HOST_DIRS = (
    "/usr/include",
    "/usr/include/*",
    "/usr/local/include",
    "/usr/local/include/*",
    "/usr/lib",
    "/usr/lib/*",
    "/usr/lib64",
    "/usr/lib64/*",
    "/usr/local/lib",
    "/usr/local/lib/*",
    "/lib",
    "/lib/*",
    "/lib64",
    "/lib64/*",
)
#: the start of the guard's one line (:func:`host_leak` finds it in a log)
GUARD_MARK = "muslwheel: host path in a target build:"


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


def target_args(arch: Arch) -> list[str]:
    """zig's target arguments for *arch*: ``-target <zig target>`` and, when the arch names one,
    ``-mcpu=<cpu>`` (``zig cc``, ``zig c++`` and ``zig build-obj`` take both)."""
    return ["-target", arch.zig_target, *([f"-mcpu={arch.zig_cpu}"] if arch.zig_cpu else [])]


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


def _guard_lines() -> list[str]:
    """The shell lines of the host-path guard (see the module): every argument, and the
    separate argument after ``-I``/``-L``/``-isystem``…, checked against :data:`HOST_DIRS`."""
    dirs = "|".join(HOST_DIRS)
    return [
        "_mw_next=",
        'for _mw_a in "$@"; do',
        '  _mw_p=""',
        '  case $_mw_next in 1) _mw_p=$_mw_a; _mw_f="$_mw_flag $_mw_a" ;; esac',
        "  _mw_next=",
        "  case $_mw_a in",
        "    -I|-L|-isystem|-idirafter|-iquote|-F) _mw_next=1; _mw_flag=$_mw_a ;;",
        "    -I*|-L*) _mw_p=${_mw_a#-?}; _mw_f=$_mw_a ;;",
        "    -isystem*) _mw_p=${_mw_a#-isystem}; _mw_f=$_mw_a ;;",
        "    -idirafter*) _mw_p=${_mw_a#-idirafter}; _mw_f=$_mw_a ;;",
        "    -Wl,-L*) _mw_p=${_mw_a#-Wl,-L}; _mw_f=$_mw_a ;;",
        "  esac",
        f"  case $_mw_p in {dirs})",
        '    _mw_who="the build system (its probe or a *-config script it ran)"',
        "    for _mw_v in CFLAGS CPPFLAGS CXXFLAGS LDFLAGS; do",
        '      eval "_mw_val=\\${$_mw_v:-}"',
        '      case " $_mw_val " in *" $_mw_f "*) _mw_who="\\$$_mw_v"; break ;; esac',
        "    done",
        f'    echo "{GUARD_MARK} $_mw_f (added by $_mw_who): the host headers and libraries are not the target ones" >&2',
        "    exit 1 ;;",
        "  esac",
        "done",
    ]


def host_leak(log_text: str) -> str | None:
    """The guard's line in a build log (the first), without the marker; None if it is not there."""
    for line in log_text.splitlines():
        at = line.find(GUARD_MARK)
        if at >= 0:
            return line[at + len(GUARD_MARK) :].strip()
    return None


#: ``ar``'s operation without ``T``: meson archives a project's internal static libraries thin
#: (``ar csrDT``: members by path), and zig's linker reads no thin archive ("unexpected token in LD
#: script: '!<thin>'", numpy's ``lib_umath_tests_mtargets.a``); a full archive links the same
_THIN_AR = [
    'case ${1:-} in -*|"") ;; *T*) _mw_op=$(printf %s "$1" | tr -d T); shift; set -- "$_mw_op" "$@" ;; esac',
]


def write_wrappers(
    bindir: Path, target: Arch | str, *, libc_file: Path | None, flags: Sequence[str] = (), guard: bool = False
) -> Wrappers:
    """Write the wrapper scripts for zig targeting *target* (an arch: its :func:`target_args`; or
    a bare zig target) into *bindir* (created); with *guard*, ``cc`` and ``c++`` refuse host
    system paths (see the module)."""
    zig = shlex.quote(str(zig_executable()))
    bindir.mkdir(parents=True, exist_ok=True)
    env = [f"export {k}={shlex.quote(v)}" for k, v in zig_environment().items()]
    env.append(f"export ZIG_LIBC={shlex.quote(str(libc_file))}" if libc_file else "unset ZIG_LIBC")
    targeting = target_args(target) if isinstance(target, Arch) else ["-target", target]
    cflags = " ".join(shlex.quote(f) for f in [*targeting, *flags])
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
        checks = _guard_lines() if guard and name in ("cc", "c++") else _THIN_AR if name == "ar" else []
        _script(bindir / name, [*env, *checks, body])
    return Wrappers(bindir)


def cmake_path(p: Path | str) -> str:
    return str(p).replace("\\", "/").replace('"', '\\"')


def write_cmake_toolchain(
    path: Path,
    arch: Arch,
    tools: Wrappers,
    *,
    roots: Sequence[Path],
    prefix_path: Sequence[Path],
    extra: Sequence[str] = (),
    title: str = "",
    emulator: Path | None = None,
) -> Path:
    """A CMake toolchain file for *arch* with *tools*: libraries, headers and packages are
    found only under *roots* (the target's prefixes and root; never the host's), programs on
    the host; *prefix_path* is ``CMAKE_PREFIX_PATH``; *extra* lines are appended; *emulator* (a
    program that runs a target binary here) is ``CMAKE_CROSSCOMPILING_EMULATOR`` (``try_run``)."""
    text = f"""# CMake toolchain file{" for " + title if title else ""}, written by muslwheel
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR {arch.cmake_processor})
set(CMAKE_C_COMPILER "{cmake_path(tools.cc)}")
set(CMAKE_CXX_COMPILER "{cmake_path(tools.cxx)}")
set(CMAKE_AR "{cmake_path(tools.ar)}" CACHE FILEPATH "" FORCE)
set(CMAKE_RANLIB "{cmake_path(tools.ranlib)}" CACHE FILEPATH "" FORCE)
set(CMAKE_FIND_ROOT_PATH {" ".join(f'"{cmake_path(r)}"' for r in roots)})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_PREFIX_PATH {" ".join(f'"{cmake_path(p)}"' for p in prefix_path)})
"""
    if emulator is not None:
        text += f'set(CMAKE_CROSSCOMPILING_EMULATOR "{cmake_path(emulator)}")\n'
    path.write_text(text + "".join(line + "\n" for line in extra))
    return path


def write_meson_cross_file(
    path: Path,
    arch: Arch,
    tools: Wrappers,
    *,
    pkg_config_path: Sequence[Path],
    title: str = "",
    exe_wrapper: Path | None = None,
) -> Path:
    """A meson cross file for *arch* with *tools*; pkg-config reads only *pkg_config_path*;
    *exe_wrapper* (a program that runs a target binary here) lets the project's ``run`` checks run."""
    endian = "little" if arch.little_endian else "big"
    dirs = ", ".join(repr(str(p)) for p in pkg_config_path)
    wrapper = f"exe_wrapper = [{str(exe_wrapper)!r}]\n" if exe_wrapper is not None else ""
    text = f"""# meson cross file{" for " + title if title else ""}, written by muslwheel
[binaries]
{wrapper}c = [{str(tools.cc)!r}]
cpp = [{str(tools.cxx)!r}]
ar = [{str(tools.ar)!r}]
ranlib = [{str(tools.ranlib)!r}]
pkg-config = 'pkg-config'

[built-in options]
pkg_config_path = [{dirs}]

[properties]
needs_exe_wrapper = true
pkg_config_libdir = [{dirs}]

[host_machine]
system = 'linux'
cpu_family = {arch.meson_cpu_family!r}
cpu = {arch.name!r}
endian = {endian!r}
"""
    path.write_text(text)
    return path


def rust_linker_args(args: Sequence[str], rust_target: str) -> list[str]:
    """rustc's linker arguments for *rust_target*, rewritten for zig (see the module's rules)."""
    arm = rust_target.startswith("arm")
    i686 = rust_target.startswith(("i686", "i586", "i386"))
    musl = "musl" in rust_target
    out: list[str] = []
    for arg in args:
        if arg == "-lgcc_s":
            out.append("-lunwind")
            continue
        if arg.startswith("--target=") or arg == "-Wl,--no-undefined-version":
            continue
        if arm and arg.endswith(".rlib") and "libcompiler_builtins-" in arg:
            continue
        if musl and (
            (arg.endswith(".o") and "self-contained" in arg and "crt" in arg) or arg in ("-Wl,-melf_i386", "-lc")
        ):
            continue
        if arg.startswith("-march=") and (arm or i686):
            continue
        out.append(arg)
    return out


def rust_linker_main(argv: Sequence[str]) -> None:
    """``rust-cc CC RUST_TARGET ARGS…``: rewrite *ARGS* (and any ``@…linker-arguments`` file in
    place) by :func:`rust_linker_args`, then run the target's ``cc`` wrapper with them."""
    cc, rust_target, *args = argv
    for arg in args:
        if arg.startswith("@") and arg.endswith("linker-arguments"):
            path = Path(arg[1:])
            lines = path.read_text().split("\n")
            path.write_text("\n".join(rust_linker_args(lines, rust_target)))
    os.execv(cc, [cc, *rust_linker_args(args, rust_target)])


def write_rust_linker(cc: Path, rust_target: str, name: str = "rust-cc") -> Path:
    """*name* next to the wrapper *cc* (``cc`` or ``c++``): rustc's linker for *rust_target*
    (see above; named ``…cc`` because rustc infers a linker's flavour from its name), and the C
    compiler of cc-rs in build scripts (which passes clang's ``--target=<rust triple>``, a
    triple zig does not parse: cargo-zigbuild puts the same filter in front of both)."""
    src = Path(__file__).resolve().parent.parent
    path = cc.parent / name
    path.write_text(
        f"#!{sys.executable} -I\n"
        "import sys\n"
        f"sys.path.insert(0, {str(src)!r})\n"
        "from muslwheel.zig import rust_linker_main\n"
        f"rust_linker_main([{str(cc)!r}, {rust_target!r}, *sys.argv[1:]])\n"
    )
    path.chmod(0o755)
    return path
