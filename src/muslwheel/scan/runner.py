"""Running the per-wheel tasks: a local pool, or an existing Dask cluster.

Local pool: threads fetch (``downloads`` at once; they wait on the network, and hash local
files), processes audit (``workers``; they inflate and parse). Dask: :func:`task.scan_one` is
submitted for each wheel to the cluster at ``dask``; no scheduler of ours. Either way this
process alone writes the database, one committed row per wheel as each result arrives, and
keeps a bounded number of wheels in flight.

``max_bytes`` is a budget for bytes fetched from the network in this run: each remote wheel
reserves its size (or what is left) before it is fetched, so the budget is never exceeded; a
wheel that would need more is left for the next run.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import multiprocessing
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..cores import pool_worker, usable_cores
from ..errors import MuslwheelError
from ..progress import Progress
from .http import HttpOptions
from .sources import LeftOut, WheelRef
from .store import Row, Store
from .task import Fetched, audit, audit_local, fetch, scan_one


@dataclass
class ScanSummary:
    """What one scan run did."""

    wheels: int = 0  #: selected by the sources and filters (``left_out`` counts the others)
    skipped: int = 0  #: already done in the database
    audited: int = 0
    errors: int = 0
    dishonest: int = 0
    left: int = 0  #: not tried: the --max-bytes budget ran out
    page_errors: int = 0
    bytes_read: int = 0  #: over the network, this run
    remote_size: int = 0  #: total size of the remote wheels scanned this run
    seconds: float = 0.0
    cpu_seconds: float = 0.0  #: audit CPU time, summed over wheels
    messages: list[str] = field(default_factory=list)
    left_out: LeftOut = field(default_factory=LeftOut)  #: listed by the sources, left out by a filter
    left_out_why: dict[str, str] = field(default_factory=dict)  #: for each count above zero, why

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Budget:
    def __init__(self, max_bytes: int | None) -> None:
        self.limited = max_bytes is not None
        self.left = max_bytes if max_bytes is not None else 1 << 62
        self.exhausted = False

    def reserve(self, ref: WheelRef) -> int | None:
        """Bytes this remote wheel may fetch, or None if the budget cannot cover it now. A wheel
        of unknown size reserves all that is left (so, under a budget, such wheels go one by one)."""
        if not ref.is_remote or not self.limited:
            return 1 << 62
        want = ref.size if ref.size else self.left
        if self.exhausted or self.left <= 0 or want > self.left:
            return None
        self.left -= want
        return want

    def settle(self, ref: WheelRef, reserved: int, used: int) -> None:
        if ref.is_remote and self.limited:
            self.left += reserved - used


class _Run:
    def __init__(self, store: Store, summary: ScanSummary, progress: Progress | None) -> None:
        self.store = store
        self.summary = summary
        self.progress = progress
        self.done = store.done()
        self.done_at: dict[str, set[str]] = {}
        for url, sha in self.done:
            self.done_at.setdefault(url, set()).add(sha)
        self._last = 0.0

    def key(self, ref: WheelRef) -> tuple[str, str]:
        return ref.url, ref.sha256 or ""

    def is_done(self, ref: WheelRef) -> bool:
        """Known done before any work: a remote wheel (or a local one whose hash the source
        gave). A local wheel's hash is taken by its task, which then skips it if done."""
        return (ref.is_remote or bool(ref.sha256)) and self.key(ref) in self.done

    def done_hashes(self, ref: WheelRef) -> frozenset[str]:
        return frozenset(self.done_at.get(ref.url, ())) if not ref.is_remote and not ref.sha256 else frozenset()

    def record(self, row: Row, over_budget: bool = False) -> None:
        s = self.summary
        if row.method != "local":
            s.bytes_read += row.bytes_read
            s.remote_size += row.size or 0
        if over_budget:
            s.left += 1
            return
        self.store.write(row)
        self.done.add((row.url, row.sha256))
        if not row.error:
            self.done_at.setdefault(row.url, set()).add(row.sha256)
        s.audited += 1
        s.cpu_seconds += row.cpu_seconds or 0.0
        if row.error:
            s.errors += 1
            s.messages.append(f"{row.filename}: {row.error}")
        elif not row.honest:
            s.dishonest += 1
        now = time.monotonic()
        if self.progress and now - self._last > 2.0:
            self._last = now
            self.progress(
                f"{s.audited} audited, {s.skipped} already done, {s.errors} errors, {s.bytes_read / 1e6:.1f} MB read"
            )


class _Feed:
    """The wheels still to start, in order: those already done are skipped, each other one
    reserves its bytes, and one the budget cannot cover yet waits while others are in flight."""

    def __init__(self, refs: Iterable[WheelRef], run: _Run, budget: _Budget) -> None:
        self._it = iter(refs)
        self._run = run
        self._budget = budget
        self._held: WheelRef | None = None
        self.exhausted = False

    def take(self, busy: bool) -> tuple[WheelRef, int] | None:
        """The next wheel to start and its reservation; None when there is none now (all
        taken, the budget spent, or, while *busy*, waiting for reservations to come back)."""
        s = self._run.summary
        while not self.exhausted:
            ref, self._held = (self._held, None) if self._held else (next(self._it, None), None)
            if ref is None:
                self.exhausted = True
                return None
            if self._run.is_done(ref):
                s.wheels += 1
                s.skipped += 1
                continue
            reserved = self._budget.reserve(ref)
            if reserved is not None:
                s.wheels += 1
                return ref, reserved
            if busy:
                self._held = ref
                return None
            self._budget.exhausted = True
            left = [ref, *(r for r in self._it if not self._run.is_done(r))]
            s.wheels += len(left)
            s.left += len(left)
            self.exhausted = True
        return None


def run_local(
    refs: Iterable[WheelRef],
    store: Store,
    *,
    workers: int,
    downloads: int,
    options: HttpOptions,
    max_bytes: int | None,
    summary: ScanSummary,
    progress: Progress | None = None,
) -> None:
    """Scan *refs* with a local pool: fetch threads, audit processes."""
    run = _Run(store, summary, progress)
    budget = _Budget(max_bytes)
    limit_fetch = 2 * downloads
    limit_audit = 2 * workers
    fetching: dict[cf.Future[Fetched], tuple[WheelRef, int]] = {}
    auditing: dict[cf.Future[Row | None], tuple[WheelRef, int, bool]] = {}
    ready: list[tuple[Fetched, int]] = []  # fetched, waiting for a free audit slot
    feed = _Feed(refs, run, budget)
    ctx = multiprocessing.get_context("spawn")  # the parent runs threads: never fork it
    with (
        cf.ThreadPoolExecutor(downloads) as fetchers,
        cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=pool_worker, initargs=(os.getpid(),)) as auditors,
    ):
        while True:
            # Take new wheels while there is room in the pipeline and budget for them.
            while len(fetching) + len(ready) < limit_fetch and len(auditing) + len(ready) < limit_audit + limit_fetch:
                item = feed.take(busy=bool(fetching or auditing or ready))
                if item is None:
                    break
                ref, reserved = item
                if ref.is_remote:
                    fetching[fetchers.submit(fetch, ref, options, reserved)] = (ref, reserved)
                else:
                    ready.append((Fetched(ref, None, None, False, 0.0), reserved))
            while ready and len(auditing) < limit_audit:
                fetched, reserved = ready.pop(0)
                if fetched.over_budget:
                    budget.exhausted = True
                    budget.settle(fetched.ref, reserved, fetched.source.bytes_read if fetched.source else 0)
                    run.record(audit(fetched), over_budget=True)
                    continue
                if fetched.ref.is_remote:
                    auditing[auditors.submit(audit, fetched)] = (fetched.ref, reserved, False)
                else:
                    task = auditors.submit(audit_local, fetched.ref, run.done_hashes(fetched.ref))
                    auditing[task] = (fetched.ref, reserved, False)
            if not fetching and not auditing and not ready:
                break  # with nothing in flight, take() either started a wheel or ran out
            in_flight: list[cf.Future[Any]] = [*fetching, *auditing]
            done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                if fut in fetching:
                    _, reserved = fetching.pop(fut)
                    ready.append((fut.result(), reserved))
                else:
                    ref, reserved, _ = auditing.pop(fut)
                    row: Row | None = fut.result()
                    if row is None:  # a local wheel already done (its task hashed it)
                        summary.skipped += 1
                        continue
                    budget.settle(ref, reserved, row.bytes_read)
                    run.record(row)


def run_dask(
    refs: Iterable[WheelRef],
    store: Store,
    *,
    address: str,
    options: HttpOptions,
    max_bytes: int | None,
    summary: ScanSummary,
    progress: Progress | None = None,
) -> None:
    """Scan *refs* on the Dask distributed cluster at *address*; results written here."""
    try:  # untyped, and imported only here; `Any` keeps mypy strict about our own code
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise MuslwheelError("--dask needs dask.distributed: pip install 'muslwheel[dask]'") from None
    run = _Run(store, summary, progress)
    budget = _Budget(max_bytes)
    try:
        client = distributed.Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise MuslwheelError(f"--dask {address}: cannot connect ({exc})") from None
    with client:
        slots = max(4, 4 * sum(client.nthreads().values()))
        pending: dict[Any, tuple[WheelRef, int]] = {}
        queue = distributed.as_completed()
        feed = _Feed(refs, run, budget)

        def submit_more() -> None:
            while len(pending) < slots:
                item = feed.take(busy=bool(pending))
                if item is None:
                    return
                ref, reserved = item
                fut = client.submit(scan_one, ref, options, reserved, run.done_hashes(ref), pure=False)
                pending[fut] = (ref, reserved)
                queue.add(fut)

        submit_more()
        while pending:
            fut = next(queue)
            ref, reserved = pending.pop(fut)
            try:
                row = fut.result()
            except Exception as exc:  # the cluster lost the task (a worker died): recorded, retried next run
                fetched = Fetched(ref, None, f"dask: {type(exc).__name__}: {exc}", False, 0.0)
                row = audit(fetched)
                row.method = "dask"
            if row is None:
                summary.skipped += 1
                submit_more()
                continue
            over = bool(row.error and "--max-bytes" in row.error)
            budget.settle(ref, reserved, row.bytes_read)
            run.record(row, over_budget=over)
            submit_more()


def default_workers() -> int:
    return usable_cores()
