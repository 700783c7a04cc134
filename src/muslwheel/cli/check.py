"""``muslwheel check``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import MuslwheelError, Subparsers, at_least, deps_options, print_json


def run(args: argparse.Namespace) -> int:
    if args.import_:
        return run_import(args)
    if args.kit:
        raise MuslwheelError("--kit goes with --import (for the loader check, give the kit's root as --root)")
    if args.no_sandbox:
        raise MuslwheelError("--no-sandbox goes with --import (the loader check runs none of the wheel's code)")
    for given, flag in (
        (args.no_deps, "--no-deps"),
        (args.extra, "--extra"),
        (args.find_links, "--find-links"),
        (args.no_index, "--no-index"),
        (args.offline, "--offline"),
    ):
        if given:
            raise MuslwheelError(f"{flag} goes with --import (the loader check installs no dependencies)")
    if len(args.wheels) != 1:
        raise MuslwheelError("check takes one wheel (or several with --import)")
    from ..check import check_wheel

    result = check_wheel(Path(args.wheels[0]), root=Path(args.root) if args.root else None)
    if args.json:
        print_json(result.to_json())
    else:
        how = {
            "loader": "musl's loader",
            "loader+qemu": "musl's loader under qemu-user",
            "static": "static analysis",
            "none": "nothing to load",
        }[result.method]
        target = f"{result.arch}, musl {result.target_musl or 'unknown'}"
        print(f"{result.wheel} on {target} ({how}): {'loads' if result.loads else 'does NOT load'}")
        for p in result.problems:
            print(f"  {p.kind}: {p.file + ': ' if p.file else ''}{p.subject}: {p.why}")
        for note in result.notes:
            print(f"  note: {note}")
    return 0 if result.loads else 1


def run_import(args: argparse.Namespace) -> int:
    from ..check_import import check_imports

    if args.root:
        raise MuslwheelError("--import runs in a kit: give --kit NAME-or-ROOT instead of --root")
    deps = deps_options(args)
    reports = check_imports(
        [Path(w) for w in args.wheels],
        args.kit or None,
        timeout=args.timeout,
        sandbox=not args.no_sandbox,
        kit_build=not args.no_kit_build,
        deps=deps,
    )
    if args.json:
        print_json([r.to_json() for r in reports])
    else:
        for r in reports:
            if not r.target:
                print(f"{r.wheel}: {r.summary()}")
                continue
            bare = "" if r.sandboxed else ", no sandbox"
            print(f"{r.wheel} in {r.target}: {r.summary()} ({r.seconds:.1f}s{bare})")
            for m in r.modules:
                where = f" ({m.file})" if m.file else ""
                print(f"  {m.result:13} {m.module}{where}{': ' + m.detail if m.detail else ''}")
            for line in r.missing:
                print(f"  not proven: {line}")
            for d in r.dependencies:
                bad = d.failure
                state = f"{bad.result}: {bad.module}: {bad.detail}" if bad else "installed"
                print(f"  dependency {d.name} {d.version} ({d.wheel}): {state}")
            for note in r.notes:
                print(f"  note: {note}")
    return 0 if all(r.ok for r in reports) else 1


def register(sub: Subparsers) -> None:
    p = sub.add_parser("check", help="will this wheel load on the target? (musl's real loader where possible)")
    p.add_argument("wheels", nargs="+", metavar="WHEEL")
    p.add_argument("--root", metavar="DIR", help="the target's root filesystem (default: this host's musl)")
    p.add_argument(
        "--import",
        dest="import_",
        action="store_true",
        help="import every extension module in a kit's CPython (natively or under qemu-user)",
    )
    p.add_argument(
        "--kit",
        action="append",
        metavar="NAME-or-ROOT",
        help="with --import: the kit to import in (repeatable; default: the wheel's arch and Python "
        "at its tag's musl floor and the newest musl)",
    )
    p.add_argument(
        "--timeout",
        type=at_least(0.01, float),
        default=120.0,
        help="with --import: seconds each module may take to import (the interpreter's start included)",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="with --import: run the wheel's code without the sandbox (bubblewrap: no network, the host "
        "read-only), with your rights, network and files",
    )
    p.add_argument(
        "--no-kit-build",
        action="store_true",
        help="with --import: refuse a wheel no built kit fits (default: make the kit it needs, as `kit build`)",
    )
    p.add_argument(
        "--no-deps",
        action="store_true",
        help="with --import: install the wheels alone, not their Requires-Dist (default: their dependencies "
        "too, as binary wheels pip chooses for the kit)",
    )
    p.add_argument(
        "--extra",
        action="append",
        metavar="NAME",
        help="with --import: install the given wheels' extra NAME's dependencies too (repeatable)",
    )
    p.add_argument(
        "--find-links",
        action="append",
        metavar="DIR",
        help="with --import: a wheelhouse to take dependencies from (pip's --find-links; repeatable)",
    )
    p.add_argument(
        "--no-index",
        action="store_true",
        help="with --import: take dependencies only from --find-links, never an index (pip runs --isolated)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="with --import: no network: dependencies only from the download cache and --find-links",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)
