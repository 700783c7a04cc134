"""A wheelhouse target: what a Python on a musl system accepts, named as users name it.

``alpine:3.17`` (a distro release: its musl from :mod:`muslwheel.distros`, its ``python3`` from
the same data when recorded, ``--python`` otherwise or to override) on an arch given with it
(``alpine:3.17/aarch64``) or by ``--arch``; or ``ARCH[:MUSL]`` (``aarch64:1.2.3``, musl default:
the newest Alpine's) with ``--python X.Y``. Tags and ``pip download`` arguments are
:mod:`muslwheel.tags`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..arch import get_arch
from ..distros import DistroError, find, releases
from ..errors import TargetError
from ..markers import marker_environment
from ..tags import PlatformTarget, parse_python_version, parse_target, pip_download_args, tags_for_target
from ..versions import CPython, MuslVersion


@dataclass(frozen=True)
class HouseTarget:
    """One target of a wheelhouse: arch, musl release, CPython minor (and the distro it came from)."""

    arch: str
    musl: MuslVersion
    python: CPython
    distro: str = ""  #: ``alpine:3.17`` when the target was named by a release

    @property
    def name(self) -> str:
        """``aarch64-musl1.2.3-py3.11``: as kits spell the same triple."""
        return f"{self.arch}-musl{self.musl}-py{self.python_text}"

    @property
    def python_text(self) -> str:
        return f"{self.python.major}.{self.python.minor}{'t' if self.python.free_threaded else ''}"

    @property
    def tags_target(self) -> PlatformTarget:
        return PlatformTarget(self.musl, self.arch)

    def platforms(self) -> list[str]:
        return self.tags_target.platform_tags()

    def pip_args(self) -> list[str]:
        """``--only-binary=:all: --platform … --python-version … --implementation cp --abi …``."""
        return pip_download_args(self.platforms(), self.python)

    def accepts(self, wheel_tags: Sequence[str]) -> bool:
        """Whether this target's CPython installs a wheel with these ``py-abi-plat`` tags."""
        ours = {str(t) for t in tags_for_target(self.platforms(), self.python)}
        return any(t in ours for t in wheel_tags)

    def marker_environment(self, full_version: str | None = None) -> dict[str, str]:
        """PEP 508's environment on the target (:func:`muslwheel.markers.marker_environment`):
        its arch and CPython, *full_version* (its kit's CPython, ``3.11.2``) or ``X.Y.0``."""
        return marker_environment(self.python, self.arch, full_version)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "arch": self.arch,
            "musl": str(self.musl),
            "python": self.python_text,
            "distro": self.distro or None,
        }


class UnknownRelease(TargetError):
    """A target names a distro release muslwheel's table does not know (one line in the summary)."""


def newest_alpine_musl() -> MuslVersion:
    """The musl of the newest numbered Alpine release in the data: ``ARCH`` alone means it."""
    numbered = [r for r in releases() if r.distro == "alpine" and not r.rolling]
    return numbered[-1].musl


def parse_targets(specs: Sequence[str], python: str | None = None, arch: str | None = None) -> list[HouseTarget]:
    """Every target of comma-separated or repeated *specs*, each once, in order.

    Raises :class:`~muslwheel.errors.TargetError` for a malformed spec (the request cannot
    start) and :class:`UnknownRelease` for a well-formed ``DISTRO:RELEASE`` not in the table:
    :func:`split_targets` keeps those apart."""
    good, unknown = split_targets(specs, python, arch)
    if unknown:
        raise unknown[0][1]
    return good


def split_targets(
    specs: Sequence[str], python: str | None = None, arch: str | None = None
) -> tuple[list[HouseTarget], list[tuple[str, UnknownRelease]]]:
    """The targets *specs* name, and the specs that name an unknown release (with the error)."""
    items = list(dict.fromkeys(item.strip() for spec in specs for item in spec.split(",") if item.strip()))
    if not items:
        raise TargetError("no target: give --target alpine:3.20 or --target ARCH[:MUSL] --python X.Y")
    py = parse_python_version(python) if python else None
    good: list[HouseTarget] = []
    unknown: list[tuple[str, UnknownRelease]] = []
    for item in items:
        try:
            good.append(_one(item, py, arch))
        except UnknownRelease as e:
            unknown.append((item, e))
    return list(dict.fromkeys(good)), unknown


def _one(spec: str, python: CPython | None, arch: str | None) -> HouseTarget:
    head, _, spec_arch = spec.partition("/")
    target_arch = spec_arch or arch
    first = head.split(":", 1)[0]
    is_arch = _is_arch(first) or head.startswith("musllinux_")
    if not is_arch:
        if ":" not in head:
            raise TargetError(f"bad target {spec!r}: give DISTRO:RELEASE (alpine:3.20) or ARCH[:MUSL] (aarch64:1.2.3)")
        try:
            release = find(head)
        except DistroError as e:
            if any(r.distro == first.lower() for r in releases()):
                raise UnknownRelease(str(e)) from None
            raise TargetError(str(e)) from None
        if not target_arch:
            raise TargetError(f"target {spec!r}: which arch? (--arch aarch64, or {head}/aarch64)")
        get_arch(target_arch)
        py = python
        if py is None:
            known = release.python
            if known is None:
                raise TargetError(
                    f"target {spec!r}: muslwheel does not know {release.label}'s Python: give --python X.Y"
                )
            py = parse_python_version(known)
        return HouseTarget(target_arch, release.musl, py, release.key)
    if spec_arch:
        raise TargetError(f"bad target {spec!r}: /ARCH follows a distro release only")
    t = (
        parse_target(head)
        if ":" in head or head.startswith("musllinux_")
        else PlatformTarget(newest_alpine_musl(), head)
    )
    if python is None:
        raise TargetError(f"target {spec!r}: give --python X.Y (the CPython the wheelhouse is for)")
    return HouseTarget(t.arch, t.musl_version, python)


def _is_arch(name: str) -> bool:
    try:
        get_arch(name)
    except TargetError:
        return False
    except Exception:
        return False
    return True
