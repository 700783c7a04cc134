"""The results database: SQLite, one row per wheel, written by one process as results arrive.

Each wheel's row is committed on its own (WAL journal), so ``kill -9`` loses at most the wheels
in flight. A wheel counts as done when a row for the same URL and sha256 has no error; a row
with an error is replaced when the wheel is tried again. Index pages that failed are kept in
``pages`` and retried on the next run. ``releases`` keeps, per index page read, each release it
lists with its first upload (PEP 700), which the report's PyPI upload window counts from; a
database from before it gets the table, empty, when opened.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import MuslwheelError

SCHEMA_VERSION = "1"

_WHEELS = """
CREATE TABLE IF NOT EXISTS wheels (
    url TEXT NOT NULL,
    sha256 TEXT NOT NULL,          -- '' when neither the source nor the bytes read give it
    filename TEXT NOT NULL,
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    size INTEGER,                  -- bytes of the whole wheel
    bytes_read INTEGER NOT NULL,   -- bytes fetched (or read from disk) to audit it
    method TEXT NOT NULL,          -- local, range, full
    claimed TEXT NOT NULL,         -- JSON list of the platform tags the file name claims
    libc TEXT,
    arch TEXT,
    tag TEXT,                      -- the best musllinux tag it can honestly claim
    musl_floor TEXT,               -- the musl release it really needs
    honest INTEGER,                -- 1 honest, 0 not, NULL when not audited
    reasons TEXT,                  -- JSON: the verdict's reasons (as in show --json)
    floor_reasons TEXT,            -- JSON: the reasons that set musl_floor
    error TEXT,                    -- why it could not be audited (retried next run)
    fetch_seconds REAL,
    cpu_seconds REAL,              -- CPU time of the audit itself
    scanned_at TEXT NOT NULL,
    PRIMARY KEY (url, sha256)
)"""
_RELEASES = """
CREATE TABLE IF NOT EXISTS releases (
    page TEXT NOT NULL,            -- the index page that lists it (as in pages)
    project TEXT NOT NULL,         -- canonical name
    version TEXT NOT NULL,         -- normalised
    first_upload TEXT,             -- UTC, 2026-12-01T10:00:00Z: its earliest file's upload-time; NULL: none given
    PRIMARY KEY (page, version)
)"""
_PAGES = """
CREATE TABLE IF NOT EXISTS pages (
    page TEXT PRIMARY KEY,
    error TEXT,
    wheels INTEGER,
    scanned_at TEXT NOT NULL
)"""


@dataclass
class Row:
    url: str
    sha256: str
    filename: str
    project: str
    version: str
    size: int | None
    bytes_read: int
    method: str
    claimed: str
    libc: str | None = None
    arch: str | None = None
    tag: str | None = None
    musl_floor: str | None = None
    honest: int | None = None
    reasons: str | None = None
    floor_reasons: str | None = None
    error: str | None = None
    fetch_seconds: float | None = None
    cpu_seconds: float | None = None
    scanned_at: str = ""


COLUMNS = [f.name for f in fields(Row)]


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Store:
    """An open results database."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise MuslwheelError(f"{self.path}: no such file")
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "meta" not in tables:
                raise MuslwheelError(f"{self.path}: not a muslwheel scan database")
            if not tables and not create:
                raise MuslwheelError(f"{self.path}: not a muslwheel scan database")
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            schema = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0]
            if schema != SCHEMA_VERSION:
                raise MuslwheelError(
                    f"{self.path}: scan database schema {schema}, this muslwheel reads {SCHEMA_VERSION}"
                )
            self.db.execute(_WHEELS)
            self.db.execute(_PAGES)
            self.db.execute(_RELEASES)
        except sqlite3.DatabaseError as exc:
            raise MuslwheelError(f"{self.path}: not a muslwheel scan database ({exc})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done(self) -> set[tuple[str, str]]:
        """(url, sha256) of every wheel audited without error."""
        return {(u, s) for u, s in self.db.execute("SELECT url, sha256 FROM wheels WHERE error IS NULL")}

    def done_urls(self) -> set[str]:
        return {u for (u,) in self.db.execute("SELECT url FROM wheels WHERE error IS NULL")}

    def write(self, row: Row) -> None:
        """Record *row*, replacing an earlier attempt at the same wheel (one transaction)."""
        values = asdict(row)
        with self.db:  # sqlite3's context manager: BEGIN … COMMIT
            self.db.execute("BEGIN")
            # An earlier failed attempt may have been recorded without the hash the bytes gave.
            self.db.execute("DELETE FROM wheels WHERE url = ? AND (sha256 = ? OR sha256 = '')", (row.url, row.sha256))
            self.db.execute(
                f"INSERT OR REPLACE INTO wheels ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                [values[c] for c in COLUMNS],
            )

    def write_page(self, page: str, error: str | None, wheels: int | None) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)", (page, error, wheels, now()))

    def write_releases(self, page: str, project: str, releases: Mapping[str, str | None]) -> None:
        """Record the releases the index page *page* lists now (version -> first upload)."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM releases WHERE page = ?", (page,))
            self.db.executemany(
                "INSERT INTO releases VALUES (?, ?, ?, ?)", [(page, project, v, t) for v, t in releases.items()]
            )

    def releases(self) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT page, project, version, first_upload FROM releases ORDER BY project, page, version"
        )
        return [dict(zip(("page", "project", "version", "first_upload"), r)) for r in cur]

    def rows(self) -> Iterator[dict[str, Any]]:
        cur = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM wheels ORDER BY project, filename, url")
        for values in cur:
            yield dict(zip(COLUMNS, values))

    def pages(self) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT page, error, wheels, scanned_at FROM pages ORDER BY page")
        return [dict(zip(("page", "error", "wheels", "scanned_at"), r)) for r in cur]
