"""Which file each DT_NEEDED names, by musl's loader rules (ldso/dynlink.c, load_library).

For one object loaded first (an extension module, say), dependencies load breadth first. A
name is, in order:

1. musl itself, if it is one of the names the loader reserves (:func:`policy.is_musl_self`);
2. an object already loaded under that name;
3. found on the RPATH/RUNPATH of the requesting object, then of the object that loaded *it*,
   and so on up the chain (musl treats RPATH and RUNPATH alike, RUNPATH winning, and inherits
   both, unlike glibc), with ``$ORIGIN`` the directory of the object whose path it is;
4. otherwise searched on the system path, which for a wheel's audit means it is external.

Paths inside a wheel are POSIX, relative to the wheel root; a search directory that leaves the
wheel (``$ORIGIN/../../lib``) or is absolute is outside it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from .arch import Arch
from .elf import ELFFile
from .policy import is_allowed_system_library, is_musl_self

MUSL = "musl"  #: musl's loader maps the name to itself
WHEEL = "wheel"  #: a member of the wheel
SYSTEM = "system"  #: outside the wheel, and allowed by the policy (libz.so.1)
EXTERNAL = "external"  #: outside the wheel and not allowed: must be vendored


@dataclass(frozen=True)
class Resolution:
    needed: str  #: the DT_NEEDED name
    requested_by: str  #: wheel path of the object whose DT_NEEDED it is
    kind: str  #: MUSL, WHEEL, SYSTEM or EXTERNAL
    path: str | None = None  #: wheel path when kind is WHEEL


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


def search_dirs(member: str, elf: ELFFile) -> list[str]:
    """The wheel-relative directories an object's RUNPATH (else RPATH) names inside the wheel."""
    return [d for d in (wheel_dir(member, e) for e in elf.runpath or elf.rpath) if d is not None]


def resolve_closure(first: str, elfs: Mapping[str, ELFFile], arch: Arch | None) -> list[Resolution]:
    """Resolve every DT_NEEDED reached by loading the wheel member *first*, breadth first."""
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
                out.append(Resolution(name, current, MUSL))
                continue
            found = by_name.get(name)
            if found is None and "/" not in name:
                requester: str | None = current
                while requester is not None and found is None:
                    for d in search_dirs(requester, elfs[requester]):
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
                out.append(Resolution(name, current, WHEEL, found))
            elif is_allowed_system_library(name):
                out.append(Resolution(name, current, SYSTEM))
            else:
                out.append(Resolution(name, current, EXTERNAL))
    return out
