"""Everything scan prints, in one place: the progress line, the errors, the summary.

The library reports through the shared progress protocol (:data:`muslwheel.progress.Progress`,
a callable taking one line) and returns a :class:`~muslwheel.scan.runner.ScanSummary`; only this
module turns them into text.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..progress import LinePrinter, Progress, quiet

if TYPE_CHECKING:
    from .runner import ScanSummary

MAX_ERRORS = 20  #: error lines printed; the rest are counted


def progress_printer(silent: bool = False, stream: TextIO | None = None) -> Progress:
    """scan's progress: ``muslwheel: scan: <message>`` lines on stderr (*stream*), or nothing."""
    return quiet if silent else LinePrinter("muslwheel: scan", stream)


def left_out_line(summary: ScanSummary) -> str:
    """What the filters left out and why, e.g. ``left out 8 of 30 wheels listed: 8 older
    versions (…)``; says so when nothing was."""
    total = summary.left_out.total
    if not total:
        return "left out no wheel the sources listed"
    parts = [f"{getattr(summary.left_out, key)} {why}" for key, why in summary.left_out_why.items()]
    listed = summary.wheels + total
    return f"left out {total} of {listed} wheels listed: {'; '.join(parts)}"


def summary_lines(summary: ScanSummary, db: str | Path) -> list[str]:
    """The summary, as printed on stdout: what was done, then what was left out."""
    read = (
        f"{summary.bytes_read / 1e6:.1f} MB read of {summary.remote_size / 1e6:.1f} MB"
        if summary.remote_size
        else "local"
    )
    return [
        f"{db}: {summary.wheels} wheels, {summary.skipped} already done, {summary.audited} audited "
        f"({summary.errors} errors, {summary.dishonest} not honest), {summary.page_errors} index pages failed, "
        f"{summary.left} left for the budget; {read}; {summary.seconds:.1f} s",
        f"{db}: {left_out_line(summary)}",
    ]


def print_summary(summary: ScanSummary, db: str | Path, out: TextIO | None = None, err: TextIO | None = None) -> None:
    """The errors (the first :data:`MAX_ERRORS`) on *err*, then the summary lines on *out*."""
    out = out or sys.stdout
    err = err or sys.stderr
    for message in summary.messages[:MAX_ERRORS]:
        print(f"muslwheel: scan: error: {message}", file=err)
    if len(summary.messages) > MAX_ERRORS:
        print(f"muslwheel: scan: … and {len(summary.messages) - MAX_ERRORS} more errors", file=err)
    for line in summary_lines(summary, db):
        print(line, file=out)


def exit_status(summary: ScanSummary) -> int:
    """1 when a wheel or page failed, the budget left wheels, or a wheel is not honest; else 0."""
    if summary.errors or summary.page_errors or summary.left or summary.dishonest:
        return 1
    return 0
