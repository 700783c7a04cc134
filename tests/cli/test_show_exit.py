"""show's exit status on linux_* wheels (issue 23): an error that no repair can fix fails the
gate whatever the claim, since the wheel loads on no musl; an error repair fixes (an external
library) keeps the rule of a claim that promises nothing. Each wheel is built here with musl-gcc
(or zig, and the host's gcc for glibc) and its verdict's --json exit_status agrees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, need, run, run_ok, write_c
from wheelmaker import make_wheel

EXT = ".cpython-311-x86_64-linux-musl.so"
LINUX = "cp311-cp311-linux_x86_64"

CXA = "extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *);\nstatic void d(void *p) { (void)p; }\nint reg(void) { return __cxa_thread_atexit_impl(d, 0, 0); }\n"
IE_TLS = 'static __thread int n __attribute__((tls_model("initial-exec")));\nint bump(void) { return ++n; }\n'
PLAIN = "int f(int x) { return x * 2; }\n"


def build(toolchain: Toolchain, tmp: Path, name: str, code: str, arch: str = "x86_64", *args: str) -> Path:
    src = write_c(tmp / f"{name}.c", code)
    return toolchain.build(arch, tmp / f"{name}.so", [src], shared=True, use_zig=arch != "x86_64", args=args)


def glibc_build(tmp: Path, name: str) -> Path:
    gcc = shutil.which("gcc")
    need(gcc, "gcc")
    so = tmp / name
    run_ok(
        [
            gcc,
            "-shared",
            "-fPIC",
            "-o",
            so,
            write_c(tmp / f"{name}.c", '#include <stdio.h>\nvoid hi(void){puts("hi");}\n'),
        ]
    )
    return so


def wheel(tmp: Path, members: dict[str, Path], tag: str = LINUX) -> Path:
    dist = tmp / "dist"
    dist.mkdir(exist_ok=True)
    return make_wheel(dist, "pkg", "1.0", tag, {k: v.read_bytes() for k, v in members.items()})


def show(whl: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    proc = run([*muslwheel_cmd(), "show", "--json", whl], env=checkout_env())
    assert proc.returncode in (0, 1), proc.stderr
    verdict = json.loads(proc.stdout)
    assert verdict["exit_status"] == proc.returncode
    text = run([*muslwheel_cmd(), "show", whl], env=checkout_env())
    assert text.returncode == proc.returncode, text.stderr
    return proc.returncode, verdict


def errors(verdict: dict) -> set[str]:  # type: ignore[type-arg]
    return {r["kind"] for r in verdict["reasons"] if r["severity"] == "error"}


def test_a_strong_glibc_only_import_exits_1_on_a_linux_claim(toolchain: Toolchain, tmp_path: Path) -> None:
    status, v = show(wheel(tmp_path, {f"pkg/_tls{EXT}": build(toolchain, tmp_path, "_tls", CXA)}))
    assert status == 1 and "glibc-symbol" in errors(v)
    assert v["claimed_tags"] == ["linux_x86_64"] and v["honest"] is True  # the claim itself holds


def test_initial_exec_tls_exits_1_on_a_linux_claim(toolchain: Toolchain, tmp_path: Path) -> None:
    status, v = show(wheel(tmp_path, {f"pkg/_ie{EXT}": build(toolchain, tmp_path, "_ie", IE_TLS)}))
    assert status == 1 and "initial-exec-tls" in errors(v)


def test_binaries_of_two_arches_exit_1_on_a_linux_claim(toolchain: Toolchain, tmp_path: Path) -> None:
    members = {
        f"pkg/_x{EXT}": build(toolchain, tmp_path, "_x", PLAIN),
        "pkg/libother.so": build(toolchain, tmp_path, "libother", PLAIN, "aarch64"),
    }
    status, v = show(wheel(tmp_path, members))
    assert status == 1 and "arch" in errors(v)


def test_a_gnu_suffixed_module_exits_1_on_a_linux_claim(toolchain: Toolchain, tmp_path: Path) -> None:
    so = build(toolchain, tmp_path, "_m", PLAIN)
    status, v = show(wheel(tmp_path, {"pkg/_m.cpython-311-x86_64-linux-gnu.so": so}))
    assert status == 1 and errors(v) == {"module-name"}
    assert v["libc"] == "musl" and v["honest"] is True


def test_a_glibc_binary_in_a_musl_wheel_exits_1_on_a_linux_claim(toolchain: Toolchain, tmp_path: Path) -> None:
    members = {f"pkg/_x{EXT}": build(toolchain, tmp_path, "_x", PLAIN), "pkg/libg.so": glibc_build(tmp_path, "libg.so")}
    status, v = show(wheel(tmp_path, members))
    assert status == 1 and v["libc"] == "mixed" and "glibc" in errors(v)


def test_a_glibc_wheel_claiming_nothing_musl_still_exits_0(tmp_path: Path) -> None:
    status, v = show(wheel(tmp_path, {"pkg/libg.so": glibc_build(tmp_path, "libg.so")}))
    assert status == 0 and v["libc"] == "glibc" and not errors(v)


def test_an_external_library_keeps_exit_0_on_a_linux_claim(toolchain: Toolchain, tmp_path: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    toolchain.build(
        "x86_64", libs / "libouter.so", [write_c(tmp_path / "o.c", "int outer(void){return 1;}\n")], shared=True
    )
    ext = build(
        toolchain,
        tmp_path,
        "_ext",
        "int outer(void);\nint use(void){return outer();}\n",
        "x86_64",
        f"-L{libs}",
        "-louter",
    )
    status, v = show(wheel(tmp_path, {f"pkg/_ext{EXT}": ext}))
    assert status == 0 and v["external_libs"] == ["libouter.so"] and errors(v) == {"library"}


@pytest.mark.parametrize("tag", ["cp311-cp311-musllinux_1_2_x86_64", LINUX])
def test_an_unfixable_error_under_strict_still_exits_1(toolchain: Toolchain, tmp_path: Path, tag: str) -> None:
    whl = wheel(tmp_path, {f"pkg/_tls{EXT}": build(toolchain, tmp_path, "_tls", CXA)}, tag)
    proc = run([*muslwheel_cmd(), "show", "--strict", whl], env=checkout_env())
    assert proc.returncode == 1, proc.stderr
