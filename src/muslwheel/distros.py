"""Which musl each distribution release ships: users think "Alpine 3.17", not "musl 1.2.3".

Data: ``data/distros.json`` (Alpine 3.12 to edge, Void, OpenWrt, Chimera, postmarketOS), each
release with its musl version, end-of-life date and the sources that say so. Pure: no host
facts; "supported" is judged against a date (today unless given).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Protocol

from .errors import MuslwheelError
from .versions import MuslVersion
from .vocabulary import Kind, Libc, Severity

__all__ = [
    "Audited",
    "DistroError",
    "DistroRelease",
    "describe",
    "fails_on",
    "find",
    "judge",
    "load_problem",
    "releases",
    "wheel_problems",
    "with_musl_below",
]


class _Reason(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def file(self) -> str | None: ...
    @property
    def why(self) -> str: ...


class Audited(Protocol):
    """What this module reads of an audit's verdict (:class:`muslwheel.audit.Verdict`), named
    here so that the audit, which asks :func:`fails_on`, is not imported back."""

    @property
    def libc(self) -> str: ...
    @property
    def arch(self) -> str | None: ...
    @property
    def musl_min_version(self) -> MuslVersion | None: ...
    @property
    def reasons(self) -> Sequence[_Reason]: ...


class DistroError(MuslwheelError):
    """An unknown distribution or release was named."""


@dataclass(frozen=True)
class DistroRelease:
    distro: str  #: alpine
    name: str  #: Alpine
    release: str  #: 3.17
    musl: MuslVersion
    eol: date | None  #: end of life; None when none is recorded
    rolling: bool
    newest: bool  #: the distro's newest release in the data
    only_newest_supported: bool
    checked: bool  #: the sources were read when the data was written
    sources: tuple[str, ...]
    word_size: int | None = None  #: Void's ports: 32 or 64 (None: every arch)
    package: str | None = None  #: the distro's own version string when it differs
    #: the ``python3`` it ships (``3.10``), where the data records it (Alpine); else None
    python: str | None = None

    @property
    def key(self) -> str:
        return f"{self.distro}:{self.release}"

    @property
    def label(self) -> str:
        return f"{self.name} {self.release}"

    def supported(self, today: date | None = None) -> bool:
        if self.rolling:
            return True
        if self.eol is not None:
            return (today or date.today()) < self.eol
        return self.newest or not self.only_newest_supported

    def status(self, today: date | None = None) -> str:
        """rolling, supported, or end of life."""
        return "rolling" if self.rolling else ("supported" if self.supported(today) else "end of life")

    def to_json(self, today: date | None = None) -> dict[str, object]:
        return {
            "distro": self.distro,
            "name": self.name,
            "release": self.release,
            "musl": str(self.musl),
            **({"package": self.package} if self.package else {}),
            **({"python": self.python} if self.python else {}),
            "eol": self.eol.isoformat() if self.eol else None,
            "supported": self.supported(today),
            "rolling": self.rolling,
            **({"word_size": self.word_size} if self.word_size else {}),
            "checked": self.checked,
            "sources": list(self.sources),
        }


@functools.cache
def releases() -> tuple[DistroRelease, ...]:
    """Every release in the data, distro by distro, oldest first."""
    data = json.loads(resources.files("muslwheel").joinpath("data", "distros.json").read_text("utf-8"))
    out = []
    for distro, spec in data["distros"].items():
        entries = spec["releases"]
        for i, r in enumerate(entries):
            word = re.fullmatch(r"(32|64)-bit", r["release"])
            out.append(
                DistroRelease(
                    distro=distro,
                    name=spec["name"],
                    release=r["release"],
                    musl=MuslVersion.parse(r["musl"]),
                    eol=date.fromisoformat(r["eol"]) if r.get("eol") else None,
                    rolling=bool(r.get("rolling")),
                    newest=i == len(entries) - 1 or bool(r.get("rolling")),
                    only_newest_supported=spec.get("supports") == "newest",
                    checked=bool(r.get("checked")),
                    sources=tuple(r.get("sources", ())),
                    word_size=int(word.group(1)) if word else None,
                    package=r.get("package"),
                    python=r.get("python") or None,
                )
            )
    return tuple(out)


def find(spec: str) -> DistroRelease:
    """The release *spec* names: ``alpine:3.17``, ``Alpine 3.17``, ``void:32-bit``, ``alpine:edge``."""
    m = re.fullmatch(r"\s*([A-Za-z]+)[\s:]+(\S+)\s*", spec)
    if m:
        distro, release = m.group(1).lower(), m.group(2).lower().lstrip("v")
        for r in releases():
            if r.distro == distro and r.release.lower().lstrip("v") == release:
                return r
        known = [r.release for r in releases() if r.distro == distro]
        if known:
            raise DistroError(f"{spec!r}: no such {distro} release in muslwheel's table (known: {', '.join(known)})")
    names = sorted({r.distro for r in releases()})
    raise DistroError(f"{spec!r}: not DISTRO:RELEASE of a known distribution ({', '.join(names)}), e.g. alpine:3.17")


def with_musl_below(floor: MuslVersion, at_least: MuslVersion | None = None) -> list[DistroRelease]:
    """The releases whose musl is older than *floor* (and not older than *at_least*): where a
    wheel needing *floor* fails."""
    return [r for r in releases() if r.musl < floor and (at_least is None or r.musl >= at_least)]


def describe(found: Sequence[DistroRelease], today: date | None = None) -> str:
    """``Alpine 3.13–3.17, OpenWrt 22.03 (end of life)``: supported releases first, runs of
    consecutive releases of one distro as ranges."""
    if not found:
        return ""
    supported = [r for r in found if r.supported(today)]
    ended = [r for r in found if not r.supported(today)]
    parts = []
    if supported:
        parts.append(_ranges(supported) + (" (supported)" if ended else ""))
    if ended:
        parts.append(_ranges(ended) + " (end of life)")
    return "; ".join(parts)


def fails_on(floor: MuslVersion, at_least: MuslVersion | None = None, today: date | None = None) -> str:
    """The distro releases a wheel needing musl *floor* fails on, described; "" if none."""
    return describe(with_musl_below(floor, at_least), today)


def _ranges(found: Iterable[DistroRelease]) -> str:
    order = {r.key: i for i, r in enumerate(releases())}
    by_distro: dict[str, list[DistroRelease]] = {}
    for r in sorted(found, key=lambda r: order[r.key]):
        by_distro.setdefault(r.distro, []).append(r)
    out = []
    for items in by_distro.values():
        run = [items[0]]
        runs = [run]
        for r in items[1:]:
            if order[r.key] == order[run[-1].key] + 1 and not (r.rolling or run[-1].rolling):
                run.append(r)
            else:
                run = [r]
                runs.append(run)
        names = [run[0].release if len(run) == 1 else f"{run[0].release}–{run[-1].release}" for run in runs]
        out.append(f"{items[0].name} {', '.join(names)}")
    return ", ".join(out)


def load_problem(release: DistroRelease, *, floor: MuslVersion | None, arch_is_32bit: bool | None) -> str | None:
    """Why a musl wheel with musl floor *floor* cannot load on *release* (None: it can, as far
    as the musl version and word size go)."""
    if release.word_size is not None and arch_is_32bit is not None and (release.word_size == 32) != arch_is_32bit:
        return f"{release.label} is for {release.word_size}-bit arches only"
    if floor is not None and floor > release.musl:
        return f"needs musl {floor}; {release.label} has {release.musl}"
    return None


def wheel_problems(verdict: Audited, release: DistroRelease) -> list[str]:
    """Why *release* cannot load the audited wheel (empty: it can): a glibc, mixed or unknown
    wheel, the verdict's errors other than its tags', and the release's musl and word size."""
    from .arch import ARCHES

    problems = []
    if verdict.libc in (Libc.GLIBC, Libc.MIXED, Libc.UNKNOWN):
        problems.append(f"a {verdict.libc} wheel")
    problems += [
        f"{r.file + ': ' if r.file else ''}{r.why}"
        for r in verdict.reasons
        if r.severity == Severity.ERROR and r.kind != Kind.TAG
    ]
    floor = verdict.musl_min_version if verdict.libc != Libc.NONE else None
    is32 = ARCHES[verdict.arch].is_32bit if verdict.arch in ARCHES else None
    problem = load_problem(release, floor=floor, arch_is_32bit=is32)
    if problem:
        problems.append(problem)
    return problems


def judge(verdict: Audited, specs: Sequence[str]) -> list[dict[str, object]]:
    """Whether each distro release in *specs* (``alpine:3.17``) can load the audited wheel, and
    why not: show --distro's records."""
    out: list[dict[str, object]] = []
    for spec in specs:
        release = find(spec)
        problems = wheel_problems(verdict, release)
        out.append(
            {
                "target": release.key,
                "label": release.label,
                "musl": str(release.musl),
                "loads": not problems,
                "problems": problems,
            }
        )
    return out
