"""The musl test world itself works: real loaders, a real musl CPython, real foreign binaries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import (
    ARCH_TOOLS,
    RUNNABLE_ARCHES,
    Toolchain,
    loader_for,
    run,
    run_ok,
    runner_for,
    write_c,
)
from wheelmaker import make_wheel
from worldfixture import musl_venv, pip_install

LIB_C = "int scale(int x) { return 7 * x; }\n"
MAIN_C = """#include <stdio.h>
#include <time.h>
int scale(int);
int main(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("scale(6)=%d time_t=%d\\n", scale(6), (int)(8 * sizeof(time_t)));
    return 0;
}
"""


def build_lib_and_main(toolchain: Toolchain, arch: str, tmp: Path) -> tuple[Path, Path]:
    libdir = tmp / "lib"
    libdir.mkdir()
    lib = toolchain.build(arch, libdir / "libscale.so", [write_c(tmp / "lib.c", LIB_C)], shared=True)
    main = toolchain.build(arch, tmp / "main", [write_c(tmp / "main.c", MAIN_C)], args=[f"-L{libdir}", "-lscale"])
    return lib, main


def test_x86_64_library_loads_through_musl_loader_list(toolchain: Toolchain, tmp_path: Path) -> None:
    loader = loader_for("x86_64")
    lib, main = build_lib_and_main(toolchain, "x86_64", tmp_path)
    env = {**os.environ, "LD_LIBRARY_PATH": str(lib.parent)}
    listing = run_ok([loader, "--list", main], env=env).stdout
    assert f"libscale.so => {lib}" in listing
    assert "libc.so => /lib/ld-musl-x86_64.so.1" in listing
    assert run_ok([main], env=env).stdout == "scale(6)=42 time_t=64\n"
    # Without the library on a search path the real loader refuses, naming it.
    failed = run([loader, "--list", main])
    assert failed.returncode != 0
    assert "libscale.so" in failed.stderr


@pytest.mark.parametrize("arch", [a for a in RUNNABLE_ARCHES if a != "x86_64"])
def test_foreign_binary_runs_under_qemu_with_debian_loader(toolchain: Toolchain, tmp_path: Path, arch: str) -> None:
    runner = runner_for(arch)
    lib, main = build_lib_and_main(toolchain, arch, tmp_path)
    env = {**os.environ, "QEMU_SET_ENV": f"LD_LIBRARY_PATH={lib.parent}"}
    proc = run_ok([*runner, main], env=env)
    # 32-bit arches built against musl >= 1.2 have a 64-bit time_t.
    assert proc.stdout == "scale(6)=42 time_t=64\n"


@pytest.mark.parametrize("arch", [a for a, t in ARCH_TOOLS.items() if not t[2]])
def test_arches_without_debian_musl_still_cross_compile(toolchain: Toolchain, tmp_path: Path, arch: str) -> None:
    lib, main = build_lib_and_main(toolchain, arch, tmp_path)
    assert lib.read_bytes()[:4] == b"\x7fELF" and main.read_bytes()[:4] == b"\x7fELF"


EXT_C = """#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *triple(PyObject *self, PyObject *arg) {
    long v = PyLong_AsLong(arg);
    if (v == -1 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(3 * v);
}
static PyMethodDef methods[] = {{"triple", triple, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_tri", NULL, -1, methods};
PyMODINIT_FUNC PyInit__tri(void) { return PyModule_Create(&mod); }
"""


def build_extension(toolchain: Toolchain, musl_python: Path, tmp: Path, name: str = "_tri") -> tuple[Path, str]:
    info = run_ok(
        [
            musl_python,
            "-c",
            "import sysconfig as s; print(s.get_paths()['include']); print(s.get_config_var('EXT_SUFFIX'))",
        ]
    ).stdout.split()
    include, suffix = info
    out = tmp / f"{name}{suffix}"
    src = write_c(tmp / f"{name}.c", EXT_C.replace("_tri", name))
    toolchain.build("x86_64", out, [src], shared=True, args=[f"-I{include}"])
    return out, suffix


def test_musl_cpython_installs_a_local_wheel_and_imports_it(
    toolchain: Toolchain, musl_python: Path, world_wheels: Path, tmp_path: Path
) -> None:
    ext, suffix = build_extension(toolchain, musl_python, tmp_path)
    assert suffix == ".cpython-311-x86_64-linux-musl.so"
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(
        dist,
        "tri",
        "1.0",
        "cp311-cp311-musllinux_1_2_x86_64",
        {f"tri/{ext.name}": ext.read_bytes(), "tri/__init__.py": "from ._tri import triple\n"},
    )
    python = musl_venv(musl_python, tmp_path)
    pip_install(python, world_wheels, wheel)
    assert run_ok([python, "-c", "import tri; print(tri.triple(14))"], cwd=tmp_path).stdout == "42\n"
    # And the interpreter is really musl's: its loader is the one the process maps.
    maps = run_ok([python, "-c", "print(open('/proc/self/maps').read())"]).stdout
    assert "/ld-musl-x86_64.so.1" in maps or "x86_64-linux-musl/libc.so" in maps
