"""How musl's loader brings a wheel's objects in: one load per entry point, by ldso/dynlink.c.

A wheel's shared libraries are never loaded on their own: Python imports an extension module
(``dlopen`` of its path), or a script runs an executable, and musl's loader then loads what
that *entry point* needs. :func:`resolve_wheel` models each entry point's load as musl does it
(``load_deps`` and ``load_library``):

* dependencies load breadth first, each object's DT_NEEDED in order;
* a name is, in order: musl itself, if it is one of the names the loader reserves
  (:func:`policy.is_musl_self`); an object already loaded under that short name (its file
  name), whoever loaded it; found on the RPATH/RUNPATH of the requesting object, then of the
  object that loaded *it*, and so on up the chain to the entry point (musl treats RPATH and
  RUNPATH alike, RUNPATH winning, and inherits both, unlike glibc), ``$ORIGIN`` being the
  directory of the object whose path it is; otherwise searched on the system path, which for a
  wheel's audit means outside it.

So a library in ``<pkg>.libs`` with no RPATH of its own still finds its sibling there when the
extension module that loads it has ``$ORIGIN/../<pkg>.libs`` on its RPATH, or when that
sibling was loaded earlier in the same load: numpy's ``libstdc++`` needs ``libgcc_s`` this way.

A library that no entry point loads (one a program ``dlopen``\\ s by path, through ctypes, or
a leftover) is given a load of its own. There, a name that no search finds but that a member of
the wheel carries is :data:`ELSEWHERE`: found only if whatever loads the library has loaded that
member first, which the audit reports as a warning, not an error.

Entry points: an executable (PT_INTERP, or a static ``ET_EXEC``); a member named as an extension
module (any suffix :mod:`muslwheel.suffixes` knows: ``.cpython-311-x86_64-linux-musl.so``,
``.abi3.so``, ``.abi3t.so``, ``.abi3-<triplet>.so``, PyPy's); a plain ``name.so`` that
exports ``PyInit_name``. Each is loaded as if it were the first, since the import order is the
program's, not the wheel's.

Paths inside a wheel are POSIX, relative to the wheel root; a search directory that leaves the
wheel (``$ORIGIN/../../lib``) or is absolute is outside it.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .arch import Arch
from .elf import ET, ELFFile
from .policy import is_allowed_system_library, is_libpython, is_musl_self
from .suffixes import importable_name, is_module_suffix
from .vocabulary import ResolutionKind, Role

# the words of a resolution and of a member's role are the vocabulary's (one spelling each)
MUSL, WHEEL, SYSTEM, EXTERNAL, ELSEWHERE, PYTHON = ResolutionKind
EXTENSION, EXECUTABLE, LIBRARY = Role


@dataclass(frozen=True)
class Resolution:
    needed: str  #: the DT_NEEDED name
    requested_by: str  #: wheel path of the object whose DT_NEEDED it is
    kind: ResolutionKind  #: MUSL, WHEEL, SYSTEM, EXTERNAL, ELSEWHERE or PYTHON
    path: str | None = None  #: wheel path when kind is WHEEL (or ELSEWHERE: the member carrying the name)
    entry: str = ""  #: the entry point whose load this is


@dataclass(frozen=True)
class Load:
    """One entry point's load: what it brings in, in order, and how each name was found."""

    entry: str
    kind: Role  #: EXTENSION, EXECUTABLE or LIBRARY
    members: tuple[str, ...]  #: wheel members loaded, in load order, the entry point first
    needed_by: Mapping[str, str | None]  #: member -> the member whose DT_NEEDED loaded it
    resolutions: tuple[Resolution, ...]

    def chain(self, member: str) -> list[str]:
        """*member*, the member that loaded it, and so on up to the entry point."""
        out: list[str] = []
        current: str | None = member
        while current is not None:
            out.append(current)
            current = self.needed_by.get(current)
        return out


@dataclass(frozen=True)
class WheelLoads:
    """The resolution of a whole wheel, shared by show, repair and check."""

    loads: tuple[Load, ...]  #: entry points' loads (sorted by path), then libraries loaded on their own

    @property
    def entry_points(self) -> list[Load]:
        return [ld for ld in self.loads if ld.kind != LIBRARY]

    @functools.cached_property
    def _index(self) -> tuple[dict[str, list[int]], dict[tuple[int, str], list[Resolution]], list[frozenset[str]]]:
        """member -> indexes of its loads; (load, requester) -> resolutions; each load's members."""
        by_member: dict[str, list[int]] = {}
        by_requester: dict[tuple[int, str], list[Resolution]] = {}
        for i, ld in enumerate(self.loads):
            for m in ld.needed_by:
                by_member.setdefault(m, []).append(i)
            for r in ld.resolutions:
                by_requester.setdefault((i, r.requested_by), []).append(r)
        return by_member, by_requester, [frozenset(ld.members) for ld in self.loads]

    def loads_of(self, member: str) -> list[Load]:
        """The loads that bring *member* in (its own, if no entry point loads it)."""
        return [self.loads[i] for i in self._index[0].get(member, ())]

    def is_loaded_by_entry_point(self, member: str) -> bool:
        return any(ld.kind != LIBRARY for ld in self.loads_of(member))

    def visible(self, member: str) -> frozenset[str]:
        """The members loaded along with *member* in every load that brings it in: those whose
        symbols it can always bind to."""
        sets = [self._index[2][i] for i in self._index[0].get(member, ())]
        if not sets:
            return frozenset({member})
        return frozenset.intersection(*sets) if len(sets) > 1 else sets[0]

    def resolutions_of(self, member: str) -> list[Resolution]:
        """How each DT_NEEDED of *member* is found, once per distinct outcome over its loads."""
        seen: set[tuple[str, str, str | None]] = set()
        out = []
        for i in self._index[0].get(member, ()):
            for r in self._index[1].get((i, member), ()):
                if (r.needed, r.kind, r.path) not in seen:
                    seen.add((r.needed, r.kind, r.path))
                    out.append(r)
        return out


def expand_origin(entry: str, origin: str) -> str:
    """Replace ``$ORIGIN``/``${ORIGIN}`` by *origin* (a directory inside the wheel, "" at its root)."""
    return entry.replace("${ORIGIN}", origin or ".").replace("$ORIGIN", origin or ".")


def wheel_dir(member: str, entry: str) -> str | None:
    """The wheel directory a RUNPATH/RPATH *entry* of *member* names, or None if it is outside
    the wheel (absolute, relative to the process's cwd, or climbing out with ``..``)."""
    if "$ORIGIN" not in entry and "${ORIGIN}" not in entry:
        return None
    path = posixpath.normpath(expand_origin(entry, posixpath.dirname(member)))
    if path == ".." or path.startswith(("../", "/")):
        return None
    return "" if path == "." else path


def runpath_dirs(member: str, elf: ELFFile) -> list[str]:
    """The wheel-relative directories an object's RUNPATH (else RPATH) names inside the wheel."""
    return [d for d in (wheel_dir(member, e) for e in elf.runpath or elf.rpath) if d is not None]


def entry_kind(member: str, elf: ELFFile, defined: frozenset[str] | None = None) -> Role | None:
    """EXTENSION, EXECUTABLE, or None for a library (see the module docstring): an importable
    name (:func:`muslwheel.suffixes.importable_name`) with a module's suffix, or a plain
    ``name.so`` that defines ``PyInit_name``.

    *defined* is the member's set of defined symbol names, if the caller has it already."""
    if elf.interpreter is not None or elf.elf_type == ET.EXEC:
        return EXECUTABLE
    named = importable_name(member)
    if named is None:
        return None  # not importable: numpy.libs/…, a path with a dot or dash, libfoo.so.1
    dotted, base = named
    if is_module_suffix(base):
        return EXTENSION
    names = defined if defined is not None else elf.defined_names
    return EXTENSION if f"PyInit_{dotted.rsplit('.', 1)[-1]}" in names else None


def module_name(member: str, elf: ELFFile, defined: frozenset[str] | None = None) -> str | None:
    """The dotted name Python imports the wheel member *member* as, or None when it is not an
    extension module (:func:`entry_kind`): ``X.data/platlib/pkg/_speedups.cpython-311-x86_64-linux-musl.so``
    -> ``pkg._speedups``; a library beside it (pyarrow's ``libarrow_python.so``, no
    ``PyInit_libarrow_python``), a vendored ``libfoo.so.1`` or an executable -> None."""
    if entry_kind(member, elf, defined) != EXTENSION:
        return None
    named = importable_name(member)
    return named[0] if named else None


def load(
    first: str,
    elfs: Mapping[str, ELFFile],
    arch: Arch | None,
    kind: Role = EXTENSION,
    by_basename: Mapping[str, str] | None = None,
) -> Load:
    """Load the wheel member *first* as musl's loader would, breadth first.

    For a LIBRARY load, *by_basename* (file name -> a member carrying it) marks names no search
    finds but the wheel carries as ELSEWHERE instead of EXTERNAL."""
    needed_by: dict[str, str | None] = {first: None}
    by_name: dict[str, str] = {}
    order = [first]
    out: list[Resolution] = []
    i = 0
    while i < len(order):
        current = order[i]
        i += 1
        for name in elfs[current].needed:
            if is_musl_self(name, arch):
                out.append(Resolution(name, current, MUSL, entry=first))
                continue
            found = by_name.get(name)
            if found is None and "/" not in name:
                requester: str | None = current
                while requester is not None and found is None:
                    for d in runpath_dirs(requester, elfs[requester]):
                        candidate = posixpath.join(d, name) if d else name
                        if candidate in elfs:
                            found = candidate
                            break
                    requester = needed_by[requester]
            if found is not None:
                by_name[name] = found
                if found not in needed_by:
                    needed_by[found] = current
                    order.append(found)
                out.append(Resolution(name, current, WHEEL, found, entry=first))
            elif is_libpython(name):
                out.append(Resolution(name, current, PYTHON, entry=first))
            elif is_allowed_system_library(name):
                out.append(Resolution(name, current, SYSTEM, entry=first))
            elif by_basename is not None and name in by_basename:
                out.append(Resolution(name, current, ELSEWHERE, by_basename[name], entry=first))
            else:
                out.append(Resolution(name, current, EXTERNAL, entry=first))
    return Load(first, kind, tuple(order), needed_by, tuple(out))


def resolve_closure(first: str, elfs: Mapping[str, ELFFile], arch: Arch | None) -> list[Resolution]:
    """Every DT_NEEDED reached by loading the wheel member *first*, breadth first."""
    return list(load(first, elfs, arch).resolutions)


def resolve_wheel(
    elfs: Mapping[str, ELFFile],
    arch_of: Callable[[ELFFile], Arch | None],
    defined: Mapping[str, frozenset[str]] | None = None,
) -> WheelLoads:
    """Resolve a whole wheel: each entry point's load, then each library no entry point loads,
    on its own. *arch_of* gives a member's architecture (for the loader's own name); *defined*
    is each member's defined symbol names if the caller has computed them."""
    loads: list[Load] = []
    for path in sorted(elfs):
        kind = entry_kind(path, elfs[path], defined.get(path) if defined is not None else None)
        if kind is not None:
            loads.append(load(path, elfs, arch_of(elfs[path]), kind))
    reached = {m for ld in loads for m in ld.needed_by}
    by_basename: dict[str, str] = {}
    for path in sorted(elfs):
        by_basename.setdefault(posixpath.basename(path), path)
    for path in sorted(elfs):
        if path not in reached:
            ld = load(path, elfs, arch_of(elfs[path]), LIBRARY, by_basename)
            loads.append(ld)
    return WheelLoads(tuple(loads))
