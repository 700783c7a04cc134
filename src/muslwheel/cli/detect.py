"""``muslwheel detect``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import Subparsers, print_json

if TYPE_CHECKING:
    from ..libc import Detection


def _detect(args: argparse.Namespace) -> Detection:
    from ..libc import detect_executable, detect_interpreter, detect_root

    if args.root is not None:
        if args.executable is not None:
            return detect_executable(args.executable, root=args.root)
        return detect_root(args.root, arch=args.arch)
    if args.executable is not None:
        return detect_executable(args.executable)
    return detect_interpreter()


def run(args: argparse.Namespace) -> int:
    d = _detect(args)
    if args.json:
        print_json(d.to_json())
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


def register(sub: Subparsers) -> None:
    p = sub.add_parser("detect", help="libc, musl version and architecture of an interpreter, executable or root")
    p.add_argument("--executable", metavar="PATH", help="an ELF executable (default: this Python)")
    p.add_argument("--root", metavar="DIR", help="a root filesystem of any architecture (never executed)")
    p.add_argument("--arch", help="with --root holding several musl loaders: which one")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)
