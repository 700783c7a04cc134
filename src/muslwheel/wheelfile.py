"""Reading wheel files: names, tags, members, validated before anything is trusted.

A :class:`WheelFile` checks the whole central directory when it opens: member names that
would escape an extraction directory (absolute, ``..``, backslashes, NUL), symlink members,
duplicate names, and declared sizes beyond the bounds below are refused with
:class:`~muslwheel.errors.WheelError`. Members are decompressed only when read, one at a time,
and never extracted to disk.

Bounds (documented in README): at most :data:`MAX_MEMBERS` members, :data:`MAX_MEMBER_SIZE`
bytes for one member and :data:`MAX_TOTAL_SIZE` in all, and a compression ratio of at most
:data:`MAX_RATIO` for members over 1 MiB. Python's zipfile never returns more than a member's
declared size, so a member that lies about its size fails its CRC check instead of inflating.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import re
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Optional, Union

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .elf import ELF_MAGIC
from .errors import WheelError

try:  # ISA-L inflates about twice as fast as zlib; same API, same results
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - hosts without an isal wheel
    import zlib as _zlib  # type: ignore[no-redef]

MAX_MEMBERS = 100_000
MAX_MEMBER_SIZE = 4 << 30
MAX_TOTAL_SIZE = 16 << 30
MAX_RATIO = 500

# Members with these endings are never ELF; everything else is sniffed for the ELF magic.
_NOT_ELF_SUFFIXES = (
    ".py", ".pyc", ".pyi", ".pyx", ".pxd", ".txt", ".md", ".rst", ".json", ".toml", ".cfg",
    ".h", ".hpp", ".c", ".cc", ".cpp", ".f90", ".html", ".js", ".css", ".csv", ".png", ".svg",
    ".jpg", ".gif", ".typed", ".mo", ".po", ".xml", ".yaml", ".yml", ".ini", "/RECORD",
    "/METADATA", "/WHEEL", "/LICENSE", ".dat", ".npy", ".npz", ".pem",
)


crc32 = _zlib.crc32
_INFLATE_ERROR: type[Exception] = _zlib.error  # type: ignore[assignment]  # isal declares it loosely


def inflater_for(info: zipfile.ZipInfo):  # type: ignore[no-untyped-def]
    """A streaming raw-deflate decompressor for *info*, or None if it is stored."""
    return _zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None


def record_digest(digest: bytes) -> str:
    """A sha256 digest as RECORD writes it: ``sha256=`` and unpadded urlsafe base64."""
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


_LIBRARY_NAME = re.compile(r"\.so(\.\d+)*$")


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

    def __init__(self, path: Union[str, "os.PathLike[str]"]) -> None:
        self.path = Path(path)
        self.name = parse_wheel_name(self.path.name)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise WheelError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise WheelError(f"{self.path}: is a directory") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise WheelError(f"{self.path.name}: not a readable zip archive ({exc})") from None
        try:
            self.members = self._validate(self._zip.infolist())
        except BaseException:
            self._zip.close()
            raise
        self._by_name = {m.filename: m for m in self.members}
        self.dist_info = self._find_dist_info()
        self._fp = open(self.path, "rb")
        #: member name -> RECORD-style sha256 of members already read and hashed
        self.digests: dict[str, str] = {}

    def _validate(self, infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
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
                raise WheelError(f"{where}: member {name!r} declares {info.file_size} bytes, over the limit of {MAX_MEMBER_SIZE}")
            if info.file_size > (1 << 20) and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise WheelError(f"{where}: member {name!r} inflates {info.file_size // max(info.compress_size, 1)}x: a zip bomb")
            total += info.file_size
        if total > MAX_TOTAL_SIZE:
            raise WheelError(f"{where}: members total {total} bytes, over the limit of {MAX_TOTAL_SIZE}")
        return infos

    def _find_dist_info(self) -> str:
        expected = f"{self.name.distribution}-{self.name.version}.dist-info".lower().replace("-", "_")
        candidates = {m.filename.split("/", 1)[0] for m in self.members if m.filename.split("/", 1)[0].endswith(".dist-info")}
        for c in candidates:
            if c.lower().replace("-", "_") == expected:
                return c
        if len(candidates) == 1:
            return candidates.pop()
        raise WheelError(f"{self.path.name}: no .dist-info directory for {self.name.distribution} {self.name.version}")

    def __enter__(self) -> "WheelFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()
        if hasattr(self, "_fp"):
            self._fp.close()

    def info(self, name: str) -> Optional[zipfile.ZipInfo]:
        return self._by_name.get(name)

    def read(self, member: Union[str, zipfile.ZipInfo]) -> bytes:
        """A member's content, checked against its declared size and CRC."""
        info = member if isinstance(member, zipfile.ZipInfo) else self._by_name.get(member)
        if info is None:
            raise WheelError(f"{self.path.name}: no member {member!r}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return self._read_with_zipfile(info)
        return self.inflate(info, self._raw(info))

    def inflate(self, info: zipfile.ZipInfo, raw: bytes) -> bytes:
        """*info*'s content from its compressed bytes *raw*, checked against size and CRC."""
        if info.compress_type == zipfile.ZIP_STORED:
            data = raw
        else:
            inflater = _zlib.decompressobj(-15)
            try:
                # One byte more than declared: a member that inflates beyond its size is caught
                # without inflating the rest of it.
                data = inflater.decompress(raw, info.file_size + 1)
            except _INFLATE_ERROR as exc:
                raise WheelError(f"{self.path.name}: member {info.filename!r} is corrupt ({exc})") from None
            if len(data) > info.file_size:
                raise WheelError(f"{self.path.name}: member {info.filename!r} inflates beyond its declared {info.file_size} bytes")
        if len(data) != info.file_size:
            raise WheelError(f"{self.path.name}: member {info.filename!r} is truncated ({len(data)} of {info.file_size} bytes)")
        if _zlib.crc32(data) != info.CRC:
            raise WheelError(f"{self.path.name}: member {info.filename!r} is corrupt (CRC mismatch)")
        return data

    def raw(self, info: zipfile.ZipInfo) -> bytes:
        """The compressed bytes of *info*, as stored."""
        return self._raw(info)

    def raw_chunks(self, info: zipfile.ZipInfo, size: int) -> Iterator[bytes]:
        """The compressed bytes of *info* in chunks of *size* (for members too big to hold)."""
        self._seek_data(info)
        left = info.compress_size
        while left:
            position = self._fp.tell()
            chunk = self._fp.read(min(size, left))
            if not chunk:
                raise WheelError(f"{self.path.name}: member {info.filename!r} is truncated")
            left -= len(chunk)
            yield chunk
            self._fp.seek(position + len(chunk))  # the caller may have read other members meanwhile

    def _raw(self, info: zipfile.ZipInfo) -> bytes:
        """The compressed bytes of *info*, found through its local header."""
        self._seek_data(info)
        raw = self._fp.read(info.compress_size)
        if len(raw) != info.compress_size:
            raise WheelError(f"{self.path.name}: member {info.filename!r} is truncated")
        return raw

    def _seek_data(self, info: zipfile.ZipInfo) -> None:
        self._fp.seek(info.header_offset)
        header = self._fp.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise WheelError(f"{self.path.name}: member {info.filename!r}: bad local header")
        name_len, extra_len = struct.unpack("<2H", header[26:30])
        self._fp.seek(info.header_offset + 30 + name_len + extra_len)

    def _read_with_zipfile(self, info: zipfile.ZipInfo) -> bytes:
        try:
            return self._zip.read(info)
        except Exception as exc:  # zipfile raises many types for damaged or exotic members
            raise WheelError(f"{self.path.name}: member {info.filename!r} is corrupt ({type(exc).__name__}: {exc})") from None

    def open_member(self, info: zipfile.ZipInfo) -> IO[bytes]:
        """A stream of *info*'s decompressed content (for hashing big members in chunks)."""
        return self._zip.open(info)

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

    def _starts_with_elf_magic(self, info: zipfile.ZipInfo) -> bool:
        if info.file_size < 64 or info.is_dir():
            return False
        try:
            with self._zip.open(info) as f:
                return f.read(4) == ELF_MAGIC
        except Exception as exc:
            raise WheelError(f"{self.path.name}: member {info.filename!r} is corrupt ({type(exc).__name__}: {exc})") from None

    def elf_members(self, *, verify_record: bool = True) -> Iterator[tuple[zipfile.ZipInfo, bytes]]:
        """Every member that is an ELF file, with its bytes, in archive order; each checked
        against its RECORD hash when RECORD has one (*verify_record*)."""
        record = self.record() if verify_record else {}
        for info in self.members:
            if info.filename.endswith(_NOT_ELF_SUFFIXES) or info.is_dir():
                continue
            named_like_library = _LIBRARY_NAME.search(info.filename) is not None
            if named_like_library or self._starts_with_elf_magic(info):
                data = self.read(info)
                expected = record.get(info.filename)
                digest = self.digests[info.filename] = record_digest(hashlib.sha256(data).digest())
                if expected is not None and expected != digest:
                    raise WheelError(f"{self.path.name}: member {info.filename!r} does not match its RECORD hash")
                if data[:4] == ELF_MAGIC:
                    yield info, data
                elif named_like_library:
                    raise WheelError(f"{self.path.name}: member {info.filename!r} is named like a shared library but is not ELF")

    def wheel_metadata(self) -> dict[str, list[str]]:
        """The ``.dist-info/WHEEL`` file as {field: [values]}."""
        raw = self.read(f"{self.dist_info}/WHEEL").decode("utf-8", "replace")
        out: dict[str, list[str]] = {}
        for line in raw.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                out.setdefault(key.strip(), []).append(value.strip())
        return out
