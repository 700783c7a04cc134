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

from ..arch import Arch, get_arch
from ..progress import Progress
from ..versions import CPython, MuslVersion, MuslWanted
from . import Kit, KitError, kits_dir, list_kits
from .build import KitSpec, build_kit, plan_kit
from .choice import KitKey, KitNeeds, choose_kits, default_kits, fitting_kits
from .cpython import kit_pythons
from .musl import DEBIAN_BINARY_MUSL, NEWEST_MUSL
from .store import _stderr, current

__all__ = [
    "KitSpec",
    "kit_for_target",
    "kit_for_wheel",
    "kit_to_make",
    "kits_for_wheel",
    "make_kit",
    "musl_kit_for",
    "on_demand_musl",
]


def kits_for_wheel(
    needs: KitNeeds, wheel: str, *, make: bool = True, progress: Progress = _stderr, jobs: int = 2
) -> list[Kit]:
    """The kits that prove *wheel*'s import (:func:`~muslwheel.kits.choice.choose_kits` among
    those built); when none fits, the one :func:`kit_for_wheel` names is built first, unless not
    *make* (then :class:`~muslwheel.errors.MuslwheelError`, one line, as before kits were made):
    the kit made is then the one that fits."""
    kits = fitting_kits(needs)
    if kits or not make:
        return choose_kits(needs, kits) if kits else default_kits(needs, wheel)
    spec = kit_for_wheel(needs, wheel)
    why = f"{wheel}: no kit with CPython {needs.wanted} for {needs.arch}"
    return [make_kit(spec, progress=progress, jobs=jobs, reason=why)]


def kit_for_wheel(needs: KitNeeds, wheel: str) -> KitSpec:
    """The kit to make for a wheel no built kit fits; :class:`KitError` (one line) when kits
    cannot have any CPython its tags name."""
    buildable = kit_pythons()
    wanted = list(needs.pythons) if needs.pythons else buildable
    candidates = [p for p in wanted if p in buildable]
    if not candidates:
        raise KitError(
            f"{wheel}: no kit with CPython {needs.wanted} for {needs.arch}, and kits cannot have it "
            f"(they have CPython {', '.join(map(str, buildable))}), so its import cannot be checked"
        )
    cached = [p for p in candidates if _tree_cached(needs.arch, p)]
    return kit_to_make(KitKey(needs.arch, (cached or candidates)[0], floor=needs.musl_floor))


def kit_for_target(arch: str, python: CPython, musl: MuslWanted | None) -> KitSpec:
    """The kit to make for build's target (*arch*, *python*) when none is built: *musl* when it
    is a release (``1.2.2``), else the release :func:`on_demand_musl` picks in the series it
    names (``1.2``) or at all."""
    a = get_arch(arch)
    if python not in kit_pythons():
        raise KitError(
            f"no kit for {arch} py{python}, and kits cannot have CPython {python} "
            f"(they have {', '.join(map(str, kit_pythons()))})"
        )
    return kit_to_make(KitKey(a.name, python, musl))


def kit_to_make(key: KitKey) -> KitSpec:
    """The kit to make for *key* when none built serves it: its musl when that is a release
    (``1.2.2``), else the release :func:`on_demand_musl` picks (in its series, at or above its
    floor), with why."""
    asked = key.musl.release if key.musl is not None else None
    if asked is not None:
        return KitSpec(key.arch, asked, key.python, f"musl {asked}: as asked")
    series = key.musl.series if key.musl is not None else None
    release, why = on_demand_musl(key.arch_info, floor=key.floor, series=series)
    return KitSpec(key.arch, release, key.python, why)


def on_demand_musl(
    arch: Arch, *, floor: tuple[int, int] | None = None, series: tuple[int, int] | None = None
) -> tuple[MuslVersion, str]:
    """The musl release of a kit made on demand for *arch*, in a series at or above *floor* (a
    wheel's musllinux_X_Y) or within *series*, and why: the oldest loader-only kit of the arch
    already built that qualifies (nothing to build for musl), else Debian's binary 1.2.3 where
    Debian ships musl for the arch (seconds), else the newest musl (built from source with zig)."""

    def ok(release: MuslVersion) -> bool:
        if floor is not None and release.series < floor:
            return False
        return series is None or release.series == series

    built = sorted(k.musl for k in list_kits() if k.arch == arch.name and k.python is None and k.bare and ok(k.musl))
    if built:
        return built[
            0
        ], f"musl {built[0]}: the oldest musl kit of {arch.name} already built (nothing to build for musl)"
    if arch.debian_arch and ok(DEBIAN_BINARY_MUSL):
        return (
            DEBIAN_BINARY_MUSL,
            f"musl {DEBIAN_BINARY_MUSL}: Debian's binary packages for {arch.name} (seconds to make)",
        )
    if ok(NEWEST_MUSL):
        return NEWEST_MUSL, (
            f"musl {NEWEST_MUSL}: the newest musl, built from source with zig"
            + ("" if arch.debian_arch else f" (Debian ships no musl for {arch.name})")
        )
    at_least = f"{floor[0]}.{floor[1]}" if floor else None
    wanted = f"musl {series[0]}.{series[1]}" if series else f"musl {at_least} or later"
    raise KitError(
        f"no kit of {wanted} for {arch.name}, and none is made on demand "
        f"(`muslwheel kit build --arch {arch.name} --musl X.Y.Z --musl-source TARBALL` makes one)"
    )


def make_kit(spec: KitSpec, *, progress: Progress = _stderr, jobs: int = 2, reason: str | None = None) -> Kit:
    """Build *spec* as ``kit build`` does (its progress and estimates), reusing what is cached;
    *reason* (why it is made) starts the line that says so."""
    progress(f"{reason + ': ' if reason else ''}making {spec.name} (--no-kit-build refuses instead)")
    plan = plan_kit(spec)
    return plan.build(jobs=jobs, progress=progress)


def musl_kit_for(
    arch: str | Arch, musl: MuslVersion | MuslWanted | None, *, progress: Progress = _stderr, jobs: int = 2
) -> Kit:
    """The loader-only kit target libraries (:mod:`muslwheel.libs`) are built against for
    (*arch*, *musl*): *musl* a release as asked, else the one :func:`on_demand_musl` picks in the
    series it names (or at all); made if missing. Always the bare musl root (``<arch>-musl<ver>``,
    never the Alpine-like ``…-system``): what is compiled has only what it is given."""
    a = arch if isinstance(arch, Arch) else get_arch(arch)
    wanted = MuslWanted.exactly(musl) if isinstance(musl, MuslVersion) else musl
    release = kit_to_make(KitKey(a.name, None, wanted)).musl
    return build_kit(a, release, None, progress=progress, jobs=jobs, bare=True)


def _tree_cached(arch: str, python: CPython) -> bool:
    """Whether the cache holds a CPython *python* tree for the arch named *arch* (against any
    musl; not a bare one: a kit made on demand is never bare)."""
    base = kits_dir() / "cpython"
    if not base.is_dir():
        return False
    return any(current(d) for d in base.glob(f"{arch}-py{python}-musl*") if not d.name.endswith("-bare"))
