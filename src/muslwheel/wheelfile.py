"""Reading wheel files: names, tags, members, validated before anything is trusted.

A :class:`WheelFile` reads the central directory itself (:func:`read_central_directory`, every
offset and count checked against the file) and refuses, with
:class:`~muslwheel.errors.WheelError`, member names that would escape an extraction directory
(absolute, ``..``, backslashes, NUL), symlink members, duplicate names, encrypted members and
declared sizes beyond the bounds below. Members are inflated only when read, one at a time,
never extracted to disk, and checked against their declared size and CRC (and RECORD, for the
ELF members the audit reads).

Every byte of an ELF member is inflated, CRC'd and hashed, though the audit parses only its
headers, dynamic section and symbol tables: the CRC is the archive's check that the member
inflated to what was stored, RECORD's sha256 the builder's claim about its content, and
neither has a cheaper proof than reading all of it (the central directory's CRC or size is the
archive's word about itself, which is what is being checked). The time goes instead to a
second thread: ISA-L's inflate, CRC-32 and sha256 all release the GIL (:meth:`read_hashed`).

Where the bytes come from is a :class:`WheelSource`: an object that knows its size and reads a
byte range (``read_at``), with an optional ``prefetch`` hint listing the ranges about to be
read. :class:`LocalSource` reads a file with ``pread``; ``muslwheel.scan.http`` reads a wheel
on a web server with HTTP range requests. :class:`WheelFile` cannot tell them apart, so a
remote wheel gets exactly the verdict the same file gets on disk. (pypa/installer's
``WheelSource`` is the model.)

Bounds (documented in README): at most :data:`MAX_MEMBERS` members, :data:`MAX_MEMBER_SIZE`
bytes for one member and :data:`MAX_TOTAL_SIZE` in all, and a declared compression ratio of at
most :data:`MAX_RATIO` for members over 1 MiB. Inflation stops one byte past a member's declared
size, so a member that lies about its size costs no more than it declared.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import io
import os
import queue
import re
import stat
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Protocol, runtime_checkable

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .cores import in_pool_filling_cores, usable_cores
from .elf import ELF_MAGIC, NotRegularFile, open_regular_fd
from .errors import WheelError

_isal_inflater: Callable[[], Any] | None
try:  # ISA-L inflates about twice as fast as zlib; same API, same results
    from isal import igzip_lib as _igzip_lib
    from isal import isal_zlib as _zlib

    _isal_inflater = functools.partial(_igzip_lib.IgzipDecompressor, flag=_igzip_lib.DECOMP_DEFLATE, hist_bits=15)
except ImportError:  # pragma: no cover - hosts without an isal wheel
    import zlib as _zlib  # type: ignore[no-redef]

    _isal_inflater = None

MAX_MEMBERS = 100_000
MAX_MEMBER_SIZE = 4 << 30
MAX_TOTAL_SIZE = 16 << 30
MAX_RATIO = 500

# Members with these endings are never ELF; everything else is sniffed for the ELF magic.
_NOT_ELF_SUFFIXES = (
    ".py",
    ".pyc",
    ".pyi",
    ".pyx",
    ".pxd",
    ".txt",
    ".md",
    ".rst",
    ".json",
    ".toml",
    ".cfg",
    ".h",
    ".hpp",
    ".c",
    ".cc",
    ".cpp",
    ".f90",
    ".html",
    ".js",
    ".css",
    ".csv",
    ".png",
    ".svg",
    ".jpg",
    ".gif",
    ".typed",
    ".mo",
    ".po",
    ".xml",
    ".yaml",
    ".yml",
    ".ini",
    "/RECORD",
    "/METADATA",
    "/WHEEL",
    "/LICENSE",
    ".dat",
    ".npy",
    ".npz",
    ".pem",
)


crc32 = _zlib.crc32
_INFLATE_ERROR: type[Exception] = _zlib.error  # type: ignore[assignment]  # isal declares it loosely


def inflater_for(info: Member):  # type: ignore[no-untyped-def]
    """A streaming raw-deflate decompressor for *info*, or None if it is stored."""
    return _zlib.decompressobj(-15) if info.compress_type == DEFLATED else None


def record_digest(digest: bytes) -> str:
    """A sha256 digest as RECORD writes it: ``sha256=`` and unpadded urlsafe base64."""
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


_LIBRARY_NAME = re.compile(r"\.so(\.\d+)*$")
_SNIFF = 4096  #: compressed bytes read to decide whether a member starts with the ELF magic
_LOCAL_EXTRA = 64  #: extra-field bytes a local header is assumed to carry, for prefetching
_PIECE = 1 << 18  #: compressed bytes inflated at a time by WheelFile.read_hashed
_OUT_PIECE = 1 << 20  #: inflated bytes asked of ISA-L's decompressor at a time (see _inflated)
#: members bigger than this (two pieces or more) are hashed and copied by a second thread
_BEHIND_OVER = 1 << 20
_IN_FLIGHT = 4  #: inflated pieces at most waiting for that thread (4 MiB)
_SCRATCH_LIMIT = 256 << 20  #: the biggest buffer a thread keeps for read_hashed
_scratch = threading.local()  # each thread's buffer for read_hashed (dask runs tasks in threads)


def _scratch_buffer(size: int) -> bytearray:
    """Where to inflate a member of declared *size*: this thread's reused buffer if it is big
    enough, else a new empty one that grows only as bytes really arrive (a member that lies
    about its size costs what it inflates to, not what it declares)."""
    buf: bytearray | None = getattr(_scratch, "buf", None)
    return buf if buf is not None and len(buf) >= size else bytearray()


class _Pieces:
    """Where the inflated pieces of one member go, in order: CRC-32 and sha256 of them, and
    a copy into *buf* (a new buffer grows as they arrive)."""

    def __init__(self, buf: bytearray) -> None:
        self.buf = buf
        self.pos = self.crc = 0
        self.digest = hashlib.sha256()

    def take(self, piece: bytes) -> None:
        end = self.pos + len(piece)
        self.buf[self.pos : end] = piece
        self.pos = end
        self.crc = _zlib.crc32(piece, self.crc)
        self.digest.update(piece)

    def finish(self) -> None:
        pass


class _PiecesBehind(_Pieces):
    """:class:`_Pieces` run by a second thread a piece behind the inflater. sha256, CRC-32
    and inflate release the GIL, so on a second core hashing and copying cost no time: the
    caller's thread only reads and inflates. At most :data:`_IN_FLIGHT` pieces wait for it
    (the inflater waits when they do), so memory stays one member's content and a few pieces,
    however far behind a busy machine leaves this thread."""

    def __init__(self, buf: bytearray) -> None:
        super().__init__(buf)
        self._queue: queue.Queue[bytes | None] = queue.Queue(_IN_FLIGHT)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="muslwheel-pieces", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        get, take = self._queue.get, super().take
        while (piece := get()) is not None:
            if self._error is None:
                try:
                    take(piece)
                except BaseException as exc:  # MemoryError growing the buffer: raised by finish()
                    self._error = exc

    def take(self, piece: bytes) -> None:
        self._queue.put(piece)

    def finish(self) -> None:
        """Wait for every piece given (also after an error: no thread outlives its member)."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _core_to_spare() -> bool:
    """Whether this machine has a core free for a second thread: fewer runnable tasks (the
    load average of the last minute, this process counted) than usable cores, and this process
    not a worker of a pool that takes them all (:func:`muslwheel.cores.pool_worker`). On a busy machine the second
    thread gains nothing, costs its hand-offs, and makes the reading thread wait for it at
    every member's end, for as long as the scheduler takes to run it.
    ``MUSLWHEEL_SECOND_THREAD=1`` (or ``0``) decides instead, for tests and benchmarks."""
    forced = os.environ.get("MUSLWHEEL_SECOND_THREAD")
    if forced in ("0", "1"):
        return forced == "1"
    if in_pool_filling_cores():
        return False
    cores = usable_cores()
    try:
        return os.getloadavg()[0] < cores
    except OSError:  # pragma: no cover - no load average to read
        return cores > 1


def _keep_scratch(buf: bytearray) -> None:
    """Keep *buf* as this thread's buffer for the next members, unless it is over the limit
    (so a scan worker keeps at most that much)."""
    if len(buf) <= _SCRATCH_LIMIT:
        _scratch.buf = buf


STORED = 0
DEFLATED = 8
# The zip structures (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.14-16), declared once: read here, written
# by wheelwriter.
ZIP_LOCAL = struct.Struct("<4s5H3L2H")
ZIP_EOCD = struct.Struct("<4s4H2LH")
ZIP64_LOCATOR = struct.Struct("<4sLQL")
ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
ZIP_CENTRAL = struct.Struct("<4s6H3L5H2L")


class Member(NamedTuple):
    """One entry of a wheel's central directory (the fields of Member that matter)."""

    filename: str
    compress_type: int
    CRC: int
    compress_size: int
    file_size: int
    header_offset: int
    external_attr: int
    flags: int

    def is_dir(self) -> bool:
        return self.filename.endswith("/")


@runtime_checkable
class WheelSource(Protocol):
    """Where a wheel's bytes come from: a local file, a web server, memory."""

    #: the wheel's file name (it carries the tags), also used in messages
    name: str
    #: the archive's size in bytes
    size: int

    def read_at(self, offset: int, length: int) -> bytes:
        """*length* bytes from *offset* (fewer only at the end of the archive)."""
        ...

    def prefetch(self, spans: list[tuple[int, int]]) -> None:
        """A hint: the ``(start, end)`` ranges about to be read. A local file ignores it; a
        remote source fetches them in few requests."""
        ...

    def close(self) -> None: ...


def installed_path(member: str) -> str:
    """Where a wheel member lands relative to site-packages (``X.data/platlib/a/b.so`` -> ``a/b.so``);
    "" for members installed elsewhere (scripts, headers, data)."""
    parts = member.split("/")
    if parts[0].endswith(".data") and len(parts) > 2:
        return "/".join(parts[2:]) if parts[1] in ("platlib", "purelib") else ""
    return member


class LocalSource:
    """A wheel file on disk, read with ``pread`` (one system call per read, no seeking)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = self.path.name
        try:
            self._fd = open_regular_fd(self.path)
        except FileNotFoundError:
            raise WheelError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise WheelError(f"{self.path}: is a directory") from None
        except NotRegularFile as exc:
            raise WheelError(f"{self.path}: is {exc.strerror}") from None
        except OSError as exc:
            raise WheelError(f"{self.path}: cannot read ({exc.strerror})") from None
        self.size = os.fstat(self._fd).st_size

    def read_at(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def prefetch(self, spans: list[tuple[int, int]]) -> None:
        pass

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def copy_to(self, offset: int, length: int, fd: int, at: int) -> int:
        """Copy *length* bytes from *offset* into the file *fd* at *at* inside the kernel
        (``copy_file_range``: no trip through this process's memory, a reflink where the
        filesystem shares extents), else with pread and pwrite. Returns the bytes copied,
        fewer only at the end of this file."""
        done = 0
        kernel = hasattr(os, "copy_file_range")
        while done < length:
            n = 0
            if kernel:
                try:
                    n = os.copy_file_range(self._fd, fd, length - done, offset + done, at + done)
                except OSError:  # another filesystem on an old kernel, a filesystem without it
                    n = 0
                # 0 is the end of the file, or a kernel that copies nothing between some
                # filesystems and says so this way: pread tells which
                kernel = n > 0
            if not kernel:
                chunk = os.pread(self._fd, min(length - done, 1 << 20), offset + done)
                n = len(chunk)
                written = 0
                while written < n:
                    written += os.pwrite(fd, memoryview(chunk)[written:], at + done + written)
            if n == 0:
                break
            done += n
        return done


class _SourceFile(io.RawIOBase):
    """A read-only, seekable file object over a WheelSource (for zipfile, on rare members)."""

    def __init__(self, source: WheelSource) -> None:
        self._source = source
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._source.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        data = self._source.read_at(self._pos, min(len(buffer), max(0, self._source.size - self._pos)))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def read_central_directory(source: WheelSource, where: str) -> list[Member]:
    """The central directory of the zip archive *source*, every offset and count checked
    against its size. Raises WheelError for anything that is not a sound, single-disk,
    unencrypted zip archive."""

    def bad(why: str) -> WheelError:
        return WheelError(f"{where}: not a readable zip archive ({why})")

    size = source.size
    tail_len = min(size, ZIP_EOCD.size + 0xFFFF)
    tail = source.read_at(size - tail_len, tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + ZIP_EOCD.size > len(tail):
        raise bad("no end of central directory record")
    _sig, disk, cd_disk, n_disk, count, cd_size, cd_offset, _comment = ZIP_EOCD.unpack_from(tail, pos)
    eocd_offset = size - tail_len + pos
    cd_end_limit = eocd_offset
    if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        if eocd_offset < ZIP64_LOCATOR.size:
            raise bad("zip64 locator missing")
        locator = source.read_at(eocd_offset - ZIP64_LOCATOR.size, ZIP64_LOCATOR.size)
        if len(locator) != ZIP64_LOCATOR.size:
            raise bad("zip64 locator missing")
        sig, _d, z64_offset, _disks = ZIP64_LOCATOR.unpack(locator)
        if sig != b"PK\x06\x07" or z64_offset + ZIP64_EOCD.size > eocd_offset:
            raise bad("bad zip64 locator")
        z64 = source.read_at(z64_offset, ZIP64_EOCD.size)
        if len(z64) != ZIP64_EOCD.size:
            raise bad("bad zip64 end of central directory")
        sig, _s, _v1, _v2, disk, cd_disk, n_disk, count, cd_size, cd_offset = ZIP64_EOCD.unpack(z64)
        if sig != b"PK\x06\x06":
            raise bad("bad zip64 end of central directory")
        cd_end_limit = z64_offset
    if disk or cd_disk or n_disk != count:
        raise bad("multi-disk archive")
    if count > MAX_MEMBERS:
        raise WheelError(f"{where}: {count} members, more than the limit of {MAX_MEMBERS}")
    if cd_offset + cd_size > cd_end_limit or cd_size < count * ZIP_CENTRAL.size:
        raise bad("central directory lies outside the file")
    if cd_offset >= size - tail_len:  # the tail already read holds it (always, for small wheels)
        start = cd_offset - (size - tail_len)
        cd = tail[start : start + cd_size]
    else:
        cd = source.read_at(cd_offset, cd_size)
    members = []
    pos = 0
    for _ in range(count):
        if pos + ZIP_CENTRAL.size > len(cd):
            raise bad("central directory is truncated")
        (
            sig,
            _made,
            _need,
            flags,
            method,
            _time,
            _date,
            crc,
            csize,
            usize,
            name_len,
            extra_len,
            comment_len,
            _disk,
            _iattr,
            eattr,
            offset,
        ) = ZIP_CENTRAL.unpack_from(cd, pos)
        if sig != b"PK\x01\x02":
            raise bad("bad central directory entry")
        name_end = pos + ZIP_CENTRAL.size + name_len
        extra_end = name_end + extra_len
        if extra_end + comment_len > len(cd):
            raise bad("central directory entry runs past its end")
        raw_name = cd[pos + ZIP_CENTRAL.size : name_end]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if flags & 0x1:
            raise WheelError(f"{where}: member {name!r} is encrypted")
        if 0xFFFFFFFF in (usize, csize, offset):
            usize, csize, offset = _zip64_sizes(cd[name_end:extra_end], usize, csize, offset, bad)
        if offset + 30 > cd_offset:
            raise bad(f"member {name!r} starts outside the file")
        members.append(Member(name, method, crc, csize, usize, offset, eattr, flags))
        pos = extra_end + comment_len
    return members


def _zip64_sizes(
    extra: bytes, usize: int, csize: int, offset: int, bad: Callable[[str], WheelError]
) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, pos)
        if tag == 1:
            values = list(struct.unpack_from(f"<{min(length, len(extra) - pos - 4) // 8}Q", extra, pos + 4))
            out = []
            for field in (usize, csize, offset):
                if field == 0xFFFFFFFF:
                    if not values:
                        raise bad("zip64 extra field is too short")
                    field = values.pop(0)
                out.append(field)
            return out[0], out[1], out[2]
        pos += 4 + length
    raise bad("zip64 sizes missing")


@dataclass(frozen=True)
class WheelName:
    """A wheel filename, parsed."""

    filename: str
    distribution: str
    version: str
    build: str
    tags: frozenset[Tag]

    @property
    def platforms(self) -> frozenset[str]:
        return frozenset(t.platform for t in self.tags)

    @property
    def interpreters(self) -> frozenset[str]:
        return frozenset(t.interpreter for t in self.tags)

    @property
    def abis(self) -> frozenset[str]:
        return frozenset(t.abi for t in self.tags)

    def with_platforms(self, platforms: list[str]) -> str:
        """This filename with its platform tag replaced by *platforms* (compressed, sorted)."""
        stem = self.filename[: -len(".whl")]
        parts = stem.split("-")
        parts[-1] = ".".join(sorted(set(platforms)))
        return "-".join(parts) + ".whl"


def parse_wheel_name(filename: str) -> WheelName:
    base = os.path.basename(filename)
    try:
        dist, version, build, tags = parse_wheel_filename(base)
    except InvalidWheelFilename as exc:
        raise WheelError(f"{base}: not a wheel filename ({exc})") from None
    except ValueError:  # a version or build number longer than int() converts (4300 digits)
        shown = base if len(base) <= 120 else f"{base[:60]}…{base[-40:]}"
        raise WheelError(f"{shown}: not a wheel filename (a number in it has too many digits)") from None
    return WheelName(base, str(dist), str(version), "".join(map(str, build)), frozenset(tags))


def check_member_name(name: str) -> None:
    """Refuse a member name that could land outside the directory a wheel is unpacked into."""
    if not name or "\0" in name or "\\" in name:
        raise WheelError(f"member {name!r}: unsafe name")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise WheelError(f"member {name!r}: absolute path")
    if any(part == ".." for part in name.split("/")):
        raise WheelError(f"member {name!r}: path escapes the wheel ('..')")


class WheelFile:
    """A wheel opened for reading. Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str] | WheelSource) -> None:
        """Open a wheel file (a path) or a wheel from any :class:`WheelSource`, which is then
        owned (closed) by this object."""
        if isinstance(path, (str, os.PathLike)):
            self.path = Path(path)
            self._source: WheelSource = LocalSource(self.path)  # a missing file is reported first
        else:
            self.path = Path(path.name)
            self._source = path
        try:
            self.name = parse_wheel_name(self.path.name)
        except BaseException:
            self._source.close()
            raise
        try:
            self.members = self._validate(read_central_directory(self._source, self.path.name))
            self._by_name = {m.filename: m for m in self.members}
            self.dist_info = self._find_dist_info()
        except BaseException:
            self._source.close()
            raise
        #: member name -> RECORD-style sha256 of members already read and hashed
        self.digests: dict[str, str] = {}

    def _validate(self, infos: list[Member]) -> list[Member]:
        where = self.path.name
        if len(infos) > MAX_MEMBERS:
            raise WheelError(f"{where}: {len(infos)} members, more than the limit of {MAX_MEMBERS}")
        seen: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            try:
                check_member_name(name)
            except WheelError as exc:
                raise WheelError(f"{where}: {exc}") from None
            if name in seen:
                raise WheelError(f"{where}: member {name!r} appears twice")
            seen.add(name)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise WheelError(f"{where}: member {name!r} is a symbolic link")
            if info.file_size > MAX_MEMBER_SIZE:
                raise WheelError(
                    f"{where}: member {name!r} declares {info.file_size} bytes, over the limit of {MAX_MEMBER_SIZE}"
                )
            if info.file_size > (1 << 20) and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise WheelError(
                    f"{where}: member {name!r} inflates {info.file_size // max(info.compress_size, 1)}x: a zip bomb"
                )
            total += info.file_size
        if total > MAX_TOTAL_SIZE:
            raise WheelError(f"{where}: members total {total} bytes, over the limit of {MAX_TOTAL_SIZE}")
        return infos

    def _find_dist_info(self) -> str:
        expected = f"{self.name.distribution}-{self.name.version}.dist-info".lower().replace("-", "_")
        candidates = {
            m.filename.split("/", 1)[0] for m in self.members if m.filename.split("/", 1)[0].endswith(".dist-info")
        }
        for c in candidates:
            if c.lower().replace("-", "_") == expected:
                return c
        if len(candidates) == 1:
            return candidates.pop()
        raise WheelError(f"{self.path.name}: no .dist-info directory for {self.name.distribution} {self.name.version}")

    def __enter__(self) -> WheelFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._source.close()

    def info(self, name: str) -> Member | None:
        return self._by_name.get(name)

    def read(self, member: str | Member) -> bytes:
        """A member's content, checked against its declared size and CRC."""
        info = member if isinstance(member, Member) else self._by_name.get(member)
        if info is None:
            raise WheelError(f"{self.path.name}: no member {member!r}")
        if info.compress_type not in (STORED, DEFLATED):
            return self._read_with_zipfile(info)
        return self.inflate(info, self._raw(info))

    def inflate(self, info: Member, raw: bytes) -> bytes:
        """*info*'s content from its compressed bytes *raw*, checked against size and CRC."""
        if info.compress_type == STORED:
            data = raw
        else:
            inflater = _zlib.decompressobj(-15)
            try:
                # One byte more than declared: a member that inflates beyond its size is caught
                # without inflating the rest of it.
                data = inflater.decompress(raw, info.file_size + 1)
            except _INFLATE_ERROR as exc:
                raise self._corrupt(info, str(exc)) from None
            if len(data) > info.file_size:
                raise self._beyond(info)
        self._check_inflated(info, len(data), _zlib.crc32(data))
        return data

    def _corrupt(self, info: Member, why: str) -> WheelError:
        return WheelError(f"{self.path.name}: member {info.filename!r} is corrupt ({why})")

    def _beyond(self, info: Member) -> WheelError:
        return WheelError(
            f"{self.path.name}: member {info.filename!r} inflates beyond its declared {info.file_size} bytes"
        )

    def _check_inflated(self, info: Member, length: int, crc: int) -> None:
        """Refuse *info* unless its inflated content (*length* bytes, CRC-32 *crc*) is the
        size and CRC its entry declares."""
        if length != info.file_size:
            raise WheelError(
                f"{self.path.name}: member {info.filename!r} is truncated ({length} of {info.file_size} bytes)"
            )
        if crc != info.CRC:
            raise self._corrupt(info, "CRC mismatch")

    def read_hashed(self, info: Member) -> tuple[memoryview, bytes]:
        """*info*'s content, checked against its declared size and CRC as :meth:`read` checks
        it, and its sha256 digest.

        The member is inflated a piece at a time, and each piece CRC'd, hashed and copied into
        a buffer reused from member to member (a fresh buffer for each member costs a page
        fault every 4 KiB) while it is still in the CPU's cache: here for a small member, by
        a second thread a piece behind the inflater for one over :data:`_BEHIND_OVER`
        (:class:`_PiecesBehind`) when the machine has a core to spare (:func:`_core_to_spare`).

        The view is valid until the next call in the same thread; copy it to keep it."""
        if info.compress_type not in (STORED, DEFLATED):
            data = self.read(info)
            return memoryview(data), hashlib.sha256(data).digest()
        size = info.file_size
        buf = _scratch_buffer(size)
        pieces = _PiecesBehind(buf) if size > _BEHIND_OVER and _core_to_spare() else _Pieces(buf)
        try:
            for part in self._inflated(info):
                pieces.take(part)
        finally:
            pieces.finish()
        self._check_inflated(info, pieces.pos, pieces.crc)
        if buf is not getattr(_scratch, "buf", None):
            _keep_scratch(buf)
        return memoryview(buf)[:size], pieces.digest.digest()

    def _inflated(self, info: Member) -> Iterator[bytes]:
        """*info*'s content a piece at a time, raising WheelError as soon as it inflates
        beyond its declared size (one byte more than is left is asked for, so a member that
        lies is caught without inflating the rest of it) or its deflate stream is corrupt.
        Whether it ends short or matches its CRC is the caller's to check.

        With ISA-L, its decompressor is asked for pieces of at most :data:`_OUT_PIECE` bytes,
        for which it allocates once; zlib's ``decompressobj`` starts each piece at 16 KiB and
        doubles it (ISA-L's does too), copying as it grows: 12% more time in all."""
        size = info.file_size
        chunks = self.raw_chunks(info, _PIECE)
        pos = 0
        try:
            if info.compress_type == STORED:
                for part in chunks:
                    pos += len(part)
                    if pos > size:
                        raise self._beyond(info)
                    yield part
            elif _isal_inflater is not None:
                inflater = _isal_inflater()
                while not inflater.eof:
                    chunk = next(chunks, None) if inflater.needs_input else b""
                    if chunk is None:
                        break  # the stream ends short: truncated
                    part = inflater.decompress(chunk, min(_OUT_PIECE, size - pos + 1))
                    if not part and not chunk:
                        break  # no progress without more input (never seen): truncated
                    pos += len(part)
                    if pos > size:
                        raise self._beyond(info)
                    yield part
            else:
                zinflater = _zlib.decompressobj(-15)
                for chunk in chunks:
                    part = zinflater.decompress(chunk, size - pos + 1)
                    pos += len(part)
                    if pos > size:
                        raise self._beyond(info)
                    yield part
                    if zinflater.eof:
                        break
        except _INFLATE_ERROR as exc:
            raise self._corrupt(info, str(exc)) from None

    def hash_members(self, infos: list[Member], record: dict[str, str]) -> None:
        """Read each of *infos* in turn (size and CRC checked, as :meth:`read` checks them) and
        keep its digest in :attr:`digests`, refusing the first whose content does not match
        its *record* hash (``sha256=…`` from RECORD)."""
        for info in infos:
            if info.filename in self.digests:
                continue
            digest = record_digest(hashlib.sha256(self.read(info)).digest())
            expected = record.get(info.filename)
            if expected is not None and expected != digest:
                raise WheelError(f"{self.path.name}: member {info.filename!r} does not match its RECORD hash")
            self.digests[info.filename] = digest

    def raw(self, info: Member) -> bytes:
        """The compressed bytes of *info*, as stored."""
        return self._raw(info)

    def copy_raw_to(self, info: Member, fd: int, at: int) -> bool:
        """Copy the compressed bytes of *info* into the file *fd* at offset *at* without
        reading them here, if the wheel is a local file (False: it is not, nothing copied).
        Raises WheelError, like :meth:`raw`, if the archive ends before the member does."""
        if not isinstance(self._source, LocalSource):
            return False
        if self._source.copy_to(self._data_offset(info), info.compress_size, fd, at) != info.compress_size:
            raise WheelError(f"{self.path.name}: member {info.filename!r} is truncated")
        return True

    def raw_chunks(self, info: Member, size: int) -> Iterator[bytes]:
        """The compressed bytes of *info* in chunks of *size* (for members too big to hold)."""
        position = self._data_offset(info)
        left = info.compress_size
        while left:
            chunk = self._source.read_at(position, min(size, left))
            if not chunk:
                raise WheelError(f"{self.path.name}: member {info.filename!r} is truncated")
            left -= len(chunk)
            position += len(chunk)
            yield chunk

    def _raw(self, info: Member) -> bytes:
        """The compressed bytes of *info*, found through its local header."""
        raw = self._source.read_at(self._data_offset(info), info.compress_size)
        if len(raw) != info.compress_size:
            raise WheelError(f"{self.path.name}: member {info.filename!r} is truncated")
        return raw

    def _data_offset(self, info: Member) -> int:
        """Where *info*'s compressed bytes start, after its local header."""
        header = self._source.read_at(info.header_offset, 30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise WheelError(f"{self.path.name}: member {info.filename!r}: bad local header")
        name_len, extra_len = struct.unpack("<2H", header[26:30])
        return int(info.header_offset + 30 + name_len + extra_len)

    def _read_with_zipfile(self, info: Member) -> bytes:
        """Members compressed otherwise than deflate (bzip2, lzma): rare, so zipfile is imported
        only for them."""
        import zipfile

        try:
            with zipfile.ZipFile(_SourceFile(self._source)) as zf:
                return zf.read(info.filename)
        except Exception as exc:  # zipfile raises many types for damaged or exotic members
            raise self._corrupt(info, f"{type(exc).__name__}: {exc}") from None

    def record(self) -> dict[str, str]:
        """The input's RECORD as {member: "sha256=…"} (members listed without a hash are left out)."""
        info = self.info(f"{self.dist_info}/RECORD")
        if info is None:
            return {}
        out = {}
        for row in csv.reader(self.read(info).decode("utf-8", "replace").splitlines()):
            if len(row) >= 2 and row[1]:
                out[row[0]] = row[1]
        return out

    def _starts_with_elf_magic(self, info: Member) -> bool:
        if info.file_size < 64 or info.is_dir():
            return False
        if info.compress_type == STORED:
            return self._source.read_at(self._data_offset(info), 4) == ELF_MAGIC
        if info.compress_type != DEFLATED:
            return self.read(info)[:4] == ELF_MAGIC
        head = self._source.read_at(self._data_offset(info), min(info.compress_size, _SNIFF))
        try:
            return bytes(_zlib.decompressobj(-15).decompress(head, 4)[:4]) == ELF_MAGIC
        except _INFLATE_ERROR as exc:
            raise self._corrupt(info, str(exc)) from None

    def elf_members(self, *, verify_record: bool = True) -> Iterator[tuple[Member, memoryview]]:
        """Every member that is an ELF file, with its bytes, in archive order; each checked
        against its RECORD hash when RECORD has one (*verify_record*). The bytes are a view
        valid until the next member is read (see :meth:`read_hashed`): copy them to keep them."""
        record = self.record() if verify_record else {}
        for info in self._elf_candidates():
            named_like_library = _LIBRARY_NAME.search(info.filename) is not None
            if named_like_library or self._starts_with_elf_magic(info):
                data, sha256 = self.read_hashed(info)
                expected = record.get(info.filename)
                digest = self.digests[info.filename] = record_digest(sha256)
                if expected is not None and expected != digest:
                    raise WheelError(f"{self.path.name}: member {info.filename!r} does not match its RECORD hash")
                if data[:4] == ELF_MAGIC:
                    yield info, data
                elif named_like_library:
                    raise WheelError(
                        f"{self.path.name}: member {info.filename!r} is named like a shared library but is not ELF"
                    )

    def _elf_candidates(self) -> list[Member]:
        return [m for m in self.members if not (m.filename.endswith(_NOT_ELF_SUFFIXES) or m.is_dir())]

    def prefetch_elf_members(self) -> None:
        """Have the source fetch, in few reads, everything :meth:`elf_members` will read: RECORD
        and every member named like a library whole, the head of every other candidate, then
        the whole of each head that turns out to be ELF. For a remote source; a local one
        needs none of it. (A local header is assumed to repeat the central directory's name
        and carry at most _LOCAL_EXTRA bytes of extra field; a longer one costs one more read.)"""

        def span(info: Member, length: int) -> tuple[int, int]:
            end = info.header_offset + 30 + len(info.filename.encode("utf-8")) + _LOCAL_EXTRA + length
            return info.header_offset, min(self._source.size, end)

        candidates = self._elf_candidates()
        record = self.info(f"{self.dist_info}/RECORD")
        whole = [m for m in candidates if _LIBRARY_NAME.search(m.filename)] + ([record] if record else [])
        heads = [m for m in candidates if not _LIBRARY_NAME.search(m.filename) and m.file_size >= 64]
        self._source.prefetch(
            [span(m, m.compress_size) for m in whole] + [span(m, min(m.compress_size, _SNIFF)) for m in heads]
        )
        sniffed = [m for m in heads if m.compress_size > _SNIFF and self._starts_with_elf_magic(m)]
        if sniffed:
            self._source.prefetch([span(m, m.compress_size) for m in sniffed])

    def wheel_metadata(self) -> dict[str, list[str]]:
        """The ``.dist-info/WHEEL`` file as {field: [values]}."""
        raw = self.read(f"{self.dist_info}/WHEEL").decode("utf-8", "replace")
        out: dict[str, list[str]] = {}
        for line in raw.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                out.setdefault(key.strip(), []).append(value.strip())
        return out
