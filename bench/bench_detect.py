#!/usr/bin/env python3
"""Benchmark muslwheel's musl detection against packaging's, on the musl CPython of the test world.

    W=~/.cache/muslwheel/world
    $W/cpython/bin/python3.11 bench/bench_detect.py --packaging $W/wheels/packaging-*.whl

Run with a musl-linked interpreter. For each detector, uncached, best of --rounds: the time to
find the running interpreter's musl version, and how many processes it started (counted with an
audit hook on subprocess/exec/spawn/fork events). Writes bench/results/detect.txt.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import results_file  # noqa: E402

PROCESS_EVENTS = {"subprocess.Popen", "os.posix_spawn", "os.exec", "os.fork", "os.system", "os.spawn"}
started = 0


def hook(event: str, args: object) -> None:
    global started
    if event in PROCESS_EVENTS:
        started += 1


def measure(fn, rounds: int) -> tuple[float, int, object]:  # type: ignore[no-untyped-def]
    global started
    best, result = float("inf"), None
    started = 0
    for _ in range(rounds):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, started // rounds, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packaging", required=True, help="packaging wheel or directory to import it from")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "detect.txt")
    args = parser.parse_args()
    sys.path[:0] = [str(HERE.parent / "src"), args.packaging]
    import packaging
    from packaging import _musllinux

    from muslwheel.libc import detect_executable

    sys.addaudithook(hook)
    ours = measure(lambda: detect_executable(sys.executable, validate=False).musl_version, args.rounds)
    theirs = measure(lambda: _musllinux._get_musl_version.__wrapped__(sys.executable), args.rounds)
    if ours[2] is None or theirs[2] is None:
        raise SystemExit(f"not a musl interpreter? muslwheel: {ours[2]}, packaging: {theirs[2]}")
    lines = [
        *results_file.header("musl detection of the running interpreter"),
        f"interpreter: {sys.executable} (Python {platform.python_version()}), packaging {packaging.__version__}",
        f"best of {args.rounds}, uncached:",
        f"muslwheel detect_executable: {ours[0] * 1000:.2f} ms, {ours[1]} processes started, version {ours[2]}",
        f"packaging _get_musl_version: {theirs[0] * 1000:.2f} ms, {theirs[1]} processes started, version {theirs[2]}",
        f"goal: no process and under 2 ms: {'met' if ours[1] == 0 and ours[0] < 0.002 else 'NOT met'}",
    ]
    results_file.write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
