"""``muslwheel report``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .common import MuslwheelError, Subparsers

if TYPE_CHECKING:
    from datetime import datetime


def as_of(text: str) -> datetime:
    """``--as-of``: ``2026-12-07`` (its midnight) or ``2026-12-07T10:00:00Z``, UTC."""
    from datetime import datetime, timezone

    for form in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    raise MuslwheelError(f"--as-of {text!r}: expected a UTC date or time such as 2026-12-07 or 2026-12-07T10:00:00Z")


def run(args: argparse.Namespace) -> int:
    from ..scan.report import load, render

    now = as_of(args.as_of) if args.as_of else None
    fmt = args.format or ("json" if args.json else None)
    if fmt is None:
        suffix = Path(args.output).suffix.lower() if args.output else ""
        fmt = {".html": "html", ".htm": "html", ".csv": "csv", ".json": "json"}.get(suffix, "md")
    text = render(load(Path(args.db), now), fmt)
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
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="judge PyPI's 14-day upload window as of this UTC date or time (2026-12-07, 2026-12-07T10:00:00Z; "
        "default: now)",
    )
    p.set_defaults(handler=run)
