"""The facts of one ELF file that muslwheel needs, read from its bytes.

:func:`parse_elf` takes the whole file as a bytes-like object (bytes, memoryview) and
returns an :class:`ELFFile`. It reads the ELF header, the program headers (PT_INTERP,
PT_DYNAMIC, PT_LOAD, PT_NOTE, PT_GNU_PROPERTY, PT_TLS), the dynamic section (NEEDED, SONAME,
RPATH, RUNPATH, RELR, FLAGS), the initial-exec TLS relocations, the dynamic symbol table, the GNU version requirements (DT_VERNEED with
DT_VERSYM) and the x86 ISA level property. Sections are consulted only to size the dynamic symbol
table and, on ARM, for ``.ARM.attributes`` (the CPU architecture the code was built for, which no
segment carries: :func:`arm_cpu_arch`); everything else comes from what the loader itself reads,
so a stripped or section-less file reads the same.

Every offset and count is checked against the file before use: a truncated or hostile file
raises :class:`~muslwheel.errors.ELFError` naming the structure at fault, never another error,
and costs time proportional to its size.

Spec: System V gABI, https://refspecs.linuxfoundation.org/elf/gabi4+/contents.html; GNU
extensions (hash, versions, properties): https://refspecs.linuxfoundation.org/LSB_5.0.0/LSB-Core-generic/LSB-Core-generic/symversion.html
"""

from __future__ import annotations

import array
import enum
import errno
import functools
import gc
import itertools
import operator
import os
import stat
import struct
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, NamedTuple, Union, overload

from .errors import ELFError

Buffer = Union[bytes, bytearray, memoryview]

ELF_MAGIC = b"\x7fELF"


class EM(enum.IntEnum):
    """e_machine values of the architectures muslwheel knows."""

    I386 = 3
    PPC = 20
    PPC64 = 21
    S390 = 22
    ARM = 40
    X86_64 = 62
    AARCH64 = 183
    RISCV = 243
    LOONGARCH = 258


class PT(enum.IntEnum):
    LOAD = 1
    DYNAMIC = 2
    INTERP = 3
    NOTE = 4
    TLS = 7
    PHDR = 6
    GNU_PROPERTY = 0x6474E553
    GNU_RELRO = 0x6474E552


class DT(enum.IntEnum):
    NULL = 0
    NEEDED = 1
    HASH = 4
    STRTAB = 5
    SYMTAB = 6
    RELA = 7
    RELASZ = 8
    RELAENT = 9
    STRSZ = 10
    SYMENT = 11
    SONAME = 14
    RPATH = 15
    REL = 17
    RELSZ = 18
    RELENT = 19
    RUNPATH = 29
    FLAGS = 30
    RELRSZ = 35
    RELR = 36
    RELRENT = 37
    GNU_HASH = 0x6FFFFEF5
    RELACOUNT = 0x6FFFFFF9
    RELCOUNT = 0x6FFFFFFA
    VERSYM = 0x6FFFFFF0
    VERNEED = 0x6FFFFFFE
    VERNEEDNUM = 0x6FFFFFFF


SHT_DYNSYM = 11
STB_LOCAL, STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 0, 1, 2, 10
STT_FUNC, STT_OBJECT, STT_TLS = 2, 1, 6
NT_GNU_PROPERTY_TYPE_0 = 5
GNU_PROPERTY_X86_ISA_1_NEEDED = 0xC0008002
EF_ARM_EABIMASK = 0xFF000000
EF_ARM_EABI_VER5 = 0x05000000
EF_ARM_ABI_FLOAT_HARD = 0x00000400
SHT_ARM_ATTRIBUTES = 0x70000003
#: ``Tag_CPU_arch`` (tag 6 of the ``aeabi`` attributes): its values, as ARM's "Addenda to, and
#: Errata in, the ABI for the Arm Architecture" (IHI 0045) lists them and LLVM spells them
#: (``llvm/Support/ARMBuildAttributes.h``, ``enum CPUArch``)
ARM_CPU_ARCHES = (
    "Pre-v4", "v4", "v4T", "v5T", "v5TE", "v5TEJ", "v6", "v6KZ", "v6T2", "v6K", "v7", "v6-M", "v6S-M",
    "v7E-M", "v8-A", "v8-R", "v8-M.baseline", "v8-M.mainline", "v8.1-A", "v8.2-A", "v8.3-A",
    "v8.1-M.mainline", "v9-A",
)  # fmt: skip

DF_STATIC_TLS = 0x10
#: Per machine, the relocation types musl's loader treats as initial-exec TLS (REL_TPOFF and
#: REL_TPOFF_NEG in its arch/*/reloc.h): in an object loaded by dlopen they fail with
#: "initial-exec TLS resolves to dynamic definition".
TPOFF_RELOCATIONS: dict[int, dict[int, str]] = {
    62: {18: "R_X86_64_TPOFF64"},
    3: {14: "R_386_TLS_TPOFF", 37: "R_386_TLS_TPOFF32"},
    183: {1030: "R_AARCH64_TLS_TPREL64"},
    40: {19: "R_ARM_TLS_TPOFF32"},
    21: {73: "R_PPC64_TPREL64"},
    22: {56: "R_390_TLS_TPOFF"},
    243: {11: "R_RISCV_TLS_TPREL64"},
    258: {11: "R_LARCH_TLS_TPREL64"},
}

# Bound on chains that a hostile file could make long (verneed lists, GNU hash chains).
_MAX_CHAIN = 1 << 20


class Symbol(NamedTuple):
    """One dynamic symbol (index 0 and local symbols are not kept). A tuple: a big library
    has tens of thousands, and tuples are the cheapest objects to make."""

    name: str
    defined: bool
    weak: bool
    #: GNU version the symbol is bound to (``GLIBC_2.17``), or None when unversioned.
    version: str | None = None
    #: The library that version belongs to, for undefined symbols (``libc.so.6``).
    version_file: str | None = None


_NAME = operator.itemgetter(0)
_DEFINED = operator.itemgetter(1)
_WEAK_FIELD = operator.itemgetter(2)


class SymbolTable(Sequence[Symbol]):
    """A parsed file's kept dynamic symbols, made into :class:`Symbol` tuples the first time
    they are asked for.

    The audit needs only a file's imports and the set of names it defines, which
    :func:`parse_elf` works out from the table's columns; a big C++ library's hundreds of
    thousands of Symbol tuples are made only for a caller that walks every symbol (repair's
    before/after comparison). Compares equal to any sequence of the same symbols."""

    __slots__ = ("_make", "_items")

    def __init__(self, make: Callable[[], tuple[Symbol, ...]]) -> None:
        self._make: Callable[[], tuple[Symbol, ...]] | None = make
        self._items: tuple[Symbol, ...] | None = None

    def _all(self) -> tuple[Symbol, ...]:
        if self._items is None:
            assert self._make is not None
            self._items, self._make = self._make(), None
        return self._items

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> Symbol: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Symbol, ...]: ...

    def __getitem__(self, index: int | slice) -> Symbol | tuple[Symbol, ...]:
        return self._all()[index]

    def __iter__(self) -> Iterator[Symbol]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (SymbolTable, tuple, list)):
            return self._all() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like a list: equal by content, which may change

    def __repr__(self) -> str:
        return f"SymbolTable({self._all()!r})"


@dataclass(frozen=True)
class ELFFile:
    """What an ELF file says about its platform and its dynamic linking."""

    elf_class: int  # 32 or 64
    little_endian: bool
    machine: int
    flags: int
    osabi: int
    elf_type: int
    interpreter: str | None = None
    is_dynamic: bool = False
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    has_relr: bool = False
    symbols: Sequence[Symbol] = ()
    #: GNU version requirements: library file name -> version names (``GLIBC_2.34`` …).
    version_needs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: x86 ISA level required (1 baseline … 4 = x86-64-v4), from GNU_PROPERTY_X86_ISA_1_NEEDED.
    x86_isa_needed: int | None = None
    #: Initial-exec TLS, which musl cannot give an object it loads at run time (dlopen): the
    #: evidence (``DF_STATIC_TLS``, or a TPOFF relocation of the file's own PT_TLS), or None.
    initial_exec_tls: str | None = None
    #: ARM: the file's ``Tag_CPU_arch`` from ``.ARM.attributes`` (6 = v6, 10 = v7:
    #: :data:`ARM_CPU_ARCHES`), None when it has none (or is no ARM file)
    arm_cpu_arch: int | None = None

    @property
    def undefined(self) -> tuple[Symbol, ...]:
        return tuple(s for s in self.symbols if not s.defined)

    # Worked out once per file (a big C++ library has hundreds of thousands of symbols), with
    # C-level iterators; cached_property writes the instance's __dict__, which frozen allows.
    @functools.cached_property
    def defined_names(self) -> frozenset[str]:
        return frozenset(map(_NAME, filter(_DEFINED, self.symbols)))

    @functools.cached_property
    def imports(self) -> tuple[Symbol, ...]:
        """The strong undefined symbols (not defined, not weak), in symbol table order: what
        must bind for the file to load."""
        strong_undefined = map(
            operator.not_, map(operator.or_, map(_DEFINED, self.symbols), map(_WEAK_FIELD, self.symbols))
        )
        return tuple(itertools.compress(self.symbols, strong_undefined))

    @property
    def is_arm_hard_float(self) -> bool:
        """ARM EABI5 with the hard-float ABI (what PEP 656's ``armv7l`` means)."""
        return (
            self.machine == EM.ARM
            and self.flags & EF_ARM_EABIMASK == EF_ARM_EABI_VER5
            and bool(self.flags & EF_ARM_ABI_FLOAT_HARD)
        )


def is_elf(data: Buffer) -> bool:
    return bytes(data[:4]) == ELF_MAGIC


class _Reader:
    """Bounds-checked access to the structures of one ELF image."""

    def __init__(self, data: Buffer) -> None:
        self.data = memoryview(data)
        self.size = len(self.data)

    def slice(self, offset: int, size: int, what: str) -> memoryview:
        if offset < 0 or size < 0 or offset + size > self.size:
            raise ELFError(f"{what} lies outside the file (offset {offset}, size {size}, file size {self.size})")
        return self.data[offset : offset + size]

    def cstring(self, table: memoryview, offset: int, what: str) -> str:
        if offset < 0 or offset >= len(table):
            raise ELFError(f"{what}: string offset {offset} is outside its string table")
        raw = bytes(table[offset : offset + 4096])
        end = raw.find(b"\0")
        if end < 0:
            raise ELFError(f"{what}: string at offset {offset} is not terminated")
        return raw[:end].decode("utf-8", "surrogateescape")


class Segment(NamedTuple):
    """One program header: ``p_type``, ``p_flags``, ``p_offset``, ``p_vaddr``, ``p_filesz``,
    ``p_memsz``, ``p_align`` (``Elf32_Phdr``/``Elf64_Phdr``, whose fields differ in order)."""

    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int


class ProgramHeaders(NamedTuple):
    """What a loader reads to map a file: the header table's place and its entries."""

    elf_type: int
    file_size: int
    phoff: int
    phnum: int
    phentsize: int
    segments: tuple[Segment, ...]


def program_headers(data: Buffer) -> ProgramHeaders:
    """The program header table of the ELF image *data* (every entry, in table order), for
    :mod:`muslwheel.layout`; :class:`ELFError` if the table lies outside the file."""
    r = _Reader(data)
    if r.size < 16 or bytes(r.data[:4]) != ELF_MAGIC or r.data[4] not in (1, 2) or r.data[5] not in (1, 2):
        raise ELFError("not an ELF file (no \\x7fELF magic, or an unknown class or byte order)")
    is64 = r.data[4] == 2
    e = "<" if r.data[5] == 1 else ">"
    hdr_fmt = e + ("HHIQQQIHHHHHH" if is64 else "HHIIIIIHHHHHH")
    hdr = struct.unpack(hdr_fmt, r.slice(16, struct.calcsize(hdr_fmt), "ELF header"))
    e_type, e_phoff, e_phentsize, e_phnum = hdr[0], hdr[4], hdr[8], hdr[9]
    ph_fmt = e + ("IIQQQQQQ" if is64 else "IIIIIIII")
    if e_phnum and e_phentsize < struct.calcsize(ph_fmt):
        raise ELFError(f"program header entry size {e_phentsize} is too small")
    table = r.slice(e_phoff, e_phnum * e_phentsize, "program header table")
    segments = []
    for i in range(e_phnum):
        f = struct.unpack_from(ph_fmt, table, i * e_phentsize)
        if is64:  # type, flags, offset, vaddr, paddr, filesz, memsz, align
            segments.append(Segment(f[0], f[1], f[2], f[3], f[5], f[6], f[7]))
        else:  # type, offset, vaddr, paddr, filesz, memsz, flags, align
            segments.append(Segment(f[0], f[6], f[1], f[2], f[4], f[5], f[7]))
    return ProgramHeaders(e_type, r.size, e_phoff, e_phnum, e_phentsize, tuple(segments))


def parse_elf(data: Buffer, *, headers_only: bool = False) -> ELFFile:
    """Parse the ELF image in *data*; raise :class:`ELFError` if it is not a sound ELF file.

    With *headers_only*, stop after the ELF and program headers and PT_INTERP: enough to tell
    platform and libc family, and *data* may then be just the start of the file.
    """
    r = _Reader(data)
    if r.size < 16 or bytes(r.data[:4]) != ELF_MAGIC:
        raise ELFError("not an ELF file (no \\x7fELF magic)")
    ei_class, ei_data, _ei_version, ei_osabi = r.data[4], r.data[5], r.data[6], r.data[7]
    if ei_class not in (1, 2):
        raise ELFError(f"unknown ELF class {ei_class}")
    if ei_data not in (1, 2):
        raise ELFError(f"unknown ELF data encoding {ei_data}")
    is64 = ei_class == 2
    e = "<" if ei_data == 1 else ">"
    hdr_fmt = e + ("HHIQQQIHHHHHH" if is64 else "HHIIIIIHHHHHH")
    hdr = struct.unpack(hdr_fmt, r.slice(16, struct.calcsize(hdr_fmt), "ELF header"))
    e_type, e_machine, _ver, _entry, e_phoff, e_shoff, e_flags = hdr[:7]
    _ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, _shstrndx = hdr[7:]

    ph_fmt = e + ("IIQQQQQQ" if is64 else "IIIIIIII")
    ph_size = struct.calcsize(ph_fmt)
    if e_phnum and e_phentsize < ph_size:
        raise ELFError(f"program header entry size {e_phentsize} is too small")
    loads: list[tuple[int, int, int]] = []  # (vaddr, filesz, offset)
    interp_seg = dynamic_seg = None
    has_tls_segment = False
    property_segs: list[tuple[int, int]] = []
    phdrs = r.slice(e_phoff, e_phnum * e_phentsize, "program header table")
    for i in range(e_phnum):
        fields = struct.unpack_from(ph_fmt, phdrs, i * e_phentsize)
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = fields[:6]
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = fields[:5]
        if p_type == PT.LOAD:
            loads.append((p_vaddr, p_filesz, p_offset))
        elif p_type == PT.INTERP:
            interp_seg = (p_offset, p_filesz)
        elif p_type == PT.DYNAMIC:
            dynamic_seg = (p_offset, p_filesz)
        elif p_type in (PT.GNU_PROPERTY, PT.NOTE):
            property_segs.append((p_offset, p_filesz))
        elif p_type == PT.TLS:
            has_tls_segment = True

    interpreter = None
    if interp_seg is not None:
        raw = bytes(r.slice(*interp_seg, "PT_INTERP segment"))
        interpreter = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")

    base = {
        "elf_class": 64 if is64 else 32,
        "little_endian": ei_data == 1,
        "machine": e_machine,
        "flags": e_flags,
        "osabi": ei_osabi,
        "elf_type": e_type,
        "interpreter": interpreter,
    }
    if headers_only:
        return ELFFile(**base, is_dynamic=dynamic_seg is not None)
    if e_machine in (EM.X86_64, EM.I386):
        base["x86_isa_needed"] = _x86_isa_needed(r, property_segs, e, is64)
    if e_machine == EM.ARM:
        base["arm_cpu_arch"] = arm_cpu_arch(r, e, is64, e_shoff, e_shnum, e_shentsize)
    if dynamic_seg is None:
        return ELFFile(**base)

    def to_offset(vaddr: int, what: str) -> int:
        for seg_vaddr, filesz, offset in loads:
            if seg_vaddr <= vaddr < seg_vaddr + filesz:
                return vaddr - seg_vaddr + offset
        raise ELFError(f"{what} address {vaddr:#x} is in no loaded segment")

    dyn_fmt = e + ("qQ" if is64 else "iI")
    dyn = r.slice(*dynamic_seg, "dynamic section")
    tags: dict[int, int] = {}
    needed_offsets: list[int] = []
    rpath_offsets: list[int] = []
    runpath_offsets: list[int] = []
    for d_tag, d_val in struct.iter_unpack(dyn_fmt, dyn[: len(dyn) - len(dyn) % struct.calcsize(dyn_fmt)]):
        if d_tag == DT.NULL:
            break
        if d_tag == DT.NEEDED:
            needed_offsets.append(d_val)
        elif d_tag == DT.RPATH:
            rpath_offsets.append(d_val)
        elif d_tag == DT.RUNPATH:
            runpath_offsets.append(d_val)
        else:
            tags.setdefault(d_tag, d_val)

    if DT.STRTAB not in tags:
        raise ELFError("dynamic section has no DT_STRTAB")
    strtab_off = to_offset(tags[DT.STRTAB], "DT_STRTAB")
    strsz = tags.get(DT.STRSZ, r.size - strtab_off)
    strtab = r.slice(strtab_off, min(strsz, r.size - strtab_off), "dynamic string table")

    def strings(offsets: list[int], what: str) -> tuple[str, ...]:
        return tuple(r.cstring(strtab, o, what) for o in offsets)

    def paths(offsets: list[int], what: str) -> tuple[str, ...]:
        return tuple(p for s in strings(offsets, what) for p in s.split(":") if p)

    symbols, defined_names, imports, version_needs = _dynamic_symbols(
        r, e, is64, tags, strtab, to_offset, e_shoff, e_shnum, e_shentsize
    )
    initial_exec_tls = None
    if tags.get(DT.FLAGS, 0) & DF_STATIC_TLS:
        initial_exec_tls = "DF_STATIC_TLS"
    elif has_tls_segment and e_machine in TPOFF_RELOCATIONS:
        initial_exec_tls = _tpoff_relocation(r, e, is64, tags, to_offset, TPOFF_RELOCATIONS[e_machine])
    elf = ELFFile(
        **base,
        is_dynamic=True,
        needed=strings(needed_offsets, "DT_NEEDED"),
        soname=r.cstring(strtab, tags[DT.SONAME], "DT_SONAME") if DT.SONAME in tags else None,
        rpath=paths(rpath_offsets, "DT_RPATH"),
        runpath=paths(runpath_offsets, "DT_RUNPATH"),
        has_relr=DT.RELR in tags,
        symbols=symbols,
        version_needs=version_needs,
        initial_exec_tls=initial_exec_tls,
    )
    # the cached_properties, filled while the columns are at hand
    if defined_names is not None:
        elf.__dict__["defined_names"] = defined_names
    if imports is not None:
        elf.__dict__["imports"] = imports
    return elf


def _tpoff_relocation(
    r: _Reader, e: str, is64: bool, tags: dict[int, int], to_offset: _ToOffset, types: dict[int, str]
) -> str | None:
    """The name of the first initial-exec TLS relocation in DT_RELA/DT_REL, or None.

    Only the non-relative part is read: linkers put the DT_RELACOUNT/DT_RELCOUNT relative
    relocations first, and those are most of a big library's."""
    for table, size, ent, count, explicit in (
        (DT.RELA, DT.RELASZ, DT.RELAENT, DT.RELACOUNT, True),
        (DT.REL, DT.RELSZ, DT.RELENT, DT.RELCOUNT, False),
    ):
        if table not in tags or not tags.get(size):
            continue
        # r_offset, r_info (, r_addend): only r_info is kept.
        fmt = e + ("8xQ" if is64 else "4xI") + (("8x" if is64 else "4x") if explicit else "")
        entsize = struct.calcsize(fmt)
        if tags.get(ent, entsize) != entsize:
            raise ELFError(f"relocation entry size {tags[ent]} is not {entsize}")
        off = to_offset(tags[table], "relocation table")
        skip = min(tags.get(count, 0), tags[size] // entsize) * entsize
        raw = r.slice(off + skip, tags[size] - tags[size] % entsize - skip, "relocation table")
        # The type is r_info's low 32 bits (64-bit) or low byte (32-bit): one column of the
        # table, searched in C for each TPOFF type; the first entry of any of them is named.
        little = e == "<"
        column: array.array[int] | bytes
        if is64:
            column = array.array(_U32, bytes(raw))
            if little != (sys.byteorder == "little"):
                column.byteswap()
            column = column[(2 if little else 3) :: entsize // 4]
        else:
            column = bytes(raw[(4 if little else 7) :: entsize])
        first = min((_index(column, t) for t in types), default=len(column))
        if first < len(column):
            return f"{types[column[first]]} relocation"
    return None


def _index(column: array.array[int] | bytes, value: int) -> int:
    """Where *value* first occurs in *column*, or past its end."""
    if isinstance(column, bytes):
        found = column.find(value) if value < 256 else -1
        return found if found >= 0 else len(column)
    try:
        return column.index(value)
    except ValueError:
        return len(column)


_ToOffset = Callable[[int, str], int]


def _dynamic_symbols(
    r: _Reader,
    e: str,
    is64: bool,
    tags: dict[int, int],
    strtab: memoryview,
    to_offset: _ToOffset,
    e_shoff: int,
    e_shnum: int,
    e_shentsize: int,
) -> tuple[Sequence[Symbol], frozenset[str] | None, tuple[Symbol, ...] | None, dict[str, tuple[str, ...]]]:
    """The kept dynamic symbols, the names of the defined ones and the imports (None: the
    ELFFile works them out from the symbols), and the version needs."""
    if DT.SYMTAB not in tags:
        return (), frozenset(), (), {}
    sym_size = 24 if is64 else 16  # Elf64_Sym, Elf32_Sym
    symtab_addr = tags[DT.SYMTAB]
    symtab_off = to_offset(symtab_addr, "DT_SYMTAB")
    count = _dynsym_count(r, e, is64, tags, symtab_addr, sym_size, to_offset, e_shoff, e_shnum, e_shentsize)
    raw = r.slice(symtab_off, count * sym_size, f"dynamic symbol table ({count} symbols)")

    versions_by_index, version_needs = _version_needs(r, e, tags, strtab, to_offset)
    versym = None
    if versions_by_index and DT.VERSYM in tags:
        vs_off = to_offset(tags[DT.VERSYM], "DT_VERSYM")
        n = min(count, (r.size - vs_off) // 2)
        versym = [v for (v,) in struct.iter_unpack(e + "H", r.slice(vs_off, n * 2, "version symbol table"))]

    table = _Columns(bytes(raw), e, is64, count, bytes(strtab), versym, versions_by_index)
    # Hundreds of thousands of objects, none of them in a cycle: the cyclic collector would
    # only traverse them again and again while they are made.
    collecting = gc.isenabled()
    gc.disable()
    try:
        fast = table.names_and_imports()
        if fast is not None:
            defined_names, imports = fast
            return SymbolTable(table.symbols), defined_names, imports, version_needs
        return table.symbols(), None, None, version_needs
    finally:
        if collecting:
            gc.enable()


def _byte_table(pred: Callable[[int], bool]) -> bytes:
    return bytes(int(pred(b)) for b in range(256))


#: bytes.translate tables over a column of st_info bytes (binding = st_info >> 4) or of one
#: byte of st_shndx: 1 where the condition holds, else 0.
_NOT_LOCAL = _byte_table(lambda b: b >> 4 != 0)
_WEAK = _byte_table(lambda b: b >> 4 == STB_WEAK)
_NONZERO = _byte_table(lambda b: b != 0)
_BOOL = (False, True)
_U32 = next(code for code in "IL" if array.array(code).itemsize == 4)
_MAKE_SYMBOL = functools.partial(tuple.__new__, Symbol)  # Symbol(...) without a Python-level call


class _Columns:
    """A dynamic symbol table read column by column, with C-level iterators (bytes slices and
    translate, map, compress, zip) instead of a Python loop per symbol: a big C++ library has
    hundreds of thousands.

    Kept are the entries that are not index 0, not STB_LOCAL and named. Every kept entry's
    name must lie in the string table and end with its NUL, or the file is refused, naming
    the first entry that does not."""

    def __init__(
        self,
        data: bytes,
        e: str,
        is64: bool,
        count: int,
        strtab: bytes,
        versym: list[int] | None,
        versions_by_index: dict[int, tuple[str, str]],
    ) -> None:
        self.count, self.strtab, self.versym, self.versions_by_index = count, strtab, versym, versions_by_index
        size = 24 if is64 else 16
        # Elf64_Sym: st_name(4) st_info(1) st_other(1) st_shndx(2) st_value(8) st_size(8);
        # Elf32_Sym: st_name(4) st_value(4) st_size(4) st_info(1) st_other(1) st_shndx(2).
        info_at, shndx_at = (4, 6) if is64 else (12, 14)
        self.info = data[info_at::size]
        words = array.array(_U32, data)  # st_name is the first 32-bit word of each entry
        if (e == "<") != (sys.byteorder == "little"):
            words.byteswap()
        self.st_name = words[:: size // 4]
        keep = bytearray(map(operator.and_, self.info.translate(_NOT_LOCAL), map(bool, self.st_name)))
        if keep:
            keep[0] = 0  # index 0 is the undefined symbol
        self.keep = keep
        #: 1 where st_shndx is not SHN_UNDEF, one byte per entry.
        self.defined = bytes(
            map(operator.or_, data[shndx_at::size].translate(_NONZERO), data[shndx_at + 1 :: size].translate(_NONZERO))
        )

    def _versions(self, kept: Iterable[int]) -> tuple[Iterable[str | None], Iterable[str | None]]:
        """The version and version file of the entries at the indices *kept*."""
        if self.versym is None:
            return itertools.repeat(None), itertools.repeat(None)
        indices: list[int | None] = [v & 0x7FFF for v in self.versym]
        indices += [None] * (self.count - len(indices))
        at = list(map(indices.__getitem__, kept))
        version_of: dict[int | None, str] = {k: v for k, (_f, v) in self.versions_by_index.items()}
        file_of: dict[int | None, str] = {k: f for k, (f, _v) in self.versions_by_index.items()}
        return map(version_of.get, at), map(file_of.get, at)

    def _bad_name(self, ends: list[int], offsets: list[int], mask: Iterable[int]) -> ELFError:
        """The error for the first entry under *mask* whose name has no end (``ends`` -1)."""
        first = ends.index(-1)
        index = list(itertools.compress(range(self.count), mask))[first]
        return ELFError(f"symbol {index}: name offset {offsets[first]} is outside the string table")

    def symbols(self) -> tuple[Symbol, ...]:
        """Every kept entry as a Symbol, in table order."""
        keep, strtab = self.keep, self.strtab
        offsets = list(itertools.compress(self.st_name, keep))
        if strtab.isascii():
            text = strtab.decode("ascii")
            ends = list(map(text.find, itertools.repeat("\0"), offsets))
            if -1 in ends:
                raise self._bad_name(ends, offsets, keep)
            names = list(map(text.__getitem__, map(slice, offsets, ends)))
        else:
            ends = list(map(strtab.find, itertools.repeat(b"\0"), offsets))
            if -1 in ends:
                raise self._bad_name(ends, offsets, keep)
            names = list(
                map(
                    bytes.decode,
                    map(strtab.__getitem__, map(slice, offsets, ends)),
                    itertools.repeat("utf-8"),
                    itertools.repeat("surrogateescape"),
                )
            )
        defined = map(_BOOL.__getitem__, itertools.compress(self.defined, keep))
        weak = map(_BOOL.__getitem__, itertools.compress(self.info.translate(_WEAK), keep))
        versions, files = self._versions(itertools.compress(range(self.count), keep))
        return tuple(map(_MAKE_SYMBOL, zip(names, defined, weak, versions, files)))

    def names_and_imports(self) -> tuple[frozenset[str], tuple[Symbol, ...]] | None:
        """The names the kept entries define, and the imports (the strong undefined entries,
        as Symbols, in table order), without a Symbol or a slice per defined entry; None where
        :meth:`symbols` must decide (a non-ASCII table, or a name without its end: it names
        the entry).

        The string table is split at its NULs once, and the pieces kept that start where a
        defined entry's name starts. A name that starts inside another string (linkers let a
        name share the tail of a longer one) is read on its own."""
        if not self.strtab.isascii():
            return None
        text = self.strtab.decode("ascii")
        pieces = text.split("\0")
        pieces.pop()  # what follows the last NUL is no terminated string
        starts = list(itertools.accumulate(map(operator.add, map(len, pieces), itertools.repeat(1)), initial=0))
        starts.pop()
        kept_defined = bytes(map(operator.and_, self.keep, self.defined))
        offsets = set(itertools.compress(self.st_name, kept_defined))
        at_start = list(map(offsets.__contains__, starts))
        names = frozenset(itertools.compress(pieces, at_start))
        if at_start.count(True) < len(offsets):  # some names start inside a string
            offsets.difference_update(itertools.compress(starts, at_start))
            inside = list(offsets)
            ends = list(map(text.find, itertools.repeat("\0"), inside))
            if -1 in ends:
                return None
            names = names.union(map(text.__getitem__, map(slice, inside, ends)))

        undefined = bytes(map(operator.gt, self.keep, self.defined))  # kept, not defined
        u_offsets = list(itertools.compress(self.st_name, undefined))
        ends = list(map(text.find, itertools.repeat("\0"), u_offsets))
        if -1 in ends:
            return None
        strong = bytes(map(operator.gt, undefined, self.info.translate(_WEAK)))  # and not weak
        i_names = itertools.compress(
            map(text.__getitem__, map(slice, u_offsets, ends)), itertools.compress(strong, undefined)
        )
        versions, files = self._versions(itertools.compress(range(self.count), strong))
        never = itertools.repeat(False)
        return names, tuple(map(_MAKE_SYMBOL, zip(i_names, never, never, versions, files)))


def _dynsym_count(
    r: _Reader,
    e: str,
    is64: bool,
    tags: dict[int, int],
    symtab_addr: int,
    sym_size: int,
    to_offset: _ToOffset,
    e_shoff: int,
    e_shnum: int,
    e_shentsize: int,
) -> int:
    """The number of dynamic symbols: from the .dynsym section, else the loader's hash tables."""
    sh_fmt = e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    sh_size = struct.calcsize(sh_fmt)
    if e_shoff and e_shnum:
        if e_shentsize < sh_size:
            raise ELFError(f"section header entry size {e_shentsize} is too small")
        table = r.slice(e_shoff, e_shnum * e_shentsize, "section header table")
        for i in range(e_shnum):
            f = struct.unpack_from(sh_fmt, table, i * e_shentsize)
            if f[1] == SHT_DYNSYM and f[3] == symtab_addr and f[9]:
                return int(f[5] // f[9])
    if DT.HASH in tags:
        off = to_offset(tags[DT.HASH], "DT_HASH")
        _nbucket, nchain = struct.unpack(e + "II", r.slice(off, 8, "DT_HASH table"))
        return int(nchain)
    if DT.GNU_HASH in tags:
        return _gnu_hash_count(r, e, is64, to_offset(tags[DT.GNU_HASH], "DT_GNU_HASH"))
    return 0


def _uleb128(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ELFError(".ARM.attributes: truncated ULEB128")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _skip_string(data: bytes, pos: int) -> int:
    end = data.find(b"\0", pos)
    if end < 0:
        raise ELFError(".ARM.attributes: unterminated string")
    return end + 1


def arm_cpu_arch(r: _Reader, e: str, is64: bool, e_shoff: int, e_shnum: int, e_shentsize: int) -> int | None:
    """``Tag_CPU_arch`` of the file-wide attributes in the ``SHT_ARM_ATTRIBUTES`` section, None
    when there is none. The format (ARM's "ELF for the Arm Architecture" (IHI 0044), *Build
    attributes*; binutils' ``bfd/elf-attrs.c``, ``_bfd_elf_parse_attributes``)::

        'A'                                     format version
        uint32 length, "aeabi\0"               a vendor subsection (others are skipped)
          uint8 1 (Tag_File), uint32 length     the attributes of the whole file
            ULEB128 tag, ULEB128 or NUL-terminated value …

    A tag's value is a string for tags 4, 5 (CPU names) and 67 (Tag_conformance), a number and a
    string for 32 (Tag_compatibility), else for odd tags above 32 a string, and a number
    otherwise."""
    sh_fmt = e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    if not (e_shoff and e_shnum) or e_shentsize < struct.calcsize(sh_fmt):
        return None
    table = r.slice(e_shoff, e_shnum * e_shentsize, "section header table")
    for i in range(e_shnum):
        f = struct.unpack_from(sh_fmt, table, i * e_shentsize)
        if f[1] == SHT_ARM_ATTRIBUTES:
            data = bytes(r.slice(f[4], f[5], ".ARM.attributes section"))
            return _aeabi_cpu_arch(data, e)
    return None


def _aeabi_cpu_arch(data: bytes, e: str) -> int | None:
    if not data or data[0] != ord("A"):
        return None
    pos = 1
    while pos + 4 <= len(data):
        (length,) = struct.unpack_from(e + "I", data, pos)
        end = pos + length
        if length < 5 or end > len(data):
            raise ELFError(".ARM.attributes: bad subsection length")
        vendor_end = _skip_string(data, pos + 4)
        if data[pos + 4 : vendor_end - 1] == b"aeabi":
            sub = vendor_end
            while sub + 5 <= end:
                kind = data[sub]
                (size,) = struct.unpack_from(e + "I", data, sub + 1)
                if size < 5 or sub + size > end:
                    raise ELFError(".ARM.attributes: bad attribute list length")
                if kind == 1:  # Tag_File
                    return _tag_value(data[sub + 5 : sub + size], 6)
                sub += size
        pos = end
    return None


def _tag_value(data: bytes, wanted: int) -> int | None:
    pos = 0
    while pos < len(data):
        tag, pos = _uleb128(data, pos)
        if tag in (4, 5, 67) or (tag > 32 and tag % 2):
            pos = _skip_string(data, pos)
            continue
        value, pos = _uleb128(data, pos)
        if tag == wanted:
            return value
        if tag == 32:  # Tag_compatibility: a flag, then a vendor name
            pos = _skip_string(data, pos)
    return None


def _gnu_hash_count(r: _Reader, e: str, is64: bool, off: int) -> int:
    nbuckets, symoffset, bloom_size, _shift = struct.unpack(e + "IIII", r.slice(off, 16, "DT_GNU_HASH header"))
    buckets_off = off + 16 + bloom_size * (8 if is64 else 4)
    buckets = struct.unpack(e + f"{nbuckets}I", r.slice(buckets_off, nbuckets * 4, "DT_GNU_HASH buckets"))
    last = max(buckets, default=0)
    if last < symoffset:
        return int(symoffset)
    chain_off = buckets_off + nbuckets * 4
    index = last
    for _ in range(_MAX_CHAIN):
        (h,) = struct.unpack(e + "I", r.slice(chain_off + (index - symoffset) * 4, 4, "DT_GNU_HASH chain"))
        index += 1
        if h & 1:
            return index
    raise ELFError("DT_GNU_HASH chain does not end")


def _version_needs(
    r: _Reader, e: str, tags: dict[int, int], strtab: memoryview, to_offset: _ToOffset
) -> tuple[dict[int, tuple[str, str]], dict[str, tuple[str, ...]]]:
    """Walk DT_VERNEED: {version index: (file, version)} and {file: versions}."""
    if DT.VERNEED not in tags:
        return {}, {}
    by_index: dict[int, tuple[str, str]] = {}
    needs: dict[str, tuple[str, ...]] = {}
    off = to_offset(tags[DT.VERNEED], "DT_VERNEED")
    remaining = tags.get(DT.VERNEEDNUM, _MAX_CHAIN)
    seen: set[int] = set()
    while remaining > 0:
        if off in seen:
            raise ELFError("DT_VERNEED entries form a loop")
        seen.add(off)
        remaining -= 1
        _ver, cnt, vn_file, vn_aux, vn_next = struct.unpack(e + "HHIII", r.slice(off, 16, "DT_VERNEED entry"))
        file = r.cstring(strtab, vn_file, "DT_VERNEED file")
        names = []
        aux = off + vn_aux
        for _ in range(cnt):
            if aux in seen:
                raise ELFError("DT_VERNEED auxiliary entries form a loop")
            seen.add(aux)
            _hash, _flags, other, vna_name, vna_next = struct.unpack(
                e + "IHHII", r.slice(aux, 16, "DT_VERNEED aux entry")
            )
            name = r.cstring(strtab, vna_name, "DT_VERNEED version")
            names.append(name)
            by_index[other & 0x7FFF] = (file, name)
            if vna_next == 0:
                break
            aux += vna_next
        needs[file] = needs.get(file, ()) + tuple(names)
        if vn_next == 0:
            break
        off += vn_next
        if len(seen) > _MAX_CHAIN:
            raise ELFError("DT_VERNEED has too many entries")
    return by_index, needs


def _x86_isa_needed(r: _Reader, segs: list[tuple[int, int]], e: str, is64: bool) -> int | None:
    """The highest x86-64 ISA level named by a GNU_PROPERTY_X86_ISA_1_NEEDED note, if any."""
    align = 8 if is64 else 4
    for seg_off, seg_size in segs:
        if seg_off < 0 or seg_off + seg_size > r.size:
            continue  # a bad note segment is not worth refusing the file for
        note = bytes(r.data[seg_off : seg_off + seg_size])
        pos = 0
        while pos + 12 <= len(note):
            namesz, descsz, ntype = struct.unpack_from(e + "III", note, pos)
            name_end = pos + 12 + namesz
            desc_start = name_end + (-namesz % 4)
            desc_end = desc_start + descsz
            if desc_end > len(note):
                break
            if ntype == NT_GNU_PROPERTY_TYPE_0 and note[pos + 12 : name_end].rstrip(b"\0") == b"GNU":
                p = desc_start
                while p + 8 <= desc_end:
                    pr_type, pr_datasz = struct.unpack_from(e + "II", note, p)
                    if pr_type == GNU_PROPERTY_X86_ISA_1_NEEDED and pr_datasz >= 4 and p + 12 <= desc_end:
                        (bits,) = struct.unpack_from(e + "I", note, p + 8)
                        return bits.bit_length() or None
                    p += 8 + pr_datasz + (-pr_datasz % align)
            pos = desc_end + (-descsz % 4)
    return None


_HEADER_PREFIX = 1 << 16


class NotRegularFile(OSError):
    """A path that names a pipe, socket or device, not a file: reading it could wait for a
    writer, or never end (``/dev/zero``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(errno.EINVAL, "not a regular file (a pipe, socket or device)", os.fspath(path))


def open_regular_fd(path: str | os.PathLike[str]) -> int:
    """A descriptor reading *path* if it is a regular file (symlinks followed), else
    :class:`NotRegularFile` (``IsADirectoryError`` for a directory), without waiting on a FIFO
    (``O_NONBLOCK``: opening one for reading would wait for a writer, forever)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
        raise NotRegularFile(path)
    return fd


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """*path* opened for reading as a file object (see :func:`open_regular_fd`)."""
    return os.fdopen(open_regular_fd(path), "rb")


def read_regular(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the regular file at *path* (see :func:`open_regular`)."""
    with open_regular(path) as f:
        return f.read()


def read_elf_headers(path: str | os.PathLike[str]) -> ELFFile:
    """The headers-only facts of the ELF file at *path* (see :func:`parse_elf`), reading just
    its start unless its headers lie further in."""
    with open_regular(path) as f:
        data = f.read(_HEADER_PREFIX)
        try:
            return parse_elf(data, headers_only=True)
        except ELFError as exc:
            if len(data) < _HEADER_PREFIX:
                raise ELFError(f"{os.fspath(path)}: {exc}") from None
            data += f.read()
    try:
        return parse_elf(data, headers_only=True)
    except ELFError as exc:
        raise ELFError(f"{os.fspath(path)}: {exc}") from None


def read_elf(path: str | os.PathLike[str]) -> ELFFile:
    """Parse the ELF file at *path*; errors name the file."""
    data = read_regular(path)
    try:
        return parse_elf(data)
    except ELFError as exc:
        raise ELFError(f"{os.fspath(path)}: {exc}") from None
