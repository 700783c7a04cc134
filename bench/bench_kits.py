#!/usr/bin/env python3
"""Build the full kit matrix and import every musllinux wheel of the bench set in its arch's kits.

    MUSLWHEEL_CACHE=... python bench/bench_kits.py [--arch A]... [--musl V]... [--python X.Y]... [--no-build]

1. Builds every kit (8 arches × musl {Debian's 1.2.3 where Debian has it, the newest} × the
   CPython minors available), timing each step cold or warm as it happens.
2. For each musllinux package of ``bench/wheels.txt`` (NAME==VERSION for an arch), downloads that
   release's musllinux wheel for each kit CPython minor of the arch (the bench set pins cp312,
   which Debian has no source for), and runs ``muslwheel check --import --json`` over it in
   every kit of that arch and minor.
3. Writes ``bench/results/kits.txt``: build time and disk size per kit, and per wheel and kit
   imported / crashed / loader error / binary error / Python error.
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
sys.path.insert(0, str(HERE.parent / "src"))

from results_file import header, write  # noqa: E402

from muslwheel.kits import kit_name, kits_dir, list_kits  # noqa: E402
from muslwheel.kits.build import CPYTHON_SOURCES, DEBIAN_ARCH, DEBIAN_BINARY_MUSL, NEWEST_MUSL  # noqa: E402

ARCHES = ["x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64", "loongarch64"]


def du(path: Path) -> int:
    """Bytes under *path*, each hard-linked file once."""
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 else 0


def build(arch: str, musl: str, python: str | None, jobs: int) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "muslwheel", "kit", "build", "-j", str(jobs), "--arch", arch, "--musl", musl]
    if python:
        cmd += ["--python", python]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    took = time.monotonic() - start
    if proc.returncode != 0:
        return took, "FAILED: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
    return took, "ok"


def musllinux_packages() -> list[tuple[str, str]]:
    """(arch, NAME==VERSION) for each musllinux line of the bench set."""
    out = []
    for line in (HERE / "wheels.txt").read_text().splitlines():
        if line.startswith("musllinux_"):
            platform, requirement = line.split()
            out.append((platform.split("_", 3)[3], requirement))
    return out


def fetch(arch: str, requirement: str, python: str, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    minor = python.replace(".", "")
    plats = []
    for tag in ("musllinux_1_2", "musllinux_1_1"):
        plats += ["--platform", f"{tag}_{arch}"]
    cmd = [
        sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(dest),
        *plats, "--python-version", python, "--implementation", "cp", "--abi", f"cp{minor}", "--abi", "abi3",
        requirement,
    ]  # fmt: skip
    subprocess.run(cmd, capture_output=True, text=True)
    name = requirement.split("==")[0].replace("-", "_").lower()
    version = requirement.split("==")[1]
    return sorted(p for p in dest.iterdir() if p.name.lower().startswith(f"{name}-{version}-") and arch in p.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=ARCHES)
    parser.add_argument("--musl", action="append")
    parser.add_argument("--python", action="append", choices=list(CPYTHON_SOURCES))
    parser.add_argument("--no-build", action="store_true", help="use the kits already built")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "kits.txt")
    args = parser.parse_args()
    arches = args.arch or ARCHES
    pythons = args.python or list(CPYTHON_SOURCES)
    lines = header("Kits: the full matrix built, and the bench set's musllinux wheels imported in it")
    lines += [f"kits in {kits_dir()}", ""]

    builds: list[str] = []
    if not args.no_build:
        lines.append(
            "## builds (seconds; 'warm' = already built; CPython is built once per arch, shared by its musl kits)"
        )
        for arch in arches:
            releases = args.musl or ([DEBIAN_BINARY_MUSL] if arch in DEBIAN_ARCH else []) + [NEWEST_MUSL]
            for musl in releases:
                for python in [None, *pythons]:
                    name = kit_name(arch, musl, python)
                    was = (kits_dir() / name / "kit.json").exists()
                    took, status = build(arch, musl, python, args.jobs)
                    line = f"{name:32} {took:7.1f}s {'warm' if was else 'cold'} {status}"
                    print(line, flush=True)
                    builds.append(line)
        lines += [*builds, ""]

    kits = [k for k in list_kits() if k.arch in arches]
    lines.append("## disk (MB, hard links counted once per kit; shared CPython trees counted in each kit)")
    for k in kits:
        lines.append(f"{k.name:32} {du(k.directory) / 1e6:7.1f}")
    lines.append(f"{'all kits (hard links once)':32} {du(kits_dir()) / 1e6:7.1f}")
    lines.append("")

    lines.append("## check --import: wheel, kit, module: result")
    wheels_dir = HERE / "wheels-kits"
    summary: dict[str, int] = {}
    for arch, requirement in musllinux_packages():
        if arch not in arches:
            continue
        for python in sorted({k.python for k in kits if k.arch == arch and k.python}):
            targets = [k for k in kits if k.arch == arch and k.python == python]
            for wheel in fetch(arch, requirement, python, wheels_dir):
                cmd = [sys.executable, "-m", "muslwheel", "check", "--import", "--json", str(wheel)]
                for k in targets:
                    cmd += ["--kit", k.name]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode not in (0, 1):
                    lines.append(f"{wheel.name}: error: {proc.stderr.strip()[:200]}")
                    continue
                for report in json.loads(proc.stdout):
                    results = [m["result"] for m in report["modules"]]
                    counts = {r: results.count(r) for r in sorted(set(results))}
                    verdict = "imported" if report["ok"] else "FAILED"
                    lines.append(
                        f"{wheel.name} {report['kit']}: {verdict} "
                        + ", ".join(f"{n} {r}" for r, n in counts.items())
                        + f" ({report['seconds']}s)"
                    )
                    for m in report["modules"]:
                        if m["result"] != "imported":
                            lines.append(f"    {m['module']}: {m['result']} {m['detail'][:160]}")
                    summary[verdict] = summary.get(verdict, 0) + 1
                    print(lines[-1], flush=True)
    lines += ["", "summary: " + ", ".join(f"{v} {n}" for v, n in sorted(summary.items()))]
    write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
