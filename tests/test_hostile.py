"""Hostile and broken input: every command refuses it in one line, writes nothing, changes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, run, write_c
from hostile import BAD_ELF, bad_elf, hostile_wheels

from muslwheel.elf import parse_elf
from muslwheel.errors import ELFError


@pytest.fixture(scope="module")
def good_so(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    tmp = tmp_path_factory.mktemp("good")
    so = toolchain.build(
        "x86_64", tmp / "libgood.so", [write_c(tmp / "g.c", "int g(int x){return x+1;}\n")], shared=True
    )
    data = so.read_bytes()
    parse_elf(data)  # the starting point is sound
    return data


@pytest.fixture(scope="module")
def cases(good_so: bytes, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    return hostile_wheels(tmp_path_factory.mktemp("hostile"), good_so)


CASES = [
    "traversal",
    "absolute-path",
    "non-elf-so",
    "elf-section-headers-outside",
    "elf-absurd-symbol-count",
    "elf-dynamic-outside",
    "elf-truncated",
    "symlink",
    "duplicate",
    "size-lie",
    "size-short",
    "crc-wrong",
    "deflate-corrupt",
    "zip-bomb",
    "truncated-archive",
    "record-wrong",
    "bad-filename",
]


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(directory.rglob("*"))
    }


@pytest.mark.parametrize("command", ["show", "repair", "check"])
@pytest.mark.parametrize("case", CASES)
def test_hostile_wheel_is_refused_in_one_line_and_nothing_is_written(
    cases: dict[str, tuple[Path, str]], tmp_path: Path, case: str, command: str
) -> None:
    wheel, expect = cases[case]
    before = snapshot(wheel.parent)
    out = tmp_path / "out"
    out.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    args = ["repair", "-q", "-w", out, wheel] if command == "repair" else [command, wheel]
    proc = run([*muslwheel_cmd(), *args], env=checkout_env(), cwd=cwd)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith("muslwheel: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert expect in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(out.iterdir()) == [] and list(cwd.iterdir()) == []
    assert snapshot(wheel.parent) == before


@pytest.mark.parametrize("case", list(BAD_ELF))
def test_hostile_elf_is_refused_by_detect_and_the_reader(good_so: bytes, tmp_path: Path, case: str) -> None:
    data = bad_elf(good_so, case)
    with pytest.raises(ELFError):
        parse_elf(data)
    target = tmp_path / "bad"
    target.write_bytes(data)
    proc = run([*muslwheel_cmd(), "detect", "--executable", target], env=checkout_env())
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert BAD_ELF[case][1] in proc.stderr and str(target) in proc.stderr
    assert target.read_bytes() == data
