#!/usr/bin/env python3
"""scan, for real: the newest musllinux wheels of PyPI's most downloaded projects, all arches.

    MUSLWHEEL_CACHE=/work/cache/scan python bench/bench_scan.py [--python 3.12] [--rounds 2]

1. ``muslwheel scan https://pypi.org/simple/ --projects-file bench/scan_projects.txt --python X.Y``
   into a fresh database (range reads, 2 audit workers): wheels per second per core, bytes read
   against the wheels' total size, and each wheel's audit CPU time against the time its bytes
   take at 100 MB/s.
2. ``muslwheel report`` over it: the headline numbers; the HTML report is written next to the
   database (``scan-report.html``) for a screenshot.
3. Local-pool scaling: the same audit over wheels on disk (the first ``--local`` wheels of the
   run, downloaded whole once into the cache), ``--workers 1`` against ``--workers 2``, best of
   ``--rounds``, each run in a session of its own at high priority; and the audit CPU of each
   of those wheels against the time its bytes take at 100 MB/s. The load average is recorded.

Writes ``bench/results/scan.txt``. With ``--part local`` only part 3 runs (a minute or two, no
network once the wheels are on disk) and only its section of the file is replaced, under its
own command line:

    MUSLWHEEL_CACHE=/work/cache/scan python bench/bench_scan.py --part local --rounds 5
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import results_file  # noqa: E402
from results_file import header  # noqa: E402

CACHE = Path(os.environ.get("MUSLWHEEL_CACHE") or Path.home() / ".cache" / "muslwheel")
MUSLWHEEL = [sys.executable, "-m", "muslwheel"]


def _own_autogroup() -> None:
    """In the child: a session of its own whose autogroup runs at nice -15 (root only), so a
    measurement on a shared, loaded machine gets the cores it asks for."""
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write("-15")
    except OSError:
        pass


def scan(args: list[str], priority: bool = False) -> tuple[float, dict[str, object]]:
    start = time.monotonic()
    proc = subprocess.run(
        [*MUSLWHEEL, "scan", *args, "--json", "-q"],
        capture_output=True,
        text=True,
        start_new_session=priority,
        preexec_fn=_own_autogroup if priority else None,
    )
    seconds = time.monotonic() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"scan failed ({proc.returncode}): {proc.stderr}")
    return seconds, json.loads(proc.stdout)


LOCAL_MARK = "local pool, "


def write(lines: list[str], out: Path, keep_before: str | None = None) -> None:
    """Write *lines* to *out*; with *keep_before*, keep the file's lines before the first line
    starting with it (the sections another run wrote) and replace the rest."""
    if keep_before is not None and out.exists():
        old = out.read_text().splitlines()
        cut = next((i for i, line in enumerate(old) if line.startswith(keep_before)), len(old))
        lines = old[:cut] + lines
    results_file.write(lines, out)


def local_wheels(args: argparse.Namespace, work: Path, ok: list[tuple] | None) -> list[Path]:  # type: ignore[type-arg]
    """The wheels on disk for part 3: downloaded once (the first --local of the real run's)."""
    local = work / "local"
    local.mkdir(exist_ok=True)
    if ok is not None:
        picked = sorted(ok, key=lambda r: r[8])[:: max(1, len(ok) // args.local)][: args.local]
        for r in picked:
            dest = local / r[8].rsplit("/", 1)[-1]
            if not dest.exists():
                tmp = dest.with_suffix(".part")
                req = urllib.request.Request(r[8], headers={"User-Agent": "muslwheel-bench"})
                with urllib.request.urlopen(req) as resp, open(tmp, "wb") as f:
                    shutil.copyfileobj(resp, f)
                tmp.replace(dest)
    wheels = sorted(local.glob("*.whl"))
    if not wheels:
        sys.exit(f"{local}: no wheels on disk; run the whole bench once first")
    return wheels


def local_section(args: argparse.Namespace, ok: list[tuple] | None = None) -> list[str]:  # type: ignore[type-arg]
    """Part 3: local-pool scaling and audit CPU against 100 MB/s, over the wheels on disk."""
    work = CACHE / "bench-scan"
    work.mkdir(parents=True, exist_ok=True)
    wheels = local_wheels(args, work, ok)
    local = work / "local"
    mb = sum(w.stat().st_size for w in wheels) / 1e6
    load_before = os.getloadavg()
    best: dict[int, float] = {}
    runs: dict[int, list[float]] = {1: [], 2: []}
    cpu_runs: list[list[tuple[int, float]]] = []
    for _ in range(args.rounds):
        for workers in (1, 2):
            scaling_db = work / f"scaling-{workers}.sqlite"
            for f in work.glob(f"scaling-{workers}.sqlite*"):
                f.unlink()
            seconds, s = scan(
                [str(local), "--db", str(scaling_db), "--workers", str(workers), "--platform", "any"], priority=True
            )
            assert s["audited"] == len(wheels), s
            runs[workers].append(seconds)
            best[workers] = min(best.get(workers, 1e9), seconds)
            if workers == 1:
                con = sqlite3.connect(scaling_db)
                cpu_runs.append(con.execute("SELECT size, cpu_seconds FROM wheels WHERE error IS NULL").fetchall())
                con.close()
    load_after = os.getloadavg()
    # The audit CPU of the --workers 1 run whose audits took least CPU in all (best of N too).
    local_rows = min(cpu_runs, key=lambda rows: sum(c for _, c in rows))
    local_cpu = sum(r[1] for r in local_rows)
    local_100 = sum(r[0] for r in local_rows) / 100e6
    local_under = sum(1 for size, c in local_rows if c < size / 100e6)
    big = [(size, c) for size, c in local_rows if size > 10e6]
    small = [(size, c) for size, c in local_rows if size < 1e6]
    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    return [
        f"local pool, {len(wheels)} of these wheels on disk ({mb:.0f} MB), one `muslwheel scan DIR` each, best of {args.rounds};"
        " each run in a session of its own at autogroup nice -15 (the machine is shared; without it a",
        "  run gets its autogroup's share of the 2 cores whatever its worker count):",
        f"  measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by: {command}",
        "  load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        ),
        f"  --workers 1: {best[1]:.2f} s ({len(wheels) / best[1]:.1f} wheels/s); all runs: "
        + ", ".join(f"{t:.2f}" for t in runs[1]),
        f"  --workers 2: {best[2]:.2f} s ({len(wheels) / best[2]:.1f} wheels/s); all runs: "
        + ", ".join(f"{t:.2f}" for t in runs[2]),
        f"  scaling 1 -> 2 workers: {best[1] / best[2]:.2f}x (goal >= 1.7x)",
        f"  audit CPU (--workers 1 run) vs these wheels' download time at 100 MB/s: {local_cpu:.2f} s vs {local_100:.2f} s"
        f" = {local_cpu / max(local_100, 1e-9):.2f}; below for {local_under} of {len(local_rows)} wheels",
        f"    wheels over 10 MB: {sum(c for _, c in big):.2f} s vs {sum(s for s, _ in big) / 100e6:.2f} s"
        f" ({len(big)} wheels); under 1 MB: {sum(c for _, c in small):.2f} s vs {sum(s for s, _ in small) / 100e6:.2f} s"
        f" ({len(small)} wheels)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects-file", type=Path, default=HERE / "scan_projects.txt")
    parser.add_argument("--python", default="3.12")
    parser.add_argument("--index", default="https://pypi.org/simple/")
    parser.add_argument("--rate", default="20")
    parser.add_argument("--local", type=int, default=160, help="wheels to download whole for the scaling run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier real run")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scan.txt")
    parser.add_argument(
        "--part", choices=("all", "local"), default="all", help="local: only the local-pool section (part 3)"
    )
    args = parser.parse_args()
    if args.part == "local":
        write(local_section(args), args.out, keep_before=LOCAL_MARK)
        return 0

    work = CACHE / "bench-scan"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "pypi.sqlite"
    cores = len(os.sched_getaffinity(0))
    lines = header("muslwheel scan over PyPI")
    projects = [p for p in args.projects_file.read_text().splitlines() if p.strip() and not p.startswith("#")]

    # 1. The real run (or, with --reuse, the one recorded earlier).
    recorded = work / "real-run.json"
    if args.reuse and recorded.exists() and db.exists():
        wall, summary = json.loads(recorded.read_text())
    else:
        for f in work.glob("pypi.sqlite*"):
            f.unlink()
        wall, summary = scan(
            [
                args.index,
                "--projects-file",
                str(args.projects_file),
                "--python",
                args.python,
                "--db",
                str(db),
                "--workers",
                str(cores),
                "--downloads",
                "8",
                "--rate",
                args.rate,
            ]
        )
        recorded.write_text(json.dumps([wall, summary]))
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT project, arch, size, bytes_read, cpu_seconds, fetch_seconds, error, method, url FROM wheels"
    ).fetchall()
    con.close()
    ok = [r for r in rows if r[6] is None]
    with_wheels = len({r[0] for r in rows})
    arches: dict[str, int] = {}
    for r in ok:
        arches[r[1] or "none"] = arches.get(r[1] or "none", 0) + 1
    size = sum(r[2] or 0 for r in rows)
    read = sum(r[3] or 0 for r in rows)
    cpu = [r[4] or 0.0 for r in ok]
    at_100 = [(r[3] or 0) / 100e6 for r in ok]
    whole_100 = [(r[2] or 0) / 100e6 for r in ok]
    under = sum(1 for c, t in zip(cpu, at_100) if c < t)
    under_whole = sum(1 for c, t in zip(cpu, whole_100) if c < t)
    lines += [
        f"index: {args.index}; {len(projects)} candidate projects (bench/scan_projects.txt), newest version, "
        f"musllinux wheels CPython {args.python} can install, every arch",
        f"real run: {wall:.1f} s wall on {cores} cores (--workers {cores} --downloads 8 --rate {args.rate})"
        + (" [recorded by an earlier run of this script, --reuse]" if args.reuse else ""),
        f"projects with such wheels: {with_wheels}; wheels: {len(rows)} ({len(ok)} audited, {len(rows) - len(ok)} errors)",
        "wheels per arch: " + ", ".join(f"{a} {n}" for a, n in sorted(arches.items(), key=lambda kv: -kv[1])),
        f"methods: range {sum(1 for r in rows if r[7] == 'range')}, whole {sum(1 for r in rows if r[7] == 'full')}",
        f"bytes read: {read / 1e6:.1f} MB of {size / 1e6:.1f} MB of wheels ({100 * read / max(size, 1):.1f}%)",
    ]
    if summary["audited"]:
        lines.append(
            f"throughput: {summary['audited'] / wall:.2f} wheels/s, {summary['audited'] / wall / cores:.2f} wheels/s per core"
            f" (network-bound: {read / 1e6 / wall:.1f} MB/s fetched)"
        )
    if cpu:
        lines += [
            f"audit CPU per wheel: median {statistics.median(cpu) * 1e3:.1f} ms, p90 {sorted(cpu)[int(0.9 * len(cpu))] * 1e3:.1f} ms,"
            f" max {max(cpu) * 1e3:.0f} ms, total {sum(cpu):.1f} s",
            f"audit CPU vs the time its bytes take at 100 MB/s: below for {under} of {len(cpu)} wheels "
            f"(bytes read), {under_whole} of {len(cpu)} (whole wheel); in total {sum(cpu):.1f} s CPU vs "
            f"{sum(at_100):.1f} s (bytes read) / {sum(whole_100):.1f} s (whole wheels) = {sum(cpu) / max(sum(at_100), 1e-9):.2f} / "
            f"{sum(cpu) / max(sum(whole_100), 1e-9):.2f}",
        ]
    if cpu:
        fetched = [(r[4] or 0.0, r[5] or 0.0) for r in ok]
        big = [r for r in ok if (r[3] or 0) > 10e6]
        lines += [
            f"audit CPU vs the wheel's measured fetch time (this run, this network): below for "
            f"{sum(1 for c, f in fetched if c < f)} of {len(fetched)} wheels",
            f"wheels over 10 MB read: audit CPU below 100 MB/s for {sum(1 for r in big if (r[4] or 0) < r[3] / 100e6)} of "
            f"{len(big)}; {sum(r[4] or 0 for r in big):.1f} s CPU vs {sum(r[3] for r in big) / 100e6:.1f} s at 100 MB/s",
        ]
    errors = [r for r in rows if r[6]]
    for r in errors[:5]:
        lines.append(f"  error: {r[8]}: {r[6][:160]}")

    # 2. The report.
    html = work / "scan-report.html"
    subprocess.run([*MUSLWHEEL, "report", str(db), "-o", str(html)], check=True)
    report = json.loads(
        subprocess.run([*MUSLWHEEL, "report", str(db), "--json"], check=True, capture_output=True, text=True).stdout
    )
    lines.append("report headline (muslwheel report --json):")
    lines += [f"  {h}" for h in report["headline"]]
    lines.append("  claimed tag vs musl floor: " + json.dumps(report["claimed_vs_floor"]))
    for reason, wheels in list(report["by_reason"].items())[:8]:
        projects_ = sorted({w["project"] for w in wheels})
        lines.append(f"  {len(wheels):4d} wheels, {len(projects_):3d} projects: {reason} ({', '.join(projects_[:6])})")

    lines += local_section(args, ok)
    write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
