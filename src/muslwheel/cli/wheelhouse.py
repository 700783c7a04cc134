"""``muslwheel wheelhouse``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import Subparsers, print_json


def run(args: argparse.Namespace) -> int:
    from ..wheelhouse import Options, PipConfig, plan
    from ..wheelhouse import run as run_house

    index: list[str] = []
    if args.index_url:
        index += ["--index-url", args.index_url]
    for url in args.extra_index_url:
        index += ["--extra-index-url", url]
    for link in args.find_links:
        index += ["--find-links", link]
    if args.no_index:
        index.append("--no-index")
    options = Options(
        requirements=Path(args.requirement),
        constraints=[Path(c) for c in args.constraint],
        targets=args.target,
        python=args.python,
        arch=args.arch,
        out_dir=Path(args.wheel_dir),
        pip=PipConfig(index_options=tuple(index), hermetic=args.no_pip_config),
        with_map=Path(args.with_map) if args.with_map else None,
        cache=Path(args.cache_dir) if args.cache_dir else None,
        dask=args.dask,
        prove=not args.no_prove,
        sandbox=not args.no_sandbox,
        kit_build=not args.no_kit_build,
    )
    planned = plan(options)

    def say(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    summary = run_house(planned, say)
    if args.json:
        print_json(summary.to_json())
        return summary.exit_status
    for d in summary.decisions:
        if d.file:
            print(f"{d.target}: {d.project} {d.version}: {d.decision}: {d.file} ({d.why})")
    for proof in summary.proofs:
        print(f"{proof['target']}: proof: {proof['result']}: {proof['why']}")
    for note in summary.notes:
        print(f"note: {note}")
    for problem in summary.problems:
        print(f"PROBLEM: {problem}")
    print(summary.line())
    if summary.out_dir:
        print(f"pip install --index-url file://{summary.out_dir.resolve()}/simple ...  (lock: wheelhouse.lock.json)")
    return summary.exit_status


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "wheelhouse",
        help="from a requirements file to a proven wheelhouse (PEP 503 index + lock) for musl targets",
    )
    p.add_argument("-r", "--requirement", required=True, metavar="FILE", help="requirements file (pip's format)")
    p.add_argument(
        "-c", "--constraint", action="append", default=[], metavar="FILE", help="constraints file (repeatable)"
    )
    p.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="TARGET",
        help="a distro release (alpine:3.17, or alpine:3.17/aarch64) or ARCH[:MUSL]; comma-separated or repeated",
    )
    p.add_argument("--python", metavar="X.Y[t]", help="the targets' CPython (default: the release's python3)")
    p.add_argument("--arch", metavar="ARCH", help="the arch of targets named by a release without /ARCH")
    p.add_argument("-w", "--wheel-dir", required=True, metavar="DIR", help="output: wheels, simple/, lock, report")
    p.add_argument("--index-url", metavar="URL", help="passed to pip")
    p.add_argument("--extra-index-url", action="append", default=[], metavar="URL", help="passed to pip (repeatable)")
    p.add_argument("--find-links", action="append", default=[], metavar="DIR_OR_URL", help="passed to pip (repeatable)")
    p.add_argument("--no-index", action="store_true", help="passed to pip: only --find-links")
    p.add_argument("--no-pip-config", action="store_true", help="ignore pip's configuration files and PIP_* variables")
    p.add_argument(
        "--with-map",
        metavar="FILE",
        help='JSON {"project": ["library", ...]}: build --with for projects built from sdist',
    )
    p.add_argument(
        "--cache-dir", metavar="DIR", help="downloads, repairs, builds, proofs (default: <cache>/wheelhouse)"
    )
    p.add_argument("--dask", metavar="tcp://HOST:8786", help="run builds and proofs on this dask.distributed cluster")
    p.add_argument("--no-prove", action="store_true", help="do not import the set in the targets' kits")
    p.add_argument(
        "--no-sandbox", action="store_true", help="import without the sandbox (with your rights and network)"
    )
    p.add_argument("--no-kit-build", action="store_true", help="never make a kit (a target with none is not proven)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    p.set_defaults(handler=run)
