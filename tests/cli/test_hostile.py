"""Hostile and broken input: every command refuses it in one line, writes nothing, changes nothing."""

from __future__ import annotations

import hashlib
import os
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


#: the cases that go wrong while a member inflates or after: its size, CRC, stream, RECORD hash
INFLATE_CASES = ["size-lie", "size-short", "crc-wrong", "deflate-corrupt", "record-wrong"]
#: show run with isal's import refused, as on a host that has no isal wheel (zlib inflates)
NO_ISAL = "import runpy, sys; sys.modules['isal'] = None; runpy.run_module('muslwheel', run_name='__main__')"


@pytest.fixture(scope="module")
def big_cases(good_so: bytes, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """The hostile wheels with a library of 3 MiB (incompressible bytes after its ELF image):
    many compressed pieces, and a second thread hashing and copying behind the inflater."""
    import os

    return hostile_wheels(tmp_path_factory.mktemp("hostile-big"), good_so + os.urandom((3 << 20) - len(good_so)))


@pytest.mark.parametrize(
    "size,inflater", [("small", "zlib"), ("big", "isal"), ("big", "zlib")], ids=["small-zlib", "big", "big-zlib"]
)
@pytest.mark.parametrize("case", INFLATE_CASES)
def test_a_member_that_inflates_wrong_is_refused_alike_whatever_reads_it(
    cases: dict[str, tuple[Path, str]],
    big_cases: dict[str, tuple[Path, str]],
    tmp_path: Path,
    case: str,
    size: str,
    inflater: str,
) -> None:
    """show inflates a member over 1 MiB with ISA-L while a second thread hashes and copies
    the pieces (forced here: it runs only when the machine has a core to spare), a smaller one
    in one thread, and with zlib where isal has no wheel (ppc64le, s390x…): each refuses the
    same wheels with the same line (the small member with ISA-L is the test above)."""
    import sys

    wheel, expect = (big_cases if size == "big" else cases)[case]
    cmd = [sys.executable, "-c", NO_ISAL] if inflater == "zlib" else muslwheel_cmd()
    proc = run([*cmd, "show", wheel], env={**checkout_env(), "MUSLWHEEL_SECOND_THREAD": "1"}, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith("muslwheel: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert expect in proc.stderr, proc.stderr


def test_a_sound_big_member_reads_the_same_through_either_inflater(good_so: bytes, tmp_path: Path) -> None:
    """A sound wheel whose library is over 1 MiB: accepted, with the same verdict, through
    ISA-L and through zlib, with and without the second thread."""
    import os
    import sys

    from wheelmaker import make_wheel

    library = good_so + os.urandom((3 << 20) - len(good_so))
    wheel = make_wheel(tmp_path, "fine", "1.0", "py3-none-linux_x86_64", {"fine/libfine.so": library})
    runs = [
        run(
            [*cmd, "show", "--json", "-v", wheel],
            env={**checkout_env(), "MUSLWHEEL_SECOND_THREAD": thread},
            cwd=tmp_path,
        )
        for cmd in (muslwheel_cmd(), [sys.executable, "-c", NO_ISAL])
        for thread in ("1", "0")
    ]
    assert [r.returncode for r in runs] == [0] * 4, runs[0].stderr
    assert len({r.stdout for r in runs}) == 1 and '"fine/libfine.so"' in runs[0].stdout


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


def test_a_member_that_declares_far_more_than_it_holds_costs_what_it_holds(good_so: bytes, tmp_path: Path) -> None:
    """A library of 1 MiB that declares 300 MiB (under the 500x ratio that marks a zip bomb):
    refused as truncated, and the audit's memory follows the bytes that really inflate, not
    the size the archive declares."""
    import os
    import sys

    from hostile import _rewrite_sizes
    from wheelmaker import make_wheel

    library = good_so + os.urandom((1 << 20) - len(good_so))  # ELF, and incompressible
    declared = 300 << 20
    wheel = make_wheel(tmp_path, "liar", "1.0", "py3-none-linux_x86_64", {"liar/libliar.so": library})
    _rewrite_sizes(wheel, "liar/libliar.so", declared)
    # VmHWM, the peak RSS of this process's own memory: getrusage's ru_maxrss would carry
    # over the RSS of the pytest process it was forked from.
    probe = (
        "import sys\n"
        "from muslwheel.audit import audit_wheel\n"
        "from muslwheel.errors import WheelError\n"
        "try:\n"
        "    audit_wheel(sys.argv[1])\n"
        "except WheelError as exc:\n"
        "    print(exc)\n"
        "status = open('/proc/self/status').read()\n"
        "print(int(status.split('VmHWM:')[1].split()[0]) // 1024)\n"
    )
    proc = run([sys.executable, "-c", probe, wheel], env=checkout_env())
    error, peak_mb = proc.stdout.splitlines()
    assert f"is truncated ({len(library)} of {declared} bytes)" in error
    assert int(peak_mb) < 100, f"peak RSS {peak_mb} MB for a member that inflates to 1 MiB"


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize(
    "command", [["show"], ["show", "--json"], ["repair", "-w", "{out}"], ["check"], ["detect", "--executable"]]
)
def test_a_pipe_or_device_in_place_of_a_file_is_refused_without_waiting(
    tmp_path: Path, kind: str, command: list[str]
) -> None:
    """A FIFO opened for reading waits for a writer, and /dev/zero never ends: given where a
    wheel or an executable belongs, each is one line and exit 2 at once. Before, every one of
    these waited forever (the timeout below is the guard, not a measure)."""
    if kind == "fifo":
        path = tmp_path / "p-1.0-cp311-cp311-musllinux_1_2_x86_64.whl"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    out = tmp_path / "out"
    proc = run([*muslwheel_cmd(), *(a.format(out=out) for a in command), path], timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "not a regular file" in proc.stderr, proc.stderr
    assert proc.stdout == "" and not out.exists()


def test_a_root_whose_loader_is_a_pipe_is_refused_without_waiting(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    os.mkfifo(tmp_path / "lib" / "ld-musl-x86_64.so.1")
    proc = run([*muslwheel_cmd(), "detect", "--root", tmp_path], timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "not a regular file" in proc.stderr, proc.stderr
