"""One progress protocol for the long jobs (``kit build``, ``build``, ``scan``).

**The protocol** is :data:`Progress`: a callable taking one message, a complete line without
its newline. Library code reports through it and never prints; the CLI chooses the printer
(or a function that drops everything, for ``--quiet``). A printer may also be *live*
(:class:`LiveProgress`: ``live`` true, ``redraw`` and ``clear``): on a terminal it keeps one
line that is redrawn in place between messages; code that has something to redraw checks
:func:`is_live` first, so a plain callable is always enough.

**The printers**, both on stderr unless given a stream, live exactly when it is a terminal:

- :class:`LinePrinter`: one job; ``<prefix>: <message>`` lines, and one live line.
- :class:`BoardPrinter`: several named jobs at once (the targets of one ``build``); off a
  terminal ``<prefix>: <name>: <message>`` lines, on one one line per job, redrawn in place.

**Timed steps** (:class:`Steps`): a job's steps, each kind with an estimate, reported when each
starts (its estimate and the estimate left in all) and ends (the time it took); on a live
printer, a line redrawn each second between those.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Callable, Protocol, TextIO, runtime_checkable

#: the protocol: report one message (a line, without its newline)
Progress = Callable[[str], None]


@runtime_checkable
class LiveProgress(Protocol):
    """A printer that can also keep one live line on a terminal."""

    live: bool

    def __call__(self, message: str) -> None: ...

    def redraw(self, message: str) -> None: ...

    def clear(self) -> None: ...


def is_live(progress: Progress) -> bool:
    """Whether *progress* keeps a live line (a terminal printer)."""
    return isinstance(progress, LiveProgress) and bool(progress.live)


def quiet(message: str) -> None:
    """The printer of ``--quiet``: nothing."""


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``."""
    s = max(0, round(seconds))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class LinePrinter:
    """One job's progress: a plain ``<prefix>: <message>`` line per message; on a terminal,
    between those, one live line (:meth:`redraw`)."""

    def __init__(self, prefix: str, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.prefix = prefix
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._lock = threading.Lock()
        self._showing = False

    def __call__(self, message: str) -> None:
        with self._lock:
            self._clear()
            self.stream.write(f"{self.prefix}: {message}\n")
            self.stream.flush()

    def redraw(self, message: str) -> None:
        """Replace the live line (terminals only)."""
        with self._lock:
            self.stream.write(f"\r\033[K{self.prefix}: {message}")
            self.stream.flush()
            self._showing = True

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        if self._showing:
            self.stream.write("\r\033[K")
            self._showing = False


class BoardPrinter:
    """Several named jobs' progress: one line per job, redrawn in place on a terminal; plain
    ``<prefix>: <name>: <message>`` lines otherwise. :meth:`job` gives one job's :data:`Progress`."""

    def __init__(
        self, prefix: str, names: Sequence[str], stream: TextIO | None = None, live: bool | None = None
    ) -> None:
        self.prefix = prefix
        self.stream = stream or sys.stderr
        self.live = live if live is not None else self.stream.isatty()
        self.names = list(names)
        self.lines = dict.fromkeys(self.names, "waiting")
        self.lock = threading.Lock()
        self.width = max(len(n) for n in self.names) if self.names else 0
        self.drawn = False

    def update(self, name: str, message: str) -> None:
        with self.lock:
            self.lines[name] = message
            write = self.stream.write
            if not self.live:
                write(f"{self.prefix}: {name}: {message}\n")
                self.stream.flush()
                return
            if self.drawn:
                write(f"\x1b[{len(self.names)}F")
            for n in self.names:
                write(f"\x1b[2K{n.ljust(self.width)}  {self.lines[n][:120]}\n")
            self.drawn = True
            self.stream.flush()

    def job(self, name: str) -> Progress:
        return lambda message: self.update(name, message)


class Steps:
    """The steps a job still has to take, each kind with its estimate (*estimates*: seconds),
    reported through *progress*; *record* (if given) is told what each kind took."""

    def __init__(
        self,
        progress: Progress,
        plan: Sequence[str],
        estimates: Mapping[str, float],
        record: Callable[[str, float], None] | None = None,
    ) -> None:
        self.progress = progress
        self.plan = list(plan)
        self.estimates = dict(estimates)
        self.record = record

    def estimate(self, kind: str) -> float:
        return self.estimates[kind]

    def left(self) -> float:
        return sum(self.estimate(k) for k in self.plan)

    @contextlib.contextmanager
    def step(self, kind: str, what: str) -> Iterator[None]:
        if kind in self.plan:
            self.plan.remove(kind)
        estimate, after = self.estimate(kind), self.left()
        self.progress(f"{what} (about {duration(estimate)}; about {duration(estimate + after)} left in all)")
        began = time.monotonic()
        stop = threading.Event()
        ticker = None
        live = self.progress if isinstance(self.progress, LiveProgress) and self.progress.live else None
        if live is not None:
            printer = live

            def tick() -> None:
                while not stop.wait(1.0):
                    spent = time.monotonic() - began
                    left = max(0.0, estimate - spent) + after
                    printer.redraw(
                        f"{what}: {duration(spent)} of about {duration(estimate)}, about {duration(left)} left"
                    )

            ticker = threading.Thread(target=tick, daemon=True)
            ticker.start()
        try:
            yield
        finally:
            stop.set()
            if ticker is not None and live is not None:
                ticker.join()
                live.clear()
        took = time.monotonic() - began
        self.progress(f"{what}: done in {duration(took)}")
        self.estimates[kind] = took
        if self.record is not None:
            self.record(kind, took)
