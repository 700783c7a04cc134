"""Today's musl and what breaks a load on every musl: musl 1.2.6's symbols, glibc-only imports,
initial-exec TLS. Each fixture is built here and, where a loader can show it, run through
musl's real loader to prove the failure is real."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, loader_for, muslwheel_cmd, run, run_ok, write_c
from wheelmaker import make_wheel

from muslwheel.audit import audit_wheel
from muslwheel.elf import DT, parse_elf, read_elf
from muslwheel.policy import symbol_table

EXT = ".cpython-311-x86_64-linux-musl.so"

RENAMEAT2 = 'int renameat2(int, const char *, int, const char *, unsigned);\nint mv(void) { return renameat2(-100, "a", -100, "b", 1); }\n'
CXA = "extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *);\nstatic void d(void *p) { (void)p; }\nint reg(void) { return __cxa_thread_atexit_impl(d, 0, 0); }\n"
CXA_WEAK = "extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *) __attribute__((weak));\nstatic void d(void *p) { (void)p; }\nint reg(void) { return __cxa_thread_atexit_impl ? __cxa_thread_atexit_impl(d, 0, 0) : 0; }\n"
IE_TLS = 'static __thread int n __attribute__((tls_model("initial-exec")));\nint bump(void) { return ++n; }\n'
GD_TLS = "__thread int n;\nint bump(void) { return ++n; }\n"
DLOPEN = '#include <dlfcn.h>\n#include <stdio.h>\nint main(int c, char **v) { (void)c; if (!dlopen(v[1], RTLD_NOW)) { printf("%s\\n", dlerror()); return 1; } puts("loaded"); return 0; }\n'


def build(toolchain: Toolchain, tmp: Path, name: str, code: str, arch: str = "x86_64") -> Path:
    src = write_c(tmp / f"{name}.c", code)
    return toolchain.build(arch, tmp / f"{name}.so", [src], shared=True, use_zig=arch != "x86_64")


def wheel_of(tmp: Path, member: str, so: Path, tag: str = "cp311-cp311-musllinux_1_2_x86_64") -> Path:
    dist = tmp / "dist"
    dist.mkdir(exist_ok=True)
    return make_wheel(dist, "pkg", "1.0", tag, {member: so.read_bytes()})


def show_json(wheel: Path, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    proc = run([*muslwheel_cmd(), "show", "--json", *extra, wheel], env=checkout_env())
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_the_symbol_table_has_musl_1_2_6_for_every_arch() -> None:
    from muslwheel.policy import symbol_table_data

    data = symbol_table_data()
    assert data["releases"][-1] == "1.2.6"
    assert "1.2.6" in data["sources"] and "sha256" in data["sources"]["1.2.6"]
    for arch in [*data["built_arches"], *data["derived_arches"]]:
        table = symbol_table(arch)
        for name in ("renameat2", "posix_getdents", "__getauxval"):
            info = table.lookup(name)
            assert info is not None and str(info.first) == "1.2.6", (arch, name)


def test_renameat2_needs_musl_1_2_6_and_musl_1_2_3s_loader_refuses_it(toolchain: Toolchain, tmp_path: Path) -> None:
    so = build(toolchain, tmp_path, "_mv", RENAMEAT2)
    status, v = show_json(wheel_of(tmp_path, f"pkg/_mv{EXT}", so))
    assert v["musl_min_version"] == "1.2.6" and status == 0
    warning = next(r for r in v["reasons"] if r["severity"] == "warning")
    assert "renameat2" in warning["why"]
    # Alpine 3.13 to 3.23, the supported ones first (3.22-3.23 until their end of life); 3.24
    # has musl 1.2.6.
    why = warning["why"]
    assert "Alpine 3.13–3.23" in why or why.index("Alpine 3.22–3.23") < why.index("Alpine 3.13–3.21")
    assert "3.24" not in why
    listing = run([loader_for("x86_64"), "--list", so])
    assert listing.returncode != 0 and "renameat2: symbol not found" in listing.stderr


def test_strong_glibc_only_import_is_an_error_naming_symbol_and_file(toolchain: Toolchain, tmp_path: Path) -> None:
    so = build(toolchain, tmp_path, "_tls", CXA)
    wheel = wheel_of(tmp_path, f"pkg/_tls{EXT}", so)
    status, v = show_json(wheel)
    assert status == 1 and v["tag"] is None
    error = next(r for r in v["reasons"] if r["kind"] == "glibc-symbol")
    assert error["severity"] == "error"
    assert error["symbol"] == "__cxa_thread_atexit_impl" and error["file"] == f"pkg/_tls{EXT}"
    listing = run([loader_for("x86_64"), "--list", so])
    assert listing.returncode != 0 and "__cxa_thread_atexit_impl: symbol not found" in listing.stderr


def test_weak_glibc_only_import_is_harmless(toolchain: Toolchain, tmp_path: Path) -> None:
    so = build(toolchain, tmp_path, "_tlsw", CXA_WEAK)
    status, v = show_json(wheel_of(tmp_path, f"pkg/_tlsw{EXT}", so))
    assert status == 0 and not [r for r in v["reasons"] if r["severity"] == "error"]
    run_ok([loader_for("x86_64"), "--list", so])


def test_an_unknown_import_says_how_far_the_table_reaches(toolchain: Toolchain, tmp_path: Path) -> None:
    so = build(toolchain, tmp_path, "_new", "int musl_9_feature(void);\nint f(void) { return musl_9_feature(); }\n")
    _, v = show_json(wheel_of(tmp_path, f"pkg/_new{EXT}", so))
    unresolved = next(r for r in v["reasons"] if r["kind"] == "unresolved")
    assert "not exported by musl ≤ 1.2.6 (newer musl, or not musl)" in unresolved["why"]


@pytest.fixture
def dlopener(toolchain: Toolchain, tmp_path: Path) -> Path:
    return toolchain.build("x86_64", tmp_path / "dlopener", [write_c(tmp_path / "dl.c", DLOPEN)])


def test_initial_exec_tls_is_an_error_and_musls_dlopen_refuses_it(
    toolchain: Toolchain, tmp_path: Path, dlopener: Path
) -> None:
    so = build(toolchain, tmp_path, "_ie", IE_TLS)
    assert read_elf(so).initial_exec_tls == "DF_STATIC_TLS"
    status, v = show_json(wheel_of(tmp_path, f"pkg/_ie{EXT}", so))
    assert status == 1
    error = next(r for r in v["reasons"] if r["kind"] == "initial-exec-tls")
    assert error["why"].startswith("initial-exec TLS: musl cannot dlopen this") and error["file"] == f"pkg/_ie{EXT}"
    proc = run([dlopener, so])
    assert proc.returncode == 1 and "initial-exec TLS resolves to dynamic definition" in proc.stdout
    # musl's ldd loads it as a program, where static TLS is fine: only dlopen shows the failure,
    # so check reports it from the analysis.
    run_ok([loader_for("x86_64"), "--list", so])
    proc = run([*muslwheel_cmd(), "check", "--json", wheel_of(tmp_path, f"pkg/_ie{EXT}", so)], env=checkout_env())
    assert proc.returncode == 1, proc.stderr
    assert [p["kind"] for p in json.loads(proc.stdout)["problems"]] == ["initial-exec-tls"]


def test_global_dynamic_tls_is_fine(toolchain: Toolchain, tmp_path: Path, dlopener: Path) -> None:
    so = build(toolchain, tmp_path, "_gd", GD_TLS)
    assert read_elf(so).initial_exec_tls is None
    status, v = show_json(wheel_of(tmp_path, f"pkg/_gd{EXT}", so))
    assert status == 0 and not [r for r in v["reasons"] if r["kind"] == "initial-exec-tls"]
    assert run_ok([dlopener, so]).stdout == "loaded\n"


def test_initial_exec_tls_relocation_is_found_without_the_flag(toolchain: Toolchain, tmp_path: Path) -> None:
    data = bytearray(build(toolchain, tmp_path, "_ie", IE_TLS).read_bytes())
    # Clear DF_STATIC_TLS in DT_FLAGS: the R_X86_64_TPOFF64 relocation still tells.
    dyn_off = _dynamic_offset(bytes(data))
    for i in range(dyn_off, len(data), 16):
        tag, val = struct.unpack_from("<qQ", data, i)
        if tag == 0:
            break
        if tag == DT.FLAGS:
            struct.pack_into("<qQ", data, i, tag, val & ~0x10)
    assert parse_elf(bytes(data)).initial_exec_tls == "R_X86_64_TPOFF64 relocation"


def _dynamic_offset(data: bytes) -> int:
    phoff, phentsize, phnum = struct.unpack_from("<Q", data, 32)[0], *struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _flags, p_offset = struct.unpack_from("<IIQ", data, phoff + i * phentsize)
        if p_type == 2:
            return int(p_offset)
    raise AssertionError("no PT_DYNAMIC")


@pytest.mark.parametrize("arch", ["aarch64", "riscv64"])
def test_initial_exec_tls_on_other_arches(toolchain: Toolchain, tmp_path: Path, arch: str) -> None:
    so = build(toolchain, tmp_path, "_ie", IE_TLS, arch=arch)
    assert read_elf(so).initial_exec_tls is not None
    v = audit_wheel(wheel_of(tmp_path, "pkg/_ie.so", so, f"py3-none-musllinux_1_2_{arch}"))
    assert any(r.kind == "initial-exec-tls" for r in v.reasons) and not v.honest
