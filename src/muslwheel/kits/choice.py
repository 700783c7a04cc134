"""Which kits can prove a wheel's import: what a wheel asks of a kit (its arch, the CPython minors
its tags name, its musl floor) and the kits that answer it.

check --import asks here (and, through it, build's import step); nothing else decides whether a
kit's CPython would import a wheel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import MuslwheelError
from . import Kit, list_kits

if TYPE_CHECKING:
    from ..wheelfile import WheelName


@dataclass(frozen=True)
class KitNeeds:
    """What a binary wheel asks of a kit."""

    arch: str
    pythons: tuple[tuple[int, int], ...]  #: CPython minors named by the tags; () = any
    abi3_from: tuple[int, int] | None  #: abi3 wheels: the oldest minor
    musl_floor: tuple[int, int] | None  #: from the musllinux tag (or the audit's floor)


def kit_needs(name: WheelName, arch: str, musl_min_version: str | None) -> KitNeeds:
    """The needs of a wheel named *name* whose members are *arch* and need *musl_min_version*."""
    pythons: set[tuple[int, int]] = set()
    abi3_from = None
    for interp in name.interpreters:
        m = re.fullmatch(r"cp(\d)(\d+)", interp)
        if m:
            pythons.add((int(m.group(1)), int(m.group(2))))
    if "abi3" in name.abis and pythons:
        abi3_from, pythons = min(pythons), set()
    floor = None
    for plat in name.platforms:
        m = re.fullmatch(r"musllinux_(\d+)_(\d+)_.*", plat)
        if m and (floor is None or (int(m.group(1)), int(m.group(2))) < floor):
            floor = (int(m.group(1)), int(m.group(2)))
    if floor is None and musl_min_version:
        floor = _minor(musl_min_version)
    return KitNeeds(arch, tuple(sorted(pythons)), abi3_from, floor)


def default_kits(needs: KitNeeds, wheel: str) -> list[Kit]:
    """The wheel's arch × its Python minors × {the oldest kit at or above its tag's musl floor, the
    newest}: the oldest musl the wheel promises to run on that a kit has, and today's."""
    kits = [k for k in list_kits() if k.arch == needs.arch and k.python and kit_fits(needs, k)]
    chosen: list[Kit] = []
    by_python: dict[str, list[Kit]] = {}
    for k in kits:
        assert k.python is not None
        by_python.setdefault(k.python, []).append(k)
    for group in by_python.values():
        group.sort(key=lambda k: tuple(int(p) for p in k.musl.split(".")))
        if needs.musl_floor:
            # the oldest musl the tag promises to run on that a kit has: musllinux_1_2 -> 1.2.3
            # (Debian's; no 1.2.0 kit), musllinux_1_1 -> 1.2.3 too when no 1.1 kit is built
            promised = [k for k in group if _minor(k.musl) >= needs.musl_floor]
            if promised:
                chosen.append(promised[0])
        if group[-1] not in chosen:
            chosen.append(group[-1])
    if not chosen:
        wanted = pythons_wanted(needs)
        build = wanted.rstrip("+") if len(needs.pythons) <= 1 and wanted != "any" else "X.Y"
        raise MuslwheelError(
            f"{wheel}: no kit with CPython {wanted} for {needs.arch}, so its import cannot be checked "
            f"(`muslwheel kit build --arch {needs.arch} --musl 1.2.6 --python {build}`, or --kit)"
        )
    return chosen


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def pythons_wanted(needs: KitNeeds) -> str:
    if needs.pythons:
        return ", ".join(f"{a}.{b}" for a, b in needs.pythons)
    return f"{needs.abi3_from[0]}.{needs.abi3_from[1]}+" if needs.abi3_from else "any"


def kit_fits(needs: KitNeeds, kit: Kit) -> bool:
    """Whether the kit's CPython is one the wheel's Python tags name (abi3: that minor or later)."""
    minor = kit.python_minor  # "3.13t" is 3.13's free-threaded build
    assert minor is not None
    if needs.pythons and minor not in needs.pythons:
        return False
    return not (needs.abi3_from and minor < needs.abi3_from)
