"""The sandbox a wheel's code runs in (check --import, build's import step and --test): a wheel
whose package ``__init__`` opens a TCP connection to a listener this test runs on 127.0.0.1,
connects to a Unix socket in the real home directory (where ssh-agent's lives), and writes a
file into the real home directory and into /tmp. Under the sandbox none of it reaches the host
and the modules are still reported imported; with ``--no-sandbox`` all of it does. Natively (the
x86_64 kit) and under qemu-user (the aarch64 kit); build --test in test_build.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import kit_for, muslwheel_cmd, run
from kitfixture import build_extension
from sandboxfixture import EVERYTHING, NOTHING, host
from wheelmaker import make_wheel

from muslwheel.kits.build import NEWEST_MUSL

PY = "3.11"


def hostile_wheel(arch: str, tmp_path: Path, code: str) -> tuple[str, Path]:
    """(kit name, a wheel for the kit of *arch*): package ``hostile`` whose ``__init__`` is
    *code*, with an extension module ``hostile._ext``."""
    kit = kit_for(arch, NEWEST_MUSL, PY)
    ext = build_extension(kit, tmp_path, "_ext")
    files = {"hostile/__init__.py": code, f"hostile/{ext.name}": ext.read_bytes()}
    return kit.name, make_wheel(tmp_path, "hostile", "1.0", f"cp311-cp311-musllinux_1_2_{arch}", files)


def check_import(kit: str, wheel: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, object, str]:
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit, *extra, wheel], env=env)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None, proc.stderr


@pytest.mark.world
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])  # natively, and under qemu-user
def test_check_import_runs_the_wheels_code_with_no_network_and_the_host_read_only(arch: str, tmp_path: Path) -> None:
    with host() as reach:
        kit, wheel = hostile_wheel(arch, tmp_path, reach.code())
        # sandboxed (the default), then the same wheel without: everything it tried reaches the host
        for extra, sandboxed, reached in (([], True, NOTHING), (["--no-sandbox"], False, EVERYTHING)):
            code, reports, stderr = check_import(kit, wheel, *extra)
            assert code == 0, stderr
            (report,) = reports  # type: ignore[misc]
            assert report["sandbox"] is sandboxed
            results = {m["module"]: m["result"] for m in report["modules"]}
            assert results == {"hostile._ext": "imported", "hostile": "imported"}
            assert reach.reached() == reached


@pytest.mark.world
def test_without_a_sandbox_nothing_runs_unless_asked(tmp_path: Path) -> None:
    """A host with no bubblewrap (here: none on PATH): one line, exit 2, the wheel's code not run;
    --no-sandbox runs it, and the report says it ran bare."""
    (tmp_path / "bin").mkdir()
    env = dict(os.environ, PATH=str(tmp_path / "bin"))
    with host() as reach:
        kit, wheel = hostile_wheel("x86_64", tmp_path, reach.code())
        code, reports, stderr = check_import(kit, wheel, env=env)
        assert code == 2 and reports is None
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and "bubblewrap" in lines[0] and "--no-sandbox" in lines[0], stderr
        assert reach.reached() == NOTHING
        proc = run([*muslwheel_cmd(), "check", "--import", "--no-sandbox", "--kit", kit, wheel], env=env)
        assert proc.returncode == 0, proc.stderr
        assert "no sandbox" in proc.stdout.splitlines()[0]
        assert reach.reached() == EVERYTHING


def test_no_sandbox_goes_with_import(tmp_path: Path) -> None:
    proc = run([*muslwheel_cmd(), "check", "--no-sandbox", tmp_path / "x.whl"])
    assert proc.returncode == 2 and "--no-sandbox goes with --import" in proc.stderr
