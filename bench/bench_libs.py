#!/usr/bin/env python3
"""Build every library recipe for each arch asked, and say what each cost.

    MUSLWHEEL_CACHE=... python bench/bench_libs.py [--arch A]... [--lib NAME]... [--musl 1.2.3] [--no-build]

For each recipe (``muslwheel lib list``) × arch (default x86_64 and aarch64): builds it with
:func:`muslwheel.libs.build_many` (its dependencies first; each library proven under the target
by its own small program, natively or under qemu-user) unless ``--no-build``, and writes
``bench/results/libs.txt``: the upstream and Debian versions, the cold build time (as the build
recorded it in ``muslwheel-lib-build.json``, with the machine's load then: it is shared), the
prefix's size, or why it was refused or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from results_file import header, write  # noqa: E402

from muslwheel.arch import get_arch  # noqa: E402
from muslwheel.errors import MuslwheelError  # noqa: E402
from muslwheel.kits.ondemand import musl_kit_for  # noqa: E402
from muslwheel.libs import all_recipes, read_prefix  # noqa: E402
from muslwheel.libs.store import BUILD_TIME, build_many, check_buildable, prefix_dir  # noqa: E402
from muslwheel.progress import LinePrinter  # noqa: E402


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 and out.stdout else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", action="append", default=[])
    parser.add_argument("--lib", action="append", default=[])
    parser.add_argument("--musl", default="1.2.3")
    parser.add_argument("--no-build", action="store_true", help="report what the cache holds")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "libs.txt")
    args = parser.parse_args()
    arches = args.arch or ["x86_64", "aarch64"]
    names = args.lib or sorted(all_recipes())
    lines = header("Target libraries: every recipe built with zig for each arch and proven under the target")
    lines.append(f"at the start: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine is shared)")
    lines.append("")
    lines.append(
        f"{'library':14} {'arch':8} {'version':9} {'debian version':28} {'cold build':>10} {'load':>5} {'prefix':>9}"
    )
    total = 0.0
    for name in names:
        recipe = all_recipes()[name]
        for arch in arches:
            a = get_arch(arch)
            row = f"{name:14} {arch:8} "
            try:
                check_buildable([name], a)
                if not args.no_build:
                    say = LinePrinter(f"bench libs {name} {arch}")
                    build_many([name], musl_kit_for(a, args.musl, progress=say), progress=say)
            except MuslwheelError as e:
                lines.append(row + f"not built: {e}")
                continue
            path = prefix_dir(recipe, a, args.musl)
            prefix = read_prefix(path)
            if prefix is None:
                lines.append(row + "not built (not in the cache)")
                continue
            try:
                took = json.loads((path / BUILD_TIME).read_text())
                note = ""
            except (OSError, ValueError):  # built before the room kept its time beside the prefix
                took, note = {}, " (built before prefixes kept their build time: not known here)"
            seconds = float(took.get("seconds", 0.0))
            total += seconds
            size = du(path) / 1e6
            versions = f"{prefix.facts['version']!s:9} {prefix.facts['debian_version']!s:28} "
            timing = f"{seconds:9.0f}s {float(took.get('load', 0.0)):5.1f}" if took else f"{'?':>10} {'?':>5}"
            lines.append(row + versions + timing + f" {size:7.1f}MB{note}")
    lines.append("")
    lines.append(f"cold build time of the rows above with a known time, summed: {total:.0f}s")
    lines.append("(a build after a failed attempt of the same sources reuses zig's compile cache: not cold)")
    write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
