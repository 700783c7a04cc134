"""What every command shares: JSON output, one-line errors, and argument types."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, Callable

from ..errors import MuslwheelError

__all__ = ["Handler", "MuslwheelError", "Subparsers", "at_least", "deps_options", "error", "print_json", "size"]

Handler = Callable[[argparse.Namespace], int]
if TYPE_CHECKING:
    from ..proofdeps import DepsOptions

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def error(message: object) -> None:
    """The one line a failure prints: ``muslwheel: error: …`` on stderr."""
    print(f"muslwheel: error: {message}", file=sys.stderr)


def size(text: str) -> int:
    """A byte count: 1000000, 500M, 2G (powers of 1000), 1GiB (powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (such as 500M or 2G)")
    scale = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}[m.group(2)]
    return int(float(m.group(1)) * (1024 if m.group(3) else 1000) ** scale)


def at_least(minimum: float, kind: type[int] | type[float] = int) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is less than {minimum}")
        return value

    return parse


def deps_options(args: argparse.Namespace, *, offline_is_only_deps: bool = True) -> DepsOptions:
    """The import proof's dependency options from ``--no-deps``, ``--find-links`` and (where the
    command has them) ``--extra``, ``--no-index``, ``--offline``: ``check --import``'s and
    ``build``'s, refused in one line when they contradict each other. *offline_is_only_deps*
    False: the command's ``--offline`` covers more than dependencies (``build``'s ``--with``
    sources), so ``--no-deps --offline`` is no contradiction."""
    from pathlib import Path

    from ..proofdeps import DepsOptions

    extra, no_index, offline = (
        getattr(args, "extra", None),
        getattr(args, "no_index", False),
        getattr(args, "offline", False),
    )
    if args.no_deps and (extra or args.find_links or no_index or (offline and offline_is_only_deps)):
        names = [
            o
            for o in ("--extra", "--find-links", "--no-index", "--offline")
            if hasattr(args, o[2:].replace("-", "_")) and (o != "--offline" or offline_is_only_deps)
        ]
        listed = f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]
        raise MuslwheelError(f"--no-deps installs no dependencies: {listed} need{'' if len(names) > 1 else 's'} them")
    if no_index and not args.find_links:
        raise MuslwheelError("--no-index takes dependencies only from --find-links DIR: give one")
    for d in args.find_links or ():
        if not Path(d).is_dir():
            raise MuslwheelError(f"--find-links {d}: not a directory")
    return DepsOptions(
        resolve=not args.no_deps,
        extras=tuple(extra or ()),
        find_links=tuple(Path(d).resolve() for d in args.find_links or ()),
        no_index=no_index,
        offline=offline,
    )
