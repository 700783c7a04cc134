"""Unpack DT_RELR: packed relative relocations rewritten as ordinary ones, for musl < 1.2.4.

musl's loader learnt DT_RELR (``-z pack-relative-relocs``) in 1.2.4; older ones ignore the tag,
leave every pointer of the table unrelocated, and the process crashes at the first use. This
module rewrites such a file so that every musl loads it. Pure: bytes in, bytes out.

The packed table is a list of words (``DT_RELRENT`` = the word size). An even word is an
address to relocate; the next address is the word after it. An odd word is a bitmap: bit *i*
(1 ≤ i < word bits) set means "relocate the word *i* − 1 words after the next address"; the
next address then advances by word bits − 1 words. Every site gets the load base added to the
word already there (the addend is in place).

:func:`unpack_relr` writes one ordinary RELATIVE relocation per site (``R_X86_64_RELATIVE`` …
with the word as addend on RELA arches; ``R_386_RELATIVE``, ``R_ARM_RELATIVE`` with the addend
left in place on the REL ones), followed by a copy of the existing DT_RELA/DT_REL table, as one
contiguous table; DT_RELACOUNT/DT_RELCOUNT grows by the number of sites, and DT_RELR,
DT_RELRSZ and DT_RELRENT go (a 1.2.4 loader would otherwise relocate the sites twice). The new
table is placed by growing the last PT_LOAD when it ends the file with no bss (patchelf's
output), otherwise in a new read-only PT_LOAD after the last one, which also holds a copy of the
program header table with the extra entry (musl finds the headers through ``e_phoff`` inside a
PT_LOAD, for ``dl_iterate_phdr``); PT_PHDR follows them. Nothing already loaded moves. The
section headers follow the tables: ``.rela.dyn`` (``.rel.dyn``) describes the new table and the
old ``.relr.dyn`` becomes a plain ``relr.dyn`` (binutils derives SHT_RELR from the dotted name),
so strip and patchelf keep working on the result.

:func:`verify_unpacked` proves a rewrite: the relocations of the new file put exactly the words
the old RELR + REL(A) tables put, at the same addresses; the other relocations, the other dynamic
entries, the loaded bytes and the dynamic symbols are unchanged.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .elf import DT, EM, PF_R, PF_W, PT, SHT, ELFFile, parse_elf
from .errors import ELFError, MuslwheelError

#: r_type of the relative relocation per machine; i386 and ARM use REL (addend in place).
RELATIVE_TYPE: dict[int, int] = {
    EM.X86_64: 8,
    EM.AARCH64: 1027,
    EM.PPC64: 22,
    EM.S390: 12,
    EM.RISCV: 3,
    EM.LOONGARCH: 3,
    EM.I386: 8,
    EM.ARM: 23,
}
REL_MACHINES: frozenset[int] = frozenset({EM.I386, EM.ARM})

# the ELF constants are elf's (declared once there), as plain ints here
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_PHDR = map(int, (PT.LOAD, PT.DYNAMIC, PT.INTERP, PT.PHDR))
SHT_PROGBITS, SHT_RELA, SHT_DYNSYM, SHT_REL, SHT_RELR = map(
    int, (SHT.PROGBITS, SHT.RELA, SHT.DYNSYM, SHT.REL, SHT.RELR)
)
DT_RELA, DT_RELASZ, DT_RELAENT, DT_RELACOUNT = map(int, (DT.RELA, DT.RELASZ, DT.RELAENT, DT.RELACOUNT))
DT_REL, DT_RELSZ, DT_RELENT, DT_RELCOUNT = map(int, (DT.REL, DT.RELSZ, DT.RELENT, DT.RELCOUNT))
_RELR_TAGS = frozenset({DT.RELR, DT.RELRSZ, DT.RELRENT})


class RelrError(MuslwheelError):
    """The file's DT_RELR cannot be unpacked (a site outside writable memory, a bad table)."""


@dataclass
class _Phdr:
    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


@dataclass
class _Shdr:
    name: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


@dataclass
class _Image:
    """The loader-facing structures of one ELF file, with the means to write them back."""

    data: bytes
    e: str  #: struct byte order
    is64: bool
    machine: int
    phoff: int
    phentsize: int
    phdrs: list[_Phdr]
    shoff: int
    shentsize: int
    shdrs: list[_Shdr]
    shstrndx: int
    dyn_offset: int
    dyn_slots: int  #: entries that fit in PT_DYNAMIC
    dyn: list[tuple[int, int]]  #: entries before DT_NULL

    @property
    def interp(self) -> bool:
        return any(p.type == PT_INTERP for p in self.phdrs)

    @property
    def word(self) -> int:
        return 8 if self.is64 else 4

    @property
    def is_rel(self) -> bool:
        return self.machine in REL_MACHINES

    @property
    def loads(self) -> list[_Phdr]:
        return [p for p in self.phdrs if p.type == PT_LOAD]

    def tag(self, tag: int) -> int | None:
        return next((v for t, v in self.dyn if t == tag), None)

    def segment_of(self, vaddr: int, size: int) -> _Phdr | None:
        return next((p for p in self.loads if p.vaddr <= vaddr and vaddr + size <= p.vaddr + p.memsz), None)

    def offset_of(self, vaddr: int, size: int, what: str) -> int:
        seg = self.segment_of(vaddr, size)
        if seg is None or vaddr + size > seg.vaddr + seg.filesz:
            raise RelrError(f"{what} at {vaddr:#x} (+{size}) is not in the file image of a loaded segment")
        return vaddr - seg.vaddr + seg.offset

    def bytes_at(self, vaddr: int, size: int, what: str) -> bytes:
        off = self.offset_of(vaddr, size, what)
        if off + size > len(self.data):
            raise RelrError(f"{what} at {vaddr:#x} lies outside the file")
        return self.data[off : off + size]

    def word_at(self, vaddr: int) -> int:
        """The word a site holds in the loaded image before relocation (bss reads as zero)."""
        seg = self.segment_of(vaddr, self.word)
        assert seg is not None
        if vaddr + self.word > seg.vaddr + seg.filesz:
            return 0
        off = vaddr - seg.vaddr + seg.offset
        if off + self.word > len(self.data):
            raise RelrError(f"relocated word at {vaddr:#x} lies outside the file")
        return int(struct.unpack_from(self.e + ("Q" if self.is64 else "I"), self.data, off)[0])

    def reloc_table(self) -> tuple[int, int, bytes]:
        """The DT_RELA (or DT_REL) table: (address, entry size, bytes); empty if there is none."""
        addr_tag, size_tag = (DT_REL, DT_RELSZ) if self.is_rel else (DT_RELA, DT_RELASZ)
        other = DT_RELA if self.is_rel else DT_REL
        if self.tag(other) is not None:
            kind = "DT_RELA" if self.is_rel else "DT_REL"
            raise RelrError(f"has a {kind} table, which this architecture's loader does not expect")
        addr, size = self.tag(addr_tag), self.tag(size_tag) or 0
        entsize = _entsize(self.is64, self.is_rel)
        if addr is None or size == 0:
            return 0, entsize, b""
        if size % entsize:
            raise RelrError(f"relocation table size {size} is not a multiple of {entsize}")
        return addr, entsize, self.bytes_at(addr, size, "relocation table")

    def relr_sites(self) -> list[int]:
        addr, size = self.tag(DT.RELR), self.tag(DT.RELRSZ) or 0
        if addr is None:
            return []
        entsize = self.tag(DT.RELRENT)
        if entsize is not None and entsize != self.word:
            raise RelrError(f"DT_RELRENT is {entsize}, not the word size {self.word}")
        if size % self.word:
            raise RelrError(f"DT_RELRSZ {size} is not a multiple of the word size")
        raw = self.bytes_at(addr, size, "DT_RELR table")
        words = [w for (w,) in struct.iter_unpack(self.e + ("Q" if self.is64 else "I"), raw)]
        return decode_relr(words, self.word)


def _entsize(is64: bool, is_rel: bool) -> int:
    if is_rel:
        return 16 if is64 else 8
    return 24 if is64 else 12


def decode_relr(words: list[int], word_size: int) -> list[int]:
    """The addresses a DT_RELR table relocates, in order.

    ``[0x1000, 0b1011]`` on a 64-bit file: 0x1000, then from 0x1008 the bitmap's bits 1 and 3
    (bit 0 marks a bitmap): 0x1008 and 0x1018.
    """
    sites: list[int] = []
    where = 0
    bits = word_size * 8 - 1
    for w in words:
        if w & 1 == 0:
            sites.append(w)
            where = w + word_size
            continue
        if not sites and where == 0:
            raise RelrError("DT_RELR table starts with a bitmap, before any address")
        w >>= 1
        i = 0
        while w:
            if w & 1:
                sites.append(where + i * word_size)
            w >>= 1
            i += 1
        where += bits * word_size
    return sites


_PH64, _PH32 = "IIQQQQQQ", "IIIIIIII"
_SH64, _SH32 = "IIQQQQIIQQ", "IIIIIIIIII"


def _read_image(data: bytes) -> _Image:
    try:
        parse_elf(data, headers_only=True)
    except ELFError as exc:
        raise RelrError(str(exc)) from None
    is64 = data[4] == 2
    e = "<" if data[5] == 1 else ">"
    hdr_fmt = e + ("HHIQQQIHHHHHH" if is64 else "HHIIIIIHHHHHH")
    hdr = struct.unpack_from(hdr_fmt, data, 16)
    machine, phoff, shoff = hdr[1], hdr[4], hdr[5]
    phentsize, phnum, shentsize, shnum, shstrndx = hdr[8], hdr[9], hdr[10], hdr[11], hdr[12]
    ph_fmt = e + (_PH64 if is64 else _PH32)
    phdrs = []
    for i in range(phnum):
        f = struct.unpack_from(ph_fmt, data, phoff + i * phentsize)
        if is64:
            phdrs.append(_Phdr(*f))
        else:
            phdrs.append(_Phdr(f[0], f[6], f[1], f[2], f[3], f[4], f[5], f[7]))
    shdrs = []
    sh_fmt = e + (_SH64 if is64 else _SH32)
    if shoff and shnum:
        if shentsize < struct.calcsize(sh_fmt) or shoff + shnum * shentsize > len(data):
            raise RelrError("section header table lies outside the file")
        shdrs = [_Shdr(*struct.unpack_from(sh_fmt, data, shoff + i * shentsize)) for i in range(shnum)]
    dyn_seg = next((p for p in phdrs if p.type == PT_DYNAMIC), None)
    if dyn_seg is None:
        raise RelrError("no PT_DYNAMIC")
    dyn_fmt = e + ("qQ" if is64 else "iI")
    dsize = struct.calcsize(dyn_fmt)
    if dyn_seg.offset + dyn_seg.filesz > len(data):
        raise RelrError("dynamic section lies outside the file")
    slots = dyn_seg.filesz // dsize
    dyn = []
    for i in range(slots):
        tag, val = struct.unpack_from(dyn_fmt, data, dyn_seg.offset + i * dsize)
        if tag == DT.NULL:
            break
        dyn.append((tag, val))
    return _Image(data, e, is64, machine, phoff, phentsize, phdrs, shoff, shentsize, shdrs, shstrndx,
                  dyn_seg.offset, slots, dyn)  # fmt: skip


def unpack_relr(data: bytes) -> bytes:
    """*data* with its DT_RELR table unpacked (see the module docstring); *data* itself if the
    file has none. Raises :class:`RelrError` when a site lies outside writable memory (it would
    need text relocations) or the tables are unsound."""
    img = _read_image(data)
    if img.tag(DT.RELR) is None:
        return data
    if img.machine not in RELATIVE_TYPE:
        raise RelrError(f"machine {img.machine}: no relative relocation type known")
    if img.interp:
        raise RelrError("an executable (PT_INTERP): only libraries are unpacked")
    sites = img.relr_sites()
    for site in sites:
        seg = img.segment_of(site, img.word)
        if seg is None or not seg.flags & PF_W:
            raise RelrError(
                f"DT_RELR site {site:#x} is not in a writable segment: unpacking it would need text relocations"
            )
    old_addr, entsize, old_table = img.reloc_table()
    rtype = RELATIVE_TYPE[img.machine]
    if img.is_rel:
        fmt = img.e + ("QQ" if img.is64 else "II")
        new_entries = b"".join(struct.pack(fmt, s, rtype) for s in sites)
    else:
        fmt = img.e + ("QQq" if img.is64 else "IIi")
        half = 1 << (img.word * 8 - 1)
        new_entries = b"".join(struct.pack(fmt, s, rtype, (img.word_at(s) ^ half) - half) for s in sites)
    table = new_entries + old_table

    out = bytearray(data)
    loads = img.loads
    last = max(loads, key=lambda p: p.vaddr)
    grow = last.offset + last.filesz == len(data) and last.filesz == last.memsz
    if grow:
        table_off = _align(len(out), 8)
        out += bytes(table_off - len(out))
        table_addr = last.vaddr + (table_off - last.offset)
        out += table
        last.filesz = last.memsz = len(out) - last.offset
        new_phdrs = img.phdrs
        phoff = img.phoff
    else:
        # A new read-only PT_LOAD, its program headers first (where binutils expects them),
        # then the table; one alignment unit of address space is left free before it, so
        # that strip, which packs segments closer in the file, has room to keep it aligned.
        align = max([p.align for p in loads] + [1])
        if align & (align - 1) or align > 1 << 30:
            raise RelrError(f"PT_LOAD alignment {align:#x} is not a sensible power of two")
        seg_off = _align(len(out), 8)
        seg_addr = _align(max(p.vaddr + p.memsz for p in loads), align) + align + seg_off % align
        at = img.phdrs.index(loads[-1]) + 1
        # PT_PHDR goes: musl finds a library's headers through e_phoff, and llvm-objcopy would
        # nest the new PT_LOAD under a PT_PHDR at the same offset (GNU ld emits none for
        # libraries either).
        seg = _Phdr(PT_LOAD, PF_R, seg_off, seg_addr, seg_addr, 0, 0, align)
        new_phdrs = [p for p in img.phdrs[:at] if p.type != PT_PHDR] + [seg] + img.phdrs[at:]
        phoff = seg_off
        table_off = _align(phoff + len(new_phdrs) * img.phentsize, 8)
        table_addr = seg_addr + (table_off - seg_off)
        seg.filesz = seg.memsz = table_off + len(table) - seg_off
        out += bytes(table_off - len(out))
        out += table
    _write_phdrs(out, img, new_phdrs, phoff)
    _write_dynamic(out, img, sites, table_addr, len(table), entsize)
    _write_sections(out, img, old_addr, table_addr, table_off, len(table), entsize)
    return bytes(out)


def _align(n: int, a: int) -> int:
    return -(-n // a) * a if a > 1 else n


def _write_phdrs(out: bytearray, img: _Image, phdrs: list[_Phdr], phoff: int) -> None:
    ph_fmt = img.e + (_PH64 if img.is64 else _PH32)
    limit = 1 << (img.word * 8)
    if len(phdrs) >= 0xFFFF or any(max(p.vaddr + p.memsz, p.offset + p.filesz) >= limit for p in phdrs):
        raise RelrError("the new table does not fit in the address space")
    for i, p in enumerate(phdrs):
        if img.is64:
            fields = (p.type, p.flags, p.offset, p.vaddr, p.paddr, p.filesz, p.memsz, p.align)
        else:
            fields = (p.type, p.offset, p.vaddr, p.paddr, p.filesz, p.memsz, p.flags, p.align)
        struct.pack_into(ph_fmt, out, phoff + i * img.phentsize, *fields)
    # e_phoff and e_phnum in the ELF header
    if img.is64:
        struct.pack_into(img.e + "Q", out, 32, phoff)
        struct.pack_into(img.e + "H", out, 56, len(phdrs))
    else:
        struct.pack_into(img.e + "I", out, 28, phoff)
        struct.pack_into(img.e + "H", out, 44, len(phdrs))


def _write_dynamic(out: bytearray, img: _Image, sites: list[int], addr: int, size: int, entsize: int) -> None:
    if img.is_rel:
        t_addr, t_size, t_ent, t_count = DT_REL, DT_RELSZ, DT_RELENT, DT_RELCOUNT
    else:
        t_addr, t_size, t_ent, t_count = DT_RELA, DT_RELASZ, DT_RELAENT, DT_RELACOUNT
    had_table = img.tag(t_addr) is not None
    entries: list[tuple[int, int]] = []
    for tag, val in img.dyn:
        if tag in _RELR_TAGS:
            if tag == DT.RELR and not had_table:
                entries += [(t_addr, addr), (t_size, size), (t_ent, entsize)]
            continue
        if tag == t_addr:
            val = addr
        elif tag == t_size:
            val = size
        elif tag == t_count:
            val += len(sites)
        entries.append((tag, val))
    entries += [(DT.NULL, 0)] * (img.dyn_slots - len(entries))
    assert len(entries) == img.dyn_slots  # three RELR entries out, at most three in
    dyn_fmt = img.e + ("qQ" if img.is64 else "iI")
    dsize = struct.calcsize(dyn_fmt)
    for i, (tag, val) in enumerate(entries):
        struct.pack_into(dyn_fmt, out, img.dyn_offset + i * dsize, tag, val)


def _write_sections(
    out: bytearray, img: _Image, old_addr: int, addr: int, offset: int, size: int, entsize: int
) -> None:
    if not img.shdrs:
        return
    relr_addr = img.tag(DT.RELR)
    relr = next((s for s in img.shdrs if s.type == SHT_RELR or (s.flags & 2 and s.addr == relr_addr and s.size)), None)
    rel_type = SHT_REL if img.is_rel else SHT_RELA
    table = next((s for s in img.shdrs if s.type == rel_type and s.addr == old_addr and old_addr), None)
    dynsym = next((i for i, s in enumerate(img.shdrs) if s.type == SHT_DYNSYM), 0)
    names = img.shdrs[img.shstrndx] if 0 < img.shstrndx < len(img.shdrs) else None
    if table is None and relr is not None and names is not None:
        # No relocation section yet: the RELR section becomes it, renamed in place.
        new_name = b".rel.dyn\0" if img.is_rel else b".rela.dyn\0"
        at = names.offset + relr.name
        if out[at : at + 10] == b".relr.dyn\0" and not any(
            relr.name < s.name < relr.name + 10 for s in img.shdrs if s is not relr
        ):
            out[at : at + len(new_name)] = new_name
            table, relr = relr, None
            table.type, table.link, table.info = rel_type, dynsym, 0
            table.addralign = img.word
    if table is not None:
        table.addr, table.offset, table.size, table.entsize = addr, offset, size, entsize
    if relr is not None:
        relr.type = SHT_PROGBITS
        relr.entsize = 0
        if names is not None and out[names.offset + relr.name : names.offset + relr.name + 1] == b".":
            relr.name += 1  # ".relr.dyn" -> "relr.dyn": no tool derives a type from that
    sh_fmt = img.e + (_SH64 if img.is64 else _SH32)
    for i, s in enumerate(img.shdrs):
        fields = (s.name, s.type, s.flags, s.addr, s.offset, s.size, s.link, s.info, s.addralign, s.entsize)
        struct.pack_into(sh_fmt, out, img.shoff + i * img.shentsize, *fields)


# ── The proof ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Relocations:
    """What a file's relocation tables do: relative sites (address -> addend, to which the load
    base is added) and the other relocations, in order (offset, info, addend or None)."""

    relative: dict[int, int]
    other: tuple[tuple[int, int, int | None], ...]


def relocations(data: bytes) -> Relocations:
    """The relocations of DT_RELR and DT_REL(A) in *data*, with in-place addends read."""
    img = _read_image(data)
    rtype = RELATIVE_TYPE.get(img.machine)
    mask = (1 << (img.word * 8)) - 1
    relative: dict[int, int] = {}

    def add(site: int, addend: int) -> None:
        if site in relative:
            raise RelrError(f"site {site:#x} is relocated twice")
        relative[site] = addend & mask

    for site in img.relr_sites():
        add(site, img.word_at(site))
    _addr, entsize, table = img.reloc_table()
    other: list[tuple[int, int, int | None]] = []
    fmt = img.e + ("QQ" if img.is64 else "II") + ("" if img.is_rel else ("q" if img.is64 else "i"))
    for i in range(0, len(table), entsize):
        f = struct.unpack_from(fmt, table, i)
        offset, info = f[0], f[1]
        kind = info & 0xFFFFFFFF if img.is64 else info & 0xFF
        if kind == rtype and (info >> 32 if img.is64 else info >> 8) == 0:
            add(offset, img.word_at(offset) if img.is_rel else f[2])
        else:
            other.append((offset, info, None if img.is_rel else f[2]))
    return Relocations(relative, tuple(other))


def verify_unpacked(old: bytes, new: bytes, what: str = "file", before: ELFFile | None = None) -> ELFFile:
    """Prove that *new* is *old* with its DT_RELR unpacked; return the parsed *new*. Raises
    :class:`RelrError` naming the first difference. *before*: *old* parsed, if the caller has it."""
    a, b = _read_image(old), _read_image(new)
    problems = []
    if b.tag(DT.RELR) is not None or b.tag(DT.RELRSZ) is not None:
        problems.append("DT_RELR is still there")
    ra, rb = relocations(old), relocations(new)
    if ra.relative != rb.relative:
        diff = sorted(set(ra.relative.items()) ^ set(rb.relative.items()))[:1]
        problems.append(f"relative relocations differ ({len(ra.relative)} vs {len(rb.relative)}; first {diff})")
    if ra.other != rb.other:
        problems.append("the other relocations changed")
    family = _RELR_TAGS | {DT_RELA, DT_RELASZ, DT_RELAENT, DT_RELACOUNT, DT_REL, DT_RELSZ, DT_RELENT, DT_RELCOUNT}
    if [d for d in a.dyn if d[0] not in family] != [d for d in b.dyn if d[0] not in family]:
        problems.append("other dynamic entries changed")
    # Loaded bytes: the same at the same addresses, but for the ELF header (e_phoff, e_phnum),
    # the dynamic section, whose changes are checked above, and the section headers and their
    # names, which patchelf's output may have inside a loaded segment (no loader reads them).
    masked = [(0, 64 if a.is64 else 52), (a.dyn_offset, a.dyn_offset + a.dyn_slots * (16 if a.is64 else 8))]
    if a.shdrs:
        masked.append((a.shoff, a.shoff + len(a.shdrs) * a.shentsize))
        if 0 < a.shstrndx < len(a.shdrs):
            names = a.shdrs[a.shstrndx]
            masked.append((names.offset, names.offset + names.size))
    new_by_addr = {p.vaddr: p for p in b.loads}
    for p in a.loads:
        q = new_by_addr.get(p.vaddr)
        grown = q is not None and p.filesz == p.memsz and q.filesz == q.memsz >= p.filesz
        if (
            q is None
            or (q.offset, q.flags, q.align) != (p.offset, p.flags, p.align)
            or not (grown or (q.filesz, q.memsz) == (p.filesz, p.memsz))
        ):
            problems.append(f"loaded segment at {p.vaddr:#x} changed")
        elif _differs(old, new, p.offset, p.offset + p.filesz, masked):
            problems.append(f"loaded bytes of the segment at {p.vaddr:#x} changed")
    try:
        before, after = before or parse_elf(old), parse_elf(new)
    except ELFError as exc:
        raise RelrError(f"{what}: unpacked file does not parse: {exc}") from None
    if before.symbols != after.symbols:
        problems.append("dynamic symbols changed")
    if (before.needed, before.soname, before.rpath, before.runpath) != (
        after.needed,
        after.soname,
        after.rpath,
        after.runpath,
    ):
        problems.append("NEEDED, SONAME or RPATH changed")
    if problems:
        raise RelrError(f"unpacking DT_RELR of {what} went wrong: {'; '.join(problems)}")
    return after


def _differs(old: bytes, new: bytes, lo: int, hi: int, masked: list[tuple[int, int]]) -> bool:
    """Whether old and new differ in [lo, hi) outside the *masked* ranges."""
    pos = lo
    for m_lo, m_hi in [*sorted(masked), (hi, hi)]:
        stop = min(max(m_lo, pos), hi)
        if old[pos:stop] != new[pos:stop]:
            return True
        pos = max(pos, min(m_hi, hi))
    return False
