"""Which kit serves a target: the one kit choice.

:func:`pick` answers a :class:`KitKey` (an arch, a CPython build, and a musl release, series or
floor) with the built kit of the oldest musl that qualifies: a wheel compiled or proven against
the oldest musl runs on every later one. build's targets (:mod:`muslwheel.builder.target`),
check --import's kits (:func:`choose_kits`, which adds the newest kit of each build) and the
kits made on demand (:mod:`muslwheel.kits.ondemand`) all ask it.

What a wheel asks of a kit (its arch, the CPython builds its tags name, its musl floor) is
:func:`kit_needs`'s; nothing else decides whether a kit's CPython would import a wheel. The CPython builds a wheel's tags name are
:func:`muslwheel.suffixes.pythons_of_tags`'s: ``cpXY-cpXY`` that GIL build, ``cpXY-cpXYt`` that
free-threaded build, ``cpXY-abi3`` every GIL build from X.Y, ``cpXY-abi3t`` every free-threaded
build from X.Y (``cp315-abi3.abi3t``: both); a kit is one build (``Kit.python`` ``"3.13"`` or
``"3.13t"``), so a ``cp313t`` wheel is proven in the free-threaded kits only, a ``cp313`` one in
the default (GIL) kits only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..arch import Arch, get_arch
from ..errors import MuslwheelError
from ..policy import musllinux_platform
from ..suffixes import pythons_of_tags
from ..versions import CPython, MuslVersion, MuslWanted
from . import Kit, KitError, list_kits

__all__ = [
    "KitKey",
    "KitNeeds",
    "choose_kits",
    "default_kits",
    "fitting_kits",
    "kit_fits",
    "kit_needs",
    "musl_wanted",
    "pick",
    "pythons_wanted",
    "suggested_python",
]

if TYPE_CHECKING:
    from ..wheelfile import WheelName


@dataclass(frozen=True)
class KitKey:
    """A kit asked for: its arch, its CPython build (None: a loader-only kit), and which musl:
    *musl* a release (``1.2.2``) or a series (``1.2``) (:class:`~muslwheel.versions.MuslWanted`),
    *floor* the oldest series it may have (a wheel's musllinux_X_Y); neither: any."""

    arch: str
    python: CPython | None
    musl: MuslWanted | None = None
    floor: tuple[int, int] | None = None

    @property
    def arch_info(self) -> Arch:
        """The key's :class:`~muslwheel.arch.Arch` (``arch`` is its name)."""
        return get_arch(self.arch)

    def admits(self, kit: Kit) -> bool:
        """Whether *kit* is one this key asks for (any musl release that qualifies)."""
        if kit.arch != self.arch or kit.python != self.python:
            return False
        if self.musl is not None and not self.musl.admits(kit.musl):
            return False
        return self.floor is None or kit.musl.series >= self.floor


def pick(key: KitKey, kits: Iterable[Kit] | None = None) -> Kit | None:
    """The kit among *kits* (default: those built) that serves *key*: an Alpine-like kit before a
    bare one (a bare kit serves only when no Alpine-like one is built), then the oldest musl
    release that qualifies; None when no kit does."""
    found = [k for k in (list_kits() if kits is None else kits) if key.admits(k)]
    return min(found, key=lambda k: (k.bare, k.musl)) if found else None


def musl_wanted(text: str) -> MuslWanted:
    """``--musl`` as build and lib read it, at the edge: a release (``1.2.3``) or a series
    (``1.2``); :class:`~muslwheel.kits.KitError` (one line) for anything else."""
    try:
        return MuslWanted.parse(text)
    except ValueError:
        raise KitError(f"--musl {text!r}: give a musl release such as 1.2.3 or a series such as 1.2") from None


@dataclass(frozen=True)
class KitNeeds:
    """What a binary wheel asks of a kit."""

    arch: str
    #: the CPython builds the tags name, oldest first (GIL before free-threaded); () = any
    pythons: tuple[CPython, ...]
    musl_floor: tuple[int, int] | None  #: from the musllinux tag (or the audit's floor)
    #: how the tags spell what they want, for messages: ``3.11``, ``3.13t``, ``3.11+``, ``3.15t+``
    wanted: str = "any"


def kit_needs(name: WheelName, arch: str, musl_min_version: MuslVersion | None) -> KitNeeds:
    """The needs of a wheel named *name* whose members are *arch* and need *musl_min_version*."""
    pythons = tuple(sorted(pythons_of_tags(name.tags)))
    floor = None
    for plat in name.platforms:
        musllinux = musllinux_platform(plat)
        if musllinux and (floor is None or musllinux[:2] < floor):
            floor = musllinux[:2]
    if floor is None and musl_min_version:
        floor = musl_min_version.series
    return KitNeeds(arch, pythons, floor, _spelled(name) if pythons else "any")


def _spelled(name: WheelName) -> str:
    """``3.11``, ``3.13t``, ``3.11+`` (abi3), ``3.15t+`` (abi3t): the builds as the tags name them."""
    out: list[tuple[int, int, str]] = []
    for tag in name.tags:
        m = re.fullmatch(r"cp3(\d+)", tag.interpreter)
        if not m:
            continue
        minor = int(m.group(1))
        spelled = {f"cp3{minor}": ("", ""), f"cp3{minor}t": ("t", ""), "abi3": ("", "+"), "abi3t": ("t", "+")}
        if tag.abi in spelled:
            t, plus = spelled[tag.abi]
            out.append((minor, int(bool(t)) + 2 * int(bool(plus)), f"3.{minor}{t}{plus}"))
    return ", ".join(dict.fromkeys(s for _, _, s in sorted(out))) or "any"


def kit_fits(needs: KitNeeds, kit: Kit) -> bool:
    """Whether the kit's CPython is one the wheel's tags name (any, for a wheel whose tags name none)."""
    python = kit.python
    if python is None:
        return False
    return not needs.pythons or python in needs.pythons


def fitting_kits(needs: KitNeeds, kits_dir: Path | None = None) -> list[Kit]:
    """Every built kit of the wheel's arch whose CPython the wheel's tags name."""
    return [k for k in list_kits(kits_dir) if k.arch == needs.arch and k.python and kit_fits(needs, k)]


def choose_kits(needs: KitNeeds, kits: list[Kit]) -> list[Kit]:
    """Among *kits* that fit: per CPython build, the oldest kit at or above the tag's musl floor
    (the oldest musl the wheel promises to run on that a kit has) and the newest (today's), among
    the Alpine-like kits of that build, or the bare ones when none is Alpine-like."""
    by_python: dict[CPython, list[Kit]] = {}
    for k in kits:
        assert k.python is not None
        by_python.setdefault(k.python, []).append(k)
    chosen: list[Kit] = []
    for python in sorted(by_python):
        # Alpine-like kits where any is built; bare ones only when none is (their proof says so)
        alpine = [k for k in by_python[python] if not k.bare]
        group = sorted(alpine or by_python[python], key=lambda k: k.musl)
        if needs.musl_floor:
            # musllinux_1_2 -> the oldest 1.2 kit present (1.2.2 where built, else 1.2.3);
            # musllinux_1_1 -> a 1.1 kit, else the oldest 1.2 one
            promised = pick(KitKey(needs.arch, python, floor=needs.musl_floor), group)
            if promised is not None:
                chosen.append(promised)
        if group[-1] not in chosen:
            chosen.append(group[-1])
    return chosen


def default_kits(needs: KitNeeds, wheel: str, kits_dir: Path | None = None) -> list[Kit]:
    """The wheel's arch × the CPython builds its tags name × {the oldest kit at or above its tag's
    musl floor, the newest}, among the kits built; :class:`MuslwheelError` when none fits."""
    chosen = choose_kits(needs, fitting_kits(needs, kits_dir))
    if not chosen:
        raise MuslwheelError(
            f"{wheel}: no kit with CPython {needs.wanted} for {needs.arch}, so its import cannot be checked "
            f"(`muslwheel kit build --arch {needs.arch} --musl {_cheapest_musl(needs.arch)} "
            f"--python {suggested_python(needs)}`, or --kit)"
        )
    return chosen


def _cheapest_musl(arch: str) -> MuslVersion:
    """Debian's binary musl where Debian ships it for *arch* (seconds to make), else the newest."""
    from .musl import DEBIAN_BINARY_MUSL, NEWEST_MUSL

    return DEBIAN_BINARY_MUSL if get_arch(arch).debian_arch else NEWEST_MUSL


def suggested_python(needs: KitNeeds) -> str:
    """The ``--python`` of a kit that would fit: the oldest build the tags name, ``X.Y`` if any."""
    return str(needs.pythons[0]) if needs.pythons else "X.Y"


def pythons_wanted(needs: KitNeeds) -> str:
    return needs.wanted
