"""What every command shares: JSON output, one-line errors, and argument types."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, Callable

from ..errors import MuslwheelError

__all__ = ["Handler", "MuslwheelError", "Subparsers", "at_least", "error", "print_json", "size"]

Handler = Callable[[argparse.Namespace], int]
if TYPE_CHECKING:
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
