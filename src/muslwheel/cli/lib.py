"""``muslwheel lib``."""

from __future__ import annotations

import argparse

from ..arch import ARCHES
from .common import Subparsers, print_json


def run_lib_list(args: argparse.Namespace) -> int:
    from ..libs import all_recipes

    rows = []
    for r in sorted(all_recipes().values(), key=lambda r: r.name):
        refused = {a: why for a, why in r.refuses if a in ARCHES}
        rows.append(
            {
                "name": r.name,
                "debian_source": r.debian_source,
                "version": r.version_prefix,
                "system": r.system,
                "depends": list(r.depends),
                "libraries": list(r.libraries),
                "config_tools": [tool for tool, _ in r.config_tools],
                "refuses": refused,
            }
        )
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        deps = f" (needs {', '.join(row['depends'])})" if row["depends"] else ""
        print(f"{row['name']:14} {row['debian_source']} {row['version']}.x  {row['system']}{deps}")
    return 0


def run_lib_build(args: argparse.Namespace) -> int:
    from ..kits.choice import musl_wanted
    from ..kits.ondemand import musl_kit_for
    from ..libs import build_many, check_buildable, check_offline, parse_names
    from ..progress import LinePrinter, quiet

    names = parse_names([args.library])
    check_buildable(names, args.arch)  # refused in one line before any kit is made
    musl = musl_wanted(args.musl) if args.musl else None  # a release or a series, read at the edge
    if args.offline:
        check_offline(names, args.arch, musl)  # a source not in the download cache, too
    progress = quiet if args.quiet else LinePrinter("muslwheel lib")
    kit = musl_kit_for(args.arch, musl, progress=progress, jobs=args.jobs)
    built = build_many(names, kit, offline=args.offline, jobs=args.jobs, progress=progress)
    wanted = [p for p in built if p.name in names]
    if args.json:
        print_json([p.to_json() for p in wanted])
    else:
        for p in wanted:
            print(p.path)
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("lib", help="target C libraries (zlib, OpenSSL, libxml2 …) cross-built for an arch and musl")
    lib_sub = p.add_subparsers(dest="lib_command", metavar="LIB_COMMAND")
    lib_sub.required = True
    k = lib_sub.add_parser("list", help="the libraries muslwheel has recipes for")
    k.add_argument("--json", action="store_true", help="machine-readable output")
    k.set_defaults(handler=run_lib_list)
    k = lib_sub.add_parser("build", help="build libraries (and what they need) into the cache; print their prefixes")
    k.add_argument("library", metavar="LIB[,LIB]", help="library name(s), comma-separated (`muslwheel lib list`)")
    k.add_argument("--arch", required=True, help=", ".join(ARCHES))
    k.add_argument("--musl", metavar="VERSION", help="musl release or series (default: the oldest loader kit built)")
    k.add_argument("--offline", action="store_true", help="take sources from the download cache only")
    k.add_argument("-j", "--jobs", type=int, default=2, help="make's jobs (default: 2)")
    k.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    k.add_argument("--json", action="store_true", help="machine-readable output (each prefix and its facts)")
    k.set_defaults(handler=run_lib_build)
