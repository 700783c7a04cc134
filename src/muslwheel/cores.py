"""The cores this process may use, and the processes of a pool that uses them.

``show`` over many wheels and ``scan`` audit wheels in worker processes, one per core. A worker
starts with :func:`pool_worker`: it exits as soon as the process that started it is gone (killed,
even with SIGKILL or SIGTERM, which run no cleanup), instead of waiting forever on a queue
nobody will fill; and a pool that puts a worker on every core says so, so that the worker reads
a wheel's members with one thread (:func:`muslwheel.wheelfile.read_hashed`'s second thread
would find no core free; the load average, a minute behind, cannot know that yet)."""

from __future__ import annotations

import os
import threading
import time

_fills_cores = False


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def in_pool_filling_cores() -> bool:
    """Whether this process is a worker of a pool with a worker on every core."""
    return _fills_cores


def pool_worker(parent: int, fills_cores: bool = False) -> None:
    """A pool's initializer, in each worker: watch *parent* (exit when it is gone) and, with
    *fills_cores*, remember that the pool has a worker on every core."""
    global _fills_cores
    _fills_cores = fills_cores

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="muslwheel-watch-parent", daemon=True).start()
