"""Writing wheels: deterministic, atomic, and without recompressing what did not change.

A :class:`WheelWriter` writes to a temporary file in the output directory, named so that no
installer or upload tool takes it for a wheel (``.{name}.muslwheel-partial-{pid}-{random}``), and
renames it into place only in :meth:`WheelWriter.commit`. :meth:`WheelWriter.abort` (or leaving
the ``with`` block on an exception) removes it. Partial files of processes that no longer run
are removed by :func:`clean_stale_partials`.

Unchanged members are copied as their compressed bytes (:meth:`copy_member`): their content is
inflated once to check it against the input's RECORD and to hash it (not at all if the audit
already did: then the kernel copies them file to file), but never recompressed. One member at a
time is in memory. Members the caller rewrote are deflated with zlib at the writer's level,
by :class:`DeflateAhead`'s thread while the caller works on, or here. Every member gets the same timestamp (``SOURCE_DATE_EPOCH`` if set, else
1980-01-01) and members are written in a fixed order, so the same input gives the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import queue
import secrets
import struct
import threading
import time
import zlib
from pathlib import Path

from .errors import WheelError
from .wheelfile import (
    DEFLATED,
    STORED,
    ZIP64_EOCD,
    ZIP64_LOCATOR,
    ZIP_CENTRAL,
    ZIP_EOCD,
    ZIP_LOCAL,
    Member,
    WheelFile,
    crc32,
    inflater_for,
    record_digest,
)

PARTIAL_MARK = ".muslwheel-partial-"
_CHUNK = 1 << 20
STREAM_OVER = 8 << 20  #: members compressed to more than this are copied in chunks
AHEAD_BUDGET = 8 << 20  #: bytes of rewritten members DeflateAhead deflates ahead of the writer


def dos_datetime(epoch: int | None = None) -> tuple[int, int]:
    """(DOS date, DOS time) for SOURCE_DATE_EPOCH, or 1980-01-01 00:00."""
    if epoch is None:
        env = os.environ.get("SOURCE_DATE_EPOCH")
        epoch = int(env) if env and env.isdigit() else None
    if epoch is None:
        return (0 << 9) | (1 << 5) | 1, 0
    t = time.gmtime(max(epoch, 315532800))  # the zip format starts in 1980
    return ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday, (t.tm_hour << 11) | (t.tm_min << 5) | (
        t.tm_sec // 2
    )


def deflate(data: bytes, level: int) -> bytes:
    """*data* as a raw deflate stream at zlib's *level* (the bytes of a member's payload)."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


class _Job:
    __slots__ = ("name", "data", "payload", "done")

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.data = name, data
        self.payload: bytes | None = None
        self.done = threading.Event()


class DeflateAhead:
    """Members deflated by a second thread while the caller goes on (zlib releases the GIL
    while it compresses): repair hands over each member it rewrote as soon as its bytes are
    made (:meth:`add`), and the writer takes each deflated payload when its turn comes
    (:meth:`take`). The bytes are those :func:`deflate` gives, whichever thread makes them.
    Use as a context manager: no thread outlives the block.

    At most :data:`AHEAD_BUDGET` bytes are handed over in all (the rest the writer deflates
    itself): their payloads wait in memory until written, beside the members' own bytes."""

    def __init__(self, level: int) -> None:
        self.level = level
        self._budget = AHEAD_BUDGET
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._latest: dict[str, _Job] = {}
        self._thread: threading.Thread | None = None

    def __enter__(self) -> DeflateAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def add(self, name: str, data: bytes) -> None:
        """Deflate *data*, the content *name* will have (a later call for *name* replaces it)."""
        if not self.level or (len(data) > self._budget and name not in self._latest):
            return
        self._budget -= len(data)
        job = self._latest[name] = _Job(name, data)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="muslwheel-deflate", daemon=True)
            self._thread.start()
        self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if self._latest.get(job.name) is job:  # not replaced meanwhile
                    job.payload = deflate(job.data, self.level)
            except BaseException:  # MemoryError: the writer deflates it itself
                pass
            finally:
                job.done.set()

    def take(self, name: str, data: bytes, level: int) -> bytes | None:
        """The deflated payload of *name*, if it was handed over with exactly *data* and is
        wanted at the same *level* (None: deflate it yourself)."""
        job = self._latest.get(name)
        if job is None or job.data is not data or level != self.level:
            return None
        job.done.wait()
        return job.payload


class _Entry:
    __slots__ = ("name", "method", "crc", "csize", "usize", "offset", "mode")

    def __init__(self, name: bytes, method: int, crc: int, csize: int, usize: int, offset: int, mode: int) -> None:
        self.name, self.method, self.crc, self.csize, self.usize, self.offset, self.mode = (
            name,
            method,
            crc,
            csize,
            usize,
            offset,
            mode,
        )


def clean_stale_partials(directory: Path) -> None:
    """Remove partial files left in *directory* by muslwheel processes that no longer run."""
    for path in directory.glob(f".*{PARTIAL_MARK}*"):
        try:
            pid = int(path.name.split(PARTIAL_MARK, 1)[1].split("-", 1)[0])
        except ValueError:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except PermissionError:
            pass


#: partial files this process has created and not yet committed or removed
_LIVE_PARTIALS: set[Path] = set()


def abort_all() -> None:
    """Remove every partial file of this process: for an interrupt that lands where no ``with``
    block can see it (after a writer created its file, before its ``with`` began)."""
    for partial in list(_LIVE_PARTIALS):
        partial.unlink(missing_ok=True)
        _LIVE_PARTIALS.discard(partial)


class WheelWriter:
    """Write one wheel atomically. Members are added in the order the caller chooses."""

    def __init__(self, final_path: Path, *, compresslevel: int = 6, epoch: int | None = None) -> None:
        self.final_path = final_path
        self.compresslevel = compresslevel
        self.date, self.time = dos_datetime(epoch)
        self.partial = final_path.with_name(f".{final_path.name}{PARTIAL_MARK}{os.getpid()}-{secrets.token_hex(4)}")
        _LIVE_PARTIALS.add(self.partial)  # before the file exists, so no interrupt can orphan it
        self._f = open(self.partial, "xb")
        self._entries: list[_Entry] = []
        self.record: list[tuple[str, str, int]] = []  #: (name, sha256=…, size) of every member written

    def __enter__(self) -> WheelWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None or not self._f.closed:
            self.abort()

    def _local_header(self, name: bytes, method: int, crc: int, csize: int, usize: int) -> int:
        offset = self._f.tell()
        zip64 = csize >= 0xFFFFFFFF or usize >= 0xFFFFFFFF
        extra = struct.pack("<2H2Q", 1, 16, usize, csize) if zip64 else b""
        self._f.write(
            ZIP_LOCAL.pack(
                b"PK\x03\x04",
                45 if zip64 else 20,
                0x800,
                method,
                self.time,
                self.date,
                crc,
                0xFFFFFFFF if zip64 else csize,
                0xFFFFFFFF if zip64 else usize,
                len(name),
                len(extra),
            )
        )
        self._f.write(name + extra)
        return offset

    def write(self, name: str, data: bytes, mode: int = 0o644, *, deflated: DeflateAhead | None = None) -> None:
        """Add a member with *data*, deflated (by *deflated*'s thread if it has *name*)."""
        raw_name = name.encode("utf-8")
        if self.compresslevel == 0:
            method, payload = STORED, data
        else:
            ready = deflated.take(name, data, self.compresslevel) if deflated is not None else None
            method, payload = DEFLATED, ready if ready is not None else deflate(data, self.compresslevel)
        crc = zlib.crc32(data)
        offset = self._local_header(raw_name, method, crc, len(payload), len(data))
        self._f.write(payload)
        self._entries.append(_Entry(raw_name, method, crc, len(payload), len(data), offset, mode))
        self.record.append((name, record_digest(hashlib.sha256(data).digest()), len(data)))

    def copy_member(self, source: WheelFile, info: Member, expected_hash: str | None) -> None:
        """Copy *info* from *source* as its compressed bytes, checking its content against
        *expected_hash* (``sha256=…`` from the input's RECORD) when given.

        A member the audit has read (its size, CRC and RECORD hash checked, its digest in
        ``source.digests``) is copied by the kernel without passing through here; any other
        is inflated once (never recompressed) to check and hash it."""
        mode = (info.external_attr >> 16) & 0o777 or 0o644
        if info.compress_type not in (STORED, DEFLATED):
            self.write(info.filename, source.read(info), mode)
            return
        got = source.digests.get(info.filename)
        if got is not None:
            self._copy_checked(source, info, got, expected_hash, mode)
            return
        if info.compress_size > STREAM_OVER:
            self._copy_streaming(source, info, expected_hash, mode)
            return
        raw = source.raw(info)
        got = record_digest(hashlib.sha256(source.inflate(info, raw)).digest())
        if expected_hash is not None and got != expected_hash:
            raise WheelError(f"{source.path.name}: member {info.filename!r} does not match its RECORD hash")
        raw_name = info.filename.encode("utf-8")
        offset = self._local_header(raw_name, info.compress_type, info.CRC, info.compress_size, info.file_size)
        self._f.write(raw)
        self._entries.append(
            _Entry(raw_name, info.compress_type, info.CRC, info.compress_size, info.file_size, offset, mode)
        )
        self.record.append((info.filename, got, info.file_size))

    def _copy_checked(self, source: WheelFile, info: Member, got: str, expected_hash: str | None, mode: int) -> None:
        """copy_member for a member already checked and hashed: its compressed bytes copied
        file to file (in chunks through memory when the source is not a local file)."""
        if expected_hash is not None and got != expected_hash:
            raise WheelError(f"{source.path.name}: member {info.filename!r} does not match its RECORD hash")
        raw_name = info.filename.encode("utf-8")
        offset = self._local_header(raw_name, info.compress_type, info.CRC, info.compress_size, info.file_size)
        self._f.flush()
        at = self._f.tell()
        if source.copy_raw_to(info, self._f.fileno(), at):
            self._f.seek(at + info.compress_size)
        else:
            for chunk in source.raw_chunks(info, _CHUNK):
                self._f.write(chunk)
        self._entries.append(
            _Entry(raw_name, info.compress_type, info.CRC, info.compress_size, info.file_size, offset, mode)
        )
        self.record.append((info.filename, got, info.file_size))

    def _copy_streaming(self, source: WheelFile, info: Member, expected_hash: str | None, mode: int) -> None:
        """copy_member for a big member: compressed chunks go straight to the output while a
        streaming inflater hashes them, so memory stays at a few chunks whatever its size."""
        raw_name = info.filename.encode("utf-8")
        offset = self._local_header(raw_name, info.compress_type, info.CRC, info.compress_size, info.file_size)
        digest = hashlib.sha256()
        inflater = inflater_for(info)
        size = 0
        crc = 0
        for chunk in source.raw_chunks(info, _CHUNK):
            self._f.write(chunk)
            if inflater is None:
                out = chunk
            else:
                out = inflater.decompress(chunk, info.file_size - size + 1)
                if inflater.unconsumed_tail:
                    raise WheelError(
                        f"{source.path.name}: member {info.filename!r} inflates beyond its declared {info.file_size} bytes"
                    )
            size += len(out)
            if size > info.file_size:
                raise WheelError(
                    f"{source.path.name}: member {info.filename!r} inflates beyond its declared {info.file_size} bytes"
                )
            digest.update(out)
            crc = crc32(out, crc)
        if size != info.file_size or crc != info.CRC:
            raise WheelError(f"{source.path.name}: member {info.filename!r} is corrupt (size or CRC mismatch)")
        got = record_digest(digest.digest())
        if expected_hash is not None and got != expected_hash:
            raise WheelError(f"{source.path.name}: member {info.filename!r} does not match its RECORD hash")
        self._entries.append(
            _Entry(raw_name, info.compress_type, info.CRC, info.compress_size, info.file_size, offset, mode)
        )
        self.record.append((info.filename, got, info.file_size))

    def _central_directory(self) -> None:
        start = self._f.tell()
        for e in self._entries:
            big = e.csize >= 0xFFFFFFFF or e.usize >= 0xFFFFFFFF or e.offset >= 0xFFFFFFFF
            extra = struct.pack("<2H3Q", 1, 24, e.usize, e.csize, e.offset) if big else b""
            self._f.write(
                ZIP_CENTRAL.pack(
                    b"PK\x01\x02",
                    (3 << 8) | 45,
                    45 if big else 20,
                    0x800,
                    e.method,
                    self.time,
                    self.date,
                    e.crc,
                    0xFFFFFFFF if big else e.csize,
                    0xFFFFFFFF if big else e.usize,
                    len(e.name),
                    len(extra),
                    0,
                    0,
                    0,
                    (0o100000 | e.mode) << 16,
                    0xFFFFFFFF if big else e.offset,
                )
            )
            self._f.write(e.name + extra)
        end = self._f.tell()
        count, size = len(self._entries), end - start
        if count >= 0xFFFF or start >= 0xFFFFFFFF or size >= 0xFFFFFFFF:
            self._f.write(ZIP64_EOCD.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
            self._f.write(ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, end, 1))
            self._f.write(ZIP_EOCD.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
        else:
            self._f.write(ZIP_EOCD.pack(b"PK\x05\x06", 0, 0, count, count, size, start, 0))

    def commit(self) -> Path:
        """Finish the archive and move it to its final name."""
        self._central_directory()
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        os.replace(self.partial, self.final_path)
        _LIVE_PARTIALS.discard(self.partial)
        return self.final_path

    def abort(self) -> None:
        if not self._f.closed:
            self._f.close()
        self.partial.unlink(missing_ok=True)
        _LIVE_PARTIALS.discard(self.partial)
