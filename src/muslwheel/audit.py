"""The audit: which musllinux tag a wheel can honestly claim, and exactly why not a better one.

:func:`audit_elfs` is pure: wheel paths and parsed ELF files in, a :class:`Verdict` out.
:func:`audit_wheel` reads a wheel file and calls it. Nothing here looks at the host: the same
wheel gets the same verdict on any machine.

The musl floor of one ELF file is the highest of:

* the first musl release exporting each symbol it imports (strong, undefined, not defined by a
  library of the wheel it loads, not the interpreter's ``Py*``), from musl's symbol table for
  its architecture; on 32-bit arches the time64 names (``__clock_gettime64`` …) give 1.2.0;
* 1.2.4 if it has DT_RELR (older loaders ignore the tag and crash relocating);
* the policy's lowest floor otherwise.

Weak imports never raise it: a missing weak symbol resolves to null and the load goes on.
LFS64 names (``stat64``) that libc.so stopped exporting in 1.2.4 still bind, since the loader
retries without the ``64``; their first release is what counts. A symbol that left libc.so and
came back (i386's ``__xstat``: gone with time64 in 1.2.0, back in 1.2.4) counts from its return.
"""

from __future__ import annotations

import gc
import itertools
import operator
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .arch import (
    ARCHES,
    Arch,
    arch_of_elf,
    code_runs_on,
    cpu_arch_of_elf,
    describe_arm_cpu,
    describe_machine,
    fits_cpu,
    same_machine,
)
from .distros import fails_on
from .elf import ELFFile, parse_elf
from .errors import ELFError
from .hazards import hazards_of, is_glibc_only, not_musl_why, thread_stacks
from .libc import libc_family_of_interpreter
from .policy import (
    Policy,
    arch_floor,
    feature_floor,
    feature_why,
    interpreter_symbols,
    is_musl_self,
    musllinux_platform,
    policies,
    policy_for_version,
    private_symbols,
    pypi_note,
    pypi_uploadable,
    symbol_table,
)
from .resolve import (
    ELSEWHERE,
    EXTENSION,
    EXTERNAL,
    LIBRARY,
    PYTHON,
    SYSTEM,
    Load,
    Resolution,
    WheelLoads,
    entry_kind,
    resolve_wheel,
)
from .suffixes import named_triplet, names_glibc, suffix_problems
from .versions import MuslVersion
from .vocabulary import BLOCKING, MUSL_LIKE, Kind, Libc, Severity
from .wheelfile import WheelFile, WheelName, WheelSource

__all__ = [
    "AuditedWheel",
    "BLOCKING",
    "ERROR",
    "FileReport",
    "GLIBC",
    "GLIBC_NOT_OURS",
    "INFO",
    "MUSL",
    "Reason",
    "STATIC",
    "UNKNOWN",
    "Verdict",
    "WARNING",
    "audit_elfs",
    "audit_wheel",
    "file_libc",
    "read_wheel_elfs",
    "wheel_libcs",
]

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
MUSL, GLIBC, STATIC, UNKNOWN = Libc.MUSL, Libc.GLIBC, Libc.STATIC, Libc.UNKNOWN

_TIME64 = re.compile(r"^__\w*(time64|64)$")
_OTHER_LINUX = re.compile(r"^(linux|manylinux1|manylinux2010|manylinux2014|manylinux_\d+_\d+)_(\w+)$")

_FROM_OUTSIDE = frozenset((EXTERNAL, SYSTEM, ELSEWHERE, PYTHON))  #: resolutions that leave the wheel
_KIND = operator.attrgetter("kind")
_RESOLUTIONS = operator.attrgetter("resolutions")
_NAME = operator.attrgetter("name")

#: What show says of a glibc wheel that claims nothing musl.
GLIBC_NOT_OURS = "glibc wheel: not muslwheel's to judge"


def _str(version: MuslVersion | None) -> str | None:
    """A version as JSON has it: ``"1.2.3"``, or None."""
    return str(version) if version is not None else None


@dataclass(frozen=True)
class Reason:
    """One fact behind the verdict, with what it is about and why it matters."""

    kind: Kind
    why: str
    severity: Severity = ERROR  #: error (the claimed tag is dishonest), warning, or info
    file: str | None = None
    symbol: str | None = None
    library: str | None = None
    feature: str | None = None
    musl: MuslVersion | None = None  #: the musl release this raises the floor to

    def to_json(self) -> dict[str, object]:
        return {k: str(v) if isinstance(v, MuslVersion) else v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class FileReport:
    path: str
    libc: Libc
    arch: str | None
    machine: str
    needed: tuple[str, ...]
    resolutions: tuple[Resolution, ...]
    musl_min_version: MuslVersion | None
    floor_reasons: tuple[Reason, ...]
    glibc_evidence: tuple[str, ...] = ()
    has_relr: bool = False
    x86_isa_needed: int | None = None
    role: str = LIBRARY  #: extension, executable, or library
    loaded_by: tuple[str, ...] = ()  #: the entry points whose loads bring it in (itself for one)

    @property
    def external(self) -> list[str]:
        return sorted({r.needed for r in self.resolutions if r.kind == EXTERNAL})

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "libc": self.libc,
            "arch": self.arch,
            "machine": self.machine,
            "needed": list(self.needed),
            "role": self.role,
            "loaded_by": list(self.loaded_by),
            "resolved": [
                {"needed": r.needed, "by": r.requested_by, "kind": r.kind, **({"path": r.path} if r.path else {})}
                for r in self.resolutions
            ],
            "external_libs": self.external,
            "musl_min_version": _str(self.musl_min_version),
            "floor_reasons": [r.to_json() for r in self.floor_reasons],
            "glibc_evidence": list(self.glibc_evidence),
            "dt_relr": self.has_relr,
            "x86_isa_needed": self.x86_isa_needed,
        }


@dataclass(frozen=True)
class Verdict:
    wheel: str
    libc: Libc
    arch: str | None
    tag: str | None  #: the best musllinux platform tag the wheel can honestly claim
    musl_min_version: MuslVersion | None
    external_libs: list[str]
    system_libs: list[str]
    reasons: list[Reason]
    files: list[FileReport]
    claimed_tags: list[str]
    honest: bool
    stricter: dict[str, str] = field(default_factory=dict)  #: tag -> why the wheel cannot claim it
    loads: WheelLoads = field(default_factory=lambda: WheelLoads(()))  #: the one resolution of the wheel
    #: the floor once `muslwheel repair` has unpacked DT_RELR (None: no DT_RELR)
    musl_min_version_without_relr: MuslVersion | None = None

    @property
    def exit_status(self) -> int:
        return 0 if self.honest else 1

    @property
    def pypi_uploadable(self) -> bool | None:
        """Whether PyPI takes musllinux wheels of its arch (information, never an error);
        None for a wheel that is not musl's (glibc, mixed, pure) or has no one musllinux arch."""
        return pypi_uploadable(self.arch) if self.libc in MUSL_LIKE else None

    @property
    def pypi_note(self) -> str | None:
        """The line that says PyPI will not take it (:func:`policy.pypi_note`), or None."""
        return pypi_note(self.arch) if self.pypi_uploadable is False else None

    def to_json(self) -> dict[str, object]:
        return {
            "wheel": self.wheel,
            "libc": self.libc,
            "arch": self.arch,
            "tag": self.tag,
            "musl_min_version": _str(self.musl_min_version),
            "external_libs": self.external_libs,
            "system_libs": self.system_libs,
            "claimed_tags": self.claimed_tags,
            "honest": self.honest,
            "exit_status": self.exit_status,
            "reasons": [r.to_json() for r in self.reasons],
            "stricter_tags": self.stricter,
            "musl_min_version_without_relr": _str(self.musl_min_version_without_relr),
            "pypi_uploadable": self.pypi_uploadable,
            "pypi_note": self.pypi_note,
            "files": [f.to_json() for f in self.files],
        }


def _is_glibc_library(name: str) -> bool:
    return is_musl_self(name, None) or name.startswith(("ld-linux", "ld64.so", "libresolv.", "libcrypt.", "libanl."))


def file_libc(elf: ELFFile) -> tuple[Libc, tuple[str, ...]]:
    """The libc an ELF file was built against, with the evidence for glibc."""
    # GLIBC_* versions count only when needed from glibc's own libraries: libgcc_s, for one,
    # names some of its aarch64 symbols GLIBC_2.0.
    evidence = [
        f"needs {v} from {lib}"
        for lib, vs in elf.version_needs.items()
        if _is_glibc_library(lib)
        for v in vs
        if v.startswith("GLIBC_")
    ]
    if elf.interpreter and libc_family_of_interpreter(elf.interpreter) == GLIBC:
        evidence.insert(0, f"PT_INTERP {elf.interpreter}")
    evidence += [f"DT_NEEDED {n}" for n in elf.needed if n == "libc.so.6" or n.startswith("ld-linux")]
    if evidence:
        return GLIBC, tuple(evidence[:4])
    if elf.interpreter and libc_family_of_interpreter(elf.interpreter) == MUSL:
        return MUSL, ()
    if any(n.startswith(("libc.musl-", "ld-musl-")) or n == "libc.so" for n in elf.needed):
        return MUSL, ()
    if not elf.is_dynamic:
        return STATIC, ()
    return UNKNOWN, ()


def wheel_libcs(wheel_name: WheelName, elfs: Mapping[str, ELFFile]) -> dict[str, tuple[Libc, tuple[str, ...]]]:
    """Each member's libc with its evidence, decided per wheel, never by default.

    A member's own evidence (PT_INTERP, DT_NEEDED, GLIBC_* version needs) comes first. A member
    with none (a module that imports no libc name) takes the wheel's, in this order: its name
    (CPython ≥ 3.11 on musl names modules ``-linux-musl``, on glibc ``-linux-gnu``; before
    3.11 both said ``-linux-gnu``); the other members, if they agree; the wheel's tags, if they
    claim one libc only. Without any, it stays unknown.
    """
    own = {path: file_libc(elf) for path, elf in elfs.items()}
    evidenced = {libc for libc, _ in own.values() if libc in (GLIBC, MUSL)}
    platforms = wheel_name.platforms
    musl_tags = any(p.startswith("musllinux_") for p in platforms)
    glibc_tags = any(p.startswith("manylinux") for p in platforms)
    out: dict[str, tuple[Libc, tuple[str, ...]]] = {}
    for path, (libc, evidence) in own.items():
        if libc != UNKNOWN:
            out[path] = (libc, evidence)
            continue
        named = named_triplet(path)
        if named and names_glibc(path):
            minor = f"CPython 3.{named[1]}" if named[1] is not None else "CPython 3.15's .abi3[t]-<triplet> form"
            why = f"named -{named[0]}.so for {minor}, which on musl says -linux-musl"
            out[path] = (GLIBC, (why,))
        elif named and "linux-musl" in named[0]:
            out[path] = (MUSL, (f"named -{named[0]}.so",))
        elif len(evidenced) == 1:
            only = next(iter(evidenced))
            out[path] = (only, (f"no libc evidence of its own; the wheel's other members are {only}",))
        elif glibc_tags != musl_tags:
            tagged = GLIBC if glibc_tags else MUSL
            out[path] = (
                tagged,
                (f"no libc evidence in the wheel; tagged {'manylinux' if glibc_tags else 'musllinux'}",),
            )
        else:
            out[path] = (UNKNOWN, ())
    return out


@dataclass(frozen=True)
class _Member:
    """The facts about one ELF member that every phase of the audit reads, worked out once."""

    path: str
    elf: ELFFile
    arch: Arch | None
    libc: Libc
    evidence: tuple[str, ...]
    own: list[Load]  #: the loads that bring it in
    resolutions: list[Resolution]
    outside: bool  #: some of its loads take a library from outside the wheel
    #: its strong imports no library it can see in the wheel defines: what must bind elsewhere
    unprovided: frozenset[str]
    #: of those, the ones libc must export (not the interpreter's ``Py*``)
    needs: frozenset[str]


@dataclass(frozen=True)
class _Floor:
    """One member's musl floor, the reasons that set it, and its floor without DT_RELR."""

    floor: MuslVersion
    reasons: list[Reason]
    without_relr: MuslVersion


def _in_order(elf: ELFFile, names: frozenset[str] | set[str]) -> list[str]:
    """The imports of *elf* named in *names*, in symbol table order (repeats kept)."""
    return [s.name for s in elf.imports if s.name in names] if names else []


def _floor_of(m: _Member, arch: Arch) -> _Floor:
    """The member's musl floor with the reasons that set it, and its floor without DT_RELR
    (what it needs once repair has unpacked its packed relocations)."""
    table = symbol_table(arch.name)
    base = arch_floor(arch.name)  # no older musl exists for this arch
    floor = base
    raising: list[Reason] = []
    known = {name: info for name in m.needs if (info := table.lookup(name)) is not None}
    if known:
        floor = max(base, max(info.since for info in known.values()))
    if floor > base:
        for name in _in_order(m.elf, {n for n, info in known.items() if info.since == floor}):
            info = known[name]
            kind = Kind.TIME64 if arch.is_32bit and _TIME64.match(name) else Kind.SYMBOL
            why = f"{name} first exported by musl {info.first}"
            if floor != info.first:
                why = f"{name} exported by musl {info.first}, missing from {info.spans[0][1]}, back since {floor}"
            raising.append(Reason(kind, why, file=m.path, symbol=name, musl=floor))
    elif base > policies()[0].musl:
        port = f"the {arch.name} port"
        raising.append(Reason(Kind.PORT, f"musl's {arch.name} port began with {base}", feature=port, musl=base))
    unresolved = [
        Reason(Kind.UNRESOLVED, f"{not_musl_why(name)}, nor by anything this file loads", file=m.path, symbol=name)
        for name in (() if m.outside else _in_order(m.elf, m.needs.difference(known)))
    ]
    without_relr = floor
    if m.elf.has_relr:
        relr = feature_floor("DT_RELR")
        if relr > floor:
            floor, raising = relr, []
        if relr == floor:
            raising.append(Reason(Kind.FEATURE, feature_why("DT_RELR"), file=m.path, feature="DT_RELR", musl=relr))
    return _Floor(floor, raising + unresolved, without_relr)


def _suffix_reasons(wheel_name: WheelName, members: list[_Member], files: list[FileReport]) -> list[Reason]:
    """Where the wheel's tags and its extension modules' suffixes disagree (:func:`suffix_problems`,
    per arch): an error when no CPython build the tags name imports the module, or its suffix
    names glibc's triplet; a warning when only some of them do not."""
    extension = {f.path for f in files if f.role == EXTENSION}
    by_arch: dict[Arch, list[str]] = {}
    for m in members:
        if m.path in extension and m.libc != GLIBC and m.arch is not None:
            by_arch.setdefault(m.arch, []).append(m.path)
    out = []
    for arch, paths in by_arch.items():
        for problem in suffix_problems(paths, wheel_name.tags, arch):
            for path in problem.members:
                out.append(
                    Reason(
                        Kind.MODULE_NAME,
                        problem.message,
                        severity=ERROR if problem.fatal else WARNING,
                        file=path,
                    )
                )
    return out


def audit_elfs(wheel_name: WheelName, elfs: Mapping[str, ELFFile]) -> Verdict:
    """Judge a wheel from its name and its ELF members (wheel path -> parsed ELF).

    In phases: the wheel's arch; each member's facts (:class:`_Member`); each member's floor and
    reasons; its threads' stacks (warnings); the libraries from outside; the wheel's libc; the
    tags it could claim; the tags it claims, judged."""
    claimed = sorted(wheel_name.platforms)
    if not elfs:
        return _pure_verdict(wheel_name, claimed)
    arch_name, arches, reasons = _wheel_arch(elfs, claimed)
    members, loads, defined = _members(wheel_name, elfs)

    files: list[FileReport] = []
    floor = policies()[0].musl
    floor_unpacked = floor  #: the wheel's floor once repair has unpacked its libraries' DT_RELR
    floor_reasons: list[Reason] = []
    glibc_members: set[str] = set()
    for m in members:
        file_floor: MuslVersion | None = None
        file_reasons: list[Reason] = []
        if m.libc != GLIBC and m.arch is not None:
            f = _floor_of(m, m.arch)
            file_floor, file_reasons = f.floor, f.reasons
            # what repair unpacks: libraries (executables keep DT_RELR)
            floor_unpacked = max(floor_unpacked, f.floor if m.elf.interpreter is not None else f.without_relr)
            if f.floor > floor:
                floor, floor_reasons = f.floor, []
            if f.floor == floor:
                floor_reasons += [r for r in file_reasons if r.musl == f.floor]
            reasons += [r for r in file_reasons if r.kind == Kind.UNRESOLVED and not is_glibc_only(r.symbol or "")]
            reasons += _musl_member_reasons(m, m.arch)
        if m.libc == GLIBC:
            glibc_members.add(m.path)
        reasons += _member_reasons(m)
        files.append(_file_report(m, file_floor, file_reasons, defined[m.path]))
    reasons += _suffix_reasons(wheel_name, members, files)
    musl_elfs = {m.path: m.elf for m in members if m.libc != GLIBC}  # threads on musl's 128 KiB stack
    reasons += [Reason(h.kind, h.why, WARNING, h.file, h.symbol, h.library) for h in thread_stacks(musl_elfs, loads)]

    # A glibc binary's needs (ld-linux-x86-64.so.2 …) are glibc's business: never "vendor it".
    external = sorted({n for f in files if f.path not in glibc_members for n in f.external})
    system = sorted({r.needed for f in files for r in f.resolutions if r.kind == SYSTEM})
    reasons += _external_reasons(files, glibc_members, external)
    wheel_libc = _wheel_libc({m.libc for m in members})

    honest_policy: Policy | None = policy_for_version(floor, arch_name)
    blocking = [r for r in reasons if r.severity == ERROR and r.kind in BLOCKING]
    tag = None
    if wheel_libc in MUSL_LIKE and arch_name and honest_policy and not blocking:
        tag = honest_policy.tag(arch_name)
    stricter: dict[str, str] = {}
    if arch_name and wheel_libc not in (GLIBC, Libc.MIXED):
        for policy in policies():
            if honest_policy is not None and policy.musl >= honest_policy.musl and not blocking:
                continue
            stricter[policy.tag(arch_name)] = _why_not(policy, floor, floor_reasons, blocking)

    binaries = arch_name or ", ".join(sorted(arches))
    claim_reasons = _claim_reasons(claimed, arch_name, binaries, wheel_libc, floor, floor_reasons, blocking)
    claim_reasons += _cpu_reasons(claimed, elfs)
    without_relr = None
    if wheel_libc in MUSL_LIKE and any(elf.has_relr for elf in elfs.values()):
        without_relr = floor_unpacked
        if floor_unpacked < floor:
            hint = f"; `muslwheel repair` lowers this to {without_relr}"
            claim_reasons = [replace(r, why=r.why + hint) if r.musl == floor else r for r in claim_reasons]
    is_musl_claim = any(musllinux_platform(p) for p in claimed)
    if wheel_libc == GLIBC and not is_musl_claim:
        # Not ours to judge: its tags' arch is checked, nothing else is said.
        note = Reason(Kind.GLIBC, GLIBC_NOT_OURS, severity=INFO)
        return Verdict(
            wheel=wheel_name.filename,
            libc=GLIBC,
            arch=arch_name,
            tag=None,
            musl_min_version=None,
            external_libs=[],
            system_libs=system,
            reasons=[*claim_reasons, note],
            files=files,
            claimed_tags=claimed,
            honest=not claim_reasons,
            loads=loads,
        )

    reasons = claim_reasons + reasons
    if wheel_libc in MUSL_LIKE and tag is not None:
        reasons += [replace(r, severity=INFO, library=None) for r in floor_reasons]
    honest = not any(r.severity == ERROR for r in claim_reasons)
    if is_musl_claim:
        honest = honest and not any(r.severity == ERROR for r in reasons)
    return Verdict(
        wheel=wheel_name.filename,
        libc=wheel_libc,
        arch=arch_name,
        tag=tag,
        musl_min_version=floor if wheel_libc in MUSL_LIKE else None,
        external_libs=external,
        system_libs=system,
        reasons=reasons,
        files=files,
        claimed_tags=claimed,
        honest=honest,
        stricter=stricter,
        loads=loads,
        musl_min_version_without_relr=without_relr,
    )


def _pure_verdict(wheel_name: WheelName, claimed: list[str]) -> Verdict:
    """A wheel with no ELF members: nothing to audit; a binary platform tag is a warning."""
    reasons = [
        Reason(Kind.TAG, f"{p}: no ELF members; nothing here needs a platform tag", severity=WARNING)
        for p in claimed
        if p != "any"
    ]
    reasons.append(Reason(Kind.TAG, "pure wheel: no ELF members, muslwheel has nothing to audit", severity=INFO))
    return Verdict(
        wheel=wheel_name.filename,
        libc=Libc.NONE,
        arch=None,
        tag=None,
        musl_min_version=None,
        external_libs=[],
        system_libs=[],
        reasons=reasons,
        files=[],
        claimed_tags=claimed,
        honest=True,
    )


def _wheel_arch(
    elfs: Mapping[str, ELFFile], claimed: list[str]
) -> tuple[str | None, dict[str, list[str]], list[Reason]]:
    """The wheel's musllinux arch (None: several, or not a musllinux one), its members by
    arch, and the reason when there is no one musllinux arch. Of the rows that share the
    members' ELF identity (armv6l, armv7l), the one the code needs (:func:`_code_arch`)."""
    arches: dict[str, list[str]] = {}
    for path, elf in elfs.items():
        a = arch_of_elf(elf)
        arches.setdefault(a.name if a else describe_machine(elf), []).append(path)
    if len(arches) > 1:
        several = "; ".join(f"{a}: {', '.join(ps[:2])}" for a, ps in sorted(arches.items()))
        return None, arches, [Reason(Kind.ARCH, "ELF members of several architectures: " + several)]
    only = next(iter(arches))
    if only not in ARCHES:
        return None, arches, [Reason(Kind.ARCH, f"{only} is not a musllinux architecture")]
    return _code_arch(only, elfs, claimed), arches, []


def _claimed_arch(platform: str) -> str | None:
    musllinux = musllinux_platform(platform)
    other = _OTHER_LINUX.match(platform)
    return musllinux[2] if musllinux else other.group(2) if other else None


def _code_arch(family: str, elfs: Mapping[str, ELFFile], claimed: list[str]) -> str:
    """The narrowest arch that runs every member (armv6l when each ARM member says ARMv6 code,
    :func:`muslwheel.arch.cpu_arch_of_elf`), unless the wheel claims another that runs it
    (ARMv6 code in an armv7l wheel stays armv7l: an ARMv7 CPU runs it)."""
    narrow = {a.name if a else family for a in map(cpu_arch_of_elf, elfs.values())}
    code = narrow.pop() if len(narrow) == 1 else family
    wanted = {a for a in map(_claimed_arch, claimed) if a}
    if code in wanted:
        return code
    return next((a for a in sorted(wanted) if a in ARCHES and code_runs_on(code, a)), code)


def _cpu_reasons(claimed: list[str], elfs: Mapping[str, ELFFile]) -> list[Reason]:
    """A claimed arch whose CPUs are judged by ``Tag_CPU_arch`` (armv6l), against each member:
    code its CPUs do not have (ARMv7's ``movw``, ``sdiv``, ``dmb``, NEON …) stops the program
    with SIGILL there; a member that does not say is a warning."""
    out: list[Reason] = []
    for platform in claimed:
        arch = ARCHES.get(_claimed_arch(platform) or "")
        if arch is None or arch.arm_cpu_arches is None:
            continue
        for path, elf in sorted(elfs.items()):
            if not same_machine(elf, arch):
                continue
            fits = fits_cpu(elf, arch)
            if fits is None:
                why = f"{platform}: {describe_arm_cpu(elf)}: cannot tell whether its code runs on an {arch.name} CPU"
                out.append(Reason(Kind.TAG_ARCH, why, severity=WARNING, file=path))
            elif not fits:
                why = (
                    f"{platform}: {describe_arm_cpu(elf)}: code an {arch.name} CPU (ARM1176JZF-S: Raspberry Pi "
                    f"Zero, 1) does not have; it stops there with SIGILL (build with {_cpu_hint(arch)})"
                )
                out.append(Reason(Kind.TAG_ARCH, why, file=path))
    return out


def _cpu_hint(arch: Arch) -> str:
    return f"-mcpu={arch.zig_cpu.replace('_', '-')}" if arch.zig_cpu else f"{arch.name}'s CPU"


def _members(
    wheel_name: WheelName, elfs: Mapping[str, ELFFile]
) -> tuple[list[_Member], WheelLoads, dict[str, frozenset[str]]]:
    """Each member's facts (sorted by path), the wheel's one resolution, and each member's
    defined names."""
    # One pass over each member's symbols: who defines each name some member imports.
    defined = {path: elf.defined_names for path, elf in elfs.items()}
    imported = {s.name for elf in elfs.values() for s in elf.imports}
    definers: dict[str, list[str]] = {}
    for path, names in defined.items():
        for name in imported.intersection(names):
            definers.setdefault(name, []).append(path)
    loads = resolve_wheel(elfs, arch_of_elf, defined)
    libc_of = wheel_libcs(wheel_name, elfs)
    out = []
    for path, elf in sorted(elfs.items()):
        libc, evidence = libc_of[path]
        own = loads.loads_of(path)
        visible = loads.visible(path)
        kinds = map(_KIND, itertools.chain.from_iterable(map(_RESOLUTIONS, own)))
        names = frozenset(map(_NAME, elf.imports))
        # Which of its imports a library it can see defines: asked only about its own imports.
        provided = {name for name in names.intersection(definers) if not visible.isdisjoint(definers[name])}
        unprovided = names.difference(provided)
        out.append(
            _Member(
                path=path,
                elf=elf,
                arch=arch_of_elf(elf),
                libc=libc,
                evidence=evidence,
                own=own,
                resolutions=loads.resolutions_of(path),
                outside=not _FROM_OUTSIDE.isdisjoint(kinds),
                unprovided=unprovided,
                needs=unprovided.difference(interpreter_symbols(unprovided)),
            )
        )
    return out, loads, defined


def _musl_member_reasons(m: _Member, arch: Arch) -> list[Reason]:
    """A non-glibc member's hazards and private system symbols."""
    return [
        *(Reason(h.kind, h.why, file=h.file, symbol=h.symbol) for h in hazards_of(m.path, m.elf, arch.name, m.needs)),
        *_private_symbol_reasons(m),
    ]


def _member_reasons(m: _Member) -> list[Reason]:
    """Any member's glibc build, x86-64 level, and libraries found only elsewhere or libpython."""
    out = []
    if m.libc == GLIBC:
        out.append(Reason(Kind.GLIBC, f"built for glibc ({'; '.join(m.evidence)})", file=m.path))
    isa = m.elf.x86_isa_needed
    if isa and isa > 1:
        out.append(Reason(Kind.X86_ISA, f"needs x86-64-v{isa}: fails on older CPUs", severity=WARNING, file=m.path))
    for res in m.resolutions:
        if res.kind == ELSEWHERE:
            out.append(
                Reason(
                    Kind.LIBRARY,
                    f"no entry point loads {m.path} and, loaded on its own, it does not find {res.needed}: "
                    f"the wheel's {res.path} serves only if the program has loaded it first",
                    severity=WARNING,
                    file=m.path,
                    library=res.needed,
                )
            )
        elif res.kind == PYTHON and m.libc != GLIBC:
            out.append(
                Reason(
                    Kind.LIBPYTHON,
                    "the interpreter provides libpython's symbols to extension modules, and a musl "
                    "CPython may have no shared libpython: repair drops this need",
                    severity=WARNING,
                    file=m.path,
                    library=res.needed,
                )
            )
    return out


def _file_report(m: _Member, floor: MuslVersion | None, reasons: list[Reason], defined: frozenset[str]) -> FileReport:
    return FileReport(
        path=m.path,
        libc=m.libc,
        arch=m.arch.name if m.arch else None,
        machine=describe_machine(m.elf),
        needed=m.elf.needed,
        resolutions=tuple(m.resolutions),
        musl_min_version=floor,
        floor_reasons=tuple(reasons),
        glibc_evidence=m.evidence if m.libc == GLIBC else (),
        has_relr=m.elf.has_relr,
        x86_isa_needed=m.elf.x86_isa_needed,
        role=entry_kind(m.path, m.elf, defined) or LIBRARY,
        loaded_by=tuple(ld.entry for ld in m.own),
    )


def _external_reasons(files: list[FileReport], glibc_members: set[str], external: list[str]) -> list[Reason]:
    """One reason per library a non-glibc member needs from outside the wheel, with its users."""
    out = []
    for lib in external:
        users = sorted(
            {
                r.requested_by
                for f in files
                if f.path not in glibc_members
                for r in f.resolutions
                if r.needed == lib and r.kind == EXTERNAL
            }
        )
        out.append(
            Reason(
                Kind.LIBRARY,
                f"not in the wheel and not allowed from the system: vendor it (muslwheel repair); needed by {', '.join(users)}",
                library=lib,
            )
        )
    return out


def _wheel_libc(libcs: set[Libc]) -> Libc:
    """The wheel's libc from its members'."""
    if GLIBC in libcs:
        return Libc.MIXED if MUSL in libcs else GLIBC
    if MUSL in libcs:
        return MUSL
    if libcs == {STATIC}:
        return STATIC
    return UNKNOWN  # no evidence either way: nothing in it needs a libc's own names


def _claim_reasons(
    claimed: list[str],
    arch_name: str | None,
    binaries: str,
    wheel_libc: Libc,
    floor: MuslVersion,
    floor_reasons: list[Reason],
    blocking: list[Reason],
) -> list[Reason]:
    """The claimed platform tags, judged."""
    out: list[Reason] = []
    for platform in claimed:
        musllinux = musllinux_platform(platform)
        if musllinux:
            major, minor, tag_arch = musllinux
            claim = (major, minor)
            out += _judge_musllinux(platform, claim, tag_arch, arch_name, wheel_libc, floor, floor_reasons, blocking)
        elif platform == "any":
            out.append(Reason(Kind.TAG, "'any' platform tag on a wheel with ELF members"))
        else:
            other = _OTHER_LINUX.match(platform)
            if (
                other
                and not code_runs_on(arch_name or "", other.group(2))
                and not (other.group(2) == "armv8l" and arch_name in ("armv7l", "armv6l"))
            ):
                out.append(Reason(Kind.TAG_ARCH, f"{platform}: the binaries are {binaries}"))
            if other and other.group(1).startswith("manylinux") and wheel_libc == MUSL:
                out.append(Reason(Kind.TAG, f"{platform}: a glibc tag on musl binaries"))
    return out


def _private_symbol_reasons(m: _Member) -> list[Reason]:
    """Names a system library's private build exports but no system's copy does (zlib's
    ``zcalloc`` from ``libz.so.1``): the import cannot bind on the target."""
    system = {r.needed for ld in m.own for r in ld.resolutions if r.kind == SYSTEM}
    out = []
    for lib in sorted(system):
        for name in _in_order(m.elf, m.unprovided.intersection(private_symbols(lib))):
            out.append(
                Reason(
                    Kind.SYSTEM_SYMBOL,
                    f"{name} is internal to {lib}: the system's {lib} does not export it "
                    "(vendor the library, or stop using its internals)",
                    file=m.path,
                    symbol=name,
                    library=lib,
                )
            )
    return out


def _top(floor_reasons: list[Reason], n: int = 3) -> str:
    parts = []
    for r in floor_reasons[:n]:
        what = r.symbol or r.feature or r.library or "?"
        parts.append(f"{what} in {Path(r.file).name}" if r.file else what)
    more = len(floor_reasons) - n
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def _why_not(policy: Policy, floor: MuslVersion, floor_reasons: list[Reason], blocking: list[Reason]) -> str:
    if blocking:
        first = blocking[0]
        what = first.library or first.symbol or (first.file or "")
        return f"{first.kind}: {what}: {first.why}"
    return (
        f"needs musl {floor} for {_top(floor_reasons)}; {policy.name} promises {policy.musl.major}.{policy.musl.minor}"
    )


def _judge_musllinux(
    platform: str,
    claim: tuple[int, int],
    arch: str,
    wheel_arch: str | None,
    wheel_libc: Libc,
    floor: MuslVersion,
    floor_reasons: list[Reason],
    blocking: list[Reason],
) -> list[Reason]:
    out = []
    if wheel_libc in (GLIBC, Libc.MIXED):
        out.append(Reason(Kind.TAG, f"{platform}: a musl tag on glibc binaries"))
    if wheel_arch is not None and not code_runs_on(wheel_arch, arch):
        out.append(Reason(Kind.TAG_ARCH, f"{platform}: the binaries are {wheel_arch}"))
    # No musl older than the arch's port exists: loongarch64 under musllinux_1_2 runs on 1.2.5+.
    lowest = max(MuslVersion(claim[0], claim[1], 0), arch_floor(arch)) if arch in ARCHES else MuslVersion(*claim)
    if (floor.major, floor.minor) > claim:
        out.append(
            Reason(
                Kind.TAG,
                f"{platform}: needs musl {floor} for {_top(floor_reasons)}: fails on musl {claim[0]}.{claim[1]}"
                + _distros_failing(floor, MuslVersion(claim[0], claim[1], 0)),
                musl=floor,
            )
        )
    elif floor > lowest and (floor.major, floor.minor) == claim:
        last_bad = f"{floor.major}.{floor.minor}.{floor.patch - 1}"
        out.append(
            Reason(
                Kind.TAG,
                f"{platform}: needs musl {floor} for {_top(floor_reasons)}: fails on musl {lowest}–{last_bad}"
                + _distros_failing(floor, lowest),
                severity=WARNING,
                musl=floor,
            )
        )
    if any(r.kind == Kind.LIBRARY for r in blocking):
        out.append(Reason(Kind.TAG, f"{platform}: external libraries are not vendored"))
    return out


def _distros_failing(floor: MuslVersion, at_least: MuslVersion) -> str:
    """`` (Alpine 3.13–3.17, OpenWrt 22.03 (end of life))``: the distro releases a claim's
    version warning covers, supported ones first; "" if none."""
    text = fails_on(floor, at_least)
    return f" ({text})" if text else ""


def read_wheel_elfs(wheel: WheelFile, *, keep_bytes: bool = False) -> tuple[dict[str, ELFFile], dict[str, bytes]]:
    """Parse every ELF member of *wheel*: {path: ELFFile}, and {path: bytes} if *keep_bytes*
    (otherwise each member's bytes are dropped once parsed)."""
    elfs: dict[str, ELFFile] = {}
    kept: dict[str, bytes] = {}
    for info, data in wheel.elf_members():
        try:
            elfs[info.filename] = parse_elf(data)
        except ELFError as exc:
            raise ELFError(f"{wheel.path.name}: member {info.filename}: {exc}") from None
        if keep_bytes:
            kept[info.filename] = bytes(data)  # the view is reused for the next member
    return elfs, kept


def audit_wheel(path: str | Path | WheelSource) -> Verdict:
    """Audit the wheel file at *path* (or from any WheelSource). Raises WheelError/ELFError for bad input.

    The cyclic garbage collector is paused meanwhile: a big wheel's members hold a million
    symbol tuples, none in a cycle, which it would otherwise traverse again at each of its
    collections while the audit runs (a fifth of the audit's time). They are freed by
    reference counting as it returns; anything cyclic is collected at the next collection."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        with WheelFile(path) as wheel:
            elfs, _ = read_wheel_elfs(wheel)
            return audit_elfs(wheel.name, elfs)
    finally:
        if collecting:
            gc.enable()


@dataclass(frozen=True)
class AuditedWheel:
    """A wheel file read and judged once, passed along instead of its path: build's repair
    returns the wheel it wrote judged (:attr:`muslwheel.repair.RepairResult.audited`), and its check (:func:`muslwheel.check.check_wheel`) and import proof
    (:func:`muslwheel.check_import.wheel_modules`, :func:`~muslwheel.check_import.check_imports`)
    take this value rather than read and audit the file again."""

    path: Path
    name: WheelName
    members: tuple[str, ...]  #: every member's name, in the archive's order
    elfs: Mapping[str, ELFFile]  #: the ELF members, parsed
    data: Mapping[str, bytes]  #: the ELF members' bytes
    verdict: Verdict

    @classmethod
    def read(cls, path: str | Path, *, keep_bytes: bool = True) -> AuditedWheel:
        """Read, parse and audit the wheel file at *path* (WheelError/ELFError for bad input);
        the ELF members' bytes are kept unless not *keep_bytes* (:attr:`data` is then empty)."""
        with WheelFile(path) as wheel:
            elfs, data = read_wheel_elfs(wheel, keep_bytes=keep_bytes)
            members = tuple(m.filename for m in wheel.members)
            return cls(Path(path), wheel.name, members, elfs, data, audit_elfs(wheel.name, elfs))

    @classmethod
    def of(cls, wheel: str | Path | AuditedWheel, *, keep_bytes: bool = True) -> AuditedWheel:
        """*wheel* itself when it is audited already (and holds its ELF bytes, when they are
        wanted), else :meth:`read` of it."""
        if isinstance(wheel, AuditedWheel):
            if not keep_bytes or len(wheel.data) == len(wheel.elfs):
                return wheel
            return wheel.with_bytes()
        return cls.read(wheel, keep_bytes=keep_bytes)

    def with_bytes(self) -> AuditedWheel:
        """This wheel with its ELF members' bytes read from its file, its verdict kept (judged
        once: a wheel :func:`muslwheel.repair.repair_wheel` wrote comes with its verdict)."""
        with WheelFile(self.path) as wheel:
            data = {member: wheel.read(member) for member in self.elfs}
        return replace(self, data=data)
