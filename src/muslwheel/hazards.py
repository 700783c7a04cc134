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
from collections.abc import Callable
from dataclasses import dataclass

from .elf import ELFFile
from .policy import is_interpreter_symbol, symbol_table, symbol_table_data

GLIBC_SYMBOL = "glibc-symbol"
INITIAL_EXEC_TLS = "initial-exec-tls"

#: Name families only glibc has, beyond the names of one glibc build (``__isoc23_*`` came
#: with glibc 2.38).
_GLIBC_PREFIXES = ("__libc_", "__isoc23_", "__GI_", "_dl_")


@dataclass(frozen=True)
class Hazard:
    kind: str  #: GLIBC_SYMBOL or INITIAL_EXEC_TLS
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


def _nothing(name: str) -> bool:
    return False


def glibc_imports(path: str, elf: ELFFile, arch: str, provided: Callable[[str], bool] = _nothing) -> list[Hazard]:
    """Strong undefined symbols of *elf* that no musl release exports for *arch* and glibc
    does, and that *provided* (what the wheel's own libraries export) does not define."""
    table = symbol_table(arch)
    out = []
    for sym in elf.imports:
        if provided(sym.name) or is_interpreter_symbol(sym.name):
            continue
        if sym.name in table or not is_glibc_only(sym.name):
            continue
        out.append(
            Hazard(
                GLIBC_SYMBOL,
                path,
                f"{sym.name} is glibc's: no musl release exports it, and musl's loader stops at it (symbol not found)",
                sym.name,
            )
        )
    return out


def initial_exec_tls(path: str, elf: ELFFile) -> list[Hazard]:
    """The initial-exec TLS hazard of *elf* if it is loaded at run time (not an executable)."""
    if elf.initial_exec_tls is None or elf.interpreter is not None:
        return []
    return [Hazard(INITIAL_EXEC_TLS, path, f"initial-exec TLS: musl cannot dlopen this ({elf.initial_exec_tls})")]


def hazards_of(path: str, elf: ELFFile, arch: str, provided: Callable[[str], bool] = _nothing) -> list[Hazard]:
    """Every hazard of one ELF file."""
    return glibc_imports(path, elf, arch, provided) + initial_exec_tls(path, elf)
