"""The kits' CPython: what a typical import needs works on every arch CI builds a CPython for,
under each musl release (natively or under qemu-user), and a kit built from a given tarball is
that tarball's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FT_KIT_ARCHES, PY_KIT_IDS, PY_KITS, kit_for, run_ok

from muslwheel.kits.build import DEBIAN_BINARY_MUSL, NEWEST_MUSL

PY = "3.11"

# zlib built in; ctypes calls into musl (libffi's call path) and musl calls back into Python
# (libffi's closures: what i686's _ctypes could not link before its libffi had hidden visibility)
PROBE = """
import ctypes, sys, zlib
libc = ctypes.CDLL(None)
values = (ctypes.c_int * 5)(5, 3, 9, 1, 7)
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
libc.qsort(values, 5, ctypes.sizeof(ctypes.c_int), CMP(lambda a, b: a[0] - b[0]))
print(zlib.crc32(b"musl"), zlib.decompress(zlib.compress(b"kit" * 1000)) == b"kit" * 1000,
      libc.strlen(b"musllinux"), list(values), ctypes.sizeof(ctypes.c_void_p) * 8, sys.implementation.cache_tag)
"""


@pytest.mark.parametrize(("arch", "musl"), PY_KITS, ids=PY_KIT_IDS)
def test_zlib_and_ctypes_work_in_the_kits_cpython(arch: str, musl: str) -> None:
    kit = kit_for(arch, musl, PY)
    out = run_ok([*kit.python_command(), "-c", PROBE]).stdout.strip().split(None, 3)
    bits = "32" if arch in ("armv7l", "i686") else "64"
    assert out == ["4196687167", "True", "9", f"[1, 3, 5, 7, 9] {bits} cpython-311"]


@pytest.mark.parametrize("musl", [DEBIAN_BINARY_MUSL, NEWEST_MUSL])
def test_a_kit_built_with_cpython_source_is_built_from_that_tarball(musl: str) -> None:
    # scripts/build-world builds x86_64's kits with --cpython-source: Debian's tarball plus one module
    kit = kit_for("x86_64", musl, PY)
    assert json.loads((kit.directory / "kit.json").read_text())["cpython_source"] == "python3.11-given.tar"
    code = "import muslwheel_given_source as m; print(m.SOURCE)"
    assert run_ok([*kit.python_command(), "-c", code]).stdout.strip() == (
        "the tarball given to kit build --cpython-source"
    )
    # ... and a kit built from Debian's own tarball has no such module
    other = kit_for("aarch64", musl, PY)
    proc = run_ok(
        [*other.python_command(), "-c", "import importlib.util as u; print(u.find_spec('muslwheel_given_source'))"]
    )
    assert proc.stdout.strip() == "None"


FT_ARCHES = FT_KIT_ARCHES  # conftest: the 3.13t kits scripts/build-world builds
FT_PROBE = (
    PROBE
    + """
import sysconfig, importlib.machinery as m
print(sys.abiflags, sys._is_gil_enabled(), sysconfig.get_config_var("Py_GIL_DISABLED"), m.EXTENSION_SUFFIXES[0],
      sysconfig.get_path("include"), sys.executable)
"""
)


@pytest.mark.parametrize("arch", FT_ARCHES)
def test_a_free_threaded_kit_runs_without_the_gil_from_its_t_paths(arch: str) -> None:
    # zlib and ctypes (a call into musl, a callback from it) as in every kit, then the build's own
    # word that it is free-threaded and runs so, with its ABI flag in every path a build reads
    from muslwheel.arch import get_arch

    kit = kit_for(arch, NEWEST_MUSL, "3.13t")
    triplet = get_arch(arch).cpython_triplet("musl")
    lines = run_ok([*kit.python_command(), "-c", FT_PROBE], env={"PATH": "/usr/bin:/bin"}).stdout.splitlines()
    bits = "32" if arch in ("armv7l", "i686") else "64"
    assert lines[0].split(None, 3) == ["4196687167", "True", "9", f"[1, 3, 5, 7, 9] {bits} cpython-313"]
    flags, gil, disabled, suffix, include, executable = lines[1].split()
    assert (flags, gil, disabled, suffix) == ("t", "False", "1", f".cpython-313t-{triplet}.so")
    assert include.endswith("/usr/include/python3.13t") and executable.endswith("/usr/bin/python3.13t")
    assert kit.sysconfigdata_path == kit.root / f"usr/lib/python3.13t/_sysconfigdata_t_linux_{triplet}.py"
    assert kit.sysconfigdata_path.is_file() and (kit.include_dir / "Python.h").is_file()
    # the world's 3.13t kit is bare (scripts/build-world: its system libraries are the 3.11 kits' proof)
    assert kit.name == f"{arch}-musl{NEWEST_MUSL}-py3.13t" + ("-bare" if kit.bare else "")
    assert kit.free_threaded and kit.python_minor == (3, 13)


def test_a_free_threaded_kit_names_its_paths_as_cpythons_configure_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """configure.ac: ABIFLAGS="t", LDVERSION=X.Yt, LIBDEST and INCLUDEPY .../pythonX.Yt, the module
    _sysconfigdata_$(ABIFLAGS)_$(MACHDEP)_$(MULTIARCH); its builds run the host CPython of the minor."""
    from muslwheel.kits import Kit, kit_name
    from muslwheel.versions import CPython, MuslVersion

    root = tmp_path / "kit" / "root"
    musl = MuslVersion(1, 2, 6)
    kit = Kit(kit_name("aarch64", musl, "3.13t"), "aarch64", musl, CPython.parse("3.13t"), root)
    assert kit.name == "aarch64-musl1.2.6-py3.13t"
    assert (kit.python_minor, kit.free_threaded) == ((3, 13), True)
    assert kit.interpreter == root / "usr/bin/python3.13t"
    assert kit.include_dir == root / "usr/include/python3.13t"
    assert kit.sysconfigdata_path == root / "usr/lib/python3.13t/_sysconfigdata_t_linux_aarch64-linux-musl.py"
    assert kit.ext_suffix == ".cpython-313t-aarch64-linux-musl.so"
    default = Kit(kit_name("aarch64", musl, "3.13"), "aarch64", musl, CPython.parse("3.13"), root)
    assert default.sysconfigdata_name == "_sysconfigdata__linux_aarch64-linux-musl" and not default.free_threaded
    # one host CPython serves both builds of the minor (CPython's configure checks the minor only)
    monkeypatch.setenv("MUSLWHEEL_CACHE", str(tmp_path / "cache"))
    built = tmp_path / "cache" / "kits" / "build-python" / "3.13" / "bin" / "python3.13"
    built.parent.mkdir(parents=True)
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    assert kit.build_python() == default.build_python() == built
