"""`build --arch armv6l` (issue 32): the fixture compiled with zig for an ARMv6 CPU
(``-mcpu=arm1176jzf_s``, zig.py's one flag policy), libfix grafted by repair, checked by the
kit's musl loader and imported (with the fixture's smoke test) in the armv6l kit's CPython under
``qemu-arm -cpu arm1176``, where one ARMv7 instruction would stop it with SIGILL. PyPI takes no
musllinux armv6l wheel: the summary says so. The kit is scripts/build-world's ``armv6l:1.2.6:3.11``."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from buildfixture import BEFORE_BUILD, TEST, write_fixture
from conftest import WORLD, checkout_env, kit_for, muslwheel_cmd, need, run

from muslwheel.arch import ARCHES, cpu_arch_of_elf
from muslwheel.audit import audit_wheel
from muslwheel.elf import parse_elf
from muslwheel.kits.musl import NEWEST_MUSL


def test_build_repair_check_and_import_an_armv6l_wheel_on_an_armv6_cpu(tmp_path: Path) -> None:
    kit_for("armv6l", NEWEST_MUSL, "3.11")
    wheels = WORLD / "build-wheels"
    need(any(wheels.glob("setuptools-*.whl")), f"setuptools wheel for builds ({wheels})")
    env = {**checkout_env(), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("SOURCE_DATE_EPOCH", None)
    project = write_fixture(tmp_path)
    args = [project, "-w", tmp_path / "out", "--arch", "armv6l", "--python", "3.11", "--musl", NEWEST_MUSL]
    args += ["--before-build", BEFORE_BUILD, "--test", TEST, "--json", "-j", "1"]
    proc = run([*muslwheel_cmd(), "build", *args], env=dict(os.environ, **env), timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = json.loads(proc.stdout)["targets"]
    wheel = Path(result["wheel"])
    assert wheel.name.endswith("_armv6l.whl") and "musllinux_1_" in wheel.name
    assert result["check"] == "loader+qemu" and "fixture._speed" in result["imported"]
    assert [Path(g).name.split("-")[0] for g in result["grafted"]] == ["libfix"]
    assert result["pypi_uploadable"] is False and [n for n in result["notes"] if "musllinux_*_armv6l" in n]
    verdict = audit_wheel(wheel)
    assert (verdict.honest, verdict.arch) == (True, "armv6l") and not verdict.external_libs
    with zipfile.ZipFile(wheel) as z:
        sos = [n for n in z.namelist() if ".so" in n]
        assert len(sos) == 2  # the extension and the grafted libfix: both ARMv6 code
        for name in sos:
            assert cpu_arch_of_elf(parse_elf(z.read(name))) is ARCHES["armv6l"], name
