"""The ``muslwheel`` command: a thin layer of argument parsing and output over the library.

One module per command (``register`` adds its arguments, ``run`` parses, calls the library and
prints); each imports the library modules it needs only when it runs, so `show` does not pay for
`repair`.

Exit status: 0 success, 1 a negative verdict (where a command has one), 2 bad input or usage,
130 interrupted. Errors are one line on stderr: ``muslwheel: error: …``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from . import build, check, detect, distros, find_library, kit, lib, repair, report, scan, show, tags, wheelhouse
from .common import Handler, MuslwheelError, error

#: In the order `muslwheel --help` lists them.
COMMANDS = (detect, tags, show, repair, distros, find_library, check, scan, report, build, kit, lib, wheelhouse)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="muslwheel",
        description="Audit, repair and check binary wheels for musl libc Linux (PEP 656).",
    )
    parser.add_argument("--version", action="version", version=f"muslwheel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except MuslwheelError as exc:
        error(exc)
        return 2
    except KeyboardInterrupt:
        writer = sys.modules.get("muslwheel.wheelwriter")
        if writer is not None:
            writer.abort_all()
        print("muslwheel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
