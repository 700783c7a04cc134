"""check --import in the kits' musl CPython: a fixture extension imports and computes on every
arch CI builds a CPython for; DT_RELR crashes on musl 1.2.3 and imports on the newest; each kind of
import failure is named."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import PY_KIT_IDS, PY_KITS, WORLD, kit_for, muslwheel_cmd, need, run, run_ok, write_c
from test_kits import build_against
from wheelmaker import make_wheel

from muslwheel.elf import read_elf
from muslwheel.kits import Kit, select_kits
from muslwheel.kits.build import DEBIAN_BINARY_MUSL, NEWEST_MUSL
from muslwheel.kits.musl import OLDEST_MUSL

# --- CPython kits and check --import ------------------------------------------------------------

#: the CPython minor of the kits CI builds (conftest.PY_KITS: six arches)
PY = "3.11"

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
            "-target",
            kit.zig_target,
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


@pytest.mark.world
@pytest.mark.parametrize(("arch", "musl"), PY_KITS, ids=PY_KIT_IDS)
def test_an_extension_built_for_a_kit_imports_and_computes(arch: str, musl: str, tmp_path: Path) -> None:
    kit = kit_for(arch, musl, PY)
    build_extension(kit, tmp_path, "kitprobe")
    code = "import kitprobe, sys; print(kitprobe.fib(50), sys.platform, sys.implementation.cache_tag)"
    proc = run_ok([*kit.python_command(), "-c", code], env={"PYTHONPATH": str(tmp_path)})
    assert proc.stdout.split() == ["12586269025", "linux", "cpython-311"]


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


@pytest.mark.world
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_check_import_shows_the_relr_crash_on_musl_1_2_3_and_the_import_on_the_newest(
    arch: str, tmp_path: Path
) -> None:
    new = kit_for(arch, NEWEST_MUSL, PY)
    old = min(
        (k for k in select_kits(arch=arch, python=PY) if k.musl.startswith("1.2.")),
        key=lambda k: [int(p) for p in k.musl.split(".")],
    )
    assert old.musl in (OLDEST_MUSL, DEBIAN_BINARY_MUSL)  # both before DT_RELR (1.2.4)
    wheel = relr_wheel(new, tmp_path, "relrpkg", "from ._ext import fib, word\n")
    # named, not the default choice (test_check_import_choice.py): a musl 1.2.2 kit, when built, is
    # the oldest of the 1.2 series
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", old.name, "--kit", new.name, wheel])
    assert proc.returncode == 1, proc.stderr
    results = import_results(proc.stdout)
    assert results[(old.name, "relrpkg._ext")] == ("crashed", "SIGSEGV")
    assert results[(new.name, "relrpkg._ext")][0] == "imported"
    assert results[(new.name, "relrpkg")][0] == "imported"
    text = run([*muslwheel_cmd(), "check", "--import", "--kit", new.name, wheel])
    assert text.returncode == 0 and "relrpkg._ext" in text.stdout


@pytest.mark.world
def test_check_import_names_each_kind_of_failure(tmp_path: Path) -> None:
    kit = kit_for("x86_64", NEWEST_MUSL, PY)
    good = build_extension(kit, tmp_path, "good")
    no_init = build_extension(kit, tmp_path, "noinit", "-DNO_INIT")
    other_python = build_extension(kit, tmp_path, "other", suffix=".cpython-312-x86_64-linux-musl.so")
    write_c(tmp_path / "missing.c", "int missing_thing(void) { return 1; }\n")
    run_ok(
        [
            sys.executable,
            "-m",
            "ziglang",
            "cc",
            "-target",
            kit.zig_target,
            "-shared",
            "-fPIC",
            "-Wl,-soname,libmissing.so",
            "-o",
            tmp_path / "libmissing.so",
            tmp_path / "missing.c",
        ]
    )
    needs = build_extension(kit, tmp_path, "needs", f"-L{tmp_path}", "-Wl,--no-as-needed", "-lmissing")
    files = {
        f"pkg/{good.name}": good.read_bytes(),
        f"pkg/{no_init.name}": no_init.read_bytes(),
        f"pkg/{other_python.name}": other_python.read_bytes(),
        f"pkg/{needs.name}": needs.read_bytes(),
        "pkg/__init__.py": "",
        "broken/__init__.py": "import not_installed_dependency\n",
    }
    wheel = make_wheel(tmp_path, "pkg", "1.0", "cp311-cp311-musllinux_1_2_x86_64", files)
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 1, proc.stderr
    results = {m: r for (_, m), r in import_results(proc.stdout).items()}
    assert results["pkg.good"][0] == "imported"
    assert results["pkg.noinit"][0] == "binary-error" and "PyInit_noinit" in results["pkg.noinit"][1]
    assert results["pkg.other"][0] == "binary-error"  # a 3.12 suffix: 3.11 does not import it
    assert results["pkg.needs"] == ("loader-error", results["pkg.needs"][1])
    assert "libmissing.so" in results["pkg.needs"][1]
    assert results["broken"][0] == "python-error" and "not_installed_dependency" in results["broken"][1]
    # a Python error alone is the wheel's dependencies, not its binaries: exit 0
    (tmp_path / "ok").mkdir()
    ok = make_wheel(
        tmp_path / "ok",
        "pkg",
        "1.0",
        "cp311-cp311-musllinux_1_2_x86_64",
        {f"pkg/{good.name}": good.read_bytes(), "pkg/__init__.py": "", "broken/__init__.py": "import nope\n"},
    )
    assert run([*muslwheel_cmd(), "check", "--import", "--kit", kit.root, ok]).returncode == 0


@pytest.mark.world
def test_a_plain_library_beside_a_module_is_a_library_everywhere(tmp_path: Path) -> None:
    """pyarrow ships ``pyarrow/libarrow_python.so`` beside its extension modules: a library (no
    ``PyInit_libarrow_python``). show calls it a library, check --import does not import it, and
    neither does build's import step, on a kit target and on an installed CPython's target (which
    counted every ``.so`` outside ``.libs`` as a module, and failed importing it)."""
    from muslwheel.builder.run import BuildOptions, TargetResult, check_and_import
    from muslwheel.builder.target import target_from_kit, target_from_prefix

    prefix = WORLD / "cpython"
    need((prefix / "bin" / "python3.11").exists(), f"musl CPython ({prefix})")
    kit = kit_for("x86_64", DEBIAN_BINARY_MUSL, PY)
    ext = build_extension(kit, tmp_path, "_ext")
    lib = build_against(
        kit,
        tmp_path / "libfoo_python.so",
        write_c(tmp_path / "foo.c", "int foo_python(void) { return 7; }\n"),
        "-shared",
        "-fPIC",
    )
    files = {"pkg/__init__.py": "", f"pkg/{ext.name}": ext.read_bytes(), "pkg/libfoo_python.so": lib.read_bytes()}
    wheel = make_wheel(tmp_path, "pkg", "1.0", "cp311-cp311-musllinux_1_2_x86_64", files)
    shown = json.loads(run_ok([*muslwheel_cmd(), "show", "--json", "-v", wheel]).stdout)
    assert {f["path"]: f["role"] for f in shown["files"]} == {
        f"pkg/{ext.name}": "extension",
        "pkg/libfoo_python.so": "library",
    }
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [m for (_, m) in import_results(proc.stdout)] == ["pkg._ext", "pkg"]
    for target in (target_from_kit(kit), target_from_prefix(prefix)):
        result = TargetResult(target, wheel=wheel)
        check_and_import(result, BuildOptions(tmp_path, tmp_path / "out", [target]))
        assert (result.stage, result.imported, result.notes) == ("import", ["pkg._ext", "pkg"], []), target.name
