"""DT_RELR unpacking: libraries linked with -z pack-relative-relocs crash under musl < 1.2.4
and print the right values once `muslwheel repair` has unpacked them, on every arch."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
from conftest import (
    ALL_ARCHES,
    ARCH_TOOLS,
    RUNNABLE_ARCHES,
    Toolchain,
    checkout_env,
    loader_for,
    muslwheel_cmd,
    need,
    python_include,
    run,
    run_ok,
    runner_for,
    write_c,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relocsim import load_and_relocate, same_after_relocation
from wheelmaker import make_wheel

from muslwheel.elf import parse_elf
from muslwheel.errors import MuslwheelError
from muslwheel.relr import RelrError, decode_relr, unpack_relr, verify_unpacked

# Tables of pointers: relative relocations (what -z pack-relative-relocs packs): more than one
# bitmap word of consecutive pointers, sparse ones, pointers into .bss, to strings and to local
# functions; and symbolic ones (preemptible exported functions), which stay in DT_RELA/DT_REL.
TABLE_C = r"""
static int cells[200];
static const char *const words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};
#define T(i) &cells[i], &cells[i+1], &cells[i+2], &cells[i+3], &cells[i+4], \
             &cells[i+5], &cells[i+6], &cells[i+7], &cells[i+8], &cells[i+9]
static int *dense[150] = {T(0), T(10), T(20), T(30), T(40), T(50), T(60), T(70), T(80), T(90),
                          T(100), T(110), T(120), T(130), T(140)};
struct sparse { int *p; long gap[90]; const char *q; long gap2[3]; int *r; };
static struct sparse sparse = {&cells[7], {0}, "sparse", {0}, &cells[199]};
static int local_three(void) { return 3; }
static int (*const locals[])(void) = {local_three, local_three};
#ifndef ONLY_RELATIVE
int exported_one(void) { return 1; }
int exported_two(void) { return 2; }
int (*const exported[])(void) = {exported_one, exported_two};
#endif
static unsigned slen(const char *s) { unsigned n = 0; while (s[n]) n++; return n; }
long table_checksum(void) {
    long sum = 0;
    for (int i = 0; i < 200; i++) cells[i] = i;
    for (unsigned i = 0; i < sizeof words / sizeof *words; i++) sum = sum * 31 + slen(words[i]);
    for (int i = 0; i < 150; i++) sum = sum * 7 + *dense[i];
    sum = sum * 3 + *sparse.p + slen(sparse.q) + *sparse.r;
    sum += locals[0]() * 1000 + locals[1]();
#ifndef ONLY_RELATIVE
    sum += exported[0]() * 10 + exported[1]() * 100;
#endif
    return sum;
}
const char *table_word(int i) { return words[i]; }
"""
MAIN_C = r"""#include <stdio.h>
long table_checksum(void); const char *table_word(int);
int main(void) { printf("%s %s %ld\n", table_word(0), table_word(7), table_checksum()); return 0; }
"""
NO_UNWIND = ["-fno-unwind-tables", "-fno-asynchronous-unwind-tables"]
LINKERS = [(a, "lld") for a in ALL_ARCHES] + [("x86_64", "bfd")]


class Fixture:
    def __init__(self, packed: Path, plain: Path, main: Path | None) -> None:
        self.packed, self.plain, self.main = packed, plain, main


def build_table(toolchain: Toolchain, arch: str, linker: str, out: Path, *defines: str) -> Fixture:
    """libtable.so with DT_RELR, the same library without it, and a main program using it.
    x86_64's binutils ld links through musl-gcc; every arch's lld through `zig ld.lld`, since
    `zig cc` refuses -z pack-relative-relocs."""
    out.mkdir(parents=True)
    src = write_c(out / "table.c", TABLE_C)
    libs = {}
    for kind, flags in (("packed", ["-z", "pack-relative-relocs"]), ("plain", [])):
        (out / kind).mkdir()
        lib = out / kind / "libtable.so"
        if linker == "bfd":
            cc = toolchain.compiler(arch)
            wl = [f"-Wl,{','.join(flags)}"] if flags else []
            run_ok([*cc, "-O2", "-fPIC", "-shared", *defines, "-Wl,-soname,libtable.so", *wl, "-o", lib, src])
        else:
            cc = toolchain.compiler(arch, use_zig=True)
            obj = out / "table.o"
            run_ok([*cc, "-fPIC", *NO_UNWIND, *defines, "-c", "-o", obj, src])
            assert toolchain.zig is not None
            run_ok([*toolchain.zig, "ld.lld", "-shared", *flags, "-soname", "libtable.so", "-o", lib, obj])
        libs[kind] = lib
    main = None
    if ARCH_TOOLS[arch][2]:
        main = toolchain.build(
            arch,
            out / "main",
            [write_c(out / "main.c", MAIN_C)],
            args=[f"-L{out / 'plain'}", "-ltable"],
            use_zig=linker != "bfd",
        )
    assert parse_elf(libs["packed"].read_bytes()).has_relr
    assert not parse_elf(libs["plain"].read_bytes()).has_relr
    return Fixture(libs["packed"], libs["plain"], main)


@pytest.fixture(scope="session")
def tables(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Fixture]:
    need(toolchain.zig, "zig (the ziglang wheel)")
    root = tmp_path_factory.mktemp("relr")
    return {(arch, linker): build_table(toolchain, arch, linker, root / f"{arch}-{linker}") for arch, linker in LINKERS}


def run_main(arch: str, main: Path, libdir: Path) -> tuple[int, str]:
    proc = run([*runner_for(arch), loader_for(arch), "--library-path", libdir, main])
    return proc.returncode, proc.stdout


def base_for(data: bytes) -> int:
    return 0x7F3A_1234_0000 if data[4] == 2 else 0x4A12_0000


@pytest.mark.parametrize("arch,linker", LINKERS)
def test_unpacked_library_relocates_to_the_same_words(
    tables: dict[tuple[str, str], Fixture], arch: str, linker: str
) -> None:
    """The relocation simulator: the rewritten file, relocated, holds exactly the words the
    packed one holds under a DT_RELR-aware loader, and nothing loaded moved."""
    old = tables[arch, linker].packed.read_bytes()
    new = unpack_relr(old)
    assert not parse_elf(new).has_relr
    assert same_after_relocation(old, new, base_for(old)) == []
    packed_sites = load_and_relocate(old, 0).relocated
    assert len(packed_sites) >= 150  # at least the dense table
    # Without DT_RELR the packed file leaves those words alone (what musl 1.2.3 does).
    assert verify_unpacked(old, new).symbols == parse_elf(old).symbols
    assert unpack_relr(new) == new  # nothing left to unpack
    assert unpack_relr(old) == new  # reproducible


@pytest.mark.parametrize("arch", ["x86_64", "aarch64", "armv7l", "riscv64"])
def test_the_oracle_and_the_proof_catch_a_wrong_addend(tables: dict[tuple[str, str], Fixture], arch: str) -> None:
    old = tables[arch, "lld"].packed.read_bytes()
    new = bytearray(unpack_relr(old))
    elf64 = old[4] == 2
    e = "<"
    # The first new entry relocates the first packed site; spoil its addend (or in-place word).
    dyn_sites = sorted(load_and_relocate(old, 0).relocated)
    site = dyn_sites[0]
    if arch in ("armv7l",):  # REL: the addend is the word at the site; spoil the entry's offset
        at = bytes(new).find(struct.pack(e + "II", site, 23))
        struct.pack_into(e + "I", new, at, dyn_sites[1])
    else:
        rtype = {"x86_64": 8, "aarch64": 1027, "riscv64": 3}[arch]
        at = bytes(new).find(struct.pack(e + "QQ", site, rtype))
        assert at > 0 and elf64
        struct.pack_into(e + "q", new, at + 16, 12345)
    assert same_after_relocation(old, bytes(new), base_for(old)) != []
    with pytest.raises(RelrError):
        verify_unpacked(old, bytes(new))


def test_decode_relr_addresses_and_bitmaps() -> None:
    assert decode_relr([0x1000, 0b1011], 8) == [0x1000, 0x1008, 0x1018]
    # A bitmap covers 63 words on 64-bit and 31 on 32-bit, then the next bitmap goes on.
    assert decode_relr([0x100, (1 << 63) | 1, 0b11], 8) == [0x100, 0x108 + 62 * 8, 0x108 + 63 * 8]
    assert decode_relr([0x100, (1 << 31) | 1, 0b11], 4) == [0x100, 0x104 + 30 * 4, 0x104 + 31 * 4]


def wheel_of(dest: Path, arch: str, files: dict[str, bytes], tag: str = "musllinux_1_2") -> Path:
    dest.mkdir(exist_ok=True)
    return make_wheel(dest, "tbl", "1.0", f"py3-none-{tag}_{arch}", files)


def muslwheel(*args: object) -> object:
    return run([*muslwheel_cmd(), *args], env=checkout_env())


@pytest.mark.parametrize("arch,linker", [(a, "lld") for a in RUNNABLE_ARCHES] + [("x86_64", "bfd")])
def test_repair_makes_a_packed_library_print_the_right_values_on_musl_1_2_3(
    tables: dict[tuple[str, str], Fixture], tmp_path: Path, arch: str, linker: str
) -> None:
    fx = tables[arch, linker]
    assert fx.main is not None
    status, right = run_main(arch, fx.main, fx.plain.parent)
    assert status == 0 and right.startswith("alpha theta ")
    status, before = run_main(arch, fx.main, fx.packed.parent)
    assert status != 0 or before != right  # musl 1.2.3 ignores DT_RELR: crash or garbage

    wheel = wheel_of(tmp_path / "dist", arch, {"tbl/libtable.so": fx.packed.read_bytes()})
    out = tmp_path / "out"
    proc = muslwheel("repair", "--json", "-w", out, wheel)
    assert proc.returncode == 0, proc.stderr  # type: ignore[attr-defined]
    result = json.loads(proc.stdout)  # type: ignore[attr-defined]
    assert result["relr_unpacked"] == ["tbl/libtable.so"]
    assert result["platform_tags"][0] == f"musllinux_1_1_{arch}"
    repaired = Path(result["output"])
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    with zipfile.ZipFile(repaired) as zf:
        (fixed / "libtable.so").write_bytes(zf.read("tbl/libtable.so"))
    assert run_main(arch, fx.main, fixed) == (0, right)
    check = json.loads(muslwheel("check", "--json", repaired).stdout)  # type: ignore[attr-defined]
    assert check["loads"] and check["target_musl"] == "1.2.3", check


def test_grafted_library_is_unpacked_and_patched_and_stripped(
    toolchain: Toolchain, tables: dict[tuple[str, str], Fixture], tmp_path: Path
) -> None:
    """A library grafted from the target goes through patchelf, then unpacking (growing
    patchelf's segment), then strip; the result still prints the right values."""
    arch = "x86_64"
    fx = tables[arch, "bfd"]
    assert fx.main is not None
    _, right = run_main(arch, fx.main, fx.plain.parent)
    user = toolchain.build(
        arch,
        tmp_path / "libuser.so",
        [write_c(tmp_path / "user.c", "long table_checksum(void);\nlong user(void) { return table_checksum(); }\n")],
        shared=True,
        args=[f"-L{fx.packed.parent}", "-ltable"],
    )
    wheel = wheel_of(tmp_path / "dist", arch, {"tbl/libuser.so": user.read_bytes()}, tag="linux")
    out = tmp_path / "out"
    for extra in ([], ["--strip"]):
        proc = run_ok(
            [*muslwheel_cmd(), "repair", "--json", *extra, "-w", out, "--ldpaths", fx.packed.parent, wheel],
            env=checkout_env(),
        )
        result = json.loads(proc.stdout)
        (graft,) = result["grafted"]
        assert result["relr_unpacked"] == [graft["path"]]
        assert result["platform_tags"] == ["musllinux_1_1_x86_64"]
        fixed = tmp_path / f"fixed{len(extra)}"
        fixed.mkdir()
        with zipfile.ZipFile(result["output"]) as zf:
            data = zf.read(graft["path"])
        assert not parse_elf(data).has_relr
        # patchelf moved headers and strings, so compare the relocated words only.
        a, b = load_and_relocate(fx.packed.read_bytes(), 1 << 40), load_and_relocate(data, 1 << 40)
        assert {s: a.memory[s : s + 8] for s in a.relocated} == {s: b.memory[s : s + 8] for s in a.relocated}
        (fixed / "libtable.so").write_bytes(data)
        assert run_main(arch, fx.main, fixed) == (0, right)


@pytest.mark.parametrize("level", ["9", "0"])
def test_an_unpacked_library_is_deflated_at_the_asked_level_and_the_same_bytes_every_time(
    tables: dict[tuple[str, str], Fixture], tmp_path: Path, level: str
) -> None:
    """The members repair rewrites are deflated by a second thread while it goes on: with
    zlib at ``-z``'s level (0: stored), so that the output is the same bytes on every run and
    every CPU (ISA-L's deflate chooses code by CPU and its output with it); the unchanged
    members keep their compressed bytes."""
    import zlib

    data = tables["x86_64", "bfd"].packed.read_bytes()
    wheel = wheel_of(tmp_path / "dist", "x86_64", {"tbl/libtable.so": data, "tbl/data.txt": b"d" * 5000})
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        run_ok([*muslwheel_cmd(), "repair", "-q", "-z", level, "-w", out, wheel], env=checkout_env())
        (repaired,) = out.glob("*.whl")
        outs.append(repaired.read_bytes())
    assert outs[0] == outs[1]
    with zipfile.ZipFile(repaired) as zf, zipfile.ZipFile(wheel) as original:
        info = zf.getinfo("tbl/libtable.so")
        content = zf.read(info)
        assert not parse_elf(content).has_relr
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        payload = outs[1][start : start + info.compress_size]
        if level == "0":
            assert info.compress_type == zipfile.ZIP_STORED and payload == content
        else:
            deflater = zlib.compressobj(int(level), zlib.DEFLATED, -15)
            assert payload == deflater.compress(content) + deflater.flush()
        kept = zf.getinfo("tbl/data.txt")
        assert kept.compress_size == original.getinfo("tbl/data.txt").compress_size


def test_keep_relr_keeps_it_and_the_tag_says_1_2(tables: dict[tuple[str, str], Fixture], tmp_path: Path) -> None:
    data = tables["aarch64", "lld"].packed.read_bytes()
    wheel = wheel_of(tmp_path / "dist", "aarch64", {"tbl/libtable.so": data}, tag="linux")
    out = tmp_path / "out"
    result = json.loads(run_ok([*muslwheel_cmd(), "repair", "--json", "--keep-relr", "-w", out, wheel]).stdout)
    assert result["relr_unpacked"] == [] and result["platform_tags"] == ["musllinux_1_2_aarch64"]
    with zipfile.ZipFile(result["output"]) as zf:
        assert zf.read("tbl/libtable.so") == data


def test_only_relative_relocations_make_a_new_rela_table(toolchain: Toolchain, tmp_path: Path) -> None:
    """A library whose every relocation was packed has no DT_RELA: the unpacked one gets one,
    named .rela.dyn in the section headers, and runs."""
    need(toolchain.zig, "zig")
    fx = build_table(toolchain, "aarch64", "lld", tmp_path / "t", "-DONLY_RELATIVE")
    old = fx.packed.read_bytes()
    new = unpack_relr(old)
    assert same_after_relocation(old, new, base_for(old)) == []
    assert b".rela.dyn\0" in new and b".relr.dyn\0" not in new
    assert fx.main is not None
    status, right = run_main("aarch64", fx.main, fx.plain.parent)
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    (fixed / "libtable.so").write_bytes(new)
    assert run_main("aarch64", fx.main, fixed) == (0, right) and status == 0


def test_a_site_in_read_only_memory_is_refused_and_repair_writes_nothing(
    tables: dict[tuple[str, str], Fixture], tmp_path: Path
) -> None:
    data = bytearray(tables["x86_64", "lld"].packed.read_bytes())
    # Clear PF_W on every PT_LOAD: the packed sites now need text relocations.
    phoff, phentsize, phnum = struct.unpack_from("<Q", data, 32)[0], *struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        at = phoff + i * phentsize
        if struct.unpack_from("<I", data, at)[0] == 1:
            struct.pack_into("<I", data, at + 4, struct.unpack_from("<I", data, at + 4)[0] & ~2)
    with pytest.raises(RelrError, match="not in a writable segment"):
        unpack_relr(bytes(data))
    wheel = wheel_of(tmp_path / "dist", "x86_64", {"tbl/libtable.so": bytes(data)})
    out = tmp_path / "out"
    out.mkdir()
    proc = muslwheel("repair", "-w", out, wheel)
    assert proc.returncode == 2  # type: ignore[attr-defined]
    err = proc.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(err) == 1 and "text relocations" in err[0] and "--keep-relr" in err[0]
    assert list(out.iterdir()) == []


def test_show_names_the_fix_and_strict_fails_on_the_excess(
    tables: dict[tuple[str, str], Fixture], tmp_path: Path
) -> None:
    wheel = wheel_of(tmp_path / "dist", "x86_64", {"tbl/libtable.so": tables["x86_64", "bfd"].packed.read_bytes()})
    shown = muslwheel("show", wheel)
    assert shown.returncode == 0  # type: ignore[attr-defined]
    assert "DT_RELR in libtable.so" in shown.stdout  # type: ignore[attr-defined]
    assert "`muslwheel repair` lowers this to 1.1.0" in shown.stdout  # type: ignore[attr-defined]
    assert muslwheel("show", "--strict", wheel).returncode == 1  # type: ignore[attr-defined]
    strict = json.loads(muslwheel("show", "--strict", "--json", wheel).stdout)  # type: ignore[attr-defined]
    assert strict["exit_status"] == 1 and strict["honest"]
    verdict = json.loads(muslwheel("show", "--json", wheel).stdout)  # type: ignore[attr-defined]
    assert verdict["musl_min_version"] == "1.2.4" and verdict["musl_min_version_without_relr"] == "1.1.0"
    out = tmp_path / "out"
    result = json.loads(run_ok([*muslwheel_cmd(), "repair", "--json", "-w", out, wheel]).stdout)
    assert muslwheel("show", "--strict", result["output"]).returncode == 0  # type: ignore[attr-defined]


EXT_C = r"""#define PY_SSIZE_T_CLEAN
#include <Python.h>
static const char *const names[] = {"one", "two", "three"};
static PyObject *name(PyObject *self, PyObject *arg) {
    long i = PyLong_AsLong(arg);
    if (i < 0 || i > 2) { PyErr_SetString(PyExc_IndexError, "0..2"); return NULL; }
    return PyUnicode_FromString(names[i]);
}
static PyMethodDef methods[] = {{"name", name, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_names", NULL, -1, methods};
PyMODINIT_FUNC PyInit__names(void) { return PyModule_Create(&mod); }
"""


def test_packed_extension_crashes_the_musl_cpython_and_imports_after_repair(
    toolchain: Toolchain, musl_python: Path, tmp_path: Path
) -> None:
    include = python_include(musl_python)
    ext = toolchain.build(
        "x86_64",
        tmp_path / "_names.cpython-311-x86_64-linux-musl.so",
        [write_c(tmp_path / "names.c", EXT_C)],
        shared=True,
        args=[f"-I{include}", "-Wl,-z,pack-relative-relocs"],
    )
    wheel = make_wheel(
        tmp_path,
        "names",
        "1.0",
        "cp311-cp311-musllinux_1_2_x86_64",
        {f"names/{ext.name}": ext.read_bytes(), "names/__init__.py": "from ._names import name\n"},
    )
    code = "import names; print(names.name(0), names.name(2))"

    def imports(whl: Path, where: Path) -> tuple[int, str]:
        with zipfile.ZipFile(whl) as zf:
            zf.extractall(where)
        proc = run([musl_python, "-c", code], cwd=where)
        return proc.returncode, proc.stdout

    status, _ = imports(wheel, tmp_path / "before")
    assert status != 0  # a crash, typically SIGSEGV
    before = json.loads(muslwheel("check", "--json", wheel).stdout)  # type: ignore[attr-defined]
    assert not before["loads"] and any("DT_RELR" in p["why"] for p in before["problems"])
    out = tmp_path / "out"
    result = json.loads(run_ok([*muslwheel_cmd(), "repair", "--json", "-w", out, wheel]).stdout)
    assert result["platform_tags"][0] == "musllinux_1_1_x86_64"
    assert imports(Path(result["output"]), tmp_path / "after") == (0, "one three\n")
    after = json.loads(muslwheel("check", "--json", result["output"]).stdout)  # type: ignore[attr-defined]
    assert after["loads"], after


FUZZ_EDITS = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=6)


@pytest.mark.parametrize("arch", ["x86_64", "armv7l", "s390x"])  # 64/32-bit, REL/RELA, both byte orders
def test_mutated_packed_libraries_raise_only_muslwheel_errors(
    tables: dict[tuple[str, str], Fixture], arch: str
) -> None:
    seed = tables[arch, "lld"].packed.read_bytes()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(FUZZ_EDITS, st.integers(0, len(seed)))
    def run_one(edits: list[tuple[int, int]], cut: int) -> None:
        data = bytearray(seed[: max(cut, 4)] if cut else seed)
        for offset, value in edits:
            data[offset % len(data)] = value
        try:
            new = unpack_relr(bytes(data))
            verify_unpacked(bytes(data), new)
        except MuslwheelError:
            pass

    run_one()


def test_executables_keep_dt_relr_and_the_tag_says_so(toolchain: Toolchain, tmp_path: Path) -> None:
    """Only libraries are unpacked: an executable's program headers stay where the kernel
    looks for them, so a wheel with a packed executable keeps needing 1.2.4, and says why."""
    prog = toolchain.build(
        "x86_64",
        tmp_path / "prog",
        [write_c(tmp_path / "prog.c", MAIN_C.replace("long table_checksum(void); const char *table_word(int);", "")
                 .replace('table_word(0), table_word(7), table_checksum()', '"a", "b", 0L'))],
        args=["-Wl,-z,pack-relative-relocs"],
    )  # fmt: skip
    assert parse_elf(prog.read_bytes()).has_relr
    wheel = wheel_of(tmp_path / "dist", "x86_64", {"tbl/prog": prog.read_bytes()}, tag="linux")
    out = tmp_path / "out"
    proc = run_ok([*muslwheel_cmd(), "repair", "--json", "-w", out, wheel], env=checkout_env())
    result = json.loads(proc.stdout)
    assert result["relr_unpacked"] == [] and result["platform_tags"] == ["musllinux_1_2_x86_64"]
    verdict = json.loads(muslwheel("show", "--json", result["output"]).stdout)  # type: ignore[attr-defined]
    assert verdict["musl_min_version"] == "1.2.4" and verdict["musl_min_version_without_relr"] == "1.2.4"
