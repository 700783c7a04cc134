"""armv6l's runtime proof (issue 32): the kit's musl built with zig for an ARMv6 CPU runs under
``qemu-arm -cpu arm1176`` (``qemu.runner``, from the arch row), and code with an ARMv7-only
instruction dies there with SIGILL, as on a Raspberry Pi Zero, while qemu-arm's default CPU runs
it: so the runner's CPU is what the proof rests on. The armv6l kit is scripts/build-world's."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

from conftest import checkout_env, kit_for, muslwheel_cmd, need, run, run_ok, write_c
from kitfixture import build_against

from muslwheel.arch import ARCHES, cpu_arch_of_elf
from muslwheel.elf import read_elf
from muslwheel.kits.musl import NEWEST_MUSL
from muslwheel.qemu import runner

# movw is ARMv6T2/ARMv7 (Tag_CPU_arch v7 with cortex-a7); the ARM1176 (ARMv6KZ) has no encoding for it
ARMV7_C = r"""
#include <stdio.h>
int main(void) {
    unsigned r;
    __asm__ volatile("movw %0, #0x1234" : "=r"(r));
    printf("%x\n", r);
    return 0;
}
"""
HELLO_C = '#include <stdio.h>\nint main(int c, char **v) { printf("%d\\n", 100 / c); return 0; }\n'


def test_the_runner_runs_armv6l_on_an_arm1176() -> None:
    found = runner(ARCHES["armv6l"])
    need(found is not None, "qemu-arm (Debian qemu-user)")
    assert found is not None and found.command[1:] == ("-cpu", "arm1176")
    v7 = runner(ARCHES["armv7l"])
    assert v7 is not None and "-cpu" not in v7.command


def test_armv6l_kit_runs_armv6_code_and_stops_armv7_code_with_sigill(tmp_path: Path) -> None:
    kit = kit_for("armv6l", NEWEST_MUSL)
    # the kit's own musl is ARMv6 code (zig's -mcpu=arm1176jzf_s), and detect says so
    assert cpu_arch_of_elf(read_elf(kit.loader)) is ARCHES["armv6l"]
    detected = json.loads(run_ok([*muslwheel_cmd(), "detect", "--root", kit.root, "--json"], env=checkout_env()).stdout)
    assert detected["arch"] == "armv6l"
    good = build_against(kit, tmp_path / "good", write_c(tmp_path / "good.c", HELLO_C), "-dynamic")
    assert cpu_arch_of_elf(read_elf(good)) is ARCHES["armv6l"]
    assert run_ok([*kit.loader_command(), good]).stdout.strip() == "100"

    src = write_c(tmp_path / "bad.c", ARMV7_C)
    obj = build_against(kit, tmp_path / "bad.o", src, "-c", "-mcpu=cortex_a7")  # the later -mcpu wins
    assert read_elf(obj).arm_cpu_arch == 10  # Tag_CPU_arch v7
    # linked by lld after the kit's ARMv6 crt1.o, whose attributes lld keeps (it merges none):
    # the program says v6 though main is ARMv7 code (docs/policy.md, the limit of the rule)
    bad = build_against(kit, tmp_path / "bad", obj, "-dynamic")
    assert read_elf(bad).arm_cpu_arch == 6
    proc = run([*kit.loader_command(), bad])
    assert proc.returncode == -signal.SIGILL, (proc.returncode, proc.stdout, proc.stderr)
    # the same program, the same musl, qemu-arm's default CPU (ARMv7 and later): it runs
    qemu = shutil.which("qemu-arm")
    assert qemu is not None
    loader = kit.loader_command()[-1]
    assert run_ok([qemu, loader, bad]).stdout.strip() == "1234"


def test_check_loads_an_armv6l_wheel_with_the_kits_musl_and_not_with_debians_armv7(tmp_path: Path) -> None:
    from wheelmaker import make_wheel

    kit = kit_for("armv6l", NEWEST_MUSL)
    lib = build_against(
        kit, tmp_path / "libdiv.so", write_c(tmp_path / "div.c", "int f(int a){return 7/a;}\n"), "-shared", "-fPIC"
    )
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(dist, "div6", "1.0", "py3-none-musllinux_1_1_armv6l", {"div6/libdiv.so": lib.read_bytes()})
    shown = json.loads(run_ok([*muslwheel_cmd(), "show", "--json", wheel], env=checkout_env()).stdout)
    assert (shown["honest"], shown["arch"]) == (True, "armv6l")
    proc = run([*muslwheel_cmd(), "check", "--json", "--root", kit.root, wheel], env=checkout_env())
    checked = json.loads(proc.stdout)
    checked = checked[0] if isinstance(checked, list) else checked
    assert proc.returncode == 0 and checked["method"] == "loader+qemu", proc.stdout + proc.stderr
    # this host's ld-musl-armhf.so.1 (Debian's armhf) is ARMv7 code: check says so, runs nothing
    debian = Path("/lib/ld-musl-armhf.so.1")
    if debian.exists():
        proc = run([*muslwheel_cmd(), "check", "--json", wheel], env=checkout_env())
        checked = json.loads(proc.stdout)
        checked = checked[0] if isinstance(checked, list) else checked
        assert checked["method"] == "static" and any("Tag_CPU_arch v7" in n for n in checked["notes"]), proc.stdout
