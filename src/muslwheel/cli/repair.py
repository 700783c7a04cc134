"""``muslwheel repair``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import Subparsers, print_json


def run(args: argparse.Namespace) -> int:
    out_dir = Path(args.wheel_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _repair_all(args, out_dir)
    except BaseException:
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()  # refused before writing anything: leave no trace either
        raise


def _repair_all(args: argparse.Namespace, out_dir: Path) -> int:
    from ..repair import repair_wheel

    quiet = args.quiet or args.json

    def progress(message: str) -> None:
        if not quiet:
            print(f"muslwheel: {message}", file=sys.stderr)

    results = []
    for wheel in args.wheels:
        result = repair_wheel(
            Path(wheel),
            out_dir,
            plat=args.plat,
            exclude=args.exclude,
            only_plat=args.only_plat,
            lib_sdir=args.lib_sdir,
            update_tags=not args.no_update_tags,
            compresslevel=args.zip_compression_level,
            root=Path(args.root) if args.root else None,
            ldpaths=args.ldpaths.split(":") if args.ldpaths is not None else None,
            strip=args.strip,
            allow_pure=args.allow_pure_python_wheel,
            keep_relr=args.keep_relr,
            progress=progress,
        )
        results.append(result)
        if not args.json:
            grafted = ", ".join(f"{g.needed} -> {g.wheel_path}" for g in result.grafted) or "nothing to graft"
            print(f"{result.output}: {grafted}")
    if args.json:
        print_json([r.to_json() for r in results] if len(results) > 1 else results[0].to_json())
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("repair", help="vendor external libraries, patch, retag; one output wheel per input")
    p.add_argument("wheels", nargs="+", metavar="WHEEL")
    p.add_argument("-w", "--wheel-dir", default="wheelhouse", help="output directory (default: wheelhouse)")
    p.add_argument("--plat", metavar="TAG", help="platform tag to claim (default: the best honest one)")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave libraries matching this wildcard external (repeatable)",
    )
    p.add_argument("--only-plat", action="store_true", help="claim only --plat, drop other musllinux tags")
    p.add_argument(
        "-L", "--lib-sdir", default=".libs", help="suffix of the vendored library directory (default: .libs)"
    )
    p.add_argument("--no-update-tags", action="store_true", help="keep the file name and WHEEL tags as they are")
    p.add_argument(
        "-z",
        "--zip-compression-level",
        type=int,
        default=6,
        choices=range(10),
        metavar="0-9",
        help="compression level for changed members (default: 6)",
    )
    p.add_argument("--root", metavar="DIR", help="the target's root filesystem, where its libraries are")
    p.add_argument("--ldpaths", metavar="DIRS", help="colon-separated host directories replacing the system path")
    p.add_argument("--strip", action="store_true", help="strip symbol tables (strip -s) from every ELF file")
    p.add_argument("--allow-pure-python-wheel", action="store_true", help="copy a pure wheel instead of refusing it")
    p.add_argument(
        "--keep-relr",
        action="store_true",
        help="leave DT_RELR packed (by default it is unpacked so musl < 1.2.4 loads the libraries)",
    )
    p.add_argument(
        "--disable-isa-ext-check",
        action="store_true",
        help="accepted for auditwheel compatibility: x86 ISA levels are warnings and never block",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)
