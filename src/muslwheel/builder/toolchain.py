"""The cross toolchain of one target: zig wrappers, the target's sysconfig, the build environment.

Every compiler a build system may call is a small shell script in the target's work directory
(``tools/cc``, ``c++``, ``ar``, ``ranlib`` …), written by :func:`muslwheel.zig.write_wrappers`
with the wheel flags of its one flag policy (:func:`muslwheel.zig.wheel_flags`):
position-independent code, no sanitizer runtime (zig's debug default), ``-dynamic``, and
``-ffile-prefix-map`` so the work directory's random path never reaches a binary (wheels come
out byte-identical from two builds). With a kit that carries musl's headers and startup files,
``ZIG_LIBC`` points zig at them, so the wheel is compiled against the target's own musl
release, not zig's bundled one.

The target CPython's ``_sysconfigdata`` is copied into the work directory with its compilers
replaced by those scripts and its include directories pointed at the target's headers; the
build Python finds it through ``_PYTHON_SYSCONFIGDATA_NAME`` (the module is in the target's
venv, and on ``PYTHONPATH``), as CPython's own cross builds do, and ``_PYTHON_HOST_PLATFORM`` makes the wheel's tag the target's.
"""

from __future__ import annotations

import ast
import os
import shlex
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..arch import host_runs_natively
from ..errors import MuslwheelError
from ..root import MuslRoot
from ..zig import (
    Wrappers,
    cmake_path,
    wheel_flags,
    write_cmake_toolchain,
    write_meson_cross_file,
    write_wrappers,
    zig_cache_dir,
)
from .target import BuildError, Target


@dataclass(frozen=True)
class Toolchain:
    """The compilers and files of one target's build, all inside *work*."""

    target: Target
    work: Path
    cc: Path
    cxx: Path
    ar: Path
    ranlib: Path
    sysconfig_dir: Path  #: holds the rewritten ``_sysconfigdata`` module
    prefix: Path  #: where ``--before-build`` installs native dependencies
    meson_cross_file: Path
    cmake_toolchain_file: Path
    ext_suffix: str
    #: the prefixes of the native libraries of ``--with`` (:mod:`muslwheel.libs`), dependencies included
    lib_prefixes: tuple[Path, ...] = ()
    #: the ``*-config`` scripts that answer for those prefixes, first on PATH (None: none)
    config_bin: Path | None = None
    #: runs a target binary here (the kit's loader, under qemu for another arch; an installed
    #: CPython's, this host's musl loader): meson's ``exe_wrapper`` and CMake's
    #: ``CMAKE_CROSSCOMPILING_EMULATOR``; None when nothing runs the target's programs here
    exe_wrapper: Path | None = None


def _script(path: Path, lines: list[str]) -> Path:
    path.write_text("#!/bin/sh\n" + "\n".join(lines) + "\n")
    path.chmod(0o755)
    return path


def make_toolchain(
    target: Target,
    work: Path,
    sysconfig_dir: Path | None = None,
    *,
    lib_prefixes: Sequence[Path] = (),
    config_bin: Path | None = None,
) -> Toolchain:
    """The toolchain of *target* in *work*; the rewritten ``_sysconfigdata`` goes into
    *sysconfig_dir* (default ``work/sysconfig``); *lib_prefixes* (``--with``'s libraries) are
    searched for headers, libraries, ``.pc`` files and CMake packages, and *config_bin*'s
    ``*-config`` scripts come first on PATH."""
    prefix = work / "prefix"
    for d in ("include", "lib", "lib/pkgconfig"):
        (prefix / d).mkdir(parents=True, exist_ok=True)
    # zig's wrappers with the wheel flags of muslwheel.zig's one flag policy
    tools = write_wrappers(work / "tools", target.arch, libc_file=target.zig_libc, flags=wheel_flags(work), guard=True)
    cc, cxx, ar, ranlib = tools.cc, tools.cxx, tools.ar, tools.ranlib
    sysconfig_dir = sysconfig_dir or work / "sysconfig"
    ext_suffix, abiflags = write_sysconfigdata(target, sysconfig_dir, cc, cxx, ar)
    _write_python_config(target, work / "python-config", ext_suffix, abiflags)
    toolchain = Toolchain(
        target,
        work,
        cc,
        cxx,
        ar,
        ranlib,
        sysconfig_dir,
        prefix,
        work / "meson-cross.ini",
        work / "cmake-toolchain.cmake",
        ext_suffix,
        tuple(lib_prefixes),
        config_bin,
        _write_exe_wrapper(target, work / "tools" / "run-target", [prefix, *lib_prefixes]),
    )
    _write_meson_cross_file(toolchain)
    _write_cmake_toolchain(toolchain)
    return toolchain


#: CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per thread, so
#: two threads building ASTs at once (build's targets run in threads) can fail with "SystemError:
#: AST constructor recursion depth mismatch" (python/cpython#106905; seen here in build's Rust test of
#: three targets). One AST at a time.
_AST_LOCK = threading.Lock()


def read_build_time_vars(path: Path) -> dict[str, object]:
    """The ``build_time_vars`` dict of a ``_sysconfigdata`` module, read without executing it."""
    with _AST_LOCK:
        return _read_build_time_vars(path)


def _read_build_time_vars(path: Path) -> dict[str, object]:
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (OSError, SyntaxError, ValueError) as e:
        raise BuildError(f"{path}: cannot read the target's sysconfig ({e})") from None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "build_time_vars" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                break
            if isinstance(value, dict):
                return value
    raise BuildError(f"{path}: no build_time_vars dict in the target's sysconfig")


def write_sysconfigdata(target: Target, directory: Path, cc: Path, cxx: Path, ar: Path) -> tuple[str, str]:
    """Copy the target's ``_sysconfigdata`` into *directory*, rewritten for this build; return
    the target's extension suffix and ABI flags."""
    values = read_build_time_vars(target.sysconfigdata)
    ext_suffix = values.get("EXT_SUFFIX")
    if not isinstance(ext_suffix, str) or target.arch.cpython_triplet("musl") not in ext_suffix:
        raise BuildError(f"{target.sysconfigdata}: EXT_SUFFIX {ext_suffix!r} is not a musl {target.arch.name} one")
    include = str(target.include_dir)
    values.update(
        {
            "CC": str(cc),
            "CXX": str(cxx),
            "CPP": f"{cc} -E",
            "LDSHARED": f"{cc} -shared",
            "BLDSHARED": f"{cc} -shared",
            "LDCXXSHARED": f"{cxx} -shared",
            "AR": str(ar),
            "INCLUDEPY": include,
            "CONFINCLUDEPY": include,
            "INCLUDEDIR": str(target.include_dir.parent),
            "CONFINCLUDEDIR": str(target.include_dir.parent),
        }
    )
    if target.root is not None:
        on_host = MuslRoot.of(target.arch, target.root).host_path  # followed inside the root
        for key in ("LIBDIR", "LIBPL", "LIBDEST", "BINLIBDEST", "DESTSHARED"):
            value = values.get(key)
            if isinstance(value, str) and value.startswith("/"):
                values[key] = str(on_host(value))
    directory.mkdir(parents=True, exist_ok=True)
    text = "# Rewritten by muslwheel build for a cross build.\nbuild_time_vars = " + repr(values) + "\n"
    (directory / target.sysconfigdata.name).write_text(text)
    return ext_suffix, str(values.get("ABIFLAGS") or "")


def _write_python_config(target: Target, root: Path, ext_suffix: str, abiflags: str) -> None:
    """``pythonX.Y-config`` of the target, for CMake's FindPython: when cross-compiling it asks
    that tool, not the interpreter, for the extension suffix and the headers."""
    (root / "bin").mkdir(parents=True, exist_ok=True)
    answers = {
        "--extension-suffix": ext_suffix,
        "--includes": f"-I{target.include_dir}",
        "--cflags": f"-I{target.include_dir}",
        "--abiflags": abiflags,
        "--prefix": str(root),
        "--exec-prefix": str(root),
        "--configdir": "",
        "--libs": "",
        "--ldflags": "",
        "--embed": "",
    }
    cases = "".join(f"    {flag}) echo {shlex.quote(value)} ;;\n" for flag, value in answers.items())
    script = f'for a; do\n  case $a in\n{cases}    *) echo "unknown option $a" >&2; exit 1 ;;\n  esac\ndone\n'
    for name in (f"python{target.python}-config", "python3-config"):
        _script(root / "bin" / name, [script])


def cross_environment(tc: Toolchain, base: dict[str, str]) -> dict[str, str]:
    """The environment of a target's ``--before-build`` command and of its PEP 517 build."""
    target = tc.target
    env = dict(base)
    for key in ("PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__", "VIRTUAL_ENV"):
        env.pop(key, None)
    prefixes = [tc.prefix, *tc.lib_prefixes]
    includes = " ".join(f"-I{p / 'include'}" for p in prefixes)
    libdirs = " ".join(f"-L{p / 'lib'}" for p in prefixes)
    # only the target's .pc files: the host's describe glibc libraries of another arch
    pkg_dirs = ":".join(str(p / sub / "pkgconfig") for p in prefixes for sub in ("lib", "share"))
    if tc.config_bin is not None:
        env["PATH"] = f"{tc.config_bin}:{base.get('PATH', os.defpath)}"
    if tc.lib_prefixes:
        env["CPPFLAGS"] = _join(base.get("CPPFLAGS"), includes)
        env["CMAKE_PREFIX_PATH"] = ":".join(str(p) for p in tc.lib_prefixes)
    env.pop("PKG_CONFIG_SYSROOT_DIR", None)
    env.update(
        {
            "CC": str(tc.cc),
            "CXX": str(tc.cxx),
            "LDSHARED": f"{tc.cc} -shared",
            "LDCXXSHARED": f"{tc.cxx} -shared",
            "AR": str(tc.ar),
            "RANLIB": str(tc.ranlib),
            "CFLAGS": _join(base.get("CFLAGS"), includes),
            "CXXFLAGS": _join(base.get("CXXFLAGS"), includes),
            "LDFLAGS": _join(base.get("LDFLAGS"), libdirs),
            "PKG_CONFIG_PATH": pkg_dirs,
            "PKG_CONFIG_LIBDIR": pkg_dirs,
            "_PYTHON_HOST_PLATFORM": target.platform,
            "_PYTHON_SYSCONFIGDATA_NAME": target.sysconfigdata.stem,
            "PYTHONPATH": str(tc.sysconfig_dir),
            # not SETUPTOOLS_EXT_SUFFIX: the target's sysconfig already says it, and setting it
            # sends some setup.py files down broken paths (zstandard 0.25's NameError)
            "CMAKE_TOOLCHAIN_FILE": str(tc.cmake_toolchain_file),
            "ZIG_GLOBAL_CACHE_DIR": str(zig_cache_dir()),
            "SOURCE_DATE_EPOCH": base.get("SOURCE_DATE_EPOCH", "315532800"),
            "MUSLWHEEL_PREFIX": str(tc.prefix),
            "MUSLWHEEL_HOST": target.gnu_host,
            "MUSLWHEEL_ARCH": target.arch.name,
            "MUSLWHEEL_PYTHON": str(target.python),
            "GIT_OPTIONAL_LOCKS": "0",  # setuptools-scm's git calls never touch the user's index
        }
    )
    return env


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _write_exe_wrapper(target: Target, path: Path, prefixes: Sequence[Path]) -> Path | None:
    """``tools/run-target PROGRAM ARGS…``: runs a program the toolchain linked, with the target's
    musl loader (a kit's, under qemu for another arch; an installed CPython's, this host's own),
    the build's prefixes' libraries first. Build systems that must run what they compile
    (numpy's meson reads ``long double``'s layout so; CMake's ``try_run``) get the target's
    answer, never the host's. None when nothing runs the target's programs here: the build
    system then says it cannot run them."""
    if target.kit is not None:
        try:
            command = target.kit.loader_command()
        except MuslwheelError:
            return None
    elif host_runs_natively(target.arch):  # an installed musl CPython uses this host's musl
        host = MuslRoot.of(target.arch)
        loader = host.host_path(host.loader) if host.loader else None
        if loader is None or not loader.exists():
            return None
        command = [str(loader)]
    else:
        return None
    library_path = ":".join(str(p / "lib") for p in prefixes)
    words = " ".join(shlex.quote(w) for w in command)
    return _script(path, [f'exec {words} --library-path {shlex.quote(library_path)} "$@"'])


def _write_meson_cross_file(tc: Toolchain) -> None:
    write_meson_cross_file(
        tc.meson_cross_file,
        tc.target.arch,
        _tools(tc),
        pkg_config_path=[tc.prefix / "lib" / "pkgconfig", *(p / "lib" / "pkgconfig" for p in tc.lib_prefixes)],
        title=tc.target.name,
        exe_wrapper=tc.exe_wrapper,
    )


def _tools(tc: Toolchain) -> Wrappers:
    return Wrappers(tc.cc.parent)


def _write_cmake_toolchain(tc: Toolchain) -> None:
    t = tc.target
    soabi = tc.ext_suffix[1:].rsplit(".", 1)[0]
    python_config = cmake_path(tc.work / "python-config")
    extra = [
        "# FindPython, cross-compiling, asks pythonX.Y-config (not the interpreter): the target's one",
        f'set(Python_ROOT_DIR "{python_config}")',
        f'set(Python3_ROOT_DIR "{python_config}")',
        f'set(Python_INCLUDE_DIR "{cmake_path(t.include_dir)}")',
        f'set(Python3_INCLUDE_DIR "{cmake_path(t.include_dir)}")',
        f'set(Python_SOABI "{soabi}")',
        f'set(Python3_SOABI "{soabi}")',
    ]
    prefixes = [tc.prefix, *tc.lib_prefixes]
    roots = prefixes + ([t.root] if t.root is not None else [])
    write_cmake_toolchain(
        tc.cmake_toolchain_file,
        t.arch,
        _tools(tc),
        roots=roots,
        prefix_path=prefixes,
        extra=extra,
        title=t.name,
        emulator=tc.exe_wrapper,
    )
