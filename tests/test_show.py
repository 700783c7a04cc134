"""show: each audit rule, proven on binaries the test builds with musl-gcc, zig and gcc."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ALL_ARCHES, Toolchain, checkout_env, muslwheel_cmd, need, run, run_ok, write_c
from wheelmaker import make_wheel

from muslwheel.audit import audit_wheel
from muslwheel.elf import read_elf

EXT = ".cpython-311-x86_64-linux-musl.so"


def lib_wheel(tmp: Path, name: str, tag: str, files: dict[str, Path]) -> Path:
    dist = tmp / "dist"
    dist.mkdir(exist_ok=True)
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
