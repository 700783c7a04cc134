"""``muslwheel tags``."""

from __future__ import annotations

import argparse
import sys

from .common import Subparsers, print_json


def run(args: argparse.Namespace) -> int:
    from ..errors import TargetError
    from ..libc import detect_interpreter, detect_root
    from ..tags import (
        interpreter_tags,
        parse_python_version,
        parse_target,
        pip_download_args,
        running_python_version,
        tags_for_target,
        target_of_detection,
    )

    python = parse_python_version(args.python) if args.python else None
    if args.target is None and args.root is None:
        if python is not None or args.pip_args:
            target = target_of_detection(detect_interpreter())
            platforms = target.platform_tags()
        else:
            tags = [str(t) for t in interpreter_tags(detect_interpreter())]
            print_json(tags) if args.json else print("\n".join(tags))
            return 0
    elif args.target is not None:
        platforms = parse_target(args.target).platform_tags()
    else:
        platforms = target_of_detection(detect_root(args.root, arch=args.arch)).platform_tags()

    if args.pip_args:
        if python is None and (args.target is not None or args.root is not None):
            raise TargetError("--pip-args for a --target or --root needs --python X.Y (the target's CPython)")
        pyver = python or running_python_version()
        pip = pip_download_args(platforms, pyver)
        print_json(pip) if args.json else print(" ".join(pip))
        return 0
    if python is None:
        if not args.json:
            print(
                "muslwheel: platform tags only; --python X.Y lists the full interpreter-abi-platform tags",
                file=sys.stderr,
            )
        print_json(platforms) if args.json else print("\n".join(platforms))
        return 0
    tags = [str(t) for t in tags_for_target(platforms, python)]
    print_json(tags) if args.json else print("\n".join(tags))
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("tags", help="wheel tags a target accepts, best first; pip download arguments")
    p.add_argument(
        "--target", metavar="TAG_OR_SPEC", help="musllinux_1_2_aarch64, or ARCH:MUSL_VERSION such as aarch64:1.2.3"
    )
    p.add_argument("--root", metavar="DIR", help="the target is this root filesystem")
    p.add_argument("--arch", help="with --root holding several musl loaders: which one")
    p.add_argument("--python", metavar="X.Y", help="list interpreter-abi-platform tags for CPython X.Y")
    p.add_argument(
        "--pip-args", action="store_true", help="print the arguments for `pip download` that fetch exactly these wheels"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)
