"""``muslwheel report``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import Subparsers


def run(args: argparse.Namespace) -> int:
    from ..scan.report import load_report, render

    fmt = args.format or ("json" if args.json else None)
    if fmt is None:
        suffix = Path(args.output).suffix.lower() if args.output else ""
        fmt = {".html": "html", ".htm": "html", ".csv": "csv", ".json": "json"}.get(suffix, "md")
    text = render(load_report(Path(args.db)), fmt)
    if args.output:
        out = Path(args.output)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)  # complete or absent
    else:
        sys.stdout.write(text)
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="a report over a scan database: HTML, Markdown, CSV or JSON")
    p.add_argument("db", metavar="RESULTS.sqlite")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (format from the suffix; default: stdout)")
    p.add_argument("--format", choices=["html", "md", "csv", "json"], help="output format")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.set_defaults(handler=run)
