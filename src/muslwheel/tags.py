"""Wheel tags a musl (or any) target accepts, in pip's priority order, and how to download them.

The interpreter/ABI part is :mod:`packaging.tags`' own (``cpython_tags``, ``compatible_tags``);
muslwheel supplies the platform list, computed from :mod:`muslwheel.libc`'s detection instead
of by running the loader. For the running interpreter the result is the list that
``packaging.tags.sys_tags()`` gives, in the same order.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from packaging import tags as ptags

from .arch import get_arch
from .errors import TargetError
from .libc import Detection
from .policy import musllinux_platform
from .versions import CPython, MuslVersion
from .vocabulary import Libc

__all__ = [
    "PlatformTarget",
    "interpreter_tags",
    "packaging_knows_abi3t",
    "packaging_puts_linux_first",
    "parse_python_version",
    "parse_target",
    "pip_download_args",
    "running_python_version",
    "tags_for_target",
    "target_of_detection",
]


@dataclass(frozen=True)
class PlatformTarget:
    """A musl target: the platform half of what an installer accepts."""

    musl_version: MuslVersion
    arch: str
    #: Further architectures the target also runs, best first (armv8l before armv7l).
    extra_arches: tuple[str, ...] = ()

    def platform_tags(self, *, linux_first: bool = False) -> list[str]:
        """``musllinux_{major}_{minor}_{arch}`` from the target's minor down to 0 for each
        architecture in turn, and ``linux_{arch}`` for each: after them, as packaging < 26.3
        orders them, or before them (*linux_first*), as packaging ≥ 26.3 does."""
        arches = (*self.extra_arches, self.arch) if self.extra_arches else (self.arch,)
        musl = [
            f"musllinux_{self.musl_version.major}_{minor}_{arch}"
            for arch in arches
            for minor in range(self.musl_version.minor, -1, -1)
        ]
        linux = [f"linux_{arch}" for arch in arches]
        return linux + musl if linux_first else musl + linux


def parse_target(spec: str) -> PlatformTarget:
    """A target from ``musllinux_1_2_aarch64`` or ``ARCH:MUSL_VERSION`` (``aarch64:1.2.3``)."""
    musllinux = musllinux_platform(spec)
    if musllinux:
        major, minor, arch_name = musllinux
        get_arch(arch_name)
        return PlatformTarget(MuslVersion(major, minor), arch_name)
    arch, sep, version = spec.partition(":")
    if not sep:
        raise TargetError(f"bad target {spec!r}: give a tag (musllinux_1_2_aarch64) or ARCH:VERSION (aarch64:1.2.3)")
    get_arch(arch)
    try:
        return PlatformTarget(MuslVersion.parse(version), arch)
    except ValueError:
        raise TargetError(f"bad target {spec!r}: {version!r} is not a musl version") from None


def target_of_detection(detection: Detection, *, kernel_machine: str | None = None) -> PlatformTarget:
    """The target a detected musl executable or root is.

    With *kernel_machine* (``os.uname().machine`` for the running interpreter), a 32-bit ARM
    interpreter on an aarch64 kernel also accepts ``armv8l``, as packaging reckons it.
    """
    if detection.libc != Libc.MUSL:
        raise TargetError(f"not a musl target: libc is {detection.libc}")
    if detection.arch is None:
        raise TargetError(f"not a musllinux architecture: {detection.machine}")
    if detection.musl_version is None:
        raise TargetError("the musl version of this target is unknown")
    extra: tuple[str, ...] = ()
    if detection.arch == "armv7l" and kernel_machine == "aarch64":
        extra = ("armv8l",)
    return PlatformTarget(MuslVersion.parse(detection.musl_version), detection.arch, extra)


def parse_python_version(text: str) -> CPython:
    """``3.11``, ``311``, ``cp311``; a trailing ``t`` (``3.13t``) is a free-threaded build
    (:meth:`muslwheel.versions.CPython.parse`, with this module's error)."""
    try:
        return CPython.parse(text)
    except ValueError:
        if text.strip().endswith("t"):
            try:
                CPython.parse(text.strip()[:-1])
            except ValueError:
                pass
            else:
                raise TargetError(f"bad Python version {text!r}: free-threaded builds start at 3.13") from None
        raise TargetError(f"bad Python version {text!r} (expected e.g. 3.11 or 3.13t)") from None


def _cpython(python_version: tuple[int, int] | CPython) -> CPython:
    return python_version if isinstance(python_version, CPython) else CPython(python_version[1])


def _abis(python_version: tuple[int, int] | CPython) -> list[str]:
    """The ABIs a CPython accepts, as pip passes them to packaging: its own, then the stable
    ABI its build takes (``abi3``, or ``abi3t`` on a free-threaded one, PEP 803), then none."""
    python = _cpython(python_version)
    return [python.abi, python.stable_abi, "none"]


def tags_for_target(platforms: Iterable[str], python_version: tuple[int, int] | CPython) -> list[ptags.Tag]:
    """Every tag CPython *python_version* accepts on *platforms*, best first (pip's order).

    For a free-threaded build, packaging's ``cpython_tags`` reads the ``t`` of the first ABI
    (``_is_threaded_cpython``) and offers ``abi3t`` in place of ``abi3`` (``_abi3t_applies``)."""
    platforms = list(platforms)
    version = (3, _cpython(python_version).minor)
    abi = _abis(python_version)[0]
    if abi.endswith("t") and not packaging_knows_abi3t():
        from packaging import __version__

        raise TargetError(
            f"tags of a free-threaded CPython need packaging >= 26.1 (PEP 803's abi3t); this is packaging {__version__}"
        )
    out = list(ptags.cpython_tags(version, abis=[abi], platforms=platforms))
    out += ptags.compatible_tags(version, interpreter=f"cp{version[0]}{version[1]}", platforms=platforms)
    return out


def packaging_puts_linux_first(version: str | None = None) -> bool:
    """Whether the installed packaging (or *version*) lists ``linux_ARCH`` before the
    manylinux and musllinux tags: it does since 26.3 (``tags._linux_platforms``)."""
    from packaging import __version__
    from packaging.version import Version

    return Version(version or __version__) >= Version("26.3.dev0")


def packaging_knows_abi3t(version: str | None = None) -> bool:
    """Whether the installed packaging (or *version*) gives a free-threaded CPython its tags:
    ``abi3t`` in place of ``abi3`` (PEP 803) came with 26.1 (its CHANGELOG, pull 1099); before,
    ``cpython_tags`` offered ``abi3`` to a ``cpXYt`` ABI too (< 24.1) or no stable ABI at all."""
    from packaging import __version__
    from packaging.version import Version

    return Version(version or __version__) >= Version("26.1")


def interpreter_tags(detection: Detection) -> list[ptags.Tag]:
    """The tags of the running interpreter: ``packaging.tags.sys_tags()``, with musl's platform
    tags computed from *detection* (read from the loader's bytes, no subprocess)."""
    platforms: list[str] | None = None  # packaging's own (manylinux reads glibc in-process)
    if detection.libc == Libc.MUSL and detection.arch is not None and detection.musl_version:
        target = target_of_detection(detection, kernel_machine=os.uname().machine)
        platforms = target.platform_tags(linux_first=packaging_puts_linux_first())
    name = ptags.interpreter_name()
    if name == "cp":
        out = list(ptags.cpython_tags(platforms=platforms))
        interp: str | None = "cp" + ptags.interpreter_version()
    else:
        out = list(ptags.generic_tags(platforms=platforms))
        interp = "pp3" if name == "pp" else None
    out += ptags.compatible_tags(interpreter=interp, platforms=platforms)
    return out


def pip_download_args(platforms: Iterable[str], python_version: tuple[int, int] | CPython) -> list[str]:
    """Arguments with which ``pip download --only-binary=:all:`` fetches exactly the wheels a
    CPython *python_version* on *platforms* can install.

    pip does not widen ``--platform musllinux_1_2_x86_64`` to older musllinux minors, so every
    accepted platform tag is passed.
    """
    args = ["--only-binary=:all:"]
    for platform in platforms:
        args += ["--platform", platform]
    args += ["--python-version", _cpython(python_version).version, "--implementation", "cp"]
    for abi in _abis(python_version):
        args += ["--abi", abi]
    return args


def running_python_version() -> CPython:
    """The running interpreter's version, free-threaded if it was built with ``Py_GIL_DISABLED``."""
    import sysconfig

    free = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return CPython(sys.version_info[1], free)
