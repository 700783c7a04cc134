#!/usr/bin/env python3
"""Measure what crafted inputs cost muslwheel before it refuses them: wall time and peak memory
of `muslwheel show` (and `detect --executable` for ELF files) on each hostile input that
tests/hostile.py builds. Writes bench/results/bounds.txt.

    python bench/bench_bounds.py        (needs musl-gcc, as the test world has)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]
import results_file  # noqa: E402
from hostile import BAD_ELF, bad_elf, hostile_wheels  # noqa: E402


def cost(cmd: list[str]) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit status) of *cmd*, run in a fresh measuring process."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter();"
        "p = subprocess.run(sys.argv[1:], capture_output=True); dt = time.perf_counter() - t;"
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *cmd],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(HERE.parent / "src")},
    ).stdout.split()
    return float(out[0]), int(out[1]) / 1024, int(out[2])


def main() -> int:
    lines = [
        *results_file.header("cost of refusing crafted input"),
        "input | size | seconds | peak RSS MB | exit status",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "g.c").write_text("int g(int x){return x+1;}\n")
        subprocess.run(["musl-gcc", "-shared", "-fPIC", "-o", str(work / "libg.so"), str(work / "g.c")], check=True)
        good = (work / "libg.so").read_bytes()
        baseline = cost([sys.executable, "-m", "muslwheel", "--version"])
        lines.append(
            f"(interpreter baseline: muslwheel --version) | - | {baseline[0]:.3f} | {baseline[1]:.0f} | {baseline[2]}"
        )
        for case, (wheel, _) in sorted(hostile_wheels(work / "wheels", good).items()):
            s, rss, status = cost([sys.executable, "-m", "muslwheel", "show", str(wheel)])
            lines.append(f"wheel {case} | {wheel.stat().st_size} B | {s:.3f} | {rss:.0f} | {status}")
        for case in BAD_ELF:
            path = work / f"elf-{case}"
            path.write_bytes(bad_elf(good, case))
            s, rss, status = cost([sys.executable, "-m", "muslwheel", "detect", "--executable", str(path)])
            lines.append(f"ELF {case} | {path.stat().st_size} B | {s:.3f} | {rss:.0f} | {status}")
    results_file.write(lines, HERE / "results" / "bounds.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
