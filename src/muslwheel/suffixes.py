"""Which file names CPython imports as extension modules on musl: the one place that knows.

CPython's import system tries the names in ``_PyImport_DynLoadFiletab`` (``Python/dynload_shlib.c``),
which ``importlib.machinery.EXTENSION_SUFFIXES`` shows. On Linux, for CPython X.Y:

- ``.cpython-XY[t]-<PLATFORM_TRIPLET>.so`` (``SOABI``; ``t`` on a free-threaded build, PEP 703,
  from 3.13; the triplet is ``x86_64-linux-musl`` on musl from 3.11, ``-linux-gnu`` before);
- ``.abi3.so``, the stable ABI (PEP 384), on every build up to 3.14 (a free-threaded 3.13/3.14
  still lists it: ``['.cpython-314t-darwin.so', '.abi3.so', '.so']`` in mesonbuild/meson#15637);
- from 3.15 (PEP 803, python/cpython#146636): ``.abi3-<triplet>.so`` and ``.abi3.so`` only on a
  GIL-enabled build (the plain abi3 entries sit inside ``#ifndef Py_GIL_DISABLED``), and
  ``.abi3t-<triplet>.so`` and ``.abi3t.so`` on both; a GIL-enabled 3.15.0rc2 lists
  ``['.cpython-315-x86_64-linux-gnu.so', '.abi3-x86_64-linux-gnu.so', '.abi3.so',
  '.abi3t-x86_64-linux-gnu.so', '.abi3t.so', '.so']`` (robotpy/crossenv#165);
- ``.so``, always (a plain ``name.so`` is a module when it exports ``PyInit_name``).

:func:`extension_suffixes` gives that list; :func:`is_module_suffix` recognizes a module file name
of any CPython 3.9–3.15 (and PyPy's ``.pypy39-pp73-…so``); :func:`usable` adds that a
free-threaded build cannot run an ``.abi3`` module it still finds (3.13t, 3.14t: built for the
GIL-enabled build's stable ABI, it fails to load or crashes, PEP 803); :func:`suffix_problems`
says where a wheel's tags and its modules' suffixes disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.tags import Tag

from .arch import Arch
from .versions import FREE_THREADED_FROM as FREE_THREADED_FROM  # re-exported
from .versions import CPython
from .wheelfile import installed_path

#: The CPython minors whose import rules this module knows (3.9 to 3.15).
MINORS: tuple[int, ...] = tuple(range(9, 16))
ABI3T_FROM = 15  #: the first minor that imports ``.abi3t`` modules (PEP 803)

_TRIPLET = r"[a-z0-9_]+-linux-[a-z0-9_]+"
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_MODULE_SUFFIX = re.compile(rf"\.(?:cpython-\d+[a-z]*-[\w-]+|abi3t?(?:-{_TRIPLET})?|pypy\d+-pp\d+-[\w-]+)\.so$")


def is_module_suffix(basename: str) -> bool:
    """Whether *basename* ends in a suffix only extension modules carry (not a plain ``.so``)."""
    return _MODULE_SUFFIX.search(basename) is not None


def module_suffix(basename: str) -> str | None:
    """The suffix of an extension module's file name (``.abi3t.so``), or None (plain ``.so`` too)."""
    m = _MODULE_SUFFIX.search(basename)
    return m.group(0) if m else None


def extension_suffixes(python: CPython, arch: Arch) -> tuple[str, ...]:
    """The suffixes a musl CPython *python* for *arch* imports, in the order it tries them."""
    if python.free_threaded and python.minor < FREE_THREADED_FROM:
        raise ValueError(f"CPython {python} has no free-threaded build")
    triplet = arch.cpython_triplet("musl" if python.minor >= 11 else "gnu")
    out = [f".cpython-3{python.minor}{'t' if python.free_threaded else ''}-{triplet}.so"]
    if python.minor >= ABI3T_FROM:
        if not python.free_threaded:
            out += [f".abi3-{triplet}.so", ".abi3.so"]
        out += [f".abi3t-{triplet}.so", ".abi3t.so"]
    else:
        out.append(".abi3.so")
    out.append(".so")
    return tuple(out)


def imports(python: CPython, arch: Arch, basename: str) -> bool:
    """Whether musl CPython *python* for *arch* imports a module file named *basename*."""
    return any(basename.endswith(s) for s in extension_suffixes(python, arch)[:-1]) or (
        not is_module_suffix(basename) and basename.endswith(".so")
    )


def _is_gil_abi3(basename: str) -> bool:
    """An ``.abi3.so`` or ``.abi3-<triplet>.so`` file: the stable ABI of GIL-enabled builds."""
    suffix = module_suffix(basename)
    return suffix is not None and (suffix == ".abi3.so" or suffix.startswith(".abi3-"))


def usable(python: CPython, arch: Arch, basename: str) -> bool:
    """Whether musl CPython *python* for *arch* imports *basename* and can run it: a free-threaded
    3.13/3.14 still finds ``.abi3.so`` files, but the stable ABI they are built for is the
    GIL-enabled build's (``Py_LIMITED_API`` with ``Py_GIL_DISABLED`` does not compile before
    3.15), and such an extension "will fail to load (or crash) on free-threaded builds" (PEP 803,
    Motivation)."""
    return imports(python, arch, basename) and not (python.free_threaded and _is_gil_abi3(basename))


def pythons_of_tags(wheel_tags: Iterable[Tag]) -> frozenset[CPython]:
    """The CPython builds (3.9–3.15) whose installer accepts a wheel with *wheel_tags*.

    ``cpXY-cpXY[t]``: that build; ``cpXY-abi3``: every GIL-enabled minor from XY; ``cpXY-abi3t``:
    every free-threaded minor from XY (packaging offers abi3t to any free-threaded interpreter,
    ``_abi3t_applies``, though none before 3.15 imports an ``.abi3t`` file); other tags: none."""
    out: set[CPython] = set()
    for tag in wheel_tags:
        m = re.fullmatch(r"cp3(\d+)", tag.interpreter)
        if not m:
            continue
        minor = int(m.group(1))
        if tag.abi == f"cp3{minor}":
            out.add(CPython(minor))
        elif tag.abi == f"cp3{minor}t":
            out.add(CPython(minor, True))
        elif tag.abi == "abi3":
            out.update(CPython(n) for n in MINORS if n >= minor)
        elif tag.abi == "abi3t":
            out.update(CPython(n, True) for n in MINORS if n >= max(minor, FREE_THREADED_FROM))
    return frozenset(p for p in out if p.minor in MINORS)


_CPYTHON_SUFFIX = re.compile(r"\.cpython-3(\d+)(t?)-[\w-]+\.so$")


def _pythons_named_by(bases: Iterable[str]) -> list[CPython]:
    """The CPython builds ``.cpython-3XY[t]-…`` file names name themselves (for a wheel whose
    tags name none, ``py3-none``): each is judged by the build it names, triplet included."""
    out = set()
    for base in bases:
        m = _CPYTHON_SUFFIX.search(base)
        if m and int(m.group(1)) in MINORS and (not m.group(2) or int(m.group(1)) >= FREE_THREADED_FROM):
            out.add(CPython(int(m.group(1)), bool(m.group(2))))
    return sorted(out)


@dataclass(frozen=True)
class SuffixProblem:
    """A module the wheel's tags and file names disagree about."""

    module: str  #: the module's dotted name (``pkg._speedups``)
    members: tuple[str, ...]  #: its files in the wheel
    pythons: tuple[CPython, ...]  #: the CPython builds the tags name that can use none of them
    message: str
    judged: tuple[CPython, ...] = ()  #: every build it was judged by (the tags', or its name's)
    glibc: bool = False  #: a file is named for a glibc CPython (``-linux-gnu`` from 3.11)

    @property
    def fatal(self) -> bool:
        """Whether no CPython build the tags name can use the module (or a file names glibc's
        triplet): the wheel installs and the import fails everywhere it was meant for."""
        return self.glibc or set(self.pythons) >= set(self.judged)


_NAMED_TRIPLET = re.compile(rf"\.(?:cpython-3(\d+)[a-z]*|abi3t?)-({_TRIPLET})\.so$")


def named_triplet(basename: str) -> tuple[str, int | None] | None:
    """The platform triplet a module's suffix names (``x86_64-linux-musl``), with the CPython
    minor a ``.cpython-3XY…`` suffix names (None for ``.abi3[t]-<triplet>``, a form only
    CPython 3.15 and later import); None for a suffix without a triplet."""
    m = _NAMED_TRIPLET.search(basename)
    if not m:
        return None
    return m.group(2), int(m.group(1)) if m.group(1) else None


def names_glibc(basename: str) -> bool:
    """Whether a module's suffix names a glibc CPython: ``-linux-gnu`` where musl's says
    ``-linux-musl`` (from 3.11, and in every ``.abi3[t]-<triplet>`` form, 3.15's)."""
    named = named_triplet(basename)
    return named is not None and "-linux-gnu" in named[0] and (named[1] is None or named[1] >= 11)


def _build_name(p: CPython) -> str:
    """A build as a distro ships it: ``CPython 3.15t (free-threaded, python3.15t)``."""
    return f"CPython {p} (free-threaded, python{p})" if p.free_threaded else f"CPython {p} (python{p})"


def _why_not_imported(bases: list[str], missing: tuple[CPython, ...], arch: Arch) -> str:
    """Why the *missing* builds import none of *bases*, in the terms of their import rules."""
    if any(names_glibc(b) for b in bases):
        return "-linux-gnu names a glibc CPython; musl CPython from 3.11 says -linux-musl"
    suffixes = {module_suffix(b) or "" for b in bases}
    if all(_is_gil_abi3(b) for b in bases) and all(p.free_threaded for p in missing):
        if all(p.minor >= ABI3T_FROM for p in missing):
            return "PEP 803: a free-threaded CPython from 3.15 imports .abi3t, not .abi3"
        return (
            "PEP 803: .abi3 is the GIL-enabled build's stable ABI; a free-threaded build fails to load "
            "it or crashes, though 3.13t and 3.14t still find .abi3.so files"
        )
    if all(s.startswith(".abi3t") for s in suffixes) and all(p.minor < ABI3T_FROM for p in missing):
        return "PEP 803: CPython before 3.15 imports no .abi3t file"
    own = {named[0] for b in bases if (named := named_triplet(b))}
    if own and all(t not in {arch.cpython_triplet("musl"), arch.cpython_triplet("gnu")} for t in own):
        return f"{', '.join(sorted(own))} is not the triplet of a CPython for {arch.name}"
    return "a .cpython-3XY[t] file is imported only by the build it names"


def importable_name(member: str) -> tuple[str, str] | None:
    """``(dotted name, basename)`` Python would import a ``.so`` member as, where it installs
    (:func:`~muslwheel.wheelfile.installed_path`): under directories that are identifiers, with
    an identifier stem and a module's suffix or a plain ``name.so``; None for others. Whether a
    plain ``name.so`` is a module (it defines ``PyInit_name``) is
    :func:`muslwheel.resolve.entry_kind`'s to say: the one answer to "which members are modules"."""
    path = installed_path(member)
    if not path.endswith(".so"):
        return None
    *dirs, base = path.split("/")
    stem = base.split(".", 1)[0]
    if not all(_IDENTIFIER.fullmatch(d) for d in (*dirs, stem)):
        return None
    if not is_module_suffix(base) and base != f"{stem}.so":
        return None
    return ".".join((*dirs, stem)), base


def suffix_problems(member_names: Iterable[str], wheel_tags: Iterable[Tag], arch: Arch) -> list[SuffixProblem]:
    """Every extension module of a wheel for *arch* (plain ``name.so`` files count, the caller
    passes only those that are modules) that some CPython build its *wheel_tags* name would
    not import: a file for another ABI (``.abi3.so`` for a cp315t-only wheel), another libc
    (``-linux-gnu``) or another version. Sorted by module name. When the tags name no CPython
    build (``py3-none``), a ``.cpython-3XY[t]-…`` module is judged by the build it names (its
    triplet must be that build's); other modules are not judged."""
    wheel_tags = list(wheel_tags)
    pythons = sorted(pythons_of_tags(wheel_tags))
    by_module: dict[str, list[str]] = {}
    for member in member_names:
        named = importable_name(member)
        if named:
            by_module.setdefault(named[0], []).append(member)
    abis: dict[str, set[str]] = {}
    for t in wheel_tags:
        if t.interpreter.startswith("cp"):
            abis.setdefault(t.interpreter, set()).add(t.abi)
    said = ", ".join(f"{i}-{'.'.join(sorted(a))}" for i, a in sorted(abis.items()))
    out: list[SuffixProblem] = []
    for module, members in sorted(by_module.items()):
        bases = [m.rsplit("/", 1)[-1] for m in members]
        if any(b.split(".", 1)[1] == "so" for b in bases):
            continue  # a plain name.so: every CPython imports it
        if any(re.search(r"\.pypy\d+-", b) for b in bases):
            continue
        judges = tuple(pythons or _pythons_named_by(bases))
        missing = tuple(p for p in judges if not any(usable(p, arch, b) for b in bases))
        if not missing:
            continue
        names = ", ".join(sorted(module_suffix(b) or b for b in bases))
        expected = sorted({extension_suffixes(p, arch)[0] for p in missing})
        if all(b.split(".")[-2].startswith("abi3") for b in bases):
            if all(p.free_threaded and p.minor >= ABI3T_FROM for p in missing):
                expected.append(".abi3t.so")
            elif not any(p.free_threaded for p in missing):
                expected.append(".abi3.so")
        glibc = any(names_glibc(b) for b in bases)
        who = (
            (f"the wheel's tags ({said}) name" if said else "the wheel's tags name") if pythons else "its suffix names"
        )
        fatal = glibc or set(missing) >= set(judges)
        scope = (
            "no CPython it is for can import it"
            if fatal
            else f"installers of {', '.join(map(str, missing))} take this wheel and the import fails there"
        )
        out.append(
            SuffixProblem(
                module,
                tuple(sorted(members)),
                missing,
                f"{module}: {who} {', '.join(map(_build_name, missing))}, which "
                f"cannot load {names} "
                f"({_why_not_imported(bases, missing, arch)}): {scope}; expected e.g. {', '.join(expected)}",
                judges,
                glibc,
            )
        )
    return out
