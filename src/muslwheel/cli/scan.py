"""``muslwheel scan``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import Subparsers, at_least, print_json, size


def run(args: argparse.Namespace) -> int:
    from ..scan import Filter, HttpOptions, scan
    from ..scan.console import exit_status, print_summary, progress_printer
    from ..scan.sources import parse_python, read_projects_file

    projects = list(args.project)
    if args.projects_file:
        projects += read_projects_file(Path(args.projects_file))
    filt = Filter(
        platform=args.platform,
        arches=tuple(args.arch),
        python=parse_python(args.python) if args.python else None,
    )
    options = HttpOptions(rate=args.rate, timeout=args.timeout, retries=args.retries, backoff=args.backoff)
    summary = scan(
        args.sources,
        args.db,
        projects=projects,
        filt=filt,
        newest=args.newest,
        all_versions=args.all_versions,
        workers=args.workers,
        downloads=args.downloads,
        dask=args.dask,
        options=options,
        max_bytes=args.max_bytes,
        progress=progress_printer(silent=args.quiet or args.json),
    )
    if args.json:
        print_json(summary.to_json())
    else:
        print_summary(summary, args.db)
    return exit_status(summary)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("scan", help="audit a wheelhouse, a list of wheel URLs or a simple index into a database")
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a directory of wheels, a file of wheel URLs, or a PEP 503/691 simple index URL (with --project)",
    )
    p.add_argument("--db", required=True, help="the SQLite results database (created, or resumed)")
    p.add_argument("--project", action="append", default=[], metavar="NAME", help="a project of the index (repeatable)")
    p.add_argument("--projects-file", metavar="FILE", help="project names, one a line")
    p.add_argument(
        "--platform",
        default="musllinux",
        choices=["musllinux", "manylinux", "linux", "any"],
        help="wheels whose platform tag is of this kind (default: musllinux)",
    )
    p.add_argument("--arch", action="append", default=[], help="only this architecture (repeatable)")
    p.add_argument("--python", metavar="X.Y", help="only wheels CPython X.Y can install")
    p.add_argument(
        "--newest",
        action="store_true",
        help="only each project's newest version, for any source (the default for an index)",
    )
    p.add_argument(
        "--all-versions",
        action="store_true",
        help="every version, for any source (the default for a directory, a URL list or wheel files)",
    )
    p.add_argument("--workers", type=at_least(1), metavar="N", help="audit processes (default: one per core)")
    p.add_argument("--downloads", type=at_least(1), default=8, metavar="N", help="concurrent downloads (default: 8)")
    p.add_argument("--dask", metavar="ADDRESS", help="run the tasks on this Dask scheduler (tcp://HOST:8786)")
    p.add_argument("--rate", type=at_least(0.01, float), default=10.0, help="requests per second at most (default: 10)")
    p.add_argument("--retries", type=at_least(0), default=4, help="retries after a 429, 5xx or dropped connection")
    p.add_argument(
        "--backoff", type=at_least(0, float), default=0.5, help="first retry delay in seconds, doubled each time"
    )
    p.add_argument("--timeout", type=at_least(0.01, float), default=30.0, help="seconds to connect and for each read")
    p.add_argument("--max-bytes", type=size, metavar="SIZE", help="stop fetching after this much (500M, 2G)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(handler=run)
