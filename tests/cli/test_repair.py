"""repair and check, end to end on real musl: vendored libraries load, failures leave nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, need, python_include, run, run_ok, runner_for, write_c
from wheelmaker import make_wheel
from worldfixture import musl_venv, pip_install

from muslwheel.elf import parse_elf

INNER = "int inner(int x) { return x + 100; }\n"
OUTER = "int inner(int);\nint outer(int x) { return 2 * inner(x); }\n"
CALC_EXT = """#define PY_SSIZE_T_CLEAN
#include <Python.h>
int inner(int); int outer(int);
static PyObject *calc(PyObject *self, PyObject *arg) {
    long v = PyLong_AsLong(arg);
    if (v == -1 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(outer(v) + inner(v));
}
static PyMethodDef methods[] = {{"calc", calc, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_calc", NULL, -1, methods};
PyMODINIT_FUNC PyInit__calc(void) { return PyModule_Create(&mod); }
"""
USE_C = "int inner(int); int outer(int);\nint use(int x) { return outer(x) + inner(x); }\n"


def build_libs(toolchain: Toolchain, arch: str, tmp: Path, use_zig: bool = False) -> Path:
    libs = tmp / "extlibs"
    libs.mkdir()
    toolchain.build(arch, libs / "libinner.so", [write_c(tmp / "inner.c", INNER)], shared=True, use_zig=use_zig)
    toolchain.build(
        arch,
        libs / "libouter.so",
        [write_c(tmp / "outer.c", OUTER)],
        shared=True,
        use_zig=use_zig,
        args=[f"-L{libs}", "-linner"],
    )
    return libs


def muslwheel(*args: object) -> object:
    return run([*muslwheel_cmd(), *args], env=checkout_env())


def test_repair_vendors_two_libraries_and_the_musl_cpython_imports_the_result(
    toolchain: Toolchain, musl_python: Path, world_wheels: Path, tmp_path: Path
) -> None:
    libs = build_libs(toolchain, "x86_64", tmp_path)
    include = python_include(musl_python)
    ext = toolchain.build(
        "x86_64",
        tmp_path / "_calc.cpython-311-x86_64-linux-musl.so",
        [write_c(tmp_path / "calc.c", CALC_EXT)],
        shared=True,
        args=[f"-I{include}", f"-L{libs}", "-louter", "-linner"],
    )
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(
        dist,
        "calc",
        "1.0",
        "cp311-cp311-linux_x86_64",
        {f"calc/{ext.name}": ext.read_bytes(), "calc/__init__.py": "from ._calc import calc\n"},
    )

    before = muslwheel("check", "--json", wheel)
    assert before.returncode == 1  # type: ignore[attr-defined]
    missing = {p["subject"] for p in json.loads(before.stdout)["problems"] if p["kind"] == "missing-library"}  # type: ignore[attr-defined]
    assert missing == {"libouter.so", "libinner.so"}

    out = tmp_path / "wheelhouse"
    proc = run_ok([*muslwheel_cmd(), "repair", "-w", out, "--ldpaths", libs, "--json", wheel], env=checkout_env())
    result = json.loads(proc.stdout)
    repaired = Path(result["output"])
    assert repaired.name == "calc-1.0-cp311-cp311-musllinux_1_1_x86_64.whl"
    assert {g["needed"] for g in result["grafted"]} == {"libouter.so", "libinner.so"}
    with zipfile.ZipFile(repaired) as zf:
        vendored = sorted(n for n in zf.namelist() if n.startswith("calc.libs/"))
        assert [n.split("-")[0] for n in vendored] == ["calc.libs/libinner", "calc.libs/libouter"]
        for name in vendored:
            elf = parse_elf(zf.read(name))
            assert elf.soname == name.split("/")[1] and elf.runpath == ("$ORIGIN",)
        ext_elf = parse_elf(zf.read(f"calc/{ext.name}"))
        assert set(ext_elf.needed) == {n.split("/")[1] for n in vendored} | {"libc.so"}
        assert ext_elf.runpath == ("$ORIGIN/../calc.libs",)

    shutil.rmtree(libs)  # the originals are gone from every search path
    assert run_ok([*muslwheel_cmd(), "check", repaired], env=checkout_env()).stdout.startswith(
        f"{repaired.name} on x86_64"
    )
    python = musl_venv(musl_python, tmp_path)
    pip_install(python, world_wheels, repaired)
    assert run_ok([python, "-c", "import calc; print(calc.calc(1))"], cwd=tmp_path).stdout == "303\n"


def test_foreign_arch_repair_is_proven_by_check_under_qemu(toolchain: Toolchain, tmp_path: Path) -> None:
    runner_for("aarch64")
    libs = build_libs(toolchain, "aarch64", tmp_path)
    use = toolchain.build(
        "aarch64",
        tmp_path / "libuse.so",
        [write_c(tmp_path / "use.c", USE_C)],
        shared=True,
        args=[f"-L{libs}", "-louter", "-linner"],
    )
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(dist, "use", "1.0", "py3-none-linux_aarch64", {"use/libuse.so": use.read_bytes()})
    before = json.loads(muslwheel("check", "--json", wheel).stdout)  # type: ignore[attr-defined]
    assert before["method"] == "loader+qemu" and not before["loads"]
    assert {p["subject"] for p in before["problems"]} >= {"libouter.so", "libinner.so"}
    out = tmp_path / "out"
    run_ok([*muslwheel_cmd(), "repair", "-q", "-w", out, "--ldpaths", libs, wheel], env=checkout_env())
    shutil.rmtree(libs)
    (repaired,) = out.glob("*.whl")
    assert repaired.name == "use-1.0-py3-none-musllinux_1_1_aarch64.whl"
    after = json.loads(run_ok([*muslwheel_cmd(), "check", "--json", repaired], env=checkout_env()).stdout)
    assert after["loads"] and after["method"] == "loader+qemu" and after["target_musl"] == "1.2.3"


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_repair_with_nothing_to_graft_changes_only_tags_and_is_reproducible(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    so = toolchain.build(
        "x86_64", tmp_path / "libx.so", [write_c(tmp_path / "x.c", "int f(int x){return x;}\n")], shared=True
    )
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(
        dist,
        "x",
        "1.0",
        "py3-none-linux_x86_64",
        {"x/libx.so": so.read_bytes(), "x/__init__.py": "", "x/data.txt": "d" * 10000},
    )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        run_ok([*muslwheel_cmd(), "repair", "-q", "-w", out, wheel], env=checkout_env())
        (repaired,) = out.glob("*.whl")
        outs.append(repaired)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == digest
    old, new = members(wheel), members(outs[0])
    changed = {n for n in old if old[n] != new.get(n)}
    assert changed == {"x-1.0.dist-info/WHEEL", "x-1.0.dist-info/RECORD"}
    assert "Tag: py3-none-musllinux_1_1_x86_64" in new["x-1.0.dist-info/WHEEL"].decode()


QSORT_R = "#define _GNU_SOURCE\n#include <stdlib.h>\nstatic int c(const void*a,const void*b,void*u){return 0;}\nvoid s(int*v,size_t n){qsort_r(v,n,sizeof*v,c,0);}\n"


def failing_cases(toolchain: Toolchain, tmp: Path) -> dict[str, tuple[Path, list[str], str]]:
    dist = tmp / "dist"
    dist.mkdir()
    libs = build_libs(toolchain, "x86_64", tmp)
    needs = toolchain.build(
        "x86_64",
        tmp / "libneeds.so",
        [write_c(tmp / "n.c", USE_C)],
        shared=True,
        args=[f"-L{libs}", "-louter", "-linner"],
    )
    sorter = toolchain.build("x86_64", tmp / "libsort.so", [write_c(tmp / "s.c", QSORT_R)], shared=True)
    soft = tmp / "libsoft.so"
    assert toolchain.zig is not None
    run_ok(
        [
            *toolchain.zig,
            "cc",
            "-O2",
            "-target",
            "arm-linux-musleabi",
            "-shared",
            "-fPIC",
            "-o",
            soft,
            write_c(tmp / "soft.c", "int f(int x){return x;}\n"),
        ]
    )
    corrupt = bytearray(
        make_wheel(tmp, "bad", "1.0", "py3-none-linux_x86_64", {"bad/libx.so": sorter.read_bytes()}).read_bytes()
    )
    start = corrupt.find(b"bad/libx.so") + len("bad/libx.so")
    corrupt[start + 40 : start + 60] = b"\xff" * 20  # damage the deflated stream
    (dist / "bad-1.0-py3-none-linux_x86_64.whl").write_bytes(bytes(corrupt))
    return {
        "missing-library": (
            make_wheel(dist, "needs", "1.0", "py3-none-linux_x86_64", {"needs/libneeds.so": needs.read_bytes()}),
            ["--ldpaths", str(tmp / "empty")],
            "libouter.so (needed by needs/libneeds.so) not found",
        ),
        "unsupported-arch": (
            make_wheel(dist, "soft", "1.0", "py3-none-linux_armv7l", {"soft/libsoft.so": soft.read_bytes()}),
            [],
            "unsupported architecture",
        ),
        "stricter-plat": (
            make_wheel(dist, "sorter", "1.0", "py3-none-linux_x86_64", {"sorter/libsort.so": sorter.read_bytes()}),
            ["--plat", "musllinux_1_1_x86_64"],
            "stricter than this wheel can honour: needs musl 1.2.3 for qsort_r",
        ),
        "corrupt-member": (dist / "bad-1.0-py3-none-linux_x86_64.whl", [], "is corrupt"),
    }


@pytest.mark.parametrize("case", ["missing-library", "unsupported-arch", "stricter-plat", "corrupt-member"])
def test_failed_repair_leaves_nothing_and_says_why_in_one_line(toolchain: Toolchain, tmp_path: Path, case: str) -> None:
    (tmp_path / "empty").mkdir()
    wheel, extra, expect = failing_cases(toolchain, tmp_path)[case]
    before = wheel.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    proc = run([*muslwheel_cmd(), "repair", "-q", "-w", out, *extra, wheel], env=checkout_env())
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and expect in proc.stderr, proc.stderr
    assert list(out.iterdir()) == []
    assert wheel.read_bytes() == before


def test_strip_removes_the_symbol_table_and_the_result_still_loads(toolchain: Toolchain, tmp_path: Path) -> None:
    libs = build_libs(toolchain, "x86_64", tmp_path)
    use = toolchain.build(
        "x86_64",
        tmp_path / "libuse.so",
        [write_c(tmp_path / "use.c", USE_C)],
        shared=True,
        args=["-g", f"-L{libs}", "-louter", "-linner"],
    )
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(dist, "use", "1.0", "py3-none-linux_x86_64", {"use/libuse.so": use.read_bytes()})
    out = tmp_path / "out"
    run_ok([*muslwheel_cmd(), "repair", "-q", "--strip", "-w", out, "--ldpaths", libs, wheel], env=checkout_env())
    (repaired,) = out.glob("*.whl")
    with zipfile.ZipFile(repaired) as zf:
        stripped = zf.read("use/libuse.so")
    assert b".symtab" in use.read_bytes() and b".symtab" not in stripped
    run_ok([*muslwheel_cmd(), "check", repaired], env=checkout_env())


def test_pure_wheels_are_refused_unless_allowed(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "pure", "1.0", "py3-none-any", {"pure/__init__.py": ""}, root_is_purelib=True)
    out = tmp_path / "out"
    out.mkdir()
    proc = run([*muslwheel_cmd(), "repair", "-w", out, wheel], env=checkout_env())
    assert proc.returncode == 2 and "pure wheel" in proc.stderr and list(out.iterdir()) == []
    run_ok([*muslwheel_cmd(), "repair", "--allow-pure-python-wheel", "-w", out, wheel], env=checkout_env())
    assert [p.name for p in out.iterdir()] == [wheel.name]


def test_check_holds_the_wheels_floor_against_an_older_target(toolchain: Toolchain, tmp_path: Path) -> None:
    # musl 1.2.3's loader lists a DT_RELR library happily; the import would then crash.
    so = toolchain.build(
        "x86_64",
        tmp_path / "librelr.so",
        [write_c(tmp_path / "r.c", 'static const char *t[] = {"a", "b"};\nconst char *get(int i) { return t[i]; }\n')],
        shared=True,
        args=["-Wl,-z,pack-relative-relocs"],
    )
    wheel = make_wheel(tmp_path, "relr", "1.0", "py3-none-musllinux_1_2_x86_64", {"relr/librelr.so": so.read_bytes()})
    proc = run([*muslwheel_cmd(), "check", "--json", wheel], env=checkout_env())
    result = json.loads(proc.stdout)  # type: ignore[attr-defined]
    assert proc.returncode == 1 and result["target_musl"] == "1.2.3" and result["method"] == "loader"  # type: ignore[attr-defined]
    (problem,) = result["problems"]
    assert problem["kind"] == "musl-version" and "DT_RELR in relr/librelr.so" in problem["why"]


def test_a_repaired_wheel_is_recognised_and_nothing_is_renamed_again(toolchain: Toolchain, tmp_path: Path) -> None:
    libs = build_libs(toolchain, "x86_64", tmp_path)
    use = toolchain.build(
        "x86_64",
        tmp_path / "libuse.so",
        [write_c(tmp_path / "use.c", USE_C)],
        shared=True,
        args=[f"-L{libs}", "-louter", "-linner"],
    )
    wheel = make_wheel(tmp_path, "use", "1.0", "py3-none-linux_x86_64", {"use/libuse.so": use.read_bytes()})
    first, second = tmp_path / "first", tmp_path / "second"
    run_ok([*muslwheel_cmd(), "repair", "-q", "-w", first, "--ldpaths", libs, wheel], env=checkout_env())
    (once,) = first.glob("*.whl")
    shutil.rmtree(libs)
    out = json.loads(run_ok([*muslwheel_cmd(), "repair", "--json", "-w", second, once], env=checkout_env()).stdout)
    assert out["grafted"] == [] and out["patched"] == []
    assert sorted(n for n in members(Path(out["output"])) if ".libs/" in n) == sorted(
        n for n in members(once) if ".libs/" in n
    )


def test_repair_searches_the_target_root_like_its_loader_and_skips_glibc_candidates(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    libs = build_libs(toolchain, "x86_64", tmp_path)
    use = toolchain.build(
        "x86_64",
        tmp_path / "libuse.so",
        [write_c(tmp_path / "use.c", USE_C)],
        shared=True,
        args=[f"-L{libs}", "-louter", "-linner"],
    )
    wheel = make_wheel(tmp_path, "use", "1.0", "py3-none-linux_x86_64", {"use/libuse.so": use.read_bytes()})
    root = tmp_path / "root"
    # The root's path file names /opt/first (a glibc build of libouter.so: skipped) then /opt/musl.
    (root / "etc").mkdir(parents=True)
    (root / "etc/ld-musl-x86_64.path").write_text("/opt/first:/opt/musl\n")
    (root / "opt/first").mkdir(parents=True)
    (root / "opt/musl").mkdir(parents=True)
    need(shutil.which("gcc"), "gcc")
    run_ok(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-o",
            root / "opt/first/libouter.so",
            write_c(tmp_path / "go.c", '#include <stdio.h>\nint outer(int x){printf("glibc");return x;}\n'),
        ]
    )
    for name in ("libouter.so", "libinner.so"):
        shutil.copy(libs / name, root / "opt/musl" / name)
    (root / "usr/lib").mkdir(parents=True)  # not searched: the path file replaces the defaults
    shutil.copy(libs / "libinner.so", root / "usr/lib/libinner.so")
    shutil.rmtree(libs)
    out = json.loads(
        run_ok(
            [*muslwheel_cmd(), "repair", "--json", "-w", tmp_path / "out", "--root", root, wheel], env=checkout_env()
        ).stdout
    )
    sources = {g["needed"]: g["source"] for g in out["grafted"]}
    assert sources == {
        "libouter.so": str(root / "opt/musl/libouter.so"),
        "libinner.so": str(root / "opt/musl/libinner.so"),
    }


def test_check_against_a_root_runs_that_roots_loader(toolchain: Toolchain, tmp_path: Path) -> None:
    from worldfixture import unpack_debian_musl

    runner_for("aarch64")
    root = unpack_debian_musl("arm64", tmp_path / "root")
    libs = build_libs(toolchain, "aarch64", tmp_path)
    use = toolchain.build(
        "aarch64",
        tmp_path / "libuse.so",
        [write_c(tmp_path / "use.c", USE_C)],
        shared=True,
        args=[f"-L{libs}", "-louter", "-linner"],
    )
    wheel = make_wheel(tmp_path, "use", "1.0", "py3-none-musllinux_1_1_aarch64", {"use/libuse.so": use.read_bytes()})
    before = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", root, wheel], env=checkout_env()).stdout)  # type: ignore[attr-defined]
    assert not before["loads"] and before["loader"] == str((root / "lib/aarch64-linux-musl/libc.so").resolve())
    (root / "usr/lib/aarch64-linux-musl").mkdir(parents=True, exist_ok=True)
    for name in ("libouter.so", "libinner.so"):  # the root's path file names this directory
        shutil.copy(libs / name, root / "usr/lib/aarch64-linux-musl" / name)
    after = json.loads(run_ok([*muslwheel_cmd(), "check", "--json", "--root", root, wheel], env=checkout_env()).stdout)
    assert after["loads"] and after["method"] == "loader+qemu"
    assert str(root / "usr/lib/aarch64-linux-musl") in after["library_dirs"]
