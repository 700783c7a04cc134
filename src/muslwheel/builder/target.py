"""What a cross build needs to know about one target, and where targets come from.

A :class:`Target` is one (arch, CPython build, musl): the host Python that runs the build,
the target CPython's ``_sysconfigdata`` and headers, the root its libraries are found in (for
``repair``), zig's target triple, the kit it was chosen with, and its interpreter as the import
proof runs it (:class:`muslwheel.check_import.MuslPython`, made once with the target). Targets
come from kits (:mod:`muslwheel.kits`), or from an installed musl CPython
prefix of the host's own arch (:func:`target_from_prefix`; the test world's CPython is one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..arch import ARCHES, Arch, get_arch, host_runs_natively
from ..check_import import MuslPython
from ..errors import MuslwheelError, TargetError
from ..hostpython import find_build_python
from ..kits import Kit
from ..kits import find_kit as find_kit  # re-exported: build's --kit
from ..kits.choice import KitKey, musl_wanted, pick
from ..versions import CPython, MuslVersion, MuslWanted

__all__ = [
    "BuildError",
    "Target",
    "TargetUnavailable",
    "find_kit",
    "select_targets",
    "target_from_kit",
    "target_from_prefix",
]


class BuildError(MuslwheelError):
    """A build cannot start as asked (no such target, no zig, unreadable source)."""


class TargetUnavailable(BuildError):
    """A target this host cannot build, through no fault of the project: no Rust toolchain, a
    target std that cannot be built, a crate cargo could not fetch offline. The target's status
    is ``unavailable``, not ``failed``; ``build`` exits 2 when that is all that went wrong."""


@dataclass(frozen=True)
class Target:
    name: str  #: ``aarch64-musl1.2.3-py3.11``
    arch: Arch
    python: CPython  #: its CPython build, ``3.11`` (``3.13t``: free-threaded)
    musl: MuslVersion | None
    root: Path | None  #: the target's root filesystem (libraries for repair); None: this host
    sysconfigdata: Path  #: the target CPython's ``_sysconfigdata_*.py``
    include_dir: Path  #: the target CPython's headers (``Python.h``, ``pyconfig.h``)
    build_python: Path  #: a host CPython of the same minor (the default build for a free-threaded one)
    zig_target: str
    zig_libc: Path | None = None  #: a zig libc file naming the target's own musl, if it has one
    #: the target's CPython as the import proof runs it here (with qemu); None: it cannot run here
    interpreter: MuslPython | None = None
    kit: Kit | None = None  #: the kit it was chosen with, when the target is a kit

    @property
    def python_command(self) -> tuple[str, ...] | None:
        """The command that runs the target's CPython here, None when it cannot run here."""
        return self.interpreter.command if self.interpreter is not None else None

    @property
    def gnu_host(self) -> str:
        return self.arch.gnu_host

    @property
    def platform(self) -> str:
        """What ``sysconfig.get_platform()`` says on the target: ``linux-aarch64``."""
        return f"linux-{self.arch.name}"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "arch": self.arch.name,
            "python": str(self.python),
            "musl": str(self.musl) if self.musl else None,
            "root": str(self.root) if self.root else None,
        }


def _minor_of(sysconfigdata: Path) -> CPython:
    # lib/python3.11/_sysconfigdata_*.py; lib/python3.13t/_sysconfigdata_t_*.py (free-threaded)
    name = sysconfigdata.parent.name
    try:
        if not name.startswith("python"):
            raise ValueError(name)
        return CPython.parse(name[len("python") :])
    except ValueError:
        raise BuildError(f"{sysconfigdata}: not inside a lib/pythonX.Y directory") from None


def target_from_prefix(prefix: Path, *, musl: MuslVersion | None = None) -> Target:
    """A target for a musl CPython installed at *prefix* (``PREFIX/bin/pythonX.Y``) of an arch
    this host runs natively, using this host's musl loader and libraries."""
    found = sorted(prefix.glob("lib/python3.*/_sysconfigdata_*linux*musl*.py"))
    if not found:
        raise BuildError(f"{prefix}: no musl CPython here (no lib/python3.*/_sysconfigdata_*musl*.py)")
    sysconfigdata = found[0]
    minor = _minor_of(sysconfigdata)
    arch = next((a for a in ARCHES.values() if f"_{a.cpython_triplet('musl')}" in sysconfigdata.stem), None)
    if arch is None:
        raise BuildError(f"{sysconfigdata}: not one of the eight musllinux architectures")
    name = f"{arch.name}-musl{musl}-py{minor}" if musl else f"{arch.name}-py{minor}"
    program = prefix / "bin" / f"python{minor}"
    runs = None
    if host_runs_natively(arch) and program.exists():  # it reads its own prefix and sysconfig
        runs = MuslPython(name, arch.name, minor, musl, (str(program),), (prefix, sysconfigdata.parent))
    return Target(
        name=name,
        arch=arch,
        python=minor,
        musl=musl,
        root=None,
        sysconfigdata=sysconfigdata,
        include_dir=prefix / "include" / f"python{minor}",
        build_python=find_build_python(str(minor)),
        zig_target=arch.zig_target,
        interpreter=runs,
    )


def target_from_kit(kit: Kit) -> Target:
    """A target for a kit (:class:`muslwheel.kits.Kit`) with a CPython."""
    if kit.python is None:
        raise BuildError(f"kit {kit.name} has no CPython (a loader-only kit)")
    arch = kit.arch_info
    libc = None
    if (kit.musl_lib_dir / "crt1.o").exists() and (kit.musl_include_dir / "stdio.h").exists():
        libc = kit.zig_libc_file()
    return Target(
        name=kit.name,
        arch=arch,
        python=kit.python,
        musl=kit.musl,
        root=kit.root,
        sysconfigdata=kit.sysconfigdata_path,
        include_dir=kit.include_dir,
        build_python=kit.build_python(),
        zig_target=kit.zig_target,
        zig_libc=libc,
        interpreter=MuslPython.of_kit(kit),
        kit=kit,
    )


def select_targets(
    arches: Sequence[str],
    pythons: Sequence[CPython | str],
    musl: MuslWanted | str | None,
    *,
    kit_build: bool = False,
    quiet: bool = False,
) -> list[Target]:
    """One target per (arch, python): the kit of that arch and minor with the oldest musl
    release among those built (or exactly *musl*, a release or a ``1.1``/``1.2`` series), since
    a wheel compiled against the oldest musl runs on every later one. A missing kit is made
    when *kit_build* (:func:`muslwheel.kits.ondemand.kit_for_target`, every one named before
    any is built), with kit build's progress unless *quiet*. *musl* given as text, as ``--musl``
    spells it (``1.2``, ``1.2.3``), is read by :func:`~muslwheel.kits.choice.musl_wanted` (one line
    for anything else), a python given as text (``"3.13t"``) by :meth:`CPython.parse`."""
    builds = [p if isinstance(p, CPython) else CPython.parse(p) for p in pythons]
    for a in arches:
        get_arch(a)  # an unknown arch is a usage error, before anything else
    wanted = musl_wanted(musl) if isinstance(musl, str) else musl
    targets: list[Target] = []
    missing: list[str] = []
    missing_specs: list[tuple[str, CPython, MuslWanted | None]] = []
    for arch in arches:
        for python in builds:
            oldest = pick(KitKey(arch, python, wanted))
            if oldest is None:
                missing.append(f"{arch} py{python}" + (f" musl {wanted}" if wanted else ""))
                missing_specs.append((arch, python, wanted))
                continue
            targets.append(target_from_kit(oldest))
    if missing and kit_build:
        _make_missing(missing_specs, quiet)
        return select_targets(arches, builds, wanted)
    if missing:
        hint = "`muslwheel kit build --arch ARCH --python X.Y` makes one"
        raise TargetError(f"no kit for {', '.join(missing)} ({hint})")
    return targets


def _make_missing(specs: list[tuple[str, CPython, MuslWanted | None]], quiet: bool) -> None:
    """Make the kits of the targets (arch, python, musl) that have none, all named first."""
    from ..kits import ondemand
    from ..kits.store import StderrProgress
    from ..progress import quiet as drop

    kits = [
        (ondemand.kit_for_target(arch, python, musl), f"no kit for {arch} py{python}") for arch, python, musl in specs
    ]
    for spec, reason in kits:
        ondemand.make_kit(spec, progress=drop if quiet else StderrProgress(), reason=reason)
