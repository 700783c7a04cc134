"""muslwheel's cache, for the whole tool: where it is, where downloads go, one lock, one staged
install.

- :func:`cache_dir`: ``$MUSLWHEEL_CACHE``, else ``$XDG_CACHE_HOME/muslwheel``, else
  ``~/.cache/muslwheel`` (kits, cross-build environments, zig's cache, scans).
- :func:`kits_dir`: ``<cache>/kits``, where the kits live (:mod:`muslwheel.kits` owns what is
  inside) and the host CPythons they build with (``build-python/X.Y``, which
  :mod:`muslwheel.hostpython` finds without importing the kits).
- :func:`downloads_dir`: ``$MUSLWHEEL_DOWNLOADS``, else ``$XDG_CACHE_HOME/muslwheel-downloads``,
  else ``~/.cache/muslwheel-downloads``: verified source and package downloads, kept apart from
  the cache so that removing the cache does not download them again.
- :func:`locked`: an exclusive ``flock`` on a lock file, so one process builds a thing while a
  second waits, then finds it built.
- :func:`staged`: build into ``<final>.tmp`` and rename it to ``<final>`` in one step, so a
  half-built thing never stands where a built one would.
- :func:`file_sha256`: the SHA-256 of a file, read a MiB at a time: how every download, cached
  wheel and placed file is verified (Debian's sources, the proof's dependencies, the
  wheelhouse, scan's local wheels).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


def _xdg_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else Path.home() / ".cache"


def cache_dir() -> Path:
    """muslwheel's cache: ``$MUSLWHEEL_CACHE``, else ``$XDG_CACHE_HOME/muslwheel``, else
    ``~/.cache/muslwheel``."""
    env = os.environ.get("MUSLWHEEL_CACHE")
    if env:
        return Path(env)
    return _xdg_cache() / "muslwheel"


def kits_dir() -> Path:
    """Where built kits live: ``<cache>/kits``."""
    return cache_dir() / "kits"


def downloads_dir() -> Path:
    """Verified downloads: ``$MUSLWHEEL_DOWNLOADS``, else ``$XDG_CACHE_HOME/muslwheel-downloads``,
    else ``~/.cache/muslwheel-downloads``."""
    env = os.environ.get("MUSLWHEEL_DOWNLOADS")
    if env:
        return Path(env)
    return _xdg_cache() / "muslwheel-downloads"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file *path* (created, with its directory, if missing) for
    the ``with`` block; another process asking for the same path waits until it ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def staged(final: Path) -> Iterator[Path]:
    """``<final>.tmp`` (removed if left over, not created) to build *final* in: on success it
    replaces *final* in one rename; on any failure or interrupt it is removed, so a half-built
    thing never stands where a built one would."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of the file at *path*, as hex, read a MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
