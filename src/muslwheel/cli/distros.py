"""``muslwheel distros``."""

from __future__ import annotations

import argparse

from .common import Subparsers, print_json


def run(args: argparse.Namespace) -> int:
    from ..distros import releases

    found = releases()
    if args.json:
        print_json([r.to_json() for r in found])
        return 0
    print(f"{'distribution':<14} {'release':<9} {'musl':<7} {'end of life':<12} status")
    for r in found:
        status = r.status()
        eol = r.eol.isoformat() if r.eol else "-"
        print(f"{r.name:<14} {r.release:<9} {r.musl!s:<7} {eol:<12} {status}")
    print("sources: muslwheel/data/distros.json (muslwheel distros --json)")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("distros", help="the musl release of each Alpine, Void, OpenWrt … release, with sources")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)
