"""What ``muslwheel build`` builds: its targets from the command's choices, and the backend's
config settings. Pure apart from finding the kits and CPythons the targets name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import MuslwheelError
from ..versions import CPython
from .target import Target

__all__ = ["config_settings", "plan_targets", "python_choices", "split_choices"]


def split_choices(specs: Sequence[str], every: Sequence[str] = ()) -> list[str]:
    """Comma-separated or repeated choices, in order, each once; ``all`` stands for *every*."""
    items = [item for spec in specs for item in (every if every and spec == "all" else spec.split(","))]
    return list(dict.fromkeys(items))


def plan_targets(
    *,
    cpythons: Sequence[str] = (),
    kits: Sequence[str] = (),
    arches: Sequence[str] = (),
    pythons: Sequence[str] = (),
    musl: str | None = None,
    kit_build: bool = True,
    quiet: bool = False,
) -> list[Target]:
    """The build's targets: each installed musl CPython prefix, each kit (name or directory), and
    one per arch x CPython minor (``all`` arches for the eight), at the oldest musl built or *musl*;
    a missing kit is made (:mod:`muslwheel.kits.ondemand`, with kit build's progress unless *quiet*)
    unless not *kit_build*."""
    from ..arch import ARCHES
    from .target import select_targets, target_from_kit, target_from_prefix

    targets = [target_from_prefix(Path(p)) for p in cpythons]
    if kits:
        from .target import find_kit

        targets += [target_from_kit(find_kit(k)) for k in kits]
    if arches or pythons:
        if not (arches and pythons):
            raise MuslwheelError("build: give both --arch and --python (or --kit / --cpython)")
        targets += select_targets(
            split_choices(arches, tuple(ARCHES)), python_choices(pythons), musl, kit_build=kit_build, quiet=quiet
        )
    if not targets:
        raise MuslwheelError("build: no targets: give --arch ARCH --python X.Y (or --kit / --cpython)")
    return targets


def python_choices(specs: Sequence[str]) -> list[CPython]:
    """``--python`` values (``3.11``, ``3.13t`` for a free-threaded build; ``313t`` and
    ``cp313t`` too), each once; a free-threaded build before 3.13 is refused."""
    from ..tags import parse_python_version

    return list(dict.fromkeys(parse_python_version(spec) for spec in split_choices(specs)))


def config_settings(items: Sequence[str]) -> dict[str, str | list[str]]:
    """PEP 517 config settings from ``KEY=VALUE`` items; a repeated key gathers its values in a list."""
    settings: dict[str, str | list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise MuslwheelError(f"build: --config-setting {item!r} is not KEY=VALUE")
        old = settings.get(key)
        settings[key] = value if old is None else [*([old] if isinstance(old, str) else old), value]
    return settings
