"""show: each audit rule, proven on binaries the test builds with musl-gcc, zig and gcc."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from conftest import (
    ALL_ARCHES,
    Toolchain,
    checkout_env,
    loader_for,
    muslwheel_cmd,
    need,
    run,
    run_ok,
    stub_library,
    write_c,
)
from wheelmaker import make_wheel

from muslwheel.audit import audit_wheel
from muslwheel.elf import parse_elf, read_elf
from muslwheel.vocabulary import Kind, Libc, Severity

EXT = ".cpython-311-x86_64-linux-musl.so"


def lib_wheel(tmp: Path, name: str, tag: str, files: dict[str, Path]) -> Path:
    dist = tmp / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    return make_wheel(dist, name, "1.0", tag, {k: v.read_bytes() for k, v in files.items()})


def build_c(
    toolchain: Toolchain,
    tmp: Path,
    arch: str,
    name: str,
    code: str,
    *,
    use_zig: bool = False,
    args: tuple[str, ...] = (),
) -> Path:
    src = write_c(tmp / f"{name}.c", code)
    return toolchain.build(arch, tmp / f"{name}.so", [src], shared=True, use_zig=use_zig, args=args)


def show_json(wheel: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    proc = run([*muslwheel_cmd(), "show", "--json", wheel], env=checkout_env())
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


QSORT_R = "#define _GNU_SOURCE\n#include <stdlib.h>\nstatic int c(const void*a,const void*b,void*u){return 0;}\nvoid s(int*v,size_t n){qsort_r(v,n,sizeof*v,c,0);}\n"


def test_qsort_r_needs_musl_1_2_3_and_is_a_warning_under_musllinux_1_2(toolchain: Toolchain, tmp_path: Path) -> None:
    so = build_c(toolchain, tmp_path, "x86_64", "_sort", QSORT_R)
    wheel = lib_wheel(tmp_path, "sorter", "cp311-cp311-musllinux_1_2_x86_64", {f"sorter/_sort{EXT}": so})
    status, v = show_json(wheel)
    assert status == 0 and v["honest"] is True
    assert (v["libc"], v["arch"], v["tag"], v["musl_min_version"]) == (
        "musl",
        "x86_64",
        "musllinux_1_2_x86_64",
        "1.2.3",
    )
    warning = next(r for r in v["reasons"] if r["severity"] == "warning")
    assert "qsort_r" in warning["why"] and "fails on musl 1.2.0–1.2.2" in warning["why"]
    assert "qsort_r" in v["stricter_tags"]["musllinux_1_1_x86_64"]


def test_a_musllinux_1_1_claim_that_needs_1_2_exits_1_naming_the_symbol(toolchain: Toolchain, tmp_path: Path) -> None:
    so = build_c(toolchain, tmp_path, "x86_64", "_sort", QSORT_R)
    wheel = lib_wheel(tmp_path, "sorter", "cp311-cp311-musllinux_1_1_x86_64", {f"sorter/_sort{EXT}": so})
    proc = run([*muslwheel_cmd(), "show", wheel], env=checkout_env())
    assert proc.returncode == 1
    assert "musllinux_1_1_x86_64: needs musl 1.2.3 for qsort_r" in proc.stdout
    assert "best honest tag: musllinux_1_2_x86_64" in proc.stdout


def test_statx_needs_musl_1_2_5(toolchain: Toolchain, tmp_path: Path) -> None:
    code = '#define _GNU_SOURCE\n#include <fcntl.h>\n#include <sys/stat.h>\nint f(struct statx*b){return statx(AT_FDCWD,".",0,STATX_ALL,b);}\n'
    so = build_c(toolchain, tmp_path, "x86_64", "_st", code, use_zig=True)
    wheel = lib_wheel(tmp_path, "st", "cp311-cp311-musllinux_1_2_x86_64", {f"st/_st{EXT}": so})
    _, v = show_json(wheel)
    assert v["musl_min_version"] == "1.2.5"
    assert any(r.get("symbol") == "statx" and r.get("musl") == "1.2.5" for r in v["reasons"])


def test_dt_relr_needs_musl_1_2_4(toolchain: Toolchain, tmp_path: Path) -> None:
    code = 'static const char *t[] = {"a", "b", "c"};\nconst char *get(int i) { return t[i]; }\n'
    so = build_c(toolchain, tmp_path, "x86_64", "librelr", code, args=("-Wl,-z,pack-relative-relocs",))
    assert read_elf(so).has_relr
    wheel = lib_wheel(tmp_path, "relr", "py3-none-musllinux_1_2_x86_64", {"relr/librelr.so": so})
    _, v = show_json(wheel)
    assert v["musl_min_version"] == "1.2.4"
    relr = next(r for r in v["reasons"] if r.get("feature") == "DT_RELR")
    assert relr["musl"] == "1.2.4"


def test_i686_time64_symbols_need_musl_1_2_0(toolchain: Toolchain, tmp_path: Path) -> None:
    code = "#include <time.h>\nlong now(void){struct timespec t; clock_gettime(CLOCK_REALTIME,&t); return t.tv_sec;}\n"
    so = build_c(toolchain, tmp_path, "i686", "_t", code)
    wheel = lib_wheel(tmp_path, "t", "cp311-cp311-musllinux_1_1_i686", {"t/_t.cpython-311-i386-linux-musl.so": so})
    status, v = show_json(wheel)
    assert status == 1 and v["tag"] == "musllinux_1_2_i686" and v["musl_min_version"] == "1.2.0"
    assert any(r["kind"] == "time64" and r.get("symbol") == "__clock_gettime64" for r in v["reasons"])


def build_glibc_lib(tmp: Path) -> Path:
    """A shared library built by the host's gcc against glibc."""
    gcc = shutil.which("gcc")
    need(gcc, "gcc")
    so = tmp / "libg.so"
    run_ok(
        [gcc, "-shared", "-fPIC", "-o", so, write_c(tmp / "g.c", '#include <stdio.h>\nvoid hi(void){puts("hi");}\n')]
    )
    return so


def test_glibc_library_in_a_musllinux_wheel_is_refused(tmp_path: Path) -> None:
    so = build_glibc_lib(tmp_path)
    wheel = lib_wheel(tmp_path, "g", "py3-none-musllinux_1_2_x86_64", {"g/libg.so": so})
    status, v = show_json(wheel)
    assert status == 1 and v["libc"] == "glibc" and v["tag"] is None
    assert any(r["kind"] == "glibc" and "libc.so.6" in r["why"] for r in v["reasons"])
    assert any("a musl tag on glibc binaries" in r["why"] for r in v["reasons"])


def test_manylinux_wheel_is_never_called_musl(tmp_path: Path) -> None:
    so = build_glibc_lib(tmp_path)
    wheel = lib_wheel(tmp_path, "g", "py3-none-manylinux_2_17_x86_64", {"g/libg.so": so})
    status, v = show_json(wheel)
    assert status == 0 and v["libc"] == "glibc" and v["tag"] is None and v["musl_min_version"] is None


def test_libc_so_needed_is_musl_and_origin_library_is_not_external(toolchain: Toolchain, tmp_path: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    helper = toolchain.build(
        "x86_64", libs / "libhelper.so", [write_c(tmp_path / "h.c", "int helper(int x){return x+1;}\n")], shared=True
    )
    ext = build_c(
        toolchain,
        tmp_path,
        "x86_64",
        "_ext",
        "int helper(int);\nint use(int x){return helper(x);}\n",
        args=(f"-L{libs}", "-lhelper", "-Wl,-rpath,$ORIGIN/../pkg.libs"),
    )
    assert "libc.so" in read_elf(ext).needed
    wheel = lib_wheel(
        tmp_path, "pkg", "cp311-cp311-musllinux_1_1_x86_64", {f"pkg/_ext{EXT}": ext, "pkg.libs/libhelper.so": helper}
    )
    status, v = show_json(wheel)
    assert status == 0 and v["external_libs"] == [] and v["tag"] == "musllinux_1_1_x86_64"
    ext_report = next(f for f in v["files"] if f["path"].startswith("pkg/_ext"))
    kinds = {r["needed"]: (r["kind"], r.get("path")) for r in ext_report["resolved"]}
    assert kinds["libhelper.so"] == ("wheel", "pkg.libs/libhelper.so")
    assert kinds["libc.so"] == ("musl", None)


def test_external_library_is_listed_and_blocks_every_tag(toolchain: Toolchain, tmp_path: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    toolchain.build(
        "x86_64", libs / "libouter.so", [write_c(tmp_path / "o.c", "int outer(void){return 1;}\n")], shared=True
    )
    ext = build_c(
        toolchain,
        tmp_path,
        "x86_64",
        "_ext",
        "int outer(void);\nint use(void){return outer();}\n",
        args=(f"-L{libs}", "-louter"),
    )
    wheel = lib_wheel(tmp_path, "pkg", "cp311-cp311-musllinux_1_2_x86_64", {f"pkg/_ext{EXT}": ext})
    status, v = show_json(wheel)
    assert status == 1 and v["external_libs"] == ["libouter.so"] and v["tag"] is None
    assert "libouter.so" in v["stricter_tags"]["musllinux_1_2_x86_64"]


@pytest.mark.parametrize("arch", ALL_ARCHES)
def test_each_arch_is_named_right(toolchain: Toolchain, tmp_path: Path, arch: str) -> None:
    so = build_c(toolchain, tmp_path, arch, "libx", "int f(int x){return x*2;}\n", use_zig=True)
    wheel = lib_wheel(tmp_path, "x", f"py3-none-musllinux_1_2_{arch}", {"x/libx.so": so})
    status, v = show_json(wheel)
    assert (status, v["libc"], v["arch"]) == (0, "musl", arch)
    assert v["tag"].endswith(arch)


def test_module_named_for_glibc_triplet_will_not_import_on_musl_cpython_311(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    so = build_c(toolchain, tmp_path, "x86_64", "_m", "int f(void){return 1;}\n")
    wheel = lib_wheel(tmp_path, "m", "cp311-cp311-musllinux_1_2_x86_64", {"m/_m.cpython-311-x86_64-linux-gnu.so": so})
    status, v = show_json(wheel)
    assert status == 1
    assert any(r["kind"] == "module-name" and "x86_64-linux-musl" in r["why"] for r in v["reasons"])


def test_musl_cpython_really_ignores_gnu_named_modules(musl_python: Path) -> None:
    suffixes = run_ok([musl_python, "-c", "import importlib.machinery as m; print(m.EXTENSION_SUFFIXES)"]).stdout
    assert "x86_64-linux-musl.so" in suffixes and "linux-gnu" not in suffixes


def test_pure_wheel_gets_a_clear_message(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "pure", "1.0", "py3-none-any", {"pure/__init__.py": "x = 1\n"}, root_is_purelib=True)
    proc = run_ok([*muslwheel_cmd(), "show", wheel], env=checkout_env())
    assert "pure wheel" in proc.stdout
    assert audit_wheel(wheel).libc == "none"


# --- libc decided per wheel, never by default (issue #10, item 2) ----------------------------


def muslwheel(*args: object) -> subprocess.CompletedProcess[str]:
    return run([*muslwheel_cmd(), *args], env=checkout_env())


def build_glibc_module(tmp: Path, name: str, code: str = "int answer(void){return 42;}\n", *args: str) -> Path:
    """A module the host's gcc builds against glibc; with --as-needed and no libc call it has
    no DT_NEEDED at all, so nothing in its bytes says glibc."""
    gcc = shutil.which("gcc")
    need(gcc, "gcc")
    so = tmp / name
    run_ok([gcc, "-shared", "-fPIC", "-O2", "-Wl,--as-needed", "-o", so, write_c(tmp / f"{name}.c", code), *args])
    return so


def test_a_cpython_313_gnu_named_module_without_libc_evidence_is_glibc_and_never_becomes_musllinux(
    tmp_path: Path,
) -> None:
    so = build_glibc_module(tmp_path, "_g.cpython-313-x86_64-linux-gnu.so")
    elf = read_elf(so)
    assert elf.needed == () and elf.interpreter is None and not elf.version_needs  # no evidence in its bytes
    wheel = lib_wheel(tmp_path, "g", "cp313-cp313-linux_x86_64", {"g/_g.cpython-313-x86_64-linux-gnu.so": so})
    status, v = show_json(wheel)
    # Verdict: glibc (from its name: CPython 3.13 on musl names modules -linux-musl); it
    # claims nothing musl, so show says so in one line and exits 0.
    assert (status, v["libc"], v["tag"]) == (0, "glibc", None)
    assert [r["why"] for r in v["reasons"]] == ["glibc wheel: not muslwheel's to judge"]
    assert "-linux-gnu.so for CPython 3.13" in v["files"][0]["glibc_evidence"][0]
    text = muslwheel("show", wheel)
    assert text.returncode == 0 and "glibc wheel: not muslwheel's to judge" in text.stdout
    assert "error" not in text.stdout
    # repair refuses in one line, writes nothing; check says it is no musl binary.
    out = tmp_path / "out"
    out.mkdir()
    rep = muslwheel("repair", "-w", out, wheel)
    assert rep.returncode == 2 and "glibc binaries" in rep.stderr and len(rep.stderr.splitlines()) == 1
    assert list(out.iterdir()) == []
    chk = muslwheel("check", "--json", wheel)
    assert chk.returncode == 1
    assert [p["kind"] for p in json.loads(chk.stdout)["problems"]] == ["glibc"]


def test_a_cpython_310_gnu_named_module_without_evidence_stays_unknown_and_may_be_musllinux(tmp_path: Path) -> None:
    # Before 3.11, musl CPython named its modules -linux-gnu too (auditwheel's bundled
    # musllinux_1_2 testsimple cp310 wheel): the name says nothing, and no libc is assumed.
    so = build_glibc_module(tmp_path, "_s.cpython-310-x86_64-linux-gnu.so")
    wheel = lib_wheel(tmp_path, "s", "cp310-cp310-linux_x86_64", {"s/_s.cpython-310-x86_64-linux-gnu.so": so})
    status, v = show_json(wheel)
    assert (status, v["libc"], v["tag"]) == (0, "unknown", "musllinux_1_1_x86_64")


def test_a_member_without_evidence_takes_the_libc_of_the_wheels_other_members(tmp_path: Path) -> None:
    plain = build_glibc_module(tmp_path, "libplain.so")
    withlibc = build_glibc_lib(tmp_path)
    wheel = lib_wheel(tmp_path, "g", "py3-none-linux_x86_64", {"g/libplain.so": plain, "g/libg.so": withlibc})
    _, v = show_json(wheel)
    plain_report = next(f for f in v["files"] if f["path"] == "g/libplain.so")
    assert plain_report["libc"] == "glibc" and "other members are glibc" in plain_report["glibc_evidence"][0]


def test_a_manylinux_wheel_exits_0_without_errors_and_1_when_it_also_claims_musllinux(tmp_path: Path) -> None:
    gcc = shutil.which("gcc")
    need(gcc, "gcc")
    exe = tmp_path / "tool"
    run_ok([gcc, "-O2", "-o", exe, write_c(tmp_path / "tool.c", '#include <stdio.h>\nint main(void){puts("x");}\n')])
    lib = build_glibc_lib(tmp_path)
    files = {"g-1.0.data/scripts/tool": exe, "g/libg.so": lib}
    many = lib_wheel(tmp_path, "g", "py3-none-manylinux_2_17_x86_64", files)
    proc = muslwheel("show", many)
    # Verdict: glibc, not ours to judge: exit 0, no error lines, no advice to vendor glibc's loader.
    assert proc.returncode == 0 and "error" not in proc.stdout and "ld-linux" not in proc.stdout
    assert "glibc wheel: not muslwheel's to judge" in proc.stdout
    both = lib_wheel(tmp_path / "both", "g", ["py3-none-manylinux_2_17_x86_64", "py3-none-musllinux_1_2_x86_64"], files)
    status, v = show_json(both)
    assert status == 1 and any("a musl tag on glibc binaries" in r["why"] for r in v["reasons"])
    chk = muslwheel("check", "--json", many)
    assert chk.returncode == 1 and {p["kind"] for p in json.loads(chk.stdout)["problems"]} >= {"glibc"}


# --- Claims auditwheel rejects (issue #10, item 6) ------------------------------------------


def test_linux_x86_64_claim_on_an_aarch64_module_exits_1_and_repair_refuses(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    so = build_c(toolchain, tmp_path, "aarch64", "_a", "int f(int x){return x;}\n", use_zig=True)
    wheel = lib_wheel(tmp_path, "a", "cp311-cp311-linux_x86_64", {"a/_a.cpython-311-aarch64-linux-musl.so": so})
    status, v = show_json(wheel)
    # Verdict: dishonest; reason: the claim's arch is not the binaries'.
    assert status == 1 and v["arch"] == "aarch64"
    assert any(r["kind"] == "tag-arch" and r["why"] == "linux_x86_64: the binaries are aarch64" for r in v["reasons"])
    out = tmp_path / "out"
    out.mkdir()
    rep = muslwheel("repair", "-w", out, wheel)
    assert rep.returncode == 2 and "the binaries are aarch64" in rep.stderr and list(out.iterdir()) == []


ZLIB_STUB = "int deflate(void*s,int f){return 0;}\nvoid *zcalloc(void*o,unsigned n,unsigned s){return 0;}\nvoid zcfree(void*o,void*p){}\n"


def test_zlib_internals_imported_from_the_system_libz_are_an_error(toolchain: Toolchain, tmp_path: Path) -> None:
    # The host's real libz.so.1 shows what "no system libz exports them" means.
    host_libz = Path("/lib/x86_64-linux-gnu/libz.so.1")
    need(host_libz.exists(), "the host's libz.so.1 (zlib1g)")
    exported = read_elf(host_libz).defined_names
    assert "deflate" in exported and not {"zcalloc", "zcfree"} & exported
    stubdir = stub_library(toolchain, tmp_path, "x86_64", "libz.so.1", ZLIB_STUB).parent
    internal = build_c(
        toolchain,
        tmp_path,
        "x86_64",
        "_zi",
        "void *zcalloc(void*,unsigned,unsigned);\nvoid *get(void){return zcalloc(0,1,1);}\n",
        args=(f"-L{stubdir}", "-l:libz.so.1"),
    )
    public = build_c(
        toolchain,
        tmp_path,
        "x86_64",
        "_zp",
        "int deflate(void*,int);\nint go(void){return deflate(0,0);}\n",
        args=(f"-L{stubdir}", "-l:libz.so.1"),
    )
    bad = lib_wheel(tmp_path, "zi", "cp311-cp311-musllinux_1_1_x86_64", {f"zi/_zi{EXT}": internal})
    status, v = show_json(bad)
    # Verdict: dishonest, no tag; reason: zcalloc is internal to libz.so.1.
    assert status == 1 and v["tag"] is None and v["system_libs"] == ["libz.so.1"]
    (r,) = [r for r in v["reasons"] if r["kind"] == "system-symbol"]
    assert (r["symbol"], r["library"]) == ("zcalloc", "libz.so.1")
    out = tmp_path / "out"
    out.mkdir()
    rep = muslwheel("repair", "-w", out, bad)
    assert rep.returncode == 2 and "zcalloc is internal to libz.so.1" in rep.stderr
    good = lib_wheel(tmp_path, "zp", "cp311-cp311-musllinux_1_1_x86_64", {f"zp/_zp{EXT}": public})
    status, v = show_json(good)
    assert (status, v["tag"]) == (0, "musllinux_1_1_x86_64")


PYMOD_C = "int Py_IsInitialized(void);\nint up(void){return Py_IsInitialized();}\n"
PY_STUB = "int Py_IsInitialized(void){return 1;}\n"


def test_a_libpython_need_is_a_warning_and_repair_drops_it(toolchain: Toolchain, tmp_path: Path) -> None:
    stubdir = stub_library(toolchain, tmp_path, "x86_64", "libpython3.11.so.1.0", PY_STUB).parent
    so = build_c(toolchain, tmp_path, "x86_64", "_p", PYMOD_C, args=(f"-L{stubdir}", "-l:libpython3.11.so.1.0"))
    assert "libpython3.11.so.1.0" in read_elf(so).needed
    wheel = lib_wheel(tmp_path, "p", "cp311-cp311-linux_x86_64", {f"p/_p{EXT}": so})
    status, v = show_json(wheel)
    # Verdict: honest, musllinux_1_1; reason: a warning that repair drops the need.
    assert (status, v["tag"], v["external_libs"]) == (0, "musllinux_1_1_x86_64", [])
    (w,) = [r for r in v["reasons"] if r["kind"] == "libpython"]
    assert w["severity"] == "warning" and w["library"] == "libpython3.11.so.1.0"
    out = tmp_path / "out"
    out.mkdir()
    rep = muslwheel("repair", "--json", "-w", out, wheel)
    assert rep.returncode == 0, rep.stderr
    repaired = Path(json.loads(rep.stdout)["output"])
    status, after = show_json(repaired)
    assert status == 0 and not any(r["kind"] == "libpython" for r in after["reasons"])
    with zipfile.ZipFile(repaired) as zf:
        patched = parse_elf(zf.read(f"p/_p{EXT}"))
    assert "libpython3.11.so.1.0" not in patched.needed and "libc.so" in patched.needed
    # and musl's loader now loads it with no libpython anywhere on its path (Py_IsInitialized
    # stays unbound: the interpreter provides it)
    site = tmp_path / "site"
    site.mkdir()
    (site / "m.so").write_bytes(zipfile.ZipFile(repaired).read(f"p/_p{EXT}"))
    listing = run([loader_for("x86_64"), "--list", site / "m.so"])
    assert "Error loading shared library" not in listing.stderr
    assert "Py_IsInitialized: symbol not found" in listing.stderr


def test_loongarch64_floor_is_its_ports_first_release(toolchain: Toolchain, tmp_path: Path) -> None:
    so = build_c(
        toolchain,
        tmp_path,
        "loongarch64",
        "_l",
        "#include <stdlib.h>\nvoid *m(void){return malloc(4);}\n",
        use_zig=True,
    )
    ext = "l/_l.cpython-311-loongarch64-linux-musl.so"
    old = lib_wheel(tmp_path, "l", "cp311-cp311-musllinux_1_1_loongarch64", {ext: so})
    status, v = show_json(old)
    # Verdict: musllinux_1_1_loongarch64 is dishonest; reason: musl's loongarch64 port began with 1.2.5.
    assert (status, v["tag"], v["musl_min_version"]) == (1, "musllinux_1_2_loongarch64", "1.2.5")
    assert "the loongarch64 port" in v["stricter_tags"]["musllinux_1_1_loongarch64"]
    new = lib_wheel(tmp_path / "n", "l", "cp311-cp311-musllinux_1_2_loongarch64", {ext: so})
    status, v = show_json(new)
    # and under musllinux_1_2 no warning about musl 1.2.0–1.2.4, which never ran on loongarch64
    assert status == 0 and not any(r["severity"] == "warning" for r in v["reasons"])
    out = tmp_path / "out"
    out.mkdir()
    rep = muslwheel("repair", "--plat", "musllinux_1_1_loongarch64", "-w", out, old)
    assert rep.returncode == 2 and "loongarch64 port" in rep.stderr


@pytest.mark.parametrize("word", [*Kind, *Severity, *Libc], ids=str)
def test_the_verdicts_words_print_and_serialise_as_their_bare_value(word: Kind | Severity | Libc) -> None:
    # show's text comes from f-strings and its JSON from json.dumps: a word must read the same
    # in both as the string it replaced, on every Python (3.12 changed format() of str enums).
    value = word.value
    assert (f"{word}", str(word), format(word, "")) == (value, value, value)
    assert f"{word:>20}" == f"{value:>20}"
    assert json.dumps({word: [word]}) == json.dumps({value: [value]})
    assert word == value and hash(word) == hash(value) and {value: 1}[word] == 1


def _wheels_of_many_sizes(toolchain: Toolchain, tmp_path: Path, count: int = 5) -> list[Path]:
    """*count* wheels with a library each, and 0.5, 1, 1.5… MiB of incompressible data."""
    so = toolchain.build(
        "x86_64", tmp_path / "libm.so", [write_c(tmp_path / "m.c", "int m(int x) { return x; }\n")], shared=True
    )
    return [
        make_wheel(
            tmp_path,
            f"p{i}",
            "1.0",
            f"py3-none-musllinux_1_{i % 2 + 1}_x86_64",
            {f"p{i}/libm.so": so.read_bytes(), f"p{i}/data.bin": os.urandom((i % 3 + 1) << 19)},
        )
        for i in range(count)
    ]


def test_many_wheels_are_judged_in_the_order_given_and_a_refused_one_stops_no_other(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    """show audits several wheels on every core at once (worker processes, the biggest wheel
    first); what it prints must not tell: verdicts in the order the wheels were given, each the
    one a show of that wheel alone gives, and a wheel it refuses in the middle is one line on
    stderr (exit 2) while the others are judged. The wheels are of different sizes (so the
    biggest-first order is not the order given) and over show's few MiB in all below which it
    audits them in its own process."""
    wheels = _wheels_of_many_sizes(toolchain, tmp_path)
    bad = tmp_path / "bad-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    given = [*wheels[:2], bad, *wheels[2:]]
    proc = run([*muslwheel_cmd(), "show", "--json", *given])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "bad-1.0-py3-none-any.whl" in proc.stderr
    alone = [json.loads(run([*muslwheel_cmd(), "show", "--json", w]).stdout) for w in wheels]
    assert json.loads(proc.stdout) == alone
    plain = run([*muslwheel_cmd(), "show", *wheels]).stdout
    assert plain == "".join(run([*muslwheel_cmd(), "show", w]).stdout for w in wheels)


def _workers_of(proc: subprocess.Popen[str]) -> set[int]:
    """The worker processes of a running show, as soon as it has them; empty if it ended first."""
    workers: set[int] = set()
    while proc.poll() is None and not workers:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        workers = {int(p) for p in children.read_text().split()} if children.exists() else set()
    return workers


def test_a_show_killed_over_many_wheels_leaves_no_worker_behind(toolchain: Toolchain, tmp_path: Path) -> None:
    """A CI job's timeout kills show with SIGTERM, which runs no cleanup: its worker processes,
    idle or auditing, must not outlive it (they would wait forever on a queue nobody fills)."""
    wheels = _wheels_of_many_sizes(toolchain, tmp_path, count=12)
    for _attempt in range(5):
        proc = subprocess.Popen([*muslwheel_cmd(), "show", *wheels], stdout=subprocess.DEVNULL, text=True)
        workers = _workers_of(proc)
        if not workers:
            continue  # show finished before its workers were seen: once more
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30  # a hang guard, not a measure: they exit within a second
        while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [w for w in workers if Path(f"/proc/{w}").exists()]
        assert not left, f"show's workers {left} outlived it"
        return
    pytest.fail("show over 12 wheels never had a worker process to see")


def test_a_killed_worker_leaves_its_wheels_unjudged_in_one_line_each(toolchain: Toolchain, tmp_path: Path) -> None:
    """When a worker dies (the OOM killer, a signal), every wheel gets either its verdict or one
    line saying it was not judged, show exits 2, and no traceback is printed."""
    wheels = _wheels_of_many_sizes(toolchain, tmp_path, count=12)
    for _attempt in range(5):
        proc = subprocess.Popen(
            [*muslwheel_cmd(), "show", "--json", *wheels], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        workers = _workers_of(proc)
        if not workers:
            proc.communicate()
            continue  # show finished before its workers were seen: once more
        os.kill(min(workers), signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        assert "Traceback" not in err
        unjudged = err.splitlines()
        assert unjudged and all(
            line.endswith("not judged: a process auditing these wheels was killed") for line in unjudged
        )
        judged = [v["wheel"] for v in json.loads(out)] if out.strip() else []
        named = judged + [next(w.name for w in wheels if str(w) in line) for line in unjudged]
        assert sorted(named) == sorted(w.name for w in wheels)
        return
    pytest.fail("show over 12 wheels never had a worker process to see")
