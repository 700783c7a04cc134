#!/usr/bin/env python3
"""Benchmark `muslwheel show` against `auditwheel show` on the pinned real wheels, in one run.

    venv=$(bench/setup)   # auditwheel 6.8.2 + muslwheel, pip-installed; fetches the wheels
    $venv/bin/python bench/bench_show.py --auditwheel $venv/bin/auditwheel --muslwheel $venv/bin/muslwheel

Measures, over every wheel in bench/wheels/ (best of --rounds for each):
  A. one `auditwheel show --ldpaths <empty dir>` process per wheel (auditwheel 6.8.2 asserts on a
     host with several /etc/ld-musl-*.path files unless given --ldpaths); each run must exit 0
     and print its verdict ("platform tag"), or it does not count as having analysed the wheel;
  B. one `muslwheel show` process per wheel; each must exit 0 or 1 with a verdict;
  C. `muslwheel show` over all wheels in one process (audit_wheel in a loop);
  D. merely decompressing the ELF members of all wheels (zipfile.read of the same members);
  E. one `muslwheel show` command given every wheel (it audits them in one worker process per
     core, the biggest first).
With --profile FILE, it also writes the cProfile statistics of E's command (run once under
``python -m cProfile``), the largest internal times first.
It also checks that every musllinux wheel is called musl with the arch of its tag, and that no
manylinux wheel is called musl. Results go to bench/results/show.txt with this command.
"""

from __future__ import annotations

import argparse
import io
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
import results_file  # noqa: E402

from muslwheel import __version__  # noqa: E402
from muslwheel.audit import audit_wheel  # noqa: E402
from muslwheel.vocabulary import Libc  # noqa: E402
from muslwheel.wheelfile import WheelFile  # noqa: E402


def best_of(rounds: int, fn, cpu: list[float] | None = None) -> float:  # type: ignore[no-untyped-def]
    """The best wall time of *rounds* calls of *fn*; the best CPU time (user + system) of the
    processes each call ran goes into *cpu* if given."""
    best = best_cpu = float("inf")
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if cpu is not None:
        cpu.append(best_cpu)
    return best


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def run_each(cmd_for, wheels: list[Path], accept) -> None:  # type: ignore[no-untyped-def]
    for w in wheels:
        proc = subprocess.run(cmd_for(w), capture_output=True, text=True)
        if not accept(proc, w):
            raise SystemExit(
                f"did not analyse {w.name}: exit {proc.returncode}\n{proc.stdout[-500:]}{proc.stderr[-1500:]}"
            )


def decompress_elf_members(wheels: list[Path]) -> int:
    total = 0
    for w in wheels:
        with WheelFile(w) as wf:
            for _info, data in wf.elf_members():
                total += len(data)
    return total


def raw_decompress(wheels: list[Path], members: dict[Path, list[str]]) -> int:
    total = 0
    for w in wheels:
        with zipfile.ZipFile(w) as zf:
            for name in members[w]:
                total += len(zf.read(name))
    return total


def profile(wheels: list[Path], out: Path) -> None:
    """E's command once under cProfile, its statistics by internal time into *out*."""
    with tempfile.NamedTemporaryFile(suffix=".prof") as stats:
        cmd = [sys.executable, "-m", "cProfile", "-o", stats.name, "-m", "muslwheel", "show", *map(str, wheels)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"profiling failed: exit {proc.returncode}\n{proc.stderr[-1500:]}")
        text = io.StringIO()
        pstats.Stats(stats.name, stream=text).sort_stats("tottime").print_stats(30)
    out.write_text(f"# cProfile of: muslwheel show <{len(wheels)} wheels>\n{text.getvalue()}", "utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auditwheel", required=True, help="the auditwheel executable to compare with")
    parser.add_argument("--muslwheel", required=True, help="the muslwheel executable (pip-installed, as users run it)")
    parser.add_argument("--wheels", type=Path, default=HERE / "wheels")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "show.txt")
    parser.add_argument("--profile", type=Path, help="also write a cProfile of E's command here")
    args = parser.parse_args()

    wheels = sorted(args.wheels.glob("*.whl"))
    if len(wheels) < 30:
        raise SystemExit(f"only {len(wheels)} wheels in {args.wheels}: run bench/fetch_wheels.py")
    binary = [w for w in wheels if not w.name.endswith("-any.whl")]

    # Correctness over the whole set first.
    wrong = []
    for w in wheels:
        v = audit_wheel(w)
        m = re.search(r"musllinux_\d+_\d+_(\w+)\.whl$", w.name)
        if m and (v.libc != Libc.MUSL or v.arch != m.group(1)):
            wrong.append(f"{w.name}: libc={v.libc} arch={v.arch}")
        if "manylinux" in w.name and v.libc == Libc.MUSL:
            wrong.append(f"{w.name}: a manylinux wheel called musl")
    if wrong:
        raise SystemExit("wrong verdicts:\n" + "\n".join(wrong))

    members: dict[Path, list[str]] = {}
    for w in wheels:
        with WheelFile(w) as wf:
            members[w] = [info.filename for info, _ in wf.elf_members()]
    elf_count = sum(len(m) for m in members.values())

    started = load()
    aw_cpu: list[float] = []
    all_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as empty:
        aw = best_of(
            args.rounds,
            lambda: run_each(
                lambda w: [args.auditwheel, "show", "--ldpaths", empty, "--allow-pure-python-wheel", str(w)],
                wheels,
                lambda p, w: (
                    p.returncode == 0 and ("platform tag" in p.stdout or "not look like a platform wheel" in p.stderr)
                ),
            ),
            aw_cpu,
        )
    mw = best_of(
        args.rounds,
        lambda: run_each(
            lambda w: [args.muslwheel, "show", str(w)],
            wheels,
            lambda p, w: p.returncode in (0, 1) and w.name in p.stdout,
        ),
    )
    one = best_of(args.rounds, lambda: [audit_wheel(w) for w in wheels])
    # C's CPU time in the thread that reads and parses, with the second thread hashing behind it
    # (which runs only where a core is free: forced here, whatever the load)
    reader = []
    os.environ["MUSLWHEEL_SECOND_THREAD"] = "1"
    for _ in range(args.rounds):
        t = time.thread_time()
        for w in wheels:
            audit_wheel(w)
        reader.append(time.thread_time() - t)
    del os.environ["MUSLWHEEL_SECOND_THREAD"]
    cli_all = best_of(
        args.rounds,
        lambda: run_each(
            lambda _w: [args.muslwheel, "show", *map(str, wheels)],
            wheels[:1],
            lambda p, w: p.returncode in (0, 1) and all(x.name in p.stdout for x in wheels),
        ),
        all_cpu,
    )
    dec = best_of(args.rounds, lambda: raw_decompress(wheels, members))
    elf_bytes = raw_decompress(wheels, members)

    lines = [
        *results_file.header("muslwheel show vs auditwheel show"),
        f"at the start: {started}; at the end: {load()}",
        f"muslwheel {__version__}; wheels: {len(wheels)} ({len(binary)} binary), {elf_count} ELF members, {elf_bytes / 1e6:.1f} MB of ELF",
        f"best of {args.rounds} rounds, seconds:",
        f"A auditwheel show, one process per wheel: {aw:.3f}",
        f"B muslwheel show, one process per wheel: {mw:.3f}",
        f"C muslwheel show, all wheels in one process: {one:.3f}",
        f"D decompressing their ELF members only: {dec:.3f}",
        f"E one `muslwheel show` command given all the wheels: {cli_all:.3f}",
        f"A/B = {aw / mw:.1f}x (goal >= 10x)",
        f"C/D = {one / dec:.2f} (goal <= 1.5)",
        f"A/E = {aw / cli_all:.1f}x (goal >= 20x; auditwheel show takes one wheel per process, muslwheel show many)",
        f"CPU (user + system): A {aw_cpu[0]:.3f}, E {all_cpu[0]:.3f} (its process and its workers, one per core), A/E = {aw_cpu[0] / all_cpu[0]:.1f}x",
        f"C's reading thread alone: {min(reader):.3f} s CPU (the other hashes behind it); "
        f"A's CPU / that = {aw_cpu[0] / min(reader):.1f}x (C on a quiet machine, a core free for each thread; "
        "E adds one process start)",
    ]
    if args.profile:
        profile(wheels, args.profile)
    results_file.write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
