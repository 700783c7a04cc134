#!/usr/bin/env python3
"""Real musllinux wheels proven in a bare kit and in an Alpine-like kit of the same arch and musl.

    export MUSLWHEEL_CACHE=...   # kits: {arch}-musl{musl}-py3.11 and {arch}-musl{musl}-py3.11-bare
    python bench/bench_kits_system.py [--arch x86_64[,aarch64,...]] [--musl 1.2.6] \\
        [--wheels DIR] [--out bench/results/kits_system.txt]

A bare kit (``kit build --bare``: what every kit was before kits carried Alpine's base) has no
``libz.so.1`` in its root and a CPython without ``_ssl``, ``_hashlib``' OpenSSL digests,
``_sqlite3``, ``_lzma`` or ``_bz2``; an Alpine-like kit (the default) has zlib, OpenSSL 3,
libffi, bzip2, xz, sqlite3 and expat in its ``usr/lib`` and a CPython linked against them.

For each package of :data:`PACKAGES` the newest cp311 musllinux wheel for the arch is fetched
(``pip download --no-deps`` with ``muslwheel tags --target ARCH:MUSL --python 3.11 --pip-args``,
into --wheels, a cache outside the repository, reused), then proven by
``muslwheel check --import --json --kit KIT WHEEL`` in each kit, its dependencies installed by
the proof from PyPI as pip would choose them for the kit. Writes, per wheel and kit, the proof's
class, the count of modules per result and the first reasons a module was not proven, and the
totals before (bare) and after (Alpine-like), with the command, to --out. An arch whose kits are
not both built is named as such (``kit build --arch A --musl M --python 3.11 [--bare]``).
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

from muslwheel.kits import kit_name, list_kits  # noqa: E402

MUSLWHEEL = [sys.executable, "-m", "muslwheel"]
PYTHON = "3.11"
#: what issue #31 names (Pillow, h5py, aiohttp, pandas with numpy, grpcio) and more that load
#: libz or ``ssl`` at import time (uvloop's loop, gevent's ssl modules)
PACKAGES = ["pillow", "h5py", "aiohttp", "pandas", "grpcio", "pyproj", "uvloop", "gevent", "lxml", "psycopg2-binary"]


def fetch(dest: Path, arch: str, musl: str) -> list[Path]:
    dest = dest / f"{arch}-musl{musl}"
    dest.mkdir(parents=True, exist_ok=True)
    args = subprocess.run(
        [*MUSLWHEEL, "tags", "--target", f"{arch}:{musl}", "--python", PYTHON, "--pip-args"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out = []
    for name in PACKAGES:
        stem = name.replace("-", "_").lower() + "-"
        have = sorted(p for p in dest.glob("*.whl") if p.name.lower().startswith(stem))
        if not have:
            pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), *args, name]
            if subprocess.run(pip, capture_output=True).returncode != 0:
                continue  # no wheel of it for this target: said in the results below
            have = sorted(p for p in dest.glob("*.whl") if p.name.lower().startswith(stem))
        out.extend(have[-1:])
    return out


def prove(kit: str, wheel: Path) -> tuple[str, dict[str, int], list[str], float]:
    start = time.monotonic()
    proc = subprocess.run(
        [*MUSLWHEEL, "check", "--import", "--json", "--kit", kit, str(wheel)], capture_output=True, text=True
    )
    took = time.monotonic() - start
    try:
        (report,) = json.loads(proc.stdout)
    except ValueError:
        return "error", {}, [(proc.stderr.strip().splitlines() or ["no output"])[-1]], took
    counts: dict[str, int] = {}
    reasons: list[str] = []
    for m in report["modules"]:
        counts[m["result"]] = counts.get(m["result"], 0) + 1
        if m["result"] != "imported" and len(reasons) < 2:
            reasons.append(f"{m['module']}: {m['result']}: {' '.join(m['detail'].split())[:140]}")
    reasons += [f"not proven: {line}" for line in report.get("missing_dependencies", [])][:2]
    return str(report["class"]), counts, reasons, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="x86_64")
    parser.add_argument("--musl", default="1.2.6")
    parser.add_argument("--wheels", type=Path, default=Path.home() / ".cache" / "muslwheel-bench" / "system-wheels")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "kits_system.txt")
    args = parser.parse_args()
    built = {k.name: k for k in list_kits()}
    lines = header("check --import of real wheels: a bare kit (before) and an Alpine-like kit (after)")
    totals = {"before": 0, "after": 0, "wheels": 0}
    for arch in args.arch.split(","):
        bare = kit_name(arch, args.musl, PYTHON, True)
        alpine = kit_name(arch, args.musl, PYTHON, False)
        missing = [k for k in (bare, alpine) if k not in built]
        if missing:
            lines += [f"{arch}: not run: kit(s) {', '.join(missing)} not built", ""]
            continue
        kit = built[alpine]
        libs = ", ".join(f"{s.soname} ({s.name} {s.version})" for s in kit.system_libraries)
        lines += [f"## {arch}, musl {args.musl}", f"Alpine-like kit {alpine}: {libs}", ""]
        for wheel in fetch(args.wheels, arch, args.musl):
            totals["wheels"] += 1
            lines.append(wheel.name)
            for when, name in (("before", bare), ("after", alpine)):
                cls, counts, reasons, took = prove(name, wheel)
                totals[when] += cls == "imported"
                summary = ", ".join(f"{n} {r}" for r, n in sorted(counts.items())) or "no modules"
                lines.append(f"  {when:6} {name}: {cls} ({summary}) in {took:.0f}s")
                lines += [f"         {r}" for r in reasons]
            lines.append("")
    lines += [
        f"totals: {totals['wheels']} wheels; every module imported (class 'imported') in the bare kit: "
        f"{totals['before']}, in the Alpine-like kit: {totals['after']}"
    ]
    write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
