"""repair under SIGKILL, SIGINT and concurrency: never a partial or corrupt wheel."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, run_ok, write_c
from wheelmaker import make_wheel

from muslwheel.audit import audit_wheel
from muslwheel.wheelwriter import PARTIAL_MARK


@pytest.fixture(scope="module")
def long_wheel(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A wheel whose repair grafts a library and copies ~150 MB: long enough to interrupt."""
    tmp = tmp_path_factory.mktemp("long")
    libs = tmp / "libs"
    libs.mkdir()
    toolchain.build("x86_64", libs / "libdep.so", [write_c(tmp / "d.c", "int dep(int x){return x*3;}\n")], shared=True)
    ext = toolchain.build(
        "x86_64",
        tmp / "libuse.so",
        [write_c(tmp / "u.c", "int dep(int);int use(int x){return dep(x);}\n")],
        shared=True,
        args=[f"-L{libs}", "-ldep"],
    )
    rng = random.Random(1)
    files: dict[str, bytes] = {"big/libuse.so": ext.read_bytes()}
    for i in range(3):
        files[f"big/data{i}.bin"] = rng.randbytes(50 << 20)  # incompressible: raw copy, hashed
    for i in range(300):
        files[f"big/mod{i}.py"] = f"x = {i}\n".encode()
    dist = tmp / "dist"
    dist.mkdir()
    return make_wheel(dist, "big", "1.0", "py3-none-linux_x86_64", files), libs


def _default_signals() -> None:
    # A child inherits "ignore" for SIGINT when the suite is started as a background job
    # (`scripts/test &`) or by a runner that ignores it; a user's Ctrl-C reaches muslwheel with the
    # default disposition, so that is what the signalled child gets.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start_repair(wheel: Path, libs: Path, out: Path) -> subprocess.Popen[str]:
    cmd = [*muslwheel_cmd(), "repair", "-q", "-w", str(out), "--ldpaths", str(libs), str(wheel)]
    return subprocess.Popen(
        cmd,
        env=checkout_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )


def wait_for_partial(out: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not any(PARTIAL_MARK in p.name for p in out.iterdir()):
        assert proc.poll() is None, "repair finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)


def wheels_in(out: Path) -> list[Path]:
    return sorted(out.glob("*.whl"))


@pytest.mark.parametrize("seed", range(4))
def test_sigkill_at_random_points_leaves_no_wheel_and_the_next_run_cleans_up(
    long_wheel: tuple[Path, Path], tmp_path: Path, seed: int
) -> None:
    wheel, libs = long_wheel
    out = tmp_path / "out"
    out.mkdir()
    delay = random.Random(seed).uniform(0, 0.3)
    for _ in range(6):  # until the kill lands before the repair completes
        proc = start_repair(wheel, libs, out)
        wait_for_partial(out, proc)
        time.sleep(delay)
        proc.kill()
        proc.wait()
        if proc.returncode == -signal.SIGKILL:
            break
        for finished in wheels_in(out):
            finished.unlink()
        delay /= 3
    assert proc.returncode == -signal.SIGKILL
    # A partial may remain, under a name no installer takes. A wheel may exist only if the kill
    # fell between its final rename and the exit, and then it is complete.
    for early in wheels_in(out):
        assert zipfile.ZipFile(early).testzip() is None
        early.unlink()
    leftovers = [p for p in out.iterdir() if PARTIAL_MARK in p.name]
    run_ok([*muslwheel_cmd(), "repair", "-q", "-w", out, "--ldpaths", libs, wheel], env=checkout_env())
    assert not any(p.exists() for p in leftovers)
    (repaired,) = wheels_in(out)
    assert list(out.iterdir()) == [repaired]
    assert zipfile.ZipFile(repaired).testzip() is None


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_sigint_stops_cleanly_with_status_130(long_wheel: tuple[Path, Path], tmp_path: Path, inherited: str) -> None:
    """Also when the test run itself ignores SIGINT (started as `scripts/test &`)."""
    wheel, libs = long_wheel
    out = tmp_path / "out"
    out.mkdir()
    before = signal.signal(signal.SIGINT, signal.SIG_IGN if inherited == "ignored" else signal.default_int_handler)
    try:
        proc = start_repair(wheel, libs, out)
    finally:
        signal.signal(signal.SIGINT, before)
    wait_for_partial(out, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip() == "muslwheel: interrupted"
    assert list(out.iterdir()) == []


def test_concurrent_repairs_of_different_wheels_into_one_directory(
    long_wheel: tuple[Path, Path], tmp_path: Path, toolchain: Toolchain
) -> None:
    _, libs = long_wheel
    src = tmp_path / "src"
    src.mkdir()
    wheels = []
    for i in range(4):
        so = toolchain.build(
            "x86_64",
            tmp_path / f"libw{i}.so",
            [write_c(tmp_path / f"w{i}.c", f"int dep(int);int w{i}(int x){{return dep(x)+{i};}}\n")],
            shared=True,
            args=[f"-L{libs}", "-ldep"],
        )
        wheels.append(make_wheel(src, f"w{i}", "1.0", "py3-none-linux_x86_64", {f"w{i}/libw.so": so.read_bytes()}))
    out = tmp_path / "out"
    out.mkdir()
    procs = [start_repair(w, libs, out) for w in wheels]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    assert len(wheels_in(out)) == 4 and len(list(out.iterdir())) == 4
    for w in wheels_in(out):
        assert audit_wheel(w).honest


def test_two_repairs_of_the_same_wheel_never_make_a_corrupt_one(long_wheel: tuple[Path, Path], tmp_path: Path) -> None:
    wheel, libs = long_wheel
    out = tmp_path / "out"
    out.mkdir()
    procs = [start_repair(wheel, libs, out) for _ in range(2)]
    assert [p.wait() for p in procs] == [0, 0]
    (repaired,) = wheels_in(out)
    assert list(out.iterdir()) == [repaired]
    solo = tmp_path / "solo"
    solo.mkdir()
    run_ok([*muslwheel_cmd(), "repair", "-q", "-w", solo, "--ldpaths", libs, wheel], env=checkout_env())
    assert repaired.read_bytes() == wheels_in(solo)[0].read_bytes()
    assert os.path.getsize(repaired) > 150 << 20


def test_an_interrupt_before_the_with_block_leaves_no_partial_file(tmp_path: Path) -> None:
    """The window the SIGINT test can hit under load: the writer has created its partial file but
    the ``with`` block that would remove it has not begun. The CLI's interrupt handler calls
    ``abort_all``, which knows every partial file of the process."""
    from muslwheel.wheelwriter import WheelWriter, abort_all

    writer = WheelWriter(tmp_path / "pkg-1.0-py3-none-any.whl")
    assert writer.partial.exists()
    done = WheelWriter(tmp_path / "done-1.0-py3-none-any.whl")
    done.commit()
    abort_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done-1.0-py3-none-any.whl"]
