"""Whether musl's loader can map an ELF file as its program headers lay it out.

``repair`` rewrites files (patchelf, :mod:`muslwheel.relr`, ``strip``); each rewrite moves
sections and segments, and a layout the loader cannot map fails only at import time, far from
the repair that made it (auditwheel#716: ``strip`` after patchelf, "ELF load command
address/offset not page-aligned"). This module checks the layout as musl's ``map_library``
(``ldso/dynlink.c``) will map it, so a rewritten file that would not load is never written.

What ``map_library`` does with the headers (musl 1.2.5, ``ldso/dynlink.c``): it reads
``e_phnum`` entries of ``e_phentsize`` bytes at ``e_phoff``; takes PT_DYNAMIC's ``p_vaddr``
(no PT_DYNAMIC: ``goto noexec``); maps each PT_LOAD with
``mmap_fixed(base+(p_vaddr & -PAGE_SIZE), ..., fd, p_offset & -PAGE_SIZE)`` (so a segment's
bytes land where it says only when ``p_offset`` and ``p_vaddr`` agree modulo the page size);
zero-fills from ``p_vaddr+p_filesz`` to ``p_vaddr+p_memsz`` in a writable segment; records
the program headers for ``dl_iterate_phdr`` only when ``e_phoff`` lies inside a PT_LOAD's
file bytes (else ``dso->phdr`` stays 0 and the unwinder, which finds ``.eh_frame_hdr``
through ``dl_iterate_phdr``, cannot unwind through the library: C++ exceptions abort);
then reads the dynamic array at ``base+dyn``, the TLS image at ``base+tls_image``, and
protects ``PT_GNU_RELRO``'s pages read-only after relocating. The page size is the running
kernel's: 4 KiB everywhere, up to 64 KiB on aarch64, ppc64le and loongarch64 (their kernels'
``ARM64_64K_PAGES``, ``PPC_64K_PAGES``, ``PAGE_SIZE_64KB``); a linker promises a file maps
with pages up to its segments' ``p_align`` (the gABI: ``p_vaddr`` ≡ ``p_offset`` modulo
``p_align``).

The rules (each a name a refusal quotes, docs/policy.md):

- ``load``: at least one PT_LOAD;
- ``load-order``: PT_LOAD entries sorted by ``p_vaddr`` (gABI), their address ranges
  (``p_vaddr`` .. ``p_vaddr+p_memsz``) not overlapping;
- ``load-size``: ``p_filesz`` ≤ ``p_memsz``;
- ``load-in-file``: ``p_offset+p_filesz`` within the file (a mapping past the end faults);
- ``load-align``: ``p_align`` 0, 1 or a power of two;
- ``load-congruent``: ``p_offset`` ≡ ``p_vaddr`` modulo the page size, 4 KiB and, where the
  segment promises more (``p_align``), up to the arch's largest page;
- ``dynamic``: a file that had PT_DYNAMIC has one, and its bytes lie in one PT_LOAD's file
  bytes, at the place that segment maps them;
- ``phdr``: the program header table lies in a PT_LOAD's file bytes; a PT_PHDR names it;
- ``tls``: PT_TLS's image lies in a PT_LOAD's file bytes;
- ``relro``: PT_GNU_RELRO lies inside one PT_LOAD.

Pure: :class:`~muslwheel.elf.ProgramHeaders` in, :class:`LayoutProblem` list out.
"""

from __future__ import annotations

from typing import NamedTuple

from .elf import PT, ProgramHeaders, Segment

#: the smallest page of every arch muslwheel knows
MIN_PAGE = 4096


class LayoutProblem(NamedTuple):
    rule: str
    why: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.why}"


def _within_file_bytes(loads: list[Segment], offset: int, vaddr: int, size: int) -> bool:
    """Whether bytes at *offset* in the file, *size* long, are mapped at *vaddr* by a PT_LOAD."""
    return any(
        s.offset <= offset and offset + size <= s.offset + s.filesz and vaddr - s.vaddr == offset - s.offset
        for s in loads
    )


def check_layout(ph: ProgramHeaders, *, max_page: int = MIN_PAGE, dynamic: bool = True) -> list[LayoutProblem]:
    """The rules the layout *ph* breaks (empty: musl maps it). *max_page*: the arch's largest
    page; *dynamic*: whether the file must keep a PT_DYNAMIC (it had one before the rewrite)."""
    problems: list[LayoutProblem] = []
    loads = [s for s in ph.segments if s.type == PT.LOAD]
    if not loads:
        return [LayoutProblem("load", "no PT_LOAD segment")]
    for i, s in enumerate(loads):
        where = f"PT_LOAD #{i} (offset {s.offset:#x}, vaddr {s.vaddr:#x})"
        if s.filesz > s.memsz:
            problems.append(LayoutProblem("load-size", f"{where}: p_filesz {s.filesz:#x} > p_memsz {s.memsz:#x}"))
        if s.offset + s.filesz > ph.file_size:
            problems.append(
                LayoutProblem(
                    "load-in-file",
                    f"{where}: ends at {s.offset + s.filesz:#x}, past the file's {ph.file_size:#x} bytes",
                )
            )
        if s.align > 1 and s.align & (s.align - 1):
            problems.append(LayoutProblem("load-align", f"{where}: p_align {s.align:#x} is not a power of two"))
            page = MIN_PAGE
        else:
            page = min(max_page, max(MIN_PAGE, s.align))
        if (s.offset - s.vaddr) % page:
            problems.append(
                LayoutProblem("load-congruent", f"{where}: p_offset and p_vaddr differ modulo the page size {page:#x}")
            )
    for i, (a, b) in enumerate(zip(loads, loads[1:])):
        if b.vaddr < a.vaddr:
            problems.append(
                LayoutProblem("load-order", f"PT_LOAD #{i + 1} (vaddr {b.vaddr:#x}) is below #{i} ({a.vaddr:#x})")
            )
        elif a.vaddr + a.memsz > b.vaddr:
            problems.append(
                LayoutProblem(
                    "load-order", f"PT_LOAD #{i} ends at {a.vaddr + a.memsz:#x}, inside #{i + 1} (vaddr {b.vaddr:#x})"
                )
            )
    dyn = [s for s in ph.segments if s.type == PT.DYNAMIC]
    if dynamic and not dyn:
        problems.append(LayoutProblem("dynamic", "no PT_DYNAMIC (musl's loader refuses the file)"))
    for s in dyn:
        if not _within_file_bytes(loads, s.offset, s.vaddr, s.filesz):
            problems.append(
                LayoutProblem("dynamic", f"PT_DYNAMIC (offset {s.offset:#x}) is not mapped where it says by a PT_LOAD")
            )
    if dyn or dynamic:
        table = ph.phnum * ph.phentsize
        if not any(s.offset <= ph.phoff and ph.phoff + table <= s.offset + s.filesz for s in loads):
            problems.append(LayoutProblem("phdr", f"the program headers (offset {ph.phoff:#x}) are in no PT_LOAD"))
        for s in ph.segments:
            if s.type == PT.PHDR and (s.offset != ph.phoff or s.filesz != table):
                problems.append(
                    LayoutProblem(
                        "phdr", f"PT_PHDR (offset {s.offset:#x}) is not the program header table ({ph.phoff:#x})"
                    )
                )
    for s in ph.segments:
        if s.type == PT.TLS and s.filesz and not _within_file_bytes(loads, s.offset, s.vaddr, s.filesz):
            problems.append(
                LayoutProblem("tls", f"PT_TLS's image (offset {s.offset:#x}) is not mapped where it says by a PT_LOAD")
            )
        if s.type == PT.GNU_RELRO and not any(
            ld.vaddr <= s.vaddr and s.vaddr + s.memsz <= ld.vaddr + ld.memsz for ld in loads
        ):
            problems.append(LayoutProblem("relro", f"PT_GNU_RELRO (vaddr {s.vaddr:#x}) is inside no PT_LOAD"))
    return problems
