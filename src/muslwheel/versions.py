"""Versions as values: a musl release (:class:`MuslVersion`) and a CPython build (:class:`CPython`).

Every room takes and returns these; strings appear only at the edges (the command line, JSON,
file and kit names), made by ``str()`` and read back by ``parse()``:

- ``MuslVersion``: ``1.2.3`` (ordered as numbers; a distro's suffix ``1.2.4_git20230717`` or
  ``1.2.3-r0`` is read and dropped; ``1.2`` is ``1.2.0``).
- ``MuslWanted``: the musl a user asks for (``--musl``): a release (``1.2.3``: that one) or a
  series (``1.2``: any of its releases), said apart.
- ``CPython``: one CPython build, its minor and whether it is free-threaded (PEP 703, from 3.13):
  ``3.13`` or ``3.13t`` (``--python``), ``cp313``/``cp313t`` (its ABI tag), ``313``. Ordered by
  minor, the GIL build before the free-threaded one. Which suffixes it imports is
  :mod:`muslwheel.suffixes`' to say (:func:`~muslwheel.suffixes.extension_suffixes`); the names a
  build of it carries (``python3.13t``, ``_sysconfigdata_t_…``) are here.

Pure: no I/O, no imports from the rest of the package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["FREE_THREADED_FROM", "CPython", "MuslVersion", "MuslWanted"]

FREE_THREADED_FROM = 13  #: the first minor with a free-threaded build (PEP 703)


class MuslVersion(NamedTuple):
    """A musl release, ordered as numbers: ``MuslVersion(1, 2, 3)``, printed ``1.2.3``."""

    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @classmethod
    def parse(cls, text: str) -> MuslVersion:
        """``"1.2"`` or ``"1.2.3"``; a distro's suffix (``1.2.4_git20230717``, ``1.2.3-r0``,
        ``1.2.4-git-5-g1a2b3c4``) is ignored; ValueError otherwise."""
        m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(?:[-+_][\w.+-]*)?", text.strip())
        if not m:
            raise ValueError(f"not a musl version: {text!r}")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))

    @property
    def series(self) -> tuple[int, int]:
        """``(1, 2)`` for ``1.2.3``: the musllinux_X_Y a release belongs to."""
        return self.major, self.minor


@dataclass(frozen=True)
class MuslWanted:
    """A musl asked for (``--musl``): a release, ``MuslWanted((1, 2), 3)`` printed ``1.2.3`` (that
    release only), or a series, ``MuslWanted((1, 2))`` printed ``1.2`` (any release of it)."""

    series: tuple[int, int]
    patch: int | None = None  #: the release's third number; None: any release of the series

    def __str__(self) -> str:
        return f"{self.series[0]}.{self.series[1]}" + ("" if self.patch is None else f".{self.patch}")

    @classmethod
    def parse(cls, text: str) -> MuslWanted:
        """``"1.2"`` (a series) or ``"1.2.3"`` (a release), nothing else; ValueError otherwise."""
        m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
        if not m:
            raise ValueError(f"not a musl release or series: {text!r} (expected e.g. 1.2.3 or 1.2)")
        return cls((int(m.group(1)), int(m.group(2))), None if m.group(3) is None else int(m.group(3)))

    @classmethod
    def exactly(cls, release: MuslVersion) -> MuslWanted:
        """The release *release* and no other."""
        return cls(release.series, release.patch)

    @property
    def release(self) -> MuslVersion | None:
        """The release asked for; None when any release of the series will do."""
        return None if self.patch is None else MuslVersion(*self.series, self.patch)

    def admits(self, version: MuslVersion) -> bool:
        """Whether *version* is the release asked for, or one of the series asked for."""
        return version.series == self.series and (self.patch is None or version.patch == self.patch)


@dataclass(frozen=True, order=True)
class CPython:
    """One CPython 3 build: its minor and whether it is free-threaded (``3.13t``)."""

    minor: int
    free_threaded: bool = False

    major = 3  #: CPython 3 only

    def __str__(self) -> str:
        """As ``--python`` and kit names spell it: ``3.13``, ``3.13t``."""
        return f"3.{self.minor}{'t' if self.free_threaded else ''}"

    @classmethod
    def parse(cls, text: str) -> CPython:
        """``3.11``, ``311``, ``cp311``, ``py311``; a trailing ``t`` (``3.13t``, ``cp313t``) is a
        free-threaded build. ValueError for anything else, or a free-threaded build before 3.13."""
        m = re.fullmatch(r"(?:cp|py)?(\d)\.?(\d+)(t?)", text.strip())
        if not m or m.group(1) != "3":
            raise ValueError(f"not a CPython version: {text!r} (expected e.g. 3.11 or 3.13t)")
        python = cls(int(m.group(2)), bool(m.group(3)))
        if python.free_threaded and python.minor < FREE_THREADED_FROM:
            raise ValueError(f"not a CPython version: {text!r}: free-threaded builds start at 3.13")
        return python

    @property
    def version(self) -> str:
        """The minor without the build flag: ``3.13`` for ``3.13`` and ``3.13t`` (its source, its
        host CPython)."""
        return f"3.{self.minor}"

    @property
    def gil(self) -> CPython:
        """The GIL-enabled build of the same minor."""
        return CPython(self.minor)

    @property
    def abiflags(self) -> str:
        """``t`` on a free-threaded build (configure.ac's ABIFLAGS), else empty."""
        return "t" if self.free_threaded else ""

    @property
    def interpreter(self) -> str:
        """Its interpreter tag: ``cp313`` (the same for ``3.13t``)."""
        return f"cp3{self.minor}"

    @property
    def abi(self) -> str:
        """Its version-specific ABI tag: ``cp313`` or ``cp313t``."""
        return f"cp3{self.minor}{self.abiflags}"

    @property
    def stable_abi(self) -> str:
        """The stable ABI its build takes: ``abi3``, or ``abi3t`` free-threaded (PEP 803)."""
        return "abi3t" if self.free_threaded else "abi3"

    @property
    def ldversion(self) -> str:
        """``3.13t``: the suffix of ``pythonX.Y[t]``, its include and stdlib directories."""
        return f"3.{self.minor}{self.abiflags}"

    def sysconfigdata_name(self, triplet: str) -> str:
        """Its ``_sysconfigdata`` module for a platform *triplet* (``x86_64-linux-musl``):
        ``_sysconfigdata__linux_<triplet>``, ``_sysconfigdata_t_linux_<triplet>`` free-threaded."""
        return f"_sysconfigdata_{self.abiflags}_linux_{triplet}"
