"""``muslwheel build``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import Subparsers, deps_options, print_json


def run(args: argparse.Namespace) -> int:
    from ..builder import BuildOptions, build
    from ..builder.plan import config_settings, plan_targets
    from ..builder.run import ProgressPrinter

    settings = config_settings(args.config_setting)
    deps = deps_options(args, offline_is_only_deps=False)  # refused in one line before any kit is made
    targets = plan_targets(
        cpythons=args.cpython,
        kits=args.kit,
        arches=args.arch,
        pythons=args.python,
        musl=args.musl,
        kit_build=not args.no_kit_build,
        quiet=args.quiet,
    )
    options = BuildOptions(
        source=Path(args.source),
        out_dir=Path(args.wheel_dir),
        targets=targets,
        jobs=args.jobs,
        before_build=args.before_build,
        config_settings=settings,
        test_command=args.test,
        import_check=not args.no_import,
        sandbox=not args.no_sandbox,
        keep_work=args.keep_work,
        with_libs=args.with_libs,
        offline=args.offline,
        deps=deps,
    )
    progress = None if args.quiet else ProgressPrinter(targets)
    summary = build(options, progress)
    if args.json:
        print_json(summary.to_json())
    else:
        for r in summary.results:
            if r.ok:
                how = f"imported {len(r.imported)} module(s)" if r.imported else f"check: {r.check}"
                print(f"{r.target.name}: ok: {r.wheel} ({how}, {sum(r.seconds.values()):.1f}s)")
                for note in r.notes:
                    print(f"    note: {note}")
            elif r.status == "unavailable":
                print(f"{r.target.name}: cannot be built here: {r.error}")
            else:
                print(f"{r.target.name}: FAILED at {r.stage}: {r.error}")
                for line in r.log_tail:
                    print(f"    | {line}")
                if r.log:
                    print(f"    full log: {r.log}")
        failed = sum(not r.ok for r in summary.results)
        print(f"{len(summary.results) - failed} of {len(summary.results)} targets built in {summary.seconds:.1f}s")
    return summary.exit_status


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "build", help="cross-build musllinux wheels for many arches at once, repaired and import-checked"
    )
    p.add_argument("source", nargs="?", default=".", metavar="SRC", help="a source tree or an sdist (default: .)")
    p.add_argument("-w", "--wheel-dir", default="wheelhouse", help="output directory (default: wheelhouse)")
    p.add_argument(
        "--arch",
        action="append",
        default=[],
        metavar="ARCH",
        help="target arch(es), comma-separated or repeated; `all` for the eight",
    )
    p.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="X.Y[t]",
        help="target CPython minor(s), comma-separated or repeated (3.13t: free-threaded)",
    )
    p.add_argument(
        "--musl",
        metavar="VERSION",
        help="the kits' musl release or series (1.1, 1.2, 1.2.3; default: the oldest built)",
    )
    p.add_argument(
        "--kit", action="append", default=[], metavar="NAME_OR_DIR", help="also build for this kit (repeatable)"
    )
    p.add_argument(
        "--cpython",
        action="append",
        default=[],
        metavar="PREFIX",
        help="also build for this installed musl CPython of this host's arch",
    )
    p.add_argument("-j", "--jobs", type=int, default=0, help="targets built at once (default: the core count)")
    p.add_argument(
        "--before-build",
        metavar="CMD",
        help="shell command run once per target in its source copy, with $CC, $MUSLWHEEL_PREFIX, $MUSLWHEEL_HOST set",
    )
    p.add_argument(
        "--with",
        dest="with_libs",
        action="append",
        default=[],
        metavar="LIB[,LIB]",
        help="native libraries built for each target and found by the build (`muslwheel lib list`; "
        "also [tool.muslwheel] with = [...] in pyproject.toml)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="no network: the --with libraries' sources (one line, exit 2, if one is missing) and the "
        "import's dependencies from the download cache only",
    )
    p.add_argument(
        "-C", "--config-setting", action="append", default=[], metavar="KEY=VALUE", help="passed to the build backend"
    )
    p.add_argument("--test", metavar="CODE", help="Python code run in the target's CPython after the import")
    p.add_argument("--no-import", action="store_true", help="check with musl's loader only, import nothing")
    p.add_argument(
        "--no-deps",
        action="store_true",
        help="import the wheel alone, not its Requires-Dist (default: its dependencies too, as binary "
        "wheels pip chooses for the target, as `check --import` installs them)",
    )
    p.add_argument(
        "--find-links",
        action="append",
        metavar="DIR",
        help="a wheelhouse to take the import's dependencies from, and a 32-bit target's numpy C headers "
        "(pip's --find-links; repeatable)",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the import and --test without the sandbox (bubblewrap: no network, the host read-only), "
        "with your rights, network and files",
    )
    p.add_argument(
        "--no-kit-build", action="store_true", help="refuse a target with no kit (default: make it, as `kit build`)"
    )
    p.add_argument("--keep-work", action="store_true", help="keep each target's work directory and log")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(handler=run)
