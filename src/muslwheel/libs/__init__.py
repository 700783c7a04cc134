"""Target libraries: the C libraries real projects link, cross-built with zig for any arch × musl.

A **recipe** (:class:`Recipe`, all in :mod:`.recipes`) is data plus a small hook: the Debian
source package and the upstream version line it takes (``zlib``, ``1.3``), the build system
(:mod:`.systems`: autotools with ``--host``, CMake with a toolchain file, meson with a cross
file, plain make, OpenSSL's ``Configure``, each set up once, from :data:`muslwheel.arch.ARCHES`),
its options, the recipes it depends on, the shared libraries and headers it must install, and
a proof: a small C program, compiled against the prefix and run under the target (qemu-user
via :func:`muslwheel.qemu.runner`, with a kit's musl loader), whose output must say what the
recipe expects.

:func:`build_library` (:mod:`.store`) makes one library for a loader-only musl kit's arch and
musl (:class:`MuslKit`, the caller's: :func:`muslwheel.kits.ondemand.musl_kit_for` makes the
one the kit choice names, so this room never imports the kits, which import it) and returns its
:class:`Prefix`: ``<cache>/libs/<name>-<version line>-<arch>-musl<musl>/`` with ``include/``,
``lib/`` (shared and static libraries, ``pkgconfig/*.pc`` naming that prefix) and the facts
file :data:`FACTS` (the upstream and Debian versions, the recipe's hash, the dependencies, the
shared libraries' SONAME paths; ``sbom`` reads it). The recipe's dependencies are built first,
each in its own prefix. The sources come from Debian's archive through :mod:`muslwheel.debian`
(verified against the signed index; ``offline`` takes only what the download cache holds) and
are all had before anything is built, so a library Debian does not serve, an unknown name or an
arch a recipe refuses is one line (:class:`LibError`) with nothing built. A prefix is built in a
staging directory and renamed into place under a lock (:mod:`muslwheel.cache`), and rebuilt when
its recipe's hash changes. Kits call :func:`build_many` too: a CPython kit's ``usr/lib`` holds
Alpine's base libraries (:data:`muslwheel.kits.cpython.SYSTEM_LIBRARIES`).

For a wheel build (``build --with``), :func:`with_closure` orders the libraries asked for with
their dependencies, and :func:`write_config_tools` writes the ``*-config`` scripts some projects
call (``xml2-config``, ``xslt-config``, ``pg_config``, ``curl-config``, ``geos-config``), which
answer for the target's prefixes and shadow the host's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import MuslwheelError

if TYPE_CHECKING:
    from typing import Protocol

    from ..arch import Arch
    from ..versions import MuslVersion

    class MuslKit(Protocol):
        """A loader-only musl kit, as this room uses it (:class:`muslwheel.kits.Kit` is one)."""

        @property
        def arch_info(self) -> Arch: ...
        @property
        def musl(self) -> MuslVersion: ...
        def zig_libc_file(self) -> Path: ...
        def loader_command(self) -> list[str]: ...


#: the facts file in every prefix
FACTS = "muslwheel-lib.json"


class LibError(MuslwheelError):
    """A library cannot be had for a target: unknown, refused for its arch, no source, a failed build."""


@dataclass(frozen=True)
class Recipe:
    """How one library is built (see the package's docstring)."""

    name: str
    debian_source: str  #: Debian's source package
    version_prefix: str  #: the upstream version line taken (``1.3``): the newest Debian has
    system: str  #: a build system of :data:`muslwheel.libs.systems.SYSTEMS`
    libraries: tuple[str, ...]  #: shared libraries it must install, by file name in ``lib/`` (``libz.so``)
    headers: tuple[str, ...]  #: headers it must install, relative to ``include/``
    proof: str  #: a C program run under the target after the build
    #: its compiler and link flags (``-lz``); ``{prefix}`` is the library's prefix, ``{<dependency>}`` a dependency's
    proof_libs: tuple[str, ...]
    proof_expect: str  #: a line its output must contain
    options: tuple[str, ...] = ()  #: the build system's options
    #: (arch, options) added on that arch only (so the other arches' prefixes stay current)
    arch_options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    depends: tuple[str, ...] = ()  #: recipes built first (their prefixes are searched)
    subdir: str = ""  #: where the build system starts, inside the source
    refuses: tuple[tuple[str, str], ...] = ()  #: (arch, why) it is not built for
    config_tools: tuple[tuple[str, str], ...] = ()  #: (``*-config`` script, pkg-config module) it answers
    #: a hook run in the unpacked source before the build system (patches, removed pieces)
    prepare: Callable[[Path], None] | None = field(default=None, compare=False)

    def refusal(self, arch: str) -> str | None:
        return dict(self.refuses).get(arch)

    def options_for(self, arch: str) -> tuple[str, ...]:
        return self.options + dict(self.arch_options).get(arch, ())

    def identity(self, arch: str) -> dict[str, object]:
        """What the recipe's hash for *arch* covers: everything that changes what it builds there."""
        extra = dict(self.arch_options).get(arch)
        return ({"arch_options": list(extra)} if extra else {}) | {
            "name": self.name,
            "debian_source": self.debian_source,
            "version_prefix": self.version_prefix,
            "system": self.system,
            "options": list(self.options),
            "depends": list(self.depends),
            "subdir": self.subdir,
            "prepare": self.prepare.__name__ if self.prepare else None,
            "proof": self.proof,
        }


@dataclass(frozen=True)
class Prefix:
    """One built library: its directory and its facts (:data:`FACTS`)."""

    path: Path
    facts: dict[str, object]

    @property
    def name(self) -> str:
        return str(self.facts["name"])

    @property
    def lib_dir(self) -> Path:
        return self.path / "lib"

    @property
    def include_dir(self) -> Path:
        return self.path / "include"

    @property
    def pkgconfig_dir(self) -> Path:
        return self.path / "lib" / "pkgconfig"

    def to_json(self) -> dict[str, object]:
        return {"prefix": str(self.path), **self.facts}


def read_prefix(path: Path) -> Prefix | None:
    """The prefix at *path*, None when it has no readable facts file."""
    try:
        facts = json.loads((path / FACTS).read_text())
    except (OSError, ValueError):
        return None
    return Prefix(path, facts) if isinstance(facts, dict) else None


def all_recipes() -> dict[str, Recipe]:
    """Every recipe, by name."""
    from .recipes import RECIPES

    return RECIPES


def get_recipe(name: str) -> Recipe:
    """The recipe *name*; :class:`LibError` (one line) if there is none."""
    known = all_recipes()
    if name not in known:
        raise LibError(f"no recipe for the library {name!r} (muslwheel has: {', '.join(sorted(known))})")
    return known[name]


def closure(names: Sequence[str]) -> list[Recipe]:
    """The recipes *names* and their dependencies, each after what it depends on."""
    out: list[Recipe] = []

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in chain:
            raise LibError(f"recipes depend on each other: {' -> '.join((*chain, name))}")
        recipe = get_recipe(name)
        for dep in recipe.depends:
            visit(dep, (*chain, name))
        if recipe not in out:
            out.append(recipe)

    for n in names:
        visit(n, ())
    return out


def parse_names(values: Sequence[str]) -> list[str]:
    """``--with zlib,libxml2 --with openssl`` as names, in order, once each (unknown: LibError)."""
    names: list[str] = []
    for value in values:
        for n in value.split(","):
            n = n.strip()
            if n and n not in names:
                get_recipe(n)
                names.append(n)
    return names


from .store import build_library as build_library  # noqa: E402  (the API: build_library(name, kit) -> Prefix)
from .store import build_many as build_many  # noqa: E402
from .store import check_buildable as check_buildable  # noqa: E402
from .store import check_offline as check_offline  # noqa: E402
from .tools import write_config_tools as write_config_tools  # noqa: E402
