"""``muslwheel find-library``."""

from __future__ import annotations

import argparse
import sys

from .common import Subparsers, print_json


def run(args: argparse.Namespace) -> int:
    from ..findlib import locate, search_dirs

    found = locate(args.name, args.root, arch=args.arch)
    if args.json:
        print_json(found.to_json() if found else None)
    elif found:
        print(found.path)
    else:
        dirs = search_dirs(args.root, arch=args.arch)
        print(f"muslwheel: {args.name}: not found (searched {', '.join(dirs) or 'nothing'})", file=sys.stderr)
    return 0 if found else 1


def register(sub: Subparsers) -> None:
    p = sub.add_parser("find-library", help="what ctypes.util.find_library should answer on musl")
    p.add_argument("name", metavar="NAME", help="a library name as ctypes takes it: c, z, ssl")
    p.add_argument("--root", metavar="DIR", help="a root filesystem of any architecture (never executed)")
    p.add_argument("--arch", help="with a root holding several musl loaders: which one")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)
