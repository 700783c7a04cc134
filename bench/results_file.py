"""The header every benchmark result file starts with, and writing it out."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path


def header(title: str) -> list[str]:
    """Title with the date, the exact command that made the file, and the machine."""
    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    return [
        f"# {title}, {datetime.date.today()}",
        f"command: {command}",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    ]


def write(lines: list[str], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
