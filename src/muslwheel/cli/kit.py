"""``muslwheel kit``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..arch import ARCHES, get_arch
from .common import Subparsers, print_json


def run_kit_list(args: argparse.Namespace) -> int:
    from ..kits import kits_dir, list_kits

    kits = list_kits()
    if args.json:
        print_json([k.to_json() for k in kits])
        return 0
    if not kits:
        print(f"no kits in {kits_dir()} (`muslwheel kit build --arch ARCH --musl VERSION [--python X.Y]`)")
    for k in kits:
        print(f"{k.name:32} {k.root}")
    return 0


def run_kit_build(args: argparse.Namespace) -> int:
    import sys

    from ..kits import KitError
    from ..kits.build import StderrProgress, build_kit, kit_pythons, musl_release
    from ..kits.choice import KitKey
    from ..kits.ondemand import kit_to_make
    from ..versions import CPython

    def quiet(message: str) -> None:
        pass

    python: CPython | None = None
    if args.python:  # --python as kits spell it (3.13t), read here at the edge
        try:
            python = CPython.parse(args.python)
        except ValueError:
            python = None
        if python is None or python not in kit_pythons():
            raise KitError(f"--python {args.python}: kits have CPython {', '.join(map(str, kit_pythons()))}")
    if args.musl is not None:  # --musl, read here at the edge: a release
        musl = musl_release(args.musl)
    else:
        # the kit check --import and build would make on demand: its musl, and why, in one line
        if args.musl_source:
            raise KitError("--musl-source goes with --musl X.Y.Z (the release the tarball is)")
        spec = kit_to_make(KitKey(get_arch(args.arch).name, python))
        musl = spec.musl
        if not args.quiet:
            print(f"kit build: {spec.why_musl} (--musl chooses another)", file=sys.stderr)
    kit = build_kit(
        args.arch,
        musl,
        python,
        musl_source=Path(args.musl_source) if args.musl_source else None,
        cpython_source=Path(args.cpython_source) if args.cpython_source else None,
        jobs=args.jobs,
        progress=quiet if args.quiet else StderrProgress(),
        bare=args.bare,
    )
    if args.json:
        print_json(kit.to_json())
    else:
        print(f"{kit.name}: {kit.root}")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "kit", help="target kits: a real musl and a musl CPython for an arch (a --root for every command)"
    )
    kit_sub = p.add_subparsers(dest="kit_command", metavar="KIT_COMMAND")
    kit_sub.required = True
    k = kit_sub.add_parser("list", help="the kits built in the cache")
    k.add_argument("--json", action="store_true", help="machine-readable output")
    k.set_defaults(handler=run_kit_list)
    k = kit_sub.add_parser("build", help="build one kit into the cache (MUSLWHEEL_CACHE moves it)")
    k.add_argument("--arch", required=True, help=", ".join(ARCHES))
    k.add_argument(
        "--musl",
        metavar="VERSION",
        help="1.2.3 (Debian's packages), 1.2.2 or 1.2.6 (built from Debian's source), any other with --musl-source "
        "(default: the one check --import and build would make on demand, said in one line)",
    )
    k.add_argument(
        "--python",
        metavar="X.Y[t]",
        help="also a musl CPython X.Y in it (3.11, 3.13; 3.13t free-threaded; 3.14[t], 3.15[t] need --cpython-source)",
    )
    k.add_argument("--musl-source", metavar="TARBALL", help="musl's source tarball (default: from Debian's archive)")
    k.add_argument(
        "--cpython-source", metavar="TARBALL", help="CPython's source tarball (default: from Debian's archive)"
    )
    k.add_argument(
        "--bare",
        action="store_true",
        help="a bare kit (named …-bare, for CI speed): no system libraries in usr/lib, so no libz.so.1 and no "
        "_ssl, _hashlib, _bz2, _lzma, _sqlite3; never made on demand. Without --python: only the bare musl "
        "root ARCH-muslVER (what everything compiles against), not the Alpine-like ARCH-muslVER-system",
    )
    k.add_argument("-j", "--jobs", type=int, default=2, help="parallel compile jobs (default: 2)")
    k.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    k.add_argument("--json", action="store_true", help="machine-readable output")
    k.set_defaults(handler=run_kit_build)
