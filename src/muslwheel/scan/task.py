"""One wheel's work: fetch what the audit needs, audit it with ``show``'s code, make a row.

:func:`scan_one` is the whole task (what a Dask worker runs). The local pool runs its two
halves apart, :func:`fetch` in a thread (waiting on the network) and :func:`audit` in a worker
process (inflating and parsing), handing the fetched bytes over in the pickled source.
Every error a wheel or a server can cause becomes the row's ``error``; a task never raises
for one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace

from ..audit import Verdict, audit_wheel
from ..cache import file_sha256
from ..errors import MuslwheelError
from ..wheelfile import WheelFile, parse_wheel_name
from .http import BudgetExceeded, HttpOptions, HttpRangeSource
from .sources import WheelRef
from .store import Row, now


@dataclass
class Fetched:
    """A wheel's bytes as far as the audit needs them (for a local wheel: nothing yet)."""

    ref: WheelRef
    source: HttpRangeSource | None
    error: str | None
    over_budget: bool
    fetch_seconds: float


def fetch(ref: WheelRef, options: HttpOptions, budget: int) -> Fetched:
    """Fetch the central directory and the members the audit will read (remote wheels)."""
    if not ref.is_remote:
        return Fetched(ref, None, None, False, 0.0)
    start = time.monotonic()
    source = None
    try:
        source = HttpRangeSource(
            ref.url, ref.filename, options, budget=budget, expected_size=ref.size, expected_sha256=ref.sha256
        )
        with WheelFile(source) as wheel:
            wheel.prefetch_elf_members()
    except BudgetExceeded as exc:
        return Fetched(ref, source, str(exc), True, time.monotonic() - start)
    except MuslwheelError as exc:
        return Fetched(ref, source, str(exc), False, time.monotonic() - start)
    return Fetched(ref, source, None, False, time.monotonic() - start)


def _floor_reasons(verdict: Verdict) -> list[dict[str, object]]:
    out = []
    for f in verdict.files:
        if f.musl_min_version and f.musl_min_version == verdict.musl_min_version:
            out += [r.to_json() for r in f.floor_reasons if r.musl == verdict.musl_min_version]
    return out


def audit(fetched: Fetched) -> Row:
    """Audit a fetched wheel exactly as ``show`` does, into a row (errors included)."""
    ref, source = fetched.ref, fetched.source
    claimed = sorted(parse_wheel_name(ref.filename).platforms)
    row = Row(
        url=ref.url,
        sha256=ref.sha256 or "",
        filename=ref.filename,
        project=ref.project,
        version=ref.version,
        size=source.size if source is not None else ref.size,
        bytes_read=source.bytes_read if source is not None else (ref.size or 0),
        method=source.method if source is not None else "local",
        claimed=json.dumps(claimed),
        fetch_seconds=round(fetched.fetch_seconds, 4),
        scanned_at=now(),
    )
    if fetched.error:
        row.error = fetched.error
        return row
    cpu = time.process_time()
    try:
        verdict = audit_wheel(source if source is not None else ref.url)
    except MuslwheelError as exc:
        row.error = str(exc)
    except Exception as exc:  # a bug in muslwheel: recorded, and the scan goes on
        row.error = f"internal error: {type(exc).__name__}: {exc}"
    else:
        row.libc, row.arch, row.tag = verdict.libc.value, verdict.arch, verdict.tag
        row.musl_floor = str(verdict.musl_min_version) if verdict.musl_min_version else None
        row.honest = int(verdict.honest)
        row.reasons = json.dumps([r.to_json() for r in verdict.reasons])
        row.floor_reasons = json.dumps(_floor_reasons(verdict))
    row.cpu_seconds = round(time.process_time() - cpu, 5)
    if source is not None:  # a read the prefetch missed was fetched here
        row.bytes_read = source.bytes_read
        row.method = source.method
    return row


def audit_local(ref: WheelRef, done: frozenset[str] = frozenset()) -> Row | None:
    """A wheel on disk: hash it (in the worker, so hashing runs in parallel too), skip it if
    that hash is among *done* (the hashes already audited at this path), audit it otherwise."""
    try:
        sha = file_sha256(ref.url)
    except OSError as exc:
        return audit(Fetched(ref, None, f"{ref.url}: cannot read ({exc.strerror})", False, 0.0))
    if ref.sha256 and sha != ref.sha256.lower():
        return audit(Fetched(ref, None, f"{ref.url}: content does not match the sha256 given for it", False, 0.0))
    if sha in done:
        return None
    return audit(Fetched(replace(ref, sha256=sha), None, None, False, 0.0))


def scan_one(
    ref: WheelRef, options: HttpOptions, budget: int = 1 << 34, done: frozenset[str] = frozenset()
) -> Row | None:
    """The whole task for one wheel: fetch, then audit (None: a local wheel already done)."""
    if not ref.is_remote:
        return audit_local(ref, done)
    return audit(fetch(ref, options, budget))
