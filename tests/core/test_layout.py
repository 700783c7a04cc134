"""The layout check: each rule of how musl's map_library maps a file fails on a file crafted to
break it, and a linker's ordinary layout passes."""

from __future__ import annotations

import struct

import pytest

from muslwheel.elf import PT, program_headers
from muslwheel.layout import check_layout

R, W, X = 4, 2, 1
PHOFF = 64
PHENT = 56


def elf64(segments: list[tuple[int, int, int, int, int, int, int]], size: int = 0x4000, phoff: int = PHOFF) -> bytes:
    """A little-endian ELF64 shared object with these program headers (type, flags, offset,
    vaddr, filesz, memsz, align), *size* bytes long."""
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, 0, 0, 64, PHENT, len(segments), 64, 0, 0)
    table = b"".join(struct.pack("<IIQQQQQQ", t, f, o, v, v, fs, ms, a) for t, f, o, v, fs, ms, a in segments)
    data = bytearray(size)
    data[: len(header)] = header
    data[phoff : phoff + len(table)] = table
    return bytes(data)


def good() -> list[tuple[int, int, int, int, int, int, int]]:
    """GNU ld's layout of a small library: text at 0, data one page up (with bss), the dynamic
    section, TLS and RELRO inside the data segment."""
    return [
        (PT.LOAD, R | X, 0, 0, 0x1800, 0x1800, 0x1000),
        (PT.LOAD, R | W, 0x1E00, 0x2E00, 0x800, 0x1000, 0x1000),
        (PT.DYNAMIC, R | W, 0x1E80, 0x2E80, 0x100, 0x100, 8),
        (PT.TLS, R, 0x1E00, 0x2E00, 0x10, 0x20, 8),
        (PT.GNU_RELRO, R, 0x1E00, 0x2E00, 0x200, 0x200, 1),
        (0x6474E551, R | W, 0, 0, 0, 0, 16),  # PT_GNU_STACK
    ]


def rules(segments: list[tuple[int, int, int, int, int, int, int]], **kw: object) -> set[str]:
    size = kw.pop("size", 0x4000)
    phoff = kw.pop("phoff", PHOFF)
    ph = program_headers(elf64(segments, size, phoff))  # type: ignore[arg-type]
    return {p.rule for p in check_layout(ph, **kw)}  # type: ignore[arg-type]


def replaced(index: int, **fields: int) -> list[tuple[int, int, int, int, int, int, int]]:
    segs = good()
    names = ("type", "flags", "offset", "vaddr", "filesz", "memsz", "align")
    seg = list(segs[index])
    for k, v in fields.items():
        seg[names.index(k)] = v
    segs[index] = tuple(seg)  # type: ignore[assignment]
    return segs


def test_a_linkers_layout_passes_on_every_page_size() -> None:
    assert rules(good()) == set()
    assert rules(good(), max_page=65536) == set()  # p_align 4 KiB: it promises no more


@pytest.mark.parametrize(
    ("segments", "kw", "rule"),
    [
        ([s for s in good() if s[0] != PT.LOAD], {}, "load"),
        (list(reversed(good()[:2])) + good()[2:], {}, "load-order"),
        (replaced(0, memsz=0x2F00, filesz=0x1800), {}, "load-order"),  # overlaps the data segment
        (replaced(1, filesz=0x1100, memsz=0x1000), {}, "load-size"),
        (replaced(1, filesz=0x3000, memsz=0x3000), {}, "load-in-file"),
        (replaced(1, align=0x1800), {}, "load-align"),
        (replaced(1, offset=0x1E10), {}, "load-congruent"),  # auditwheel#716's "not page-aligned"
        (replaced(1, align=0x10000), {"max_page": 65536}, "load-congruent"),  # a 64 KiB kernel
        ([s for s in good() if s[0] != PT.DYNAMIC], {}, "dynamic"),
        (replaced(2, offset=0x1F80), {}, "dynamic"),  # not where its segment maps it
        (replaced(2, offset=0x2800, vaddr=0x3800), {}, "dynamic"),  # in the bss: no file bytes
        (good(), {"phoff": 0x1900}, "phdr"),  # between the segments' file bytes
        ([*good(), (PT.PHDR, R, 0x100, 0x100, PHENT, PHENT, 8)], {}, "phdr"),
        (replaced(3, offset=0x1A00, vaddr=0x2A00), {}, "tls"),  # between the segments
        (replaced(4, vaddr=0x3F00), {}, "relro"),
    ],
)
def test_each_rule_fails_on_a_layout_that_breaks_it(
    segments: list[tuple[int, int, int, int, int, int, int]], kw: dict[str, int], rule: str
) -> None:
    assert rule in rules(segments, **kw)


def test_congruence_is_asked_up_to_the_arches_largest_page_only() -> None:
    # p_align 64 KiB, congruent modulo 4 KiB only: x86_64's pages are 4 KiB, so it maps there
    segs = replaced(1, align=0x10000)
    assert rules(segs, max_page=4096) == set()


def test_a_static_file_needs_no_dynamic_section() -> None:
    segs = [s for s in good() if s[0] != PT.DYNAMIC]
    assert rules(segs, dynamic=False) == set()
