"""The tooling kits and builds share: the cache's staged install and lock, the host-Python
finder's one search order, zig's wrapper scripts and their flag policy, the progress printers."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from muslwheel.arch import ARCHES
from muslwheel.cache import cache_dir, downloads_dir, locked, staged
from muslwheel.hostpython import HostPythonError, find_build_python
from muslwheel.progress import BoardPrinter, LinePrinter, Steps


def test_a_staged_build_that_fails_leaves_the_old_one_and_no_leftovers(tmp_path: Path) -> None:
    final = tmp_path / "kit"
    final.mkdir()
    (final / "old").write_text("built before")
    with pytest.raises(RuntimeError), staged(final) as tmp:
        tmp.mkdir()
        (tmp / "half").write_text("half-built")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kit"]
    assert [p.name for p in final.iterdir()] == ["old"]
    with staged(final) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("built")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kit"]
    assert [p.name for p in final.iterdir()] == ["new"]


def test_a_second_locker_waits_for_the_first(tmp_path: Path) -> None:
    order: list[str] = []
    lock = tmp_path / "locks" / "x"

    def second() -> None:
        with locked(lock):
            order.append("second")

    with locked(lock):
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.3)
        order.append("first")
    t.join()
    assert order == ["first", "second"]


def test_cache_and_downloads_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MUSLWHEEL_CACHE", raising=False)
    monkeypatch.delenv("MUSLWHEEL_DOWNLOADS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert (cache_dir(), downloads_dir()) == (tmp_path / "xdg" / "muslwheel", tmp_path / "xdg" / "muslwheel-downloads")
    monkeypatch.setenv("MUSLWHEEL_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("MUSLWHEEL_DOWNLOADS", str(tmp_path / "d"))
    assert (cache_dir(), downloads_dir()) == (tmp_path / "c", tmp_path / "d")


def _fake_python(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_the_host_python_the_kits_built_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kit and a --cpython target of one minor get the same host Python: the one the kits
    built, before pythonX.Y on PATH and before the running interpreter."""
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    monkeypatch.setenv("MUSLWHEEL_CACHE", str(tmp_path / "cache"))
    on_path = _fake_python(tmp_path / "bin" / f"python{minor}")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert find_build_python(minor) == on_path  # PATH before the running interpreter
    built = _fake_python(tmp_path / "cache" / "kits" / "build-python" / minor / "bin" / f"python{minor}")
    assert find_build_python(minor) == built
    from muslwheel.builder.target import find_build_python as builder_finder
    from muslwheel.kits import find_build_python as kits_finder

    assert builder_finder(minor) == kits_finder(minor) == built


def test_no_host_python_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSLWHEEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(HostPythonError, match=r"^no host CPython 3\.2 to build with"):
        find_build_python("3.2")


def test_a_wrapper_without_a_libc_file_ignores_an_inherited_zig_libc(tmp_path: Path) -> None:
    pytest.importorskip("ziglang")
    from muslwheel.zig import wheel_flags, write_wrappers

    source = tmp_path / "a.c"
    source.write_text("int answer(void) { return 42; }\n")
    arch = ARCHES["aarch64"]
    tools = write_wrappers(tmp_path / "tools", arch.zig_target, libc_file=None, flags=wheel_flags(tmp_path))
    env = dict(os.environ, ZIG_LIBC=str(tmp_path / "no-such-libc.txt"))
    proc = subprocess.run(
        [str(tools.cc), "-O2", "-c", str(source), "-o", str(tmp_path / "a.o")], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    from muslwheel.elf import read_elf

    assert read_elf(tmp_path / "a.o").machine == arch.machine
    text = tools.cc.read_text()
    assert "-fPIC" in text and "-fno-sanitize=undefined" in text and "-dynamic" in text
    assert f"-ffile-prefix-map={tmp_path}=/muslwheel-build" in text


def test_progress_printers_off_a_terminal_are_plain_lines() -> None:
    stream = io.StringIO()
    board = BoardPrinter("build", ["x86_64-py3.11", "aarch64-py3.11"], stream)
    board.job("aarch64-py3.11")("building")
    board.update("x86_64-py3.11", "repairing")
    assert stream.getvalue() == "build: aarch64-py3.11: building\nbuild: x86_64-py3.11: repairing\n"
    stream = io.StringIO()
    recorded: dict[str, float] = {}
    steps = Steps(LinePrinter("muslwheel kit", stream), ["a", "b"], {"a": 60, "b": 120}, recorded.__setitem__)
    with steps.step("a", "step a"):
        pass
    lines = stream.getvalue().splitlines()
    assert lines[0] == "muslwheel kit: step a (about 1m00s; about 3m00s left in all)"
    assert lines[1].startswith("muslwheel kit: step a: done in ")
    assert set(recorded) == {"a"}
