"""Helpers that build against a kit: programs and C extensions compiled by zig against a kit's own
musl and CPython headers, wheels around them, and check --import's JSON read back."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from conftest import run_ok, write_c
from wheelmaker import make_wheel

from muslwheel.elf import read_elf
from muslwheel.kits import Kit
from muslwheel.zig import target_args


def build_against(kit: Kit, out: Path, source: Path, *args: str) -> Path:
    """Compile with zig against the kit's own musl (its headers, startup files and libc.so)."""
    env = dict(os.environ, ZIG_LIBC=str(kit.zig_libc_file()))
    targeting = target_args(kit.arch_info)  # with the arch's -mcpu= (armv6l: an ARMv6 CPU)
    run_ok([sys.executable, "-m", "ziglang", "cc", *targeting, "-O2", *args, "-o", out, source], env=env)
    return out


EXTENSION = r"""
#include <Python.h>
#define CAT(a, b) a##b
#define INIT(n) CAT(PyInit_, n)
#define STR2(n) #n
#define STR(n) STR2(n)
#ifdef VENDOR
const char *vendor_word(int i);
#endif
static PyObject *fib(PyObject *self, PyObject *arg) {
    long long n = PyLong_AsLongLong(arg), a = 0, b = 1; /* fib(50) needs 64 bits on 32-bit arches too */
    while (n-- > 0) { long long t = a + b; a = b; b = t; }
    return PyLong_FromLongLong(a);
}
static PyMethodDef methods[] = {{"fib", fib, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, STR(MODNAME), NULL, -1, methods};
#ifndef NO_INIT
PyMODINIT_FUNC INIT(MODNAME)(void) {
    PyObject *m = PyModule_Create(&def);
#ifdef VENDOR
    if (m) PyModule_AddStringConstant(m, "word", vendor_word(2));
#endif
    return m;
}
#endif
"""


# relative relocations (pointers to strings): under DT_RELR, musl < 1.2.4 leaves them unrelocated
VENDOR = r"""
const char *vendor_words[] = {"zero", "one", "two", "three", "four", "five", "six", "seven"};
const char *vendor_word(int i) { return vendor_words[i]; }
"""


def build_extension(kit: Kit, out_dir: Path, modname: str, *args: str, suffix: str | None = None) -> Path:
    """A C extension for the kit's CPython, compiled by zig against the kit's headers and musl."""
    src = write_c(out_dir / f"{modname}.c", EXTENSION)
    out = out_dir / f"{modname}{suffix if suffix is not None else kit.ext_suffix}"
    return build_against(kit, out, src, "-shared", "-fPIC", f"-I{kit.include_dir}", f"-DMODNAME={modname}", *args)


def build_relr_vendor(kit: Kit, out: Path) -> Path:
    """libvendor.so with DT_RELR (`zig cc` refuses -z pack-relative-relocs; zig's lld does not)."""
    src = write_c(out.with_suffix(".c"), VENDOR)
    obj = out.with_suffix(".o")
    env = dict(os.environ, ZIG_LIBC=str(kit.zig_libc_file()))
    zig = [sys.executable, "-m", "ziglang"]
    run_ok(
        [
            *zig,
            "cc",
            *target_args(kit.arch_info),
            "-O2",
            "-fPIC",
            "-fno-asynchronous-unwind-tables",
            "-c",
            "-o",
            obj,
            src,
        ],
        env=env,
    )
    run_ok([*zig, "ld.lld", "-shared", "-z", "pack-relative-relocs", "-soname", out.name, "-o", out, obj])
    assert read_elf(out).has_relr
    return out


def import_results(proc_stdout: str) -> dict[tuple[str, str], tuple[str, str]]:
    """{(kit, module): (result, detail)} from `check --import --json`."""
    out = {}
    for report in json.loads(proc_stdout):
        for m in report["modules"]:
            out[(report["kit"], m["module"])] = (m["result"], m["detail"])
    return out


def relr_wheel(kit: Kit, tmp_path: Path, package: str, init_py: str) -> Path:
    """A musllinux_1_2 wheel for *kit*'s arch: *package* with *init_py*, an extension ``_ext`` and
    the library it needs vendored in ``<package>.libs`` with DT_RELR (crashes musl 1.2.3)."""
    libs = tmp_path / f"{package}.libs"
    libs.mkdir()
    vendor = build_relr_vendor(kit, libs / "libvendor-0123abcd.so")
    ext = build_extension(kit, tmp_path, "_ext", "-DVENDOR", str(vendor), f"-Wl,-rpath,$ORIGIN/../{package}.libs")
    return make_wheel(
        tmp_path,
        package,
        "1.0",
        f"cp311-cp311-musllinux_1_2_{kit.arch}",
        {
            f"{package}/__init__.py": init_py,
            f"{package}/{ext.name}": ext.read_bytes(),
            f"{package}.libs/{vendor.name}": vendor.read_bytes(),
        },
    )
