"""PyPI's accepted musllinux arches (issue 23): show, report and build say when a wheel's arch
cannot be uploaded to PyPI (warehouse's ``forklift/legacy.py`` ``_musllinux_arches`` has riscv64
but not loongarch64): information, never an error, carried by ``--json``. The wheels are built
here with zig for each arch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, run, run_ok, write_c
from wheelmaker import make_wheel

from muslwheel.arch import ARCHES
from muslwheel.policy import pypi_note
from muslwheel.versions import CPython, MuslVersion

NOTE = "PyPI does not accept musllinux_*_loongarch64 uploads"


@pytest.fixture(scope="module")
def wheels(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pypi-arches")
    dist = tmp / "dist"
    dist.mkdir()
    out = {}
    for arch in ("loongarch64", "aarch64"):
        so = toolchain.build(
            arch, tmp / f"{arch}.so", [write_c(tmp / "x.c", "int f(int x){return x*2;}\n")], shared=True, use_zig=True
        )
        out[arch] = make_wheel(
            dist, f"x{arch}", "1.0", f"py3-none-musllinux_1_2_{arch}", {"x/libx.so": so.read_bytes()}
        )
    return out


def test_the_note_names_the_arches_pypi_takes_from_the_one_table() -> None:
    note = pypi_note("loongarch64")
    assert note is not None and note.startswith(NOTE)
    assert all(a in note for a, arch in ARCHES.items() if arch.pypi_accepts) and "riscv64" in note
    assert [pypi_note(a) for a in ARCHES if a not in ("loongarch64", "armv6l")] == [None] * 7
    # armv6l: not musllinux_*_armv6l, though PyPI takes linux_armv6l (warehouse's _allowed_platforms)
    armv6l = pypi_note("armv6l")
    assert armv6l is not None and "musllinux_*_armv6l" in armv6l and "linux_armv6l (_allowed_platforms)" in armv6l


def test_show_says_a_loongarch64_wheel_cannot_go_to_pypi_and_an_aarch64_one_can(wheels: dict[str, Path]) -> None:
    for arch, uploadable in (("loongarch64", False), ("aarch64", True)):
        proc = run([*muslwheel_cmd(), "show", "--json", wheels[arch]], env=checkout_env())
        v = json.loads(proc.stdout)
        # Information only: the wheel is honest and show exits 0 either way.
        assert (proc.returncode, v["honest"], v["pypi_uploadable"]) == (0, True, uploadable), proc.stdout
        assert (v["pypi_note"] or "").startswith(NOTE) is not uploadable
        text = run_ok([*muslwheel_cmd(), "show", wheels[arch]], env=checkout_env()).stdout
        assert (f"note: {NOTE}" in text) is not uploadable, text


def test_report_marks_the_wheels_pypi_does_not_take(wheels: dict[str, Path], tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    run_ok([*muslwheel_cmd(), "scan", wheels["aarch64"].parent, "--db", db, "-q"], env=checkout_env())
    data = json.loads(run_ok([*muslwheel_cmd(), "report", db, "--json"], env=checkout_env()).stdout)
    assert data["totals"]["not_uploadable_to_pypi"] == 1
    (row,) = data["not_uploadable_to_pypi"]
    assert row["filename"] == wheels["loongarch64"].name and row["pypi_uploadable"] is False
    assert row["pypi_note"].startswith(NOTE)
    assert any(line.startswith(f"1 wheels for loongarch64: {NOTE}") for line in data["headline"])
    out = tmp_path / "r.html"
    run_ok([*muslwheel_cmd(), "report", db, "-o", out], env=checkout_env())
    page = out.read_text()
    assert "Wheels PyPI does not accept (not on PyPI)" in page and wheels["loongarch64"].name in page
    assert wheels["aarch64"].name not in page.split("Wheels PyPI does not accept")[1]
    md = run_ok([*muslwheel_cmd(), "report", db, "--format", "md"], env=checkout_env()).stdout
    assert f"- {wheels['loongarch64'].name}: {NOTE}" in md


def test_builds_json_says_whether_pypi_takes_the_targets_arch() -> None:
    from muslwheel.builder.run import TargetResult
    from muslwheel.builder.target import Target

    def result(arch: str) -> dict[str, object]:
        t = Target(f"{arch}-musl1.2.5-py3.11", ARCHES[arch], CPython(11), MuslVersion(1, 2, 5), None, Path("s.py"), Path("i"),
                   Path("python3.11"), ARCHES[arch].zig_target)  # fmt: skip
        return TargetResult(t).to_json()

    assert (result("loongarch64")["pypi_uploadable"], result("aarch64")["pypi_uploadable"]) == (False, True)
    assert result("armv6l")["pypi_uploadable"] is False


def test_build_says_a_loongarch64_wheel_cannot_go_to_pypi(tmp_path: Path) -> None:
    """The suite's fixture built for loongarch64 in its kit (musl's loader checks it under
    qemu-user; no import: the import proof is test_build's): the summary and --json say so,
    and the wheel is built all the same."""
    from buildfixture import BEFORE_BUILD, write_fixture
    from conftest import WORLD, need

    from muslwheel import kits

    need(kits.select_kits(arch="loongarch64", with_python=True), "a loongarch64 kit with a CPython")
    wheels = WORLD / "build-wheels"
    need(any(wheels.glob("setuptools-*.whl")), f"setuptools wheel for builds ({wheels})")
    env = {**checkout_env(), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("SOURCE_DATE_EPOCH", None)
    project = write_fixture(tmp_path)
    args = [
        *muslwheel_cmd(),
        "build",
        project,
        "-w",
        tmp_path / "out",
        "--arch",
        "loongarch64",
        "--python",
        "3.11",
        "--no-import",
    ]
    args += ["--before-build", BEFORE_BUILD]
    proc = run([*args, "--json"], env=env, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)["targets"]
    assert Path(result["wheel"]).name.endswith("_loongarch64.whl") and result["pypi_uploadable"] is False
    # the printed summary prints each of these notes as "note: …"
    assert [n for n in result["notes"] if n.startswith(NOTE)], result["notes"]
