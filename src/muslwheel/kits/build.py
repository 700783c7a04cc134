"""Building kits: the one entry point, :func:`build_kit`, and the checks it makes first.

Steps, each cached in ``<cache>/kits`` and skipped when present:

- ``<arch>-musl<ver>`` (loader-only kit, :mod:`.musl`): musl's loader, ``libc.so``, startup
  files and headers, plus the kernel's headers from zig;
- ``<arch>-musl<ver>-system`` (the Alpine-like loader-only kit, :mod:`.system`): that root with
  Alpine's base libraries in ``usr/lib``, never compiled against;
- ``cpython/<arch>-py<X.Y>`` and ``<arch>-musl<ver>-py<X.Y>`` (:mod:`.cpython`);
- the kits' directories, times and locks are :mod:`.store`'s.

Build trees live in a temporary directory outside the cache and are removed afterwards.

A kit to make is a :class:`KitSpec` (``kit build``'s arch, musl and CPython). :func:`plan_kit`
decides once, from the cache as it is, what building it takes: its arguments checked, then the
parts not built yet, in order (a :class:`KitPlan`); :meth:`KitPlan.build` makes them, with the
progress estimate of exactly those parts. The arch arrives as a name (the CLI's ``--arch``) and
becomes an :class:`~muslwheel.arch.Arch` once, in :func:`plan_kit`; every part takes the
:class:`~muslwheel.arch.Arch`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..arch import Arch, get_arch
from ..hostpython import HostPythonError, find_build_python
from ..progress import Progress, Steps
from ..versions import CPython, MuslVersion, MuslWanted
from . import Kit, KitError, kit_name, read_kit
from .cpython import (
    CPYTHON_SOURCES,
    FREE_THREADED,
    build_cpython_tree,
    build_host_python,
    build_python_kit,
    cpython_tarball,
    kit_pythons,
)
from .musl import DEBIAN_BINARY_MUSL, NEWEST_MUSL, base_musl, build_musl_kit, musl_from_debian_packages
from .store import (
    KIT_ESTIMATE,
    MUSL_RECIPES,
    RECIPE,
    StderrProgress,
    _stderr,
    cpython_tree_dir,
    current,
    kit_directory,
    kit_meta,
)
from .store import kit_steps as _Steps
from .system import build_system_kit, system_libraries_built

__all__ = [
    "CPYTHON_SOURCES",
    "DEBIAN_BINARY_MUSL",
    "FREE_THREADED",
    "KIT_ESTIMATE",
    "KitPart",
    "KitPlan",
    "KitSpec",
    "NEWEST_MUSL",
    "RECIPE",
    "StderrProgress",
    "build_cpython_tree",
    "build_host_python",
    "build_kit",
    "build_musl_kit",
    "build_python_kit",
    "check_source_tarball",
    "kit_pythons",
    "musl_release",
    "plan_kit",
]


@dataclass(frozen=True)
class KitSpec:
    """A kit to make: ``kit build --arch ARCH --musl MUSL --python PYTHON``."""

    arch: str
    musl: MuslVersion
    python: CPython | None
    #: why this musl release: the line ``kit build`` without ``--musl`` prints
    why_musl: str = ""

    @property
    def name(self) -> str:
        return kit_name(self.arch, self.musl, self.python)

    @property
    def arch_info(self) -> Arch:
        """The kit's :class:`~muslwheel.arch.Arch` (``arch`` is its name)."""
        return get_arch(self.arch)


def musl_release(text: str) -> MuslVersion:
    """``kit build --musl`` at the edge: a musl release (``1.2.3``); :class:`KitError` (one
    line) for anything else, a series (``1.2``) too."""
    try:
        release = MuslWanted.parse(text).release
    except ValueError:
        release = None
    if release is None or release.major != 1:
        raise KitError(f"--musl {text!r}: give a musl release such as 1.2.3 or {NEWEST_MUSL}")
    return release


class KitPart(Protocol):
    """One piece of a kit still to make, in build order: the kinds of step making it still
    takes, for the estimate (asked when the build starts: whether its libraries or the host
    CPython it needs are there yet), and making it (each part checks again, under its lock,
    that no other process made it meanwhile)."""

    @property
    def kinds(self) -> tuple[str, ...]: ...

    def make(self, jobs: int, steps: Steps) -> object: ...


@dataclass(frozen=True)
class _CPythonSource:
    """CPython's source from Debian, fetched before anything is built: a minor Debian serves no
    tarball of fails in one line, and nothing is built in the meantime."""

    python: CPython
    kinds: tuple[str, ...] = ()

    def make(self, jobs: int, steps: Steps) -> Path:
        return cpython_tarball(self.python.version, None)


@dataclass(frozen=True)
class _MuslKit:
    """A loader-only kit (:func:`~muslwheel.kits.musl.build_musl_kit`)."""

    arch: Arch
    musl: MuslVersion
    source: Path | None
    kinds: tuple[str, ...]

    def make(self, jobs: int, steps: Steps) -> Kit:
        return build_musl_kit(self.arch, self.musl, musl_source=self.source, jobs=jobs, steps=steps)


@dataclass(frozen=True)
class _SystemKit:
    """The Alpine-like loader-only kit: the bare musl root and Alpine's base libraries, built
    against musl *base* (:func:`~muslwheel.kits.system.build_system_kit`)."""

    arch: Arch
    musl: MuslVersion
    base: MuslVersion

    @property
    def kinds(self) -> tuple[str, ...]:
        return () if system_libraries_built(self.arch, self.base) else ("system-libs",)

    def make(self, jobs: int, steps: Steps) -> Kit:
        musl_kit = read_kit(kit_directory(self.arch, self.musl, None))
        return build_system_kit(musl_kit, jobs=jobs, steps=steps)


@dataclass(frozen=True)
class _CPythonTree:
    """An arch's CPython tree, built against the loader-only kit of musl *base*
    (:func:`~muslwheel.kits.cpython.build_cpython_tree`, with the host CPython it runs, built
    first when this host has none)."""

    arch: Arch
    base: MuslVersion
    python: CPython
    source: Path | None
    bare: bool

    @property
    def kinds(self) -> tuple[str, ...]:
        tree = ("cpython-bare",) if self.bare else ("system-libs", "cpython")
        return tree if _host_python_found(self.python) else ("build-python", *tree)

    def make(self, jobs: int, steps: Steps) -> Path:
        base = read_kit(kit_directory(self.arch, self.base, None))
        return build_cpython_tree(base, self.python, cpython_source=self.source, jobs=jobs, steps=steps, bare=self.bare)


@dataclass(frozen=True)
class _PythonKit:
    """The CPython kit: the loader-only kit's root and the tree, joined
    (:func:`~muslwheel.kits.cpython.build_python_kit`)."""

    arch: Arch
    musl: MuslVersion
    python: CPython
    source: Path | None
    bare: bool
    kinds: tuple[str, ...] = ()

    def make(self, jobs: int, steps: Steps) -> Kit:
        musl_kit = read_kit(kit_directory(self.arch, self.musl, None))
        return build_python_kit(
            musl_kit, self.python, cpython_source=self.source, jobs=jobs, steps=steps, bare=self.bare
        )


@dataclass(frozen=True)
class KitPlan:
    """A kit to build, decided once (:func:`plan_kit`): its directory and the parts still to
    make, in order; :meth:`build` makes them (the estimate is their kinds') and returns the kit."""

    name: str
    directory: Path
    parts: tuple[KitPart, ...]

    @property
    def kinds(self) -> list[str]:
        """The kinds of step building this kit still needs, for the estimate."""
        return [kind for part in self.parts for kind in part.kinds]

    def build(self, *, jobs: int = 2, progress: Progress = _stderr) -> Kit:
        """Make the parts in order, with ``kit build``'s progress and estimates; the kit."""
        steps: Steps = _Steps(progress, self.kinds)
        for part in self.parts:
            part.make(jobs, steps)
        return read_kit(self.directory)


def build_kit(
    arch: str | Arch,
    musl: MuslVersion,
    python: CPython | None = None,
    *,
    musl_source: Path | None = None,
    cpython_source: Path | None = None,
    jobs: int = 2,
    progress: Progress = _stderr,
    bare: bool = False,
) -> Kit:
    """Build the kit (arch, musl, python) and what it needs, unless present; return it. A kit is
    Alpine-like (its system libraries in ``usr/lib``, built by :mod:`muslwheel.libs`) unless
    *bare* (``kit build --bare``: none, for CI speed; a loader-only kit that is bare is the musl
    root everything compiles against, ``<arch>-musl<ver>``; an Alpine-like one is
    ``<arch>-musl<ver>-system``)."""
    spec = KitSpec(arch.name if isinstance(arch, Arch) else arch, musl, python)
    plan = plan_kit(spec, musl_source=musl_source, cpython_source=cpython_source, bare=bare)
    return plan.build(jobs=jobs, progress=progress)


def plan_kit(
    spec: KitSpec, *, musl_source: Path | None = None, cpython_source: Path | None = None, bare: bool = False
) -> KitPlan:
    """What building *spec* takes, from the cache as it is: its arguments checked (one line each,
    before anything is fetched or written), then the parts not built yet, in order: CPython's
    source, the loader-only kit, the loader-only kit of the musl its CPython is built against
    (:func:`~muslwheel.kits.musl.base_musl`), the CPython tree, the CPython kit; without
    CPython and unless *bare*, the Alpine-like loader-only kit last (its system libraries those
    of the arch's CPython kits, against the same base musl)."""
    a, musl, python = spec.arch_info, spec.musl, spec.python
    if musl.major != 1:
        raise KitError(f"--musl {str(musl)!r}: give a musl release such as 1.2.3 or {NEWEST_MUSL}")
    build = _kit_python(python) if python is not None else None
    if cpython_source is not None and build is None:
        raise KitError("--cpython-source goes with --python X.Y")
    if musl_source is not None:
        check_source_tarball(musl_source, "musl", musl)
    if cpython_source is not None and build is not None:
        check_source_tarball(cpython_source, "cpython", build.version)
    # a kit already built from another source is not silently kept as if built from this one
    if musl_source is not None:
        _refuse_other_source(kit_directory(a, musl, None), "musl_source", musl_source, MUSL_RECIPES)
    if cpython_source is not None and build is not None:
        _refuse_other_source(kit_directory(a, musl, build, bare), "cpython_source", cpython_source)
    musl_part = None
    if not current(kit_directory(a, musl, None), MUSL_RECIPES):
        musl_part = _MuslKit(a, musl, musl_source, (_musl_kind(a, musl, musl_source),))
    directory = kit_directory(a, musl, build, bare, system=build is None and not bare)
    if (build is None and bare) or current(directory):
        return KitPlan(directory.name, directory, (musl_part,) if musl_part else ())
    base = base_musl(a, musl)
    if build is not None:
        return _python_kit_plan(directory, a, musl, base, build, musl_part, cpython_source, bare)
    # the Alpine-like loader-only kit: the bare root, then its libraries
    parts: list[KitPart] = [musl_part] if musl_part else []
    if base != musl and not current(kit_directory(a, base, None), MUSL_RECIPES):
        parts.append(_MuslKit(a, base, None, (_musl_kind(a, base),)))
    parts.append(_SystemKit(a, musl, base))
    return KitPlan(directory.name, directory, tuple(parts))


def _python_kit_plan(
    directory: Path,
    arch: Arch,
    musl: MuslVersion,
    base: MuslVersion,
    python: CPython,
    musl_part: _MuslKit | None,
    cpython_source: Path | None,
    bare: bool,
) -> KitPlan:
    """The parts of a CPython kit not built yet (its loader-only kit's *musl_part* among them)."""
    parts: list[KitPart] = []
    tree = None
    if not current(cpython_tree_dir(arch, python, base, bare)):
        tree = _CPythonTree(arch, base, python, cpython_source, bare)
        if cpython_source is None:  # the source first: nothing is built before it is had
            parts.append(_CPythonSource(python))
    if musl_part:
        parts.append(musl_part)
    if base != musl and not current(kit_directory(arch, base, None), MUSL_RECIPES):
        parts.append(_MuslKit(arch, base, None, (_musl_kind(arch, base),)))
    if tree is not None:
        parts.append(tree)
    parts.append(_PythonKit(arch, musl, python, cpython_source, bare))
    return KitPlan(directory.name, directory, tuple(parts))


def _musl_kind(arch: Arch, musl: MuslVersion, source: Path | None = None) -> str:
    """The kind of step building the loader-only kit of Debian's or another musl is."""
    return "musl-deb" if musl_from_debian_packages(arch, musl, source) else "musl-src"


def _host_python_found(python: CPython) -> bool:
    """Whether this host has the CPython that cross-builds *python*, or it must be built first."""
    try:
        find_build_python(python.version)
    except HostPythonError:
        return False
    return True


def _kit_python(python: CPython) -> CPython:
    """*python* when kits can have that build, else :class:`KitError`."""
    if python not in kit_pythons():
        raise KitError(f"--python {python}: kits have CPython {', '.join(map(str, kit_pythons()))}")
    return python


def _refuse_other_source(directory: Path, key: str, given: Path, recipes: tuple[int, ...] = (RECIPE,)) -> None:
    """:class:`KitError` when the kit in *directory* is built (of one of *recipes*: a loader-only
    kit's are :data:`~muslwheel.kits.MUSL_RECIPES`), but not from the tarball *given* (its
    ``kit.json`` names the source it was built from under *key*)."""
    if not current(directory, recipes):
        return
    recorded = kit_meta(read_kit(directory), key)
    if recorded != given.name:
        raise KitError(
            f"kit {directory.name} is already built from {recorded or 'another source'}, not {given.name}: "
            f"remove {directory} to build it from {given}"
        )


#: what identifies a source tree: (file whose text names the version, pattern of the version)
_LANDMARKS = {
    "musl": ("VERSION", re.compile(r"^([0-9][^\s]*)")),
    "cpython": ("Include/patchlevel.h", re.compile(r'#define PY_VERSION\s+"([^"]+)"', re.M)),
}


def check_source_tarball(path: Path, what: str, version: str | MuslVersion) -> str:
    """The version of the *what* (``musl`` or ``cpython``) source tree in tarball *path*, checked
    against *version* (musl: equal; CPython: same minor) before anything is built or written;
    :class:`KitError` naming the file otherwise."""
    import tarfile

    label = {"musl": "musl", "cpython": "CPython"}[what]
    if not path.is_file():
        raise KitError(f"{path}: no such source tarball")
    landmark, pattern = _LANDMARKS[what]
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                parts = member.name.split("/", 1)
                if len(parts) == 2 and parts[1] == landmark and member.isfile():
                    f = tar.extractfile(member)
                    text = f.read(65536).decode("utf-8", "replace") if f else ""
                    break
            else:
                raise KitError(f"{path}: not {label}'s source (no {landmark} in it)")
    except tarfile.ReadError:
        raise KitError(f"{path}: not a tarball (tar, gzip, bzip2 or xz)") from None
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:
        raise KitError(f"{path}: not a readable source tarball ({' '.join(str(e).split())})") from None
    m = pattern.search(text)
    found = m.group(1) if m else "an unknown version"
    version = str(version)
    ok = found == version if what == "musl" else found.startswith(version + ".") or found == version
    if not ok:
        raise KitError(f"{path}: {label} {found}'s source, not {label} {version}")
    return found
