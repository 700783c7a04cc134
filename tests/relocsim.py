"""A small relocation simulator: load an ELF library's segments at a base address and apply
its relative relocations the way musl's loader does, DT_RELR included (as musl ≥ 1.2.4 does).

Written apart from ``muslwheel.relr`` on purpose: it is the oracle the rewriter is checked
against. It reads everything from the loaded image, as a loader does (the dynamic section
through PT_DYNAMIC, the tables through their addresses), and knows nothing of sections.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

#: e_machine -> R_*_RELATIVE, from each psABI.
RELATIVE = {
    62: 8,  # x86_64: R_X86_64_RELATIVE
    3: 8,  # i386: R_386_RELATIVE
    183: 1027,  # aarch64: R_AARCH64_RELATIVE
    40: 23,  # arm: R_ARM_RELATIVE
    21: 22,  # ppc64: R_PPC64_RELATIVE
    22: 12,  # s390x: R_390_RELATIVE
    243: 3,  # riscv: R_RISCV_RELATIVE
    258: 3,  # loongarch: R_LARCH_RELATIVE
}


@dataclass
class Loaded:
    memory: bytearray  #: the image from vaddr 0 up, relocated
    base: int
    others: list[tuple[int, int, int | None]]  #: non-relative relocations (offset, info, addend)
    dynamic: tuple[int, int]  #: vaddr range of the dynamic section
    segments: list[tuple[int, int]]  #: vaddr ranges of the PT_LOAD file images
    relocated: set[int]  #: addresses written by relative relocations


def load_and_relocate(data: bytes, base: int) -> Loaded:
    is64 = data[4] == 2
    e = "<" if data[5] == 1 else ">"
    word = "Q" if is64 else "I"
    wsize = 8 if is64 else 4
    machine = struct.unpack_from(e + "H", data, 18)[0]
    if is64:
        phoff, phentsize, phnum = struct.unpack_from(e + "Q", data, 32)[0], *struct.unpack_from(e + "HH", data, 54)
    else:
        phoff, phentsize, phnum = struct.unpack_from(e + "I", data, 28)[0], *struct.unpack_from(e + "HH", data, 42)
    phdrs = []
    for i in range(phnum):
        at = phoff + i * phentsize
        if is64:
            t, _f, off, va, _pa, fs, ms, _al = struct.unpack_from(e + "IIQQQQQQ", data, at)
        else:
            t, off, va, _pa, fs, ms, _f, _al = struct.unpack_from(e + "IIIIIIII", data, at)
        phdrs.append((t, off, va, fs, ms))
    top = max(va + ms for t, _o, va, _fs, ms in phdrs if t == 1)
    mem = bytearray(top)
    segments = []
    for t, off, va, fs, _ms in phdrs:
        if t == 1:
            mem[va : va + fs] = data[off : off + fs]
            segments.append((va, va + fs))
    (dyn_va, dyn_size) = next((va, fs) for t, _o, va, fs, _m in phdrs if t == 2)
    dyn: dict[int, int] = {}
    fmt = e + ("qQ" if is64 else "iI")
    step = struct.calcsize(fmt)
    for i in range(0, dyn_size, step):
        tag, val = struct.unpack_from(fmt, mem, dyn_va + i)
        if tag == 0:
            break
        dyn.setdefault(tag, val)

    rtype = RELATIVE[machine]
    others: list[tuple[int, int, int | None]] = []
    relocated: set[int] = set()

    def put(addr: int, value: int) -> None:
        struct.pack_into(e + word, mem, addr, value & ((1 << (wsize * 8)) - 1))
        relocated.add(addr)

    def at(addr: int) -> int:
        return int(struct.unpack_from(e + word, mem, addr)[0])

    # DT_REL (17, 18) and DT_RELA (7, 8), then DT_RELR (36, 35), in musl's order.
    for addr_tag, size_tag, has_addend in ((17, 18, False), (7, 8, True)):
        if addr_tag not in dyn:
            continue
        entsize = (3 if has_addend else 2) * wsize
        for pos in range(dyn[addr_tag], dyn[addr_tag] + dyn[size_tag], entsize):
            fields = struct.unpack_from(e + word * (3 if has_addend else 2), mem, pos)
            offset, info = fields[0], fields[1]
            kind = info & 0xFFFFFFFF if is64 else info & 0xFF
            if kind == rtype:
                put(offset, base + (fields[2] if has_addend else at(offset)))
            else:
                others.append((offset, info, fields[2] if has_addend else None))
    if 36 in dyn:
        where = 0
        for pos in range(dyn[36], dyn[36] + dyn[35], wsize):
            entry = at(pos)
            if entry & 1 == 0:
                put(entry, at(entry) + base)
                where = entry + wsize
            else:
                for bit in range(1, wsize * 8):
                    if entry >> bit & 1:
                        addr = where + (bit - 1) * wsize
                        put(addr, at(addr) + base)
                where += (wsize * 8 - 1) * wsize
    return Loaded(mem, base, others, (dyn_va, dyn_va + dyn_size), segments, relocated)


def same_after_relocation(old: bytes, new: bytes, base: int) -> list[str]:
    """Differences between what *old* and *new* look like in memory once relocated at *base*,
    over the old file's loaded bytes (bar the ELF header and the dynamic section)."""
    a, b = load_and_relocate(old, base), load_and_relocate(new, base)
    problems = []
    if a.relocated != b.relocated:
        problems.append(f"relocated sites differ: {len(a.relocated)} vs {len(b.relocated)}")
    if a.others != b.others:
        problems.append("other relocations differ")
    header = 64 if old[4] == 2 else 52
    for lo, hi in a.segments:
        lo = max(lo, header)
        pieces = [(lo, min(hi, a.dynamic[0])), (max(lo, a.dynamic[1]), hi)] if lo < a.dynamic[1] else [(lo, hi)]
        for start, stop in pieces:
            if start < stop and a.memory[start:stop] != b.memory[start:stop]:
                problems.append(f"loaded bytes in {start:#x}..{stop:#x} differ")
    return problems
