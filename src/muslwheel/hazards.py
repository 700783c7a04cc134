"""What breaks a load on every musl, whatever its version: facts the musl floor cannot express.

* A strong import of a symbol no musl release exports and glibc does (``__cxa_thread_atexit_impl``,
  ``__libc_*``, the fortify ``*_chk`` family, ``__isoc23_*``): an object built against glibc's
  headers or runtime, and musl's loader stops at it ("symbol not found"). Weak ones resolve to
  null and are harmless. glibc's names come from ``data/musl_symbols.json`` ("glibc_only",
  written by ``tools/gen_musl_symbols.py`` from a glibc build).
* Initial-exec TLS in an object loaded at run time: musl gives dlopen'ed objects no static TLS
  room, and its loader refuses them ("initial-exec TLS resolves to dynamic definition").
  Extension modules and every library they bring are loaded that way; an executable is not.

And one that breaks a run, not a load (a warning, never an error: :func:`thread_stacks`):

* Threads on musl's default stack. musl gives a thread 128 KiB of stack unless its creator asks
  for more (``DEFAULT_STACK_SIZE`` in musl's ``src/internal/pthread_impl.h``, since 1.1.21;
  glibc gives RLIMIT_STACK's 8 MiB). An OpenMP runtime's workers, a C++ ``std::thread`` and a
  plain ``pthread_create`` with default attributes get that, and deep recursion or a big local
  array there crashes (SIGSEGV) on Alpine where it ran on glibc.

Pure: parsed ELF files in, :class:`Hazard` records out.
"""

from __future__ import annotations

import functools
import operator
import posixpath
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass

from .elf import ELFFile
from .policy import interpreter_symbols, symbol_table, symbol_table_data
from .resolve import EXTENSION, WheelLoads, module_name
from .vocabulary import Kind

GLIBC_SYMBOL = Kind.GLIBC_SYMBOL
INITIAL_EXEC_TLS = Kind.INITIAL_EXEC_TLS
THREAD_STACK = Kind.THREAD_STACK

#: Name families only glibc has, beyond the names of one glibc build (``__isoc23_*`` came
#: with glibc 2.38).
_GLIBC_PREFIXES = ("__libc_", "__isoc23_", "__GI_", "_dl_")


@dataclass(frozen=True)
class Hazard:
    kind: Kind  #: GLIBC_SYMBOL, INITIAL_EXEC_TLS or THREAD_STACK
    file: str
    why: str
    symbol: str | None = None
    library: str | None = None  #: THREAD_STACK: the OpenMP runtime it needs, if that is the evidence


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


# --- threads on musl's default stack ---------------------------------------------------------

#: musl's default thread stack (``DEFAULT_STACK_SIZE``, src/internal/pthread_impl.h, since 1.1.21)
MUSL_THREAD_STACK_KIB = 128
#: What starts a thread with the default stack unless told otherwise (C11's ``thrd_create`` has
#: no attributes at all).
_STARTS = ("pthread_create", "thrd_create")
#: What gives a thread another stack: its creator's attribute, or (musl ≥ 1.1.16) a new default
#: for the whole process, which covers every object of the load.
_SIZES = frozenset(("pthread_attr_setstacksize", "pthread_attr_setstack"))
_PROCESS_DEFAULT = "pthread_setattr_default_np"
#: libstdc++'s ``std::thread::_M_start_thread``: a std::thread, which has no stack size to set
_STD_THREAD = "_ZNSt6thread15_M_start_thread"
#: OpenMP's entry points a compiler emits for a parallel region: GCC's (``GOMP_parallel``,
#: ``GOMP_parallel_loop_*`` …) and LLVM's and Intel's (``__kmpc_fork_call``)
_OPENMP_CALLS = ("GOMP_parallel", "__kmpc_fork_call")
#: OpenMP runtimes by file name or SONAME, as built or as a repair renamed them (``-1a2b3c4d``)
_OPENMP_RUNTIME = re.compile(r"^lib(?:gomp|omp|iomp5)(?:-[0-9a-f]{8})*\.so(?:\.[0-9]+)*$")
#: Runtimes that start threads on their users' behalf (libstdc++'s std::thread, libgfortran's
#: asynchronous I/O): the users are judged, not them
_RUNTIME = re.compile(r"^lib(?:stdc\+\+|gfortran)(?:-[0-9a-f]{8})*\.so")
_NAME = operator.attrgetter("name")
_IS_OPENMP_CALL = operator.methodcaller("startswith", _OPENMP_CALLS)
_IS_STD_THREAD = operator.methodcaller("startswith", _STD_THREAD)


def is_openmp_runtime(name: str) -> bool:
    """Whether the library file name or SONAME *name* is an OpenMP runtime (libgomp, LLVM's
    libomp, Intel's libiomp5), under its own name or a repaired ``-1a2b3c4d`` one."""
    return _OPENMP_RUNTIME.match(name) is not None


def _openmp_evidence(path: str, elf: ELFFile, names: frozenset[str]) -> tuple[str | None, str | None]:
    """(the OpenMP call it imports, the OpenMP runtime it needs) of one object; (None, None)
    when it uses no OpenMP."""
    call = min(filter(_IS_OPENMP_CALL, names), default=None)
    runtime = next((n for n in elf.needed if is_openmp_runtime(n)), None)
    return call, runtime


def thread_stacks(elfs: Mapping[str, ELFFile], loads: WheelLoads) -> list[Hazard]:
    """The members of a wheel that start threads on musl's 128 KiB default stack, in path order
    (*elfs*: the members to judge, wheel path -> parsed file; *loads*: the wheel's resolution).

    Judged per object, in every load that brings it in (``resolve``'s load of an extension
    module, with all it needs): an object's own ``pthread_create``/``thrd_create`` calls get a
    size only from that object (it imports ``pthread_attr_setstacksize`` or
    ``pthread_attr_setstack``) or from a new process default (some object of the load imports
    ``pthread_setattr_default_np``). A ``std::thread`` (an import of libstdc++'s
    ``std::thread::_M_start_thread``) never has one; libstdc++ and libgfortran (its asynchronous
    I/O thread) are not blamed for their users' threads. OpenMP: an object that imports ``GOMP_parallel*`` or ``__kmpc_fork_call``,
    or needs an OpenMP runtime (``libgomp.so.1``, ``libomp.so``, ``libiomp5.so``); a wheel that
    vendors a runtime nothing in it uses gets the warning on the runtime. Imports are the strong
    ones (what the loader binds): code that reaches these functions through ``dlsym`` is not seen."""
    names = {path: frozenset(map(_NAME, elf.imports)) for path, elf in elfs.items()}
    defaults = {path for path, ns in names.items() if _PROCESS_DEFAULT in ns}
    out: list[Hazard] = []
    openmp_used = False
    for path in sorted(elfs):
        elf, ns = elfs[path], names[path]
        own = loads.loads_of(path)
        if own and all(not defaults.isdisjoint(ld.members) for ld in own):
            continue  # every load that brings it in raises the process's default first
        where = _loaded_as(path, elfs, loads)
        call, runtime = _openmp_evidence(path, elf, ns)
        if call or runtime:
            openmp_used = True
            what = " and ".join(filter(None, (call and f"calls {call}", runtime and f"needs {runtime}")))
            out.append(Hazard(THREAD_STACK, path, _openmp_why(what, where), call, runtime))
            continue
        if _RUNTIME.match(_file_name(path, elf)) or is_openmp_runtime(_file_name(path, elf)):
            continue  # a runtime: its users' threads are theirs
        start = next((s for s in _STARTS if s in ns), None)
        if start and _SIZES.isdisjoint(ns):
            out.append(Hazard(THREAD_STACK, path, _start_why(start, where), start))
        elif any(filter(_IS_STD_THREAD, ns)):
            out.append(Hazard(THREAD_STACK, path, _std_thread_why(where)))
    if not openmp_used:
        for path in sorted(elfs):
            if is_openmp_runtime(_file_name(path, elfs[path])):
                name = _file_name(path, elfs[path])
                why = _openmp_why(f"is an OpenMP runtime ({name})", _loaded_as(path, elfs, loads))
                out.append(Hazard(THREAD_STACK, path, why, None, name))
    return sorted(out, key=operator.attrgetter("file"))


def _file_name(path: str, elf: ELFFile) -> str:
    return elf.soname or posixpath.basename(path)


def _loaded_as(path: str, elfs: Mapping[str, ELFFile], loads: WheelLoads) -> str:
    """`` (imported as pkg._ext)`` / `` (loaded by pkg._a, pkg._b)``: the extension modules whose
    import brings *path* in, "" when none does."""
    modules = sorted(
        {
            name
            for ld in loads.loads_of(path)
            if ld.kind == EXTENSION and ld.entry in elfs and (name := module_name(ld.entry, elfs[ld.entry])) is not None
        }
    )
    if not modules:
        return ""
    if any(ld.entry == path and ld.kind == EXTENSION for ld in loads.loads_of(path)):
        return f" (imported as {modules[0]})"
    return f" (loaded by {', '.join(modules[:3])}{' …' if len(modules) > 3 else ''})"


_MUSL_STACK = f"musl gives each thread {MUSL_THREAD_STACK_KIB} KiB of stack (glibc: 8 MiB)"


def _start_why(start: str, where: str) -> str:
    return (
        f"starts threads ({start}) and never sets their stack size{where}: {_MUSL_STACK}, so deep "
        "recursion or big local arrays in them crash on Alpine (SIGSEGV); call "
        "pthread_attr_setstacksize before pthread_create"
    )


def _std_thread_why(where: str) -> str:
    return (
        f"starts threads with std::thread (libstdc++'s std::thread::_M_start_thread), which sets no stack "
        f"size{where}: {_MUSL_STACK}, so deep "
        "recursion or big local arrays in them crash on Alpine (SIGSEGV); raise the process's "
        "default with pthread_setattr_default_np before the first thread, or start them with "
        "pthread_attr_setstacksize"
    )


def _openmp_why(what: str, where: str) -> str:
    return (
        f"OpenMP: {what}{where}: its worker threads get musl's {MUSL_THREAD_STACK_KIB} KiB of stack "
        "(glibc: 8 MiB) unless OMP_STACKSIZE is set, so parallel regions with deep recursion or big "
        "local arrays crash on Alpine (SIGSEGV); set OMP_STACKSIZE (OMP_STACKSIZE=8M gives glibc's size)"
    )
