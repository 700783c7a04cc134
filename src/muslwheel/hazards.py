"""What breaks a load on every musl, whatever its version: facts the musl floor cannot express.

* A strong import of a symbol no musl release exports and glibc does (``__cxa_thread_atexit_impl``,
  ``__libc_*``, the fortify ``*_chk`` family, ``__isoc23_*``): an object built against glibc's
  headers or runtime, and musl's loader stops at it ("symbol not found"). Weak ones resolve to
  null and are harmless. glibc's names come from ``data/musl_symbols.json`` ("glibc_only",
  written by ``tools/gen_musl_symbols.py`` from a glibc build).
* Initial-exec TLS in an object loaded at run time: musl gives dlopen'ed objects no static TLS
  room, and its loader refuses them ("initial-exec TLS resolves to dynamic definition").
  Extension modules and every library they bring are loaded that way; an executable is not.

Pure: parsed ELF files in, :class:`Hazard` records out.
"""

from __future__ import annotations

import functools
from collections.abc import Set
from dataclasses import dataclass

from .elf import ELFFile
from .policy import interpreter_symbols, symbol_table, symbol_table_data
from .vocabulary import Kind

GLIBC_SYMBOL = Kind.GLIBC_SYMBOL
INITIAL_EXEC_TLS = Kind.INITIAL_EXEC_TLS

#: Name families only glibc has, beyond the names of one glibc build (``__isoc23_*`` came
#: with glibc 2.38).
_GLIBC_PREFIXES = ("__libc_", "__isoc23_", "__GI_", "_dl_")


@dataclass(frozen=True)
class Hazard:
    kind: Kind  #: GLIBC_SYMBOL or INITIAL_EXEC_TLS
    file: str
    why: str
    symbol: str | None = None


@functools.cache
def _glibc_names() -> frozenset[str]:
    data = symbol_table_data().get("glibc_only") or {}
    return frozenset(data.get("names", ()))


def is_glibc_only(name: str) -> bool:
    """Whether *name* is a glibc name that no musl release has (by glibc's export list or a
    name family only glibc uses)."""
    return name in _glibc_names() or name.startswith(_GLIBC_PREFIXES)


def newest_musl() -> str:
    """The newest musl release in the symbol table."""
    return str(symbol_table_data()["releases"][-1])


def not_musl_why(name: str) -> str:
    """Why an import musl's table does not know is suspicious, with the table's reach."""
    return f"{name}: not exported by musl ≤ {newest_musl()} (newer musl, or not musl)"


def glibc_imports(path: str, elf: ELFFile, arch: str, needs: Set[str] | None = None) -> list[Hazard]:
    """Strong undefined symbols of *elf* that no musl release exports for *arch* and glibc
    does, among *needs* (the imports the wheel's own libraries do not define and the
    interpreter does not provide; all of the file's strong imports but the interpreter's if
    None), in symbol table order."""
    if needs is None:
        names = {s.name for s in elf.imports}
        needs = names.difference(interpreter_symbols(names))
    glibcs = set(filter(is_glibc_only, symbol_table(arch).unknown(needs)))
    return [
        Hazard(
            GLIBC_SYMBOL,
            path,
            f"{sym.name} is glibc's: no musl release exports it, and musl's loader stops at it (symbol not found)",
            sym.name,
        )
        for sym in (elf.imports if glibcs else ())
        if sym.name in glibcs
    ]


def initial_exec_tls(path: str, elf: ELFFile) -> list[Hazard]:
    """The initial-exec TLS hazard of *elf* if it is loaded at run time (not an executable)."""
    if elf.initial_exec_tls is None or elf.interpreter is not None:
        return []
    return [Hazard(INITIAL_EXEC_TLS, path, f"initial-exec TLS: musl cannot dlopen this ({elf.initial_exec_tls})")]


def hazards_of(path: str, elf: ELFFile, arch: str, needs: Set[str] | None = None) -> list[Hazard]:
    """Every hazard of one ELF file (*needs*: as :func:`glibc_imports` takes it)."""
    return glibc_imports(path, elf, arch, needs) + initial_exec_tls(path, elf)
