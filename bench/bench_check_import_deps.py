#!/usr/bin/env python3
"""pandas' musllinux wheel proven with its dependencies installed by the proof.

    export MUSLWHEEL_CACHE=...   # the kit: x86_64-musl1.2.6-py3.11 (or --kit)
    python bench/bench_check_import_deps.py [--kit NAME] [--wheels DIR] \\
        [--out bench/results/check_import_deps.txt]

pandas imports numpy, dateutil and pytz at its top: proven alone (``--no-deps``, the behaviour
before dependencies were installed) its package stops at a Python error. The pinned wheels
(:data:`PINNED`: pandas and numpy for cp311 musllinux x86_64, python-dateutil, pytz, tzdata,
six) are fetched from PyPI with ``pip download --no-deps`` and ``muslwheel tags --pip-args``
into --wheels (a cache outside the repository, reused), then:

1. before: ``check --import --json --no-deps --kit KIT pandas.whl``;
2. after: ``check --import --json --no-index --find-links WHEELS --kit KIT pandas.whl``: pandas
   alone on the command line, its dependencies resolved from its Requires-Dist for the kit and
   installed by the proof;
3. with PyPI (``--index``): the same without ``--find-links``: pip chooses the newest wheels
   of the dependencies for the kit from PyPI, into muslwheel's download cache;
4. ``--old-kit KIT`` (with ``--index``): 3 in a musl 1.2.3 kit, where the newest numpy (DT_RELR)
   crashes, and so does pandas' one module that loads its vendored libstdc++ (DT_RELR): the
   proof puts the other modules' crashes on numpy and keeps that one as pandas' own.

The default kit is musl 1.2.6's: pandas 2.2.3's vendored libstdc++ and libgcc_s carry DT_RELR
(``show``: needs musl >= 1.2.4), so in a 1.2.3 kit its extension modules crash whatever is
installed beside them (``--kit x86_64-musl1.2.3-py3.11`` shows it: the proof names pandas' own
crash, not a dependency's; each crashed module costs a fresh interpreter, minutes in all).

Writes each run's command, exit status, the wheel's class, the count of modules per result and
the dependencies installed (with their classes) to --out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_file import header, write  # noqa: E402

MUSLWHEEL = [sys.executable, "-m", "muslwheel"]
#: pandas 2.2.3's Requires-Dist for CPython 3.11: numpy>=1.23.2, python-dateutil>=2.8.2,
#: pytz>=2020.1, tzdata>=2022.7; python-dateutil's: six>=1.5
PINNED = [
    "pandas==2.2.3",
    "numpy==2.1.3",
    "python-dateutil==2.9.0.post0",
    "pytz==2024.2",
    "tzdata==2024.2",
    "six==1.16.0",
]


def fetch(dest: Path, arch: str, musl: str) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    args = subprocess.run(
        [*MUSLWHEEL, "tags", "--target", f"{arch}:{musl}", "--python", "3.11", "--pip-args"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out = []
    for req in PINNED:
        name, version = req.split("==")
        stem = f"{name.replace('-', '_').lower()}-{version}-"
        have = [p for p in dest.glob("*.whl") if p.name.lower().startswith(stem)]
        if not have:
            pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), *args, req]
            subprocess.run(pip, check=True)
            have = [p for p in dest.glob("*.whl") if p.name.lower().startswith(stem)]
        out.append(have[0])
    return out


#: one line per run for the summary: "LABEL: CLASS, N of M modules imported"
SUMMARY: list[str] = []


def run(label: str, args: list[str]) -> list[str]:
    start = time.monotonic()
    proc = subprocess.run([*MUSLWHEEL, "check", "--import", "--json", *args], capture_output=True, text=True)
    took = time.monotonic() - start
    lines = [
        f"## {label}",
        f"$ muslwheel check --import --json {' '.join(args)}",
        f"exit {proc.returncode}, {took:.1f}s",
    ]
    try:
        (report,) = json.loads(proc.stdout)
    except ValueError:
        return [*lines, f"error: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}", ""]
    counts: dict[str, int] = {}
    for m in report["modules"]:
        counts[m["result"]] = counts.get(m["result"], 0) + 1
    short = label.split(": ", 1)[1].strip() + (
        f" ({label.split(':')[0].split(' in ')[1]})" if " in " in label.split(":")[0] else ""
    )
    SUMMARY.append(
        f"{short}: {report['class']}, {counts.get('imported', 0)} of {len(report['modules'])} modules imported"
    )
    lines.append(f"class: {report['class']}  summary: {', '.join(f'{n} {r}' for r, n in sorted(counts.items()))}")
    shown = [m for m in report["modules"] if m["result"] != "imported" or m["module"] == "pandas"]
    pandas = [m for m in shown if m["module"] == "pandas"]
    others = sorted((m for m in shown if m not in pandas), key=lambda m: m["class"] != "binary-failure")
    for m in [*pandas, *others[:3]]:
        detail = " ".join(m["detail"].split())[:160]
        lines.append(f"  {m['module']}: {m['result']} ({m['class']}) {detail}")
    if len(shown) > len(pandas) + 3:
        lines.append(f"  … {len(shown) - len(pandas) - 3} more modules not imported")
    for d in report["dependencies"]:
        lines.append(f"  dependency {d['name']} {d['version']} (required by {d['required_by']}): {d['class']}")
    for line in report["missing_dependencies"]:
        lines.append(f"  not proven: {line}")
    return [*lines, ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", default="x86_64-musl1.2.6-py3.11")
    parser.add_argument("--wheels", type=Path, default=Path.home() / ".cache" / "muslwheel-bench" / "deps-wheels")
    parser.add_argument("--index", action="store_true", help="also resolve the dependencies from PyPI")
    parser.add_argument("--old-kit", help="with --index: also prove pandas in this kit (a musl 1.2.3 one)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "check_import_deps.txt")
    args = parser.parse_args()
    arch, musl = args.kit.split("-musl")[0], args.kit.split("-musl")[1].split("-py")[0]
    wheels = fetch(args.wheels, arch, musl)
    pandas = str(wheels[0])
    lines = header("check --import: pandas with its dependencies installed by the proof")
    lines += [f"kit: {args.kit}", f"wheels: {', '.join(p.name for p in wheels)}", ""]
    lines += run("before: pandas alone (--no-deps)", ["--no-deps", "--kit", args.kit, pandas])
    lines += run(
        "after: pandas, its dependencies from the wheelhouse",
        ["--no-index", "--find-links", str(args.wheels), "--kit", args.kit, pandas],
    )
    if args.index:
        lines += run("with PyPI: pandas, its newest dependencies for the kit", ["--kit", args.kit, pandas])
        if args.old_kit:
            lines += run(
                f"with PyPI in {args.old_kit}: pandas, its newest dependencies", ["--kit", args.old_kit, pandas]
            )
    lines += ["## summary", *SUMMARY]
    write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
