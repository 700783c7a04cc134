"""Hostile and broken inputs, made from real ones: corrupted ELF files and wheels."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import Callable

from wheelmaker import make_wheel, record_hash

# ELF64 little-endian header field offsets.
E_PHOFF, E_SHOFF, E_PHENTSIZE, E_PHNUM, E_SHNUM = 32, 40, 54, 56, 60


def _put(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def _phdr(data: bytes, wanted: int) -> int:
    """File offset of the first program header of type *wanted* in an ELF64 LE file."""
    (phoff,) = struct.unpack_from("<Q", data, E_PHOFF)
    entsize, num = struct.unpack_from("<HH", data, E_PHENTSIZE)
    for i in range(num):
        if struct.unpack_from("<I", data, phoff + i * entsize)[0] == wanted:
            return phoff + i * entsize
    raise AssertionError("no such program header")


def _dynsym_section(data: bytes) -> int:
    (shoff,) = struct.unpack_from("<Q", data, E_SHOFF)
    (shnum,) = struct.unpack_from("<H", data, E_SHNUM)
    for i in range(shnum):
        if struct.unpack_from("<I", data, shoff + i * 64 + 4)[0] == 11:  # SHT_DYNSYM
            return shoff + i * 64
    raise AssertionError("no .dynsym")


BAD_ELF: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    # name: (corruption of a real ELF64 LE shared library, what the error must say)
    "truncated": (lambda d: d[:100], "outside the file"),
    "section-headers-outside": (lambda d: _put(d, E_SHOFF, "<Q", len(d) + 4096), "section header table lies outside"),
    "program-headers-outside": (lambda d: _put(d, E_PHOFF, "<Q", len(d) * 2), "program header table lies outside"),
    "absurd-phnum": (lambda d: _put(d, E_PHNUM, "<H", 0xFFFF), "program header table lies outside"),
    "absurd-symbol-count": (lambda d: _put(d, _dynsym_section(d) + 32, "<Q", 1 << 40), "dynamic symbol table"),
    "dynamic-outside": (lambda d: _put(d, _phdr(d, 2) + 32, "<Q", 1 << 40), "dynamic section lies outside"),
    "not-elf": (lambda d: b"INPUT(-lc)\n" + d[:64], "not an ELF file"),
}


def bad_elf(good: bytes, case: str) -> bytes:
    return BAD_ELF[case][0](good)


def _rewrite_sizes(path: Path, member: str, new_size: int) -> None:
    """Make *member*'s declared uncompressed size (local header and central directory) lie."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    local = data.find(b"PK\x03\x04")
    while local >= 0:
        (n,) = struct.unpack_from("<H", data, local + 26)
        if data[local + 30 : local + 30 + n] == name:
            struct.pack_into("<I", data, local + 22, new_size)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        (n,) = struct.unpack_from("<H", data, central + 28)
        if data[central + 46 : central + 46 + n] == name:
            struct.pack_into("<I", data, central + 24, new_size)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def _rewrite_local(path: Path, member: str, edit: Callable[[bytearray, int, int], None]) -> None:
    """Apply *edit*(archive, local header offset, data offset) to *member*'s local entry and
    *edit*(archive, central entry offset, -1) to its central directory entry."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    local = data.find(b"PK\x03\x04")
    while local >= 0:
        n, m = struct.unpack_from("<HH", data, local + 26)
        if data[local + 30 : local + 30 + n] == name:
            edit(data, local, local + 30 + n + m)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        (n,) = struct.unpack_from("<H", data, central + 28)
        if data[central + 46 : central + 46 + n] == name:
            edit(data, central, -1)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def _raw_zip(path: Path, entries: list[tuple[zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for info, payload in entries:
            zf.writestr(info, payload)
    return path


def hostile_wheels(dest: Path, good_so: bytes) -> dict[str, tuple[Path, str]]:
    """{case: (wheel, what the one-line error must say)} for every hostile wheel case."""
    dest.mkdir(parents=True, exist_ok=True)
    tag = "py3-none-linux_x86_64"
    cases: dict[str, tuple[Path, str]] = {}

    def wheel(case: str, files: dict[str, bytes], expect: str) -> None:
        d = dest / case
        d.mkdir()
        cases[case] = (make_wheel(d, "evil", "1.0", tag, files), expect)

    wheel("traversal", {"../../evil.py": b"x", "evil/libx.so": good_so}, "path escapes the wheel")
    wheel("absolute-path", {"/etc/evil.py": b"x", "evil/libx.so": good_so}, "absolute path")
    wheel("non-elf-so", {"evil/_mod.so": b"this is not a library\n" * 10}, "named like a shared library but is not ELF")
    for case in ("section-headers-outside", "absurd-symbol-count", "dynamic-outside", "truncated"):
        wheel(f"elf-{case}", {"evil/libbad.so": bad_elf(good_so, case)}, BAD_ELF[case][1])

    d = dest / "symlink"
    d.mkdir()
    link = zipfile.ZipInfo("evil/link.so")
    link.external_attr = 0o120777 << 16
    cases["symlink"] = (
        _raw_zip(
            d / f"evil-1.0-{tag}.whl",
            [(link, b"/etc/passwd"), (zipfile.ZipInfo("evil-1.0.dist-info/WHEEL"), b"Wheel-Version: 1.0\n")],
        ),
        "symbolic link",
    )

    d = dest / "duplicate"
    d.mkdir()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate it is asked to write
        cases["duplicate"] = (
            _raw_zip(
                d / f"evil-1.0-{tag}.whl",
                [
                    (zipfile.ZipInfo("evil/libx.so"), good_so),
                    (zipfile.ZipInfo("evil/libx.so"), b"other"),
                    (zipfile.ZipInfo("evil-1.0.dist-info/WHEEL"), b"Wheel-Version: 1.0\n"),
                ],
            ),
            "appears twice",
        )

    d = dest / "size-lie"
    d.mkdir()
    lie = make_wheel(d, "evil", "1.0", tag, {"evil/libx.so": good_so})
    _rewrite_sizes(lie, "evil/libx.so", 1000)
    cases["size-lie"] = (lie, "inflates beyond its declared 1000 bytes")

    d = dest / "size-short"  # declares more than it inflates to
    d.mkdir()
    short = make_wheel(d, "evil", "1.0", tag, {"evil/libx.so": good_so})
    _rewrite_sizes(short, "evil/libx.so", len(good_so) + 1000)
    cases["size-short"] = (short, f"is truncated ({len(good_so)} of {len(good_so) + 1000} bytes)")

    d = dest / "crc-wrong"
    d.mkdir()
    crc = make_wheel(d, "evil", "1.0", tag, {"evil/libx.so": good_so})

    def wrong_crc(data: bytearray, header: int, payload: int) -> None:
        at = header + (14 if payload >= 0 else 16)  # crc-32 in a local / central header
        struct.pack_into("<I", data, at, struct.unpack_from("<I", data, at)[0] ^ 1)

    _rewrite_local(crc, "evil/libx.so", wrong_crc)
    cases["crc-wrong"] = (crc, "'evil/libx.so' is corrupt (CRC mismatch)")

    d = dest / "deflate-corrupt"
    d.mkdir()
    corrupt = make_wheel(d, "evil", "1.0", tag, {"evil/libx.so": good_so})

    def reserved_block(data: bytearray, header: int, payload: int) -> None:
        if payload >= 0:
            assert struct.unpack_from("<H", data, header + 8)[0] == zipfile.ZIP_DEFLATED
            data[payload] = 0b111  # BFINAL, then BTYPE 11: a block type deflate reserves

    _rewrite_local(corrupt, "evil/libx.so", reserved_block)
    cases["deflate-corrupt"] = (corrupt, "'evil/libx.so' is corrupt (")

    d = dest / "zip-bomb"
    d.mkdir()
    bomb = zipfile.ZipInfo("evil/libbomb.so")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(d / f"evil-1.0-{tag}.whl", "w") as zf:
        zf.writestr(zipfile.ZipInfo("evil-1.0.dist-info/WHEEL"), b"Wheel-Version: 1.0\n")
        with zf.open(bomb, "w", force_zip64=True) as out:
            chunk = bytes(1 << 20)
            for _ in range(512):  # 512 MiB of zeros, about half a MiB compressed
                out.write(chunk)
    cases["zip-bomb"] = (d / f"evil-1.0-{tag}.whl", "zip bomb")

    d = dest / "truncated-archive"
    d.mkdir()
    whole = make_wheel(d, "evil", "1.0", tag, {"evil/libx.so": good_so}).read_bytes()
    (d / f"evil-1.0-{tag}.whl").write_bytes(whole[: len(whole) // 2])
    cases["truncated-archive"] = (d / f"evil-1.0-{tag}.whl", "not a readable zip archive")

    d = dest / "record-wrong"
    d.mkdir()
    w = make_wheel(d, "evil", "1.0", tag, {"evil/libx.so": good_so})
    with zipfile.ZipFile(w) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["evil-1.0.dist-info/RECORD"] = members["evil-1.0.dist-info/RECORD"].replace(
        record_hash(good_so).encode(), record_hash(b"something else").encode()
    )
    with zipfile.ZipFile(w, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    cases["record-wrong"] = (w, "does not match its RECORD hash")

    d = dest / "bad-filename"
    d.mkdir()
    bad = d / "not-a-wheel.whl"
    bad.write_bytes(make_wheel(d, "evil", "1.0", tag, {"evil/libx.so": good_so}).read_bytes())
    cases["bad-filename"] = (bad, "not a wheel filename")
    return cases
