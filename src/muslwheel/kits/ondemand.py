"""Kits made on demand: which kit ``check --import`` and ``build`` make when none they need is
built, and making it with ``kit build``'s progress and estimates.

One answer for the library and the command line: :func:`kits_for_wheel` (check --import) and
:func:`kit_for_target` (build) decide; :func:`make_kit` builds through
:func:`muslwheel.kits.build.build_kit`, which reuses every piece already in the cache (the
loader-only kit, the arch's CPython tree, the host CPython). ``make=False`` (the CLI's
``--no-kit-build``) keeps the one-line refusal.

Which kit: the wheel's (or target's) arch; the oldest CPython build the wheel's tags name that a
kit can have, one whose CPython tree is already cached first; the oldest musl release of a
loader-only kit of that arch already built that the wheel's musl floor (or build's ``--musl``)
allows, else the release that costs least (Debian's 1.2.3 binary packages where Debian ships
musl for the arch, else the newest musl from source).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arch import Arch, get_arch
from ..progress import Progress
from ..suffixes import FREE_THREADED_FROM
from . import Kit, KitError, kit_name, kits_dir, list_kits
from .choice import KitNeeds, choose_kits, default_kits, fitting_kits
from .cpython import CPYTHON_SOURCES
from .musl import DEBIAN_BINARY_MUSL, NEWEST_MUSL
from .store import _stderr, current, version_key


@dataclass(frozen=True)
class KitSpec:
    """A kit to make: ``kit build --arch ARCH --musl MUSL --python PYTHON``."""

    arch: str
    musl: str
    python: str

    @property
    def name(self) -> str:
        return kit_name(self.arch, self.musl, self.python)


def kit_pythons() -> list[str]:
    """Every ``--python`` a kit can have: each minor kits build, and its free-threaded build
    (``3.13t``) from 3.13 on."""
    out = []
    for minor in CPYTHON_SOURCES:
        out.append(minor)
        if int(minor.split(".")[1]) >= FREE_THREADED_FROM:
            out.append(minor + "t")
    return out


def kits_for_wheel(
    needs: KitNeeds, wheel: str, *, make: bool = True, progress: Progress = _stderr, jobs: int = 2
) -> list[Kit]:
    """The kits that prove *wheel*'s import (:func:`~muslwheel.kits.choice.choose_kits` among
    those built); when none fits, the one :func:`kit_for_wheel` names is built first, unless not
    *make* (then :class:`~muslwheel.errors.MuslwheelError`, one line, as before kits were made)."""
    kits = fitting_kits(needs)
    if kits or not make:
        return choose_kits(needs, kits) if kits else default_kits(needs, wheel)
    spec = kit_for_wheel(needs, wheel)
    make_kit(spec, progress=progress, jobs=jobs, reason=f"{wheel}: no kit with CPython {needs.wanted} for {needs.arch}")
    return default_kits(needs, wheel)


def kit_for_wheel(needs: KitNeeds, wheel: str) -> KitSpec:
    """The kit to make for a wheel no built kit fits; :class:`KitError` (one line) when kits
    cannot have any CPython its tags name."""
    arch = get_arch(needs.arch)
    buildable = kit_pythons()
    wanted = [str(p) for p in needs.pythons] if needs.pythons else buildable
    candidates = [p for p in wanted if p in buildable]
    if not candidates:
        raise KitError(
            f"{wheel}: no kit with CPython {needs.wanted} for {needs.arch}, and kits cannot have it "
            f"(they have CPython {', '.join(buildable)}), so its import cannot be checked"
        )
    cached = [p for p in candidates if _tree_cached(arch, p)]
    floor = ".".join(map(str, needs.musl_floor)) if needs.musl_floor else None
    return KitSpec(arch.name, on_demand_musl(arch, at_least=floor), (cached or candidates)[0])


def kit_for_target(arch: str, python: str, musl: str | None) -> KitSpec:
    """The kit to make for build's target (*arch*, *python*) when none is built: *musl* when it
    is a release (``1.2.2``), else the release :func:`on_demand_musl` picks in the series it
    names (``1.2``) or at all."""
    a = get_arch(arch)
    if python not in kit_pythons():
        raise KitError(
            f"no kit for {arch} py{python}, and kits cannot have CPython {python} (they have {', '.join(kit_pythons())})"
        )
    if musl is not None and musl.count(".") >= 2:
        return KitSpec(a.name, musl, python)
    return KitSpec(a.name, on_demand_musl(a, series=musl), python)


def on_demand_musl(arch: Arch, *, at_least: str | None = None, series: str | None = None) -> str:
    """The musl release of a kit made on demand for *arch*, at or above *at_least* (a wheel's
    floor, ``1.2``) or within *series*: the oldest loader-only kit of the arch already built
    that qualifies (nothing to build for musl), else Debian's binary 1.2.3 where Debian ships
    musl for the arch (seconds), else the newest musl (built from source with zig)."""

    def ok(release: str) -> bool:
        key = version_key(release)
        if at_least is not None and key[: len(version_key(at_least))] < version_key(at_least):
            return False
        return series is None or release == series or release.startswith(series + ".")

    built = sorted(
        (k.musl for k in list_kits() if k.arch == arch.name and k.python is None and ok(k.musl)), key=version_key
    )
    if built:
        return built[0]
    for release in ([DEBIAN_BINARY_MUSL] if arch.debian_arch else []) + [NEWEST_MUSL]:
        if ok(release):
            return release
    wanted = f"musl {series}" if series else f"musl {at_least} or later"
    raise KitError(
        f"no kit of {wanted} for {arch.name}, and none is made on demand "
        f"(`muslwheel kit build --arch {arch.name} --musl X.Y.Z --musl-source TARBALL` makes one)"
    )


def make_kit(spec: KitSpec, *, progress: Progress = _stderr, jobs: int = 2, reason: str | None = None) -> Kit:
    """Build *spec* as ``kit build`` does (its progress and estimates), reusing what is cached;
    *reason* (why it is made) starts the line that says so."""
    from .build import build_kit

    progress(f"{reason + ': ' if reason else ''}making {spec.name} (--no-kit-build refuses instead)")
    return build_kit(spec.arch, spec.musl, spec.python, jobs=jobs, progress=progress)


def _tree_cached(arch: Arch, python: str) -> bool:
    """Whether the cache holds a CPython *python* tree for *arch* (against any musl)."""
    base = kits_dir() / "cpython"
    return any(current(d) for d in base.glob(f"{arch.name}-py{python}-musl*")) if base.is_dir() else False
