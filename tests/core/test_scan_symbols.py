"""The audit's fast symbol reader (column-wise, for scan's throughput) says exactly what a plain
reader that walks .dynsym one entry at a time says: for 64/32-bit, little/big-endian libraries
built by the suite, with thousands of symbols, weak and undefined ones, versioned imports and
non-ASCII names; names that start inside another string, as GNU ld's tail merging makes them;
and a name offset outside the string table is still the reader's own error."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conftest import Toolchain, write_c

from muslwheel.elf import parse_elf
from muslwheel.errors import ELFError

SOURCE = (
    "\n".join(f"int f{i}(int x) {{ return x + {i}; }}" for i in range(3000))
    + """
#include <stdlib.h>
#include <string.h>
int caf\u00e9_\u00fcber(int x) { return x * 2; }       /* a non-ASCII (UTF-8) symbol name */
int xf7(int x) { return x; }                          /* "f7" is its tail (see tail_merged) */
__attribute__((weak)) int maybe_there(int);           /* weak, undefined */
__attribute__((weak)) int weakly_defined(void) { return 1; }
static int hidden_helper(int x) { return x - 1; }     /* local: not kept */
extern int needed_elsewhere(int);                     /* strong, undefined */
int use(int x) {
    char *p = malloc(16);
    strcpy(p, "x");
    return hidden_helper(x) + (maybe_there ? maybe_there(x) : 0) + needed_elsewhere(x) + (int)strlen(p);
}
"""
)


def dynsym_layout(data: bytes | bytearray) -> tuple[int, int, int, int, int]:
    """Where .dynsym and its string table lie, by the section headers: (offset, size in
    bytes, entry size, string table offset, string table size)."""
    is64, e = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        shoff, shentsize, shnum = struct.unpack_from(e + "Q10xHH", data, 0x28)
        sh_fmt = e + "IIQQQQIIQQ"
    else:
        shoff, shentsize, shnum = struct.unpack_from(e + "I10xHH", data, 0x20)
        sh_fmt = e + "IIIIIIIIII"
    sections = [struct.unpack_from(sh_fmt, data, shoff + i * shentsize) for i in range(shnum)]
    dynsym = next(s for s in sections if s[1] == 11)  # SHT_DYNSYM
    dynstr = sections[dynsym[6]]  # sh_link
    return dynsym[4], dynsym[5], 24 if is64 else 16, dynstr[4], dynstr[5]


def plain_symbols(data: bytes) -> list[tuple[str, bool, bool]]:
    """(name, defined, weak) of the kept .dynsym entries (not index 0, not local, named), read
    entry by entry through the section headers: the reader as it was before it was made fast."""
    is64, e = data[4] == 2, "<" if data[5] == 1 else ">"
    sym_fmt = e + ("IBBHQQ" if is64 else "IIIBBH")
    symtab, symtab_size, size, strtab_off, strtab_size = dynsym_layout(data)
    strtab = data[strtab_off : strtab_off + strtab_size]
    out = []
    for index in range(1, symtab_size // size):
        fields = struct.unpack_from(sym_fmt, data, symtab + index * size)
        st_name, st_info, st_shndx = (fields[0], fields[1], fields[3]) if is64 else (fields[0], fields[3], fields[5])
        if st_info >> 4 == 0 or st_name == 0:
            continue
        name = strtab[st_name : strtab.index(b"\0", st_name)].decode("utf-8", "surrogateescape")
        out.append((name, st_shndx != 0, st_info >> 4 == 2))
    return out


#: The non-ASCII name alone (a string table that is not ASCII is read by the reader's other path).
NON_ASCII = "int caf\u00e9_\u00fcber(int x) { return x * 2; }"
ARCHES = ("x86_64", "i686", "s390x", "armv7l")  # 64/32-bit, little/big-endian


@pytest.fixture(scope="module")
def libraries(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Per arch, the library with the non-ASCII name ("x86_64") and without it ("x86_64-ascii")."""
    tmp = tmp_path_factory.mktemp("symbols")
    sources = {"": write_c(tmp / "many.c", SOURCE), "-ascii": write_c(tmp / "ascii.c", SOURCE.replace(NON_ASCII, ""))}
    return {
        arch + kind: toolchain.build(
            arch, tmp / f"libmany-{arch}{kind}.so", [c], shared=True, use_zig=True
        ).read_bytes()
        for arch in ARCHES
        for kind, c in sources.items()
    }


@pytest.mark.parametrize("kind", ["", "-ascii"])
@pytest.mark.parametrize("arch", ARCHES)
def test_fast_reader_equals_the_plain_reader(libraries: dict[str, bytes], arch: str, kind: str) -> None:
    data = libraries[arch + kind]
    elf = parse_elf(data)
    plain = plain_symbols(data)
    assert [(s.name, s.defined, s.weak) for s in elf.symbols] == plain
    assert all(type(s.defined) is bool and type(s.weak) is bool for s in elf.symbols)
    assert elf.defined_names == {name for name, defined, _ in plain if defined}
    assert [s.name for s in elf.imports] == [name for name, defined, weak in plain if not defined and not weak]
    # What the fixture is there for: every kind of entry is present and read as such.
    names = {name: (defined, weak) for name, defined, weak in plain}
    assert len(elf.defined_names) > 3000
    assert ("caf\u00e9_\u00fcber" in names) == (kind == "")
    assert names["maybe_there"] == (False, True)
    assert names["weakly_defined"] == (True, True)
    assert names["needed_elsewhere"] == (False, False)
    assert "malloc" in {s.name for s in elf.imports}
    assert "hidden_helper" not in names


@pytest.mark.parametrize("kind", ["", "-ascii"])
def test_a_name_offset_outside_the_string_table_is_an_elf_error(libraries: dict[str, bytes], kind: str) -> None:
    data = bytearray(libraries["x86_64" + kind])
    symtab, _size, entsize, _strtab, dynstr_size = dynsym_layout(data)
    victim = symtab + entsize * 5  # the sixth entry's st_name
    struct.pack_into("<I", data, victim, dynstr_size + 100)
    with pytest.raises(ELFError, match=r"symbol 5: name offset \d+ is outside the string table"):
        parse_elf(bytes(data))


def test_every_member_of_the_real_wheels_reads_the_same(real_wheels: dict[str, Path]) -> None:
    """numpy and scipy (libgfortran, OpenBLAS, libstdc++: tens of thousands of symbols)."""
    from muslwheel.wheelfile import WheelFile

    seen = 0
    for wheel in sorted(real_wheels.values()):
        with WheelFile(wheel) as wf:
            for _info, view in wf.elf_members():
                data = bytes(view)
                elf = parse_elf(data)
                assert [(s.name, s.defined, s.weak) for s in elf.symbols] == plain_symbols(data)
                assert elf.defined_names == {s.name for s in elf.symbols if s.defined}
                seen += len(elf.symbols)
    assert seen > 10000


def tail_merged(data: bytes) -> bytes:
    """*data* with f7's name pointing into xf7's ("x" + "f7"), as a linker that shares a
    name's tail with a longer one writes it: the same symbols, another string table layout."""
    e = "<" if data[5] == 1 else ">"
    out = bytearray(data)
    symtab, _size, entsize, strtab, strsz = dynsym_layout(out)
    table = bytes(out[strtab : strtab + strsz])
    xf7 = table.index(b"\0xf7\0") + 1
    for index in range(1, 1 << 20):
        (st_name,) = struct.unpack_from(e + "I", out, symtab + index * entsize)
        if table[st_name : st_name + 3] == b"f7\0":
            struct.pack_into(e + "I", out, symtab + index * entsize, xf7 + 1)
            return bytes(out)
    raise AssertionError("no f7 in the fixture")


@pytest.mark.parametrize("arch", ["x86_64", "s390x"])
def test_a_name_that_starts_inside_another_string_reads_the_same(libraries: dict[str, bytes], arch: str) -> None:
    """The fast reader splits an ASCII string table at its NULs and keeps the pieces where a
    defined name starts; a name that starts inside a piece must still be found."""
    data = tail_merged(libraries[arch + "-ascii"])
    elf = parse_elf(data)
    plain = plain_symbols(data)
    assert ("f7", True, False) in plain and ("xf7", True, False) in plain
    assert elf.defined_names == {name for name, defined, _ in plain if defined}
    assert [(s.name, s.defined, s.weak) for s in elf.symbols] == plain
    assert elf == parse_elf(libraries[arch + "-ascii"])  # the same facts as the untouched file


def test_what_a_parsed_file_says_does_not_depend_on_the_buffer_it_was_read_from(libraries: dict[str, bytes]) -> None:
    """WheelFile.elf_members yields views of one buffer reused from member to member, and a
    file's symbols are made only when first asked for: the parsed file must keep nothing of
    the buffer it was read from."""
    original = libraries["x86_64-ascii"]
    buffer = bytearray(original)
    elf = parse_elf(memoryview(buffer))
    buffer[:] = bytes(len(buffer))  # the next member overwrites the buffer
    buffer.append(0)  # and it can grow: no view of it is left
    assert elf == parse_elf(original)
    assert [(s.name, s.defined, s.weak) for s in elf.symbols] == plain_symbols(original)


def test_threads_auditing_at_once_get_the_verdicts_one_thread_gets(real_wheels: dict[str, Path]) -> None:
    """Each thread inflates ELF members into a buffer of its own (a dask worker runs its tasks
    in threads): numpy and scipy audited by four threads at once, each wheel several times,
    give exactly the verdicts of one thread."""
    from concurrent.futures import ThreadPoolExecutor

    from muslwheel.audit import audit_wheel

    wheels = sorted(real_wheels.values())
    alone = {w: audit_wheel(w).to_json() for w in wheels}
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda w: (w, audit_wheel(w).to_json()), wheels * 4))
    assert len(together) == 4 * len(wheels)
    for wheel, verdict in together:
        assert verdict == alone[wheel], wheel.name
