"""The ``muslwheel`` command: a thin layer of argument parsing and output over the library.

Exit status: 0 success, 1 a negative verdict (where a command has one), 2 bad input or usage,
130 interrupted. Errors are one line on stderr: ``muslwheel: error: …``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Optional, Sequence

from . import __version__
from .errors import MuslwheelError
from .libc import Detection, detect_executable, detect_interpreter, detect_root
from .tags import (
    interpreter_tags,
    parse_python_version,
    parse_target,
    pip_download_args,
    running_python_version,
    tags_for_target,
    target_of_detection,
)

Handler = Callable[[argparse.Namespace], int]


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def _detect(args: argparse.Namespace) -> Detection:
    if args.root is not None:
        if args.executable is not None:
            return detect_executable(args.executable, root=args.root)
        return detect_root(args.root, arch=args.arch)
    if args.executable is not None:
        return detect_executable(args.executable)
    return detect_interpreter()


def cmd_detect(args: argparse.Namespace) -> int:
    d = _detect(args)
    if args.json:
        _print_json(d.to_json())
        return 0
    print(f"libc:         {d.libc}" + (f" {d.musl_version}" if d.musl_version else ""))
    print(f"architecture: {d.arch or 'none (' + d.machine + ')'}")
    print(f"ELF:          {d.elf_class}-bit {d.endianness}-endian")
    if d.loader:
        print(f"loader:       {d.loader}")
    if d.executable:
        print(f"executable:   {d.executable}")
    if d.root:
        print(f"root:         {d.root}")
    for key, how in d.how.items():
        print(f"  {key}: {how}")
    for note in d.notes:
        print(f"note: {note}")
    return 0


def cmd_tags(args: argparse.Namespace) -> int:
    python = parse_python_version(args.python) if args.python else None
    if args.target is None and args.root is None:
        if python is not None or args.pip_args:
            target = target_of_detection(detect_interpreter())
            platforms = target.platform_tags()
        else:
            tags = [str(t) for t in interpreter_tags(detect_interpreter())]
            _print_json(tags) if args.json else print("\n".join(tags))
            return 0
    elif args.target is not None:
        platforms = parse_target(args.target).platform_tags()
    else:
        platforms = target_of_detection(detect_root(args.root, arch=args.arch)).platform_tags()

    if args.pip_args:
        pyver = python or running_python_version()
        pip = pip_download_args(platforms, pyver)
        _print_json(pip) if args.json else print(" ".join(pip))
        return 0
    if python is None:
        _print_json(platforms) if args.json else print("\n".join(platforms))
        return 0
    tags = [str(t) for t in tags_for_target(platforms, python)]
    _print_json(tags) if args.json else print("\n".join(tags))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="muslwheel",
        description="Audit, repair and check binary wheels for musl libc Linux (PEP 656).",
    )
    parser.add_argument("--version", action="version", version=f"muslwheel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("detect", help="libc, musl version and architecture of an interpreter, executable or root")
    p.add_argument("--executable", metavar="PATH", help="an ELF executable (default: this Python)")
    p.add_argument("--root", metavar="DIR", help="a root filesystem of any architecture (never executed)")
    p.add_argument("--arch", help="with --root holding several musl loaders: which one")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_detect)

    p = sub.add_parser("tags", help="wheel tags a target accepts, best first; pip download arguments")
    p.add_argument("--target", metavar="TAG_OR_SPEC",
                   help="musllinux_1_2_aarch64, or ARCH:MUSL_VERSION such as aarch64:1.2.3")
    p.add_argument("--root", metavar="DIR", help="the target is this root filesystem")
    p.add_argument("--arch", help="with --root holding several musl loaders: which one")
    p.add_argument("--python", metavar="X.Y", help="list interpreter-abi-platform tags for CPython X.Y")
    p.add_argument("--pip-args", action="store_true",
                   help="print the arguments for `pip download` that fetch exactly these wheels")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_tags)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except MuslwheelError as exc:
        print(f"muslwheel: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("muslwheel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
