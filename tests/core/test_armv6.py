"""armv6l (issue 32): ARMv6 hard-float, Alpine's armhf (Raspberry Pi Zero and 1). It shares
armv7l's ELF identity and loader name, so what tells them apart is ``Tag_CPU_arch`` in
``.ARM.attributes`` (and Alpine's libc SONAME in a root). The binaries here are built with zig:
``-mcpu=arm1176jzf_s`` (the arch row's CPU) against zig's default for the target (ARMv7-A)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, need, run, run_ok, write_c
from wheelmaker import make_wheel

from muslwheel.arch import ARCHES, arch_of_elf, code_runs_on, cpu_arch_of_elf, fits_cpu, same_machine
from muslwheel.audit import audit_wheel
from muslwheel.elf import ARM_CPU_ARCHES, read_elf
from muslwheel.libc import detect_executable, detect_root
from muslwheel.policy import arch_floor, policy_by_name, pypi_note
from muslwheel.tags import parse_target

HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
DIV_C = "int divide(int a, int b) { return a / b; }\n"


def _zig_arm(toolchain: Toolchain, out: Path, source: Path, cpu: str | None, *, shared: bool = False) -> Path:
    need(toolchain.zig, "zig (the ziglang wheel)")
    assert toolchain.zig is not None
    cmd = [*toolchain.zig, "cc", "-O2", "-target", "arm-linux-musleabihf", *([f"-mcpu={cpu}"] if cpu else [])]
    cmd += ["-shared", "-fPIC"] if shared else ["-dynamic"]
    run_ok([*cmd, "-o", out, source])
    return out


def test_the_row_is_armv7ls_identity_with_an_armv6_cpu() -> None:
    v6, v7 = ARCHES["armv6l"], ARCHES["armv7l"]
    assert (v6.machine, v6.elf_class, v6.little_endian, v6.loader_name) == (
        v7.machine,
        v7.elf_class,
        v7.little_endian,
        "ld-musl-armhf.so.1",
    )
    assert (v6.alpine_arch, v7.alpine_arch) == ("armhf", "armv7")  # libc.musl-armhf.so.1 vs -armv7
    assert (v6.zig_cpu, v6.qemu_args, v6.rust_target) == (
        "arm1176jzf_s",
        ("-cpu", "arm1176"),
        "arm-unknown-linux-musleabihf",
    )
    assert v6.debian_arch is None  # Debian's armhf is ARMv7
    # PyPI: linux_armv6l yes (_allowed_platforms), musllinux_*_armv6l no (_musllinux_arches)
    assert (v6.pypi_accepts, v6.pypi_accepts_linux) == (False, True)
    note = pypi_note("armv6l")
    assert note is not None and "musllinux_*_armv6l" in note and "linux_armv6l" in note
    assert pypi_note("armv7l") is None
    # musl's arm port: the same first release and policies as armv7l
    assert arch_floor("armv6l") == arch_floor("armv7l")
    policy = policy_by_name("musllinux_1_1")
    assert policy is not None and "armv6l" in policy.arches
    assert code_runs_on("armv6l", "armv7l") and not code_runs_on("armv7l", "armv6l")


def test_tags_of_an_armv6l_target() -> None:
    assert parse_target("armv6l:1.2.3").platform_tags() == [
        "musllinux_1_2_armv6l",
        "musllinux_1_1_armv6l",
        "musllinux_1_0_armv6l",
        "linux_armv6l",
    ]
    proc = run_ok([*muslwheel_cmd(), "tags", "--target", "armv6l:1.2.3", "--json"], env=checkout_env())
    assert "musllinux_1_2_armv6l" in proc.stdout


def test_tag_cpu_arch_is_read_from_zig_built_binaries(toolchain: Toolchain, tmp_path: Path) -> None:
    src = write_c(tmp_path / "div.c", DIV_C)
    v6 = read_elf(_zig_arm(toolchain, tmp_path / "v6.so", src, "arm1176jzf_s", shared=True))
    v7 = read_elf(_zig_arm(toolchain, tmp_path / "v7.so", src, None, shared=True))
    a7 = read_elf(_zig_arm(toolchain, tmp_path / "a7.so", src, "cortex_a7", shared=True))
    assert (ARM_CPU_ARCHES[v6.arm_cpu_arch or 0], ARM_CPU_ARCHES[v7.arm_cpu_arch or 0]) == ("v6", "v7")
    assert a7.arm_cpu_arch == 10
    # one loader for both, but only ARMv6 code is armv6l's
    assert arch_of_elf(v6) is arch_of_elf(v7) is ARCHES["armv7l"]
    assert same_machine(v7, ARCHES["armv6l"])
    assert (fits_cpu(v6, ARCHES["armv6l"]), fits_cpu(v7, ARCHES["armv6l"]), fits_cpu(v7, ARCHES["armv7l"])) == (
        True,
        False,
        True,
    )
    assert (cpu_arch_of_elf(v6), cpu_arch_of_elf(v7)) == (ARCHES["armv6l"], ARCHES["armv7l"])
    # the conftest toolchain (zig.target_args) builds armv6l code for armv6l
    ours = read_elf(toolchain.build("armv6l", tmp_path / "ours.so", [src], shared=True, use_zig=True))
    assert cpu_arch_of_elf(ours) is ARCHES["armv6l"]


def test_detect_tells_an_armv6_executable_and_root_from_armv7(toolchain: Toolchain, tmp_path: Path) -> None:
    src = write_c(tmp_path / "hello.c", HELLO_C)
    v6 = _zig_arm(toolchain, tmp_path / "hello6", src, "arm1176jzf_s")
    v7 = _zig_arm(toolchain, tmp_path / "hello7", src, None)
    d6, d7 = detect_executable(v6), detect_executable(v7)
    assert (d6.arch, d7.arch) == ("armv6l", "armv7l")
    assert "Tag_CPU_arch v6" in d6.how["arch"] and "Tag_CPU_arch v7" in d7.how["arch"]
    # a root: its loader's own Tag_CPU_arch, else Alpine's SONAME says which
    for name, exe, soname in (("v6", v6, "armhf"), ("v7", v7, "armv7")):
        root = tmp_path / f"root-{name}"
        (root / "lib").mkdir(parents=True)
        (root / "lib" / "ld-musl-armhf.so.1").write_bytes(exe.read_bytes())
        assert detect_root(root).arch == ("armv6l" if name == "v6" else "armv7l")
        (root / "lib" / f"libc.musl-{soname}.so.1").symlink_to("ld-musl-armhf.so.1")
        found = detect_root(root)
        assert found.arch == ("armv6l" if name == "v6" else "armv7l")
    # Alpine's SONAME decides when the loader does not say (ARMv7 bytes, armhf's name: armv6l)
    mixed = tmp_path / "root-mixed"
    (mixed / "lib").mkdir(parents=True)
    (mixed / "lib" / "ld-musl-armhf.so.1").write_bytes(v7.read_bytes())
    (mixed / "lib" / "libc.musl-armhf.so.1").symlink_to("ld-musl-armhf.so.1")
    found = detect_root(mixed)
    assert found.arch == "armv6l" and "libc.musl-armhf.so.1" in found.how["arch"]
    assert detect_root(mixed, arch="armv6l").loader == "/lib/ld-musl-armhf.so.1"


@pytest.fixture(scope="module")
def arm_wheels(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("armv6-wheels")
    src = write_c(tmp / "div.c", DIV_C)
    v6 = _zig_arm(toolchain, tmp / "v6.so", src, "arm1176jzf_s", shared=True).read_bytes()
    v7 = _zig_arm(toolchain, tmp / "v7.so", src, None, shared=True).read_bytes()
    dist = tmp / "dist"
    dist.mkdir()
    out = {}
    for name, data, plat in (
        ("v7as6", v7, "musllinux_1_2_armv6l"),
        ("v6as6", v6, "musllinux_1_2_armv6l"),
        ("v6as7", v6, "musllinux_1_2_armv7l"),
        ("v7as7", v7, "musllinux_1_2_armv7l"),
    ):
        out[name] = make_wheel(dist, name, "1.0", f"py3-none-{plat}", {f"{name}/libdiv.so": data})
    return out


def test_show_calls_armv7_code_in_an_armv6l_wheel_dishonest(arm_wheels: dict[str, Path]) -> None:
    bad = audit_wheel(arm_wheels["v7as6"])
    assert not bad.honest and bad.tag == "musllinux_1_1_armv7l"
    why = [r for r in bad.reasons if r.kind == "tag-arch" and r.file == "v7as6/libdiv.so"]
    assert why and "Tag_CPU_arch v7" in why[0].why and "SIGILL" in why[0].why
    good = audit_wheel(arm_wheels["v6as6"])
    assert (good.honest, good.arch, good.tag) == (True, "armv6l", "musllinux_1_1_armv6l")
    # ARMv6 code is fine in an armv7l wheel, and stays armv7l
    for name in ("v6as7", "v7as7"):
        v = audit_wheel(arm_wheels[name])
        assert (v.honest, v.arch, v.tag) == (True, "armv7l", "musllinux_1_1_armv7l"), name
    proc = run([*muslwheel_cmd(), "show", "--json", arm_wheels["v7as6"]], env=checkout_env())
    assert proc.returncode == 1 and json.loads(proc.stdout)["honest"] is False
    proc = run([*muslwheel_cmd(), "show", "--json", arm_wheels["v6as6"]], env=checkout_env())
    shown = json.loads(proc.stdout)
    assert proc.returncode == 0 and shown["pypi_uploadable"] is False and "linux_armv6l" in shown["pypi_note"]
