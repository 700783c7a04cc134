"""check: will this wheel load on this target? Proven by musl's own loader where one can run.

The wheel's ELF members are unpacked into a temporary directory beside a private "prefix"
holding a link to the target's loader (``lib/ld-musl-ARCH.so.1``) and a path file
(``etc/ld-musl-ARCH.path``) that lists only the target's library directories. musl derives
the path file's location from the loader's own name, so the loader run from there sees the wheel
and the target's libraries and nothing of the host. The directories are a root's as
:class:`~muslwheel.root.MuslRoot` maps them (its links followed inside it); a root's library that
is a link this host's kernel would follow out of the root is given to the loader through a link to
the root's own file, in a directory searched just before its own. Each entry point of the wheel's one
resolution (:mod:`muslwheel.resolve`: extension modules, executables) is given to ``--list``
(musl's ldd), natively or under qemu-user, as Python's import or a script would load it; every
library it fails to load and every symbol it fails to bind is reported, except the
interpreter's own (``Py*``, ``_Py*``). A library no entry point loads is listed on its own too;
when it fails only for want of a name the wheel carries, that is a note, as the audit makes it
a warning.

A loader cannot report what it predates (musl 1.2.3 lists a DT_RELR library happily, then the
import crashes), so the wheel's musl floor from :mod:`muslwheel.audit` is also held against the
target's version from :mod:`muslwheel.libc`. Without a runnable loader for the target, the
check says so and rests on that static analysis alone.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .arch import Arch, describe_arm_cpu, fits_cpu, get_arch
from .audit import AuditedWheel, Verdict
from .elf import read_elf
from .errors import ELFError, MuslwheelError
from .libc import detect_interpreter, detect_root
from .policy import is_interpreter_symbol
from .qemu import runner as qemu_runner
from .resolve import ELSEWHERE, LIBRARY
from .root import LOADER_ERROR, LOADER_MISSING, LOADER_UNBOUND, MuslRoot
from .sandbox import VIEW_DIR, root_view
from .versions import MuslVersion
from .vocabulary import Kind, Libc

__all__ = ["CheckResult", "Problem", "check_wheel", "signal_name"]


def signal_name(returncode: int) -> str:
    """The signal that killed a program, from :mod:`subprocess`'s ``-N``: ``SIGSEGV``."""
    import signal

    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _unexplained_failure(returncode: int, output: str) -> tuple[str, str] | None:
    """(what, its last words) when the loader (or qemu running it) ended badly without one of
    musl's own error lines: killed by a signal, or a non-zero exit with nothing musl printed."""
    last = (output.strip().splitlines() or ["(no output)"])[-1][:300]
    if returncode < 0:
        return f"killed by {signal_name(returncode)}", last
    if returncode != 0 and not LOADER_ERROR.search(output):
        return f"exit status {returncode}", last
    return None


@dataclass(frozen=True)
class Problem:
    file: str
    kind: str  #: missing-library, unbound-symbol, loader-failed, musl-version, glibc, static
    subject: str
    why: str


@dataclass
class CheckResult:
    wheel: str
    arch: str
    target_musl: MuslVersion | None
    wheel_musl_min: MuslVersion | None
    method: str  #: loader, loader+qemu, or static
    loader: str | None
    library_dirs: list[str]
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def loads(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        for key in ("target_musl", "wheel_musl_min"):  # text at the edge, as the loader says it
            d[key] = str(d[key]) if d[key] is not None else None
        d["loads"] = self.loads
        return d


def _musl_root(arch: Arch, root: Path | None) -> MuslRoot:
    """The target: this host's musl of *arch*, or the root's (its Python's loader, else its own)."""
    if root is None:
        return MuslRoot.of(arch)
    return MuslRoot.of(arch, root, loader=detect_root(root, arch=arch.name).loader)


def _cpu_misfit(loader: Path, arch: Arch) -> str | None:
    """Why the target's loader cannot run on *arch*'s CPU (its ``Tag_CPU_arch``), or None: this
    host's ``ld-musl-armhf.so.1`` (Debian's armhf) is ARMv7 code, and armv6l's CPU stops it."""
    try:
        elf = read_elf(loader)
    except (OSError, ELFError):
        return None
    if fits_cpu(elf, arch) is not False:
        return None
    return (
        f"{loader} is {describe_arm_cpu(elf)} code, which an {arch.name} CPU does not run: give --root an "
        f"{arch.name} root or kit (muslwheel kit build --arch {arch.name} --musl 1.2.6)"
    )


def _library_dirs(target: MuslRoot) -> list[str]:
    """The directories the target's loader searches, as it names them."""
    if target.root is None and target.path_file_dirs is None and detect_interpreter().libc != Libc.MUSL:
        return []  # a glibc host's /lib and /usr/lib are not the musl target's
    return list(target.system_dirs)


def check_wheel(path: Path | AuditedWheel, *, root: Path | None = None, sandbox: bool = True) -> CheckResult:
    """Whether the wheel at *path* (or the wheel audited already) loads on *root*'s musl (None:
    this host's). A root's loader runs where the root is ``/`` (:func:`muslwheel.sandbox.root_view`),
    which needs bubblewrap: without it, :class:`~muslwheel.sandbox.SandboxUnavailable`, unless
    not *sandbox*, when the loader runs on this host's paths (a note says so: a library the
    root's reach only through an absolute RPATH is then this host's)."""
    audited = AuditedWheel.of(path)
    elfs, data, verdict = audited.elfs, audited.data, audited.verdict
    if not elfs:
        result = CheckResult(audited.path.name, "any", None, None, "none", None, [])
        result.notes.append("pure wheel: no ELF members, it loads wherever Python does")
        return result
    if verdict.arch is None:
        raise MuslwheelError(f"{audited.path.name}: no single musllinux architecture in this wheel")
    arch = get_arch(verdict.arch)
    target = _musl_root(arch, root)
    loader = target.loader_file
    misfit = _cpu_misfit(loader, arch) if loader is not None else None
    if misfit is not None:  # armv6l on this host's armhf musl (Debian's is ARMv7 code)
        loader = None
    dirs = _library_dirs(target)
    found = qemu_runner(arch) if loader is not None else None
    runner = list(found.command) if found is not None else None
    result = CheckResult(
        audited.path.name,
        arch.name,
        target.musl,
        verdict.musl_min_version,
        "static",
        str(loader.resolve()) if loader else None,
        [str(target.host_path(d)) for d in dirs],
    )
    if found is not None and found.how:
        result.notes.append(found.how)
    if misfit is not None:
        result.notes.append(misfit)
    _version_problems(result, verdict, target)
    for r in verdict.reasons:  # --list loads a file as a program: it cannot show what dlopen refuses
        if r.kind == Kind.INITIAL_EXEC_TLS:
            result.problems.append(Problem(r.file or "", r.kind, "initial-exec TLS", r.why))
    # musl's loader maps libc.so.6 to itself and may list a glibc binary happily; it is still
    # not a musl binary (glibc's symbol versions, struct layouts, its loader's PT_INTERP).
    for f in verdict.files:
        if f.libc == Libc.GLIBC:
            result.problems.append(
                Problem(f.path, "glibc", "libc", f"a glibc binary, not a musl one ({'; '.join(f.glibc_evidence)})")
            )
    if runner is None:
        why = "no musl loader for it" if loader is None else f"no {arch.qemu} to run its loader"
        result.notes.append(f"{arch.name}: {why} here; static analysis only")
        for lib in verdict.external_libs:
            result.problems.append(Problem("", "missing-library", lib, "not in the wheel (static analysis)"))
        for r in verdict.reasons:
            if r.kind in (Kind.UNRESOLVED, Kind.GLIBC_SYMBOL):
                result.problems.append(Problem(r.file or "", "unbound-symbol", r.symbol or "", r.why))
        return result
    # not executable: natively it would not start, and qemu-user would exit 1 saying nothing
    if loader is not None and not os.access(loader, os.X_OK):
        raise MuslwheelError(f"{loader}: the target's musl loader is not executable (chmod +x to check with it)")
    result.method = "loader+qemu" if runner else "loader"
    if root is not None and not sandbox:
        result.notes.append(
            "no sandbox: the root's loader ran on this host's paths (the links of its library "
            "directories given the root's files)"
        )
    _run_loader(result, data, verdict, target, dirs, runner, sandbox)
    return result


def _version_problems(result: CheckResult, verdict: Verdict, target: MuslRoot) -> None:
    if verdict.musl_min_version is None:
        return
    need = verdict.musl_min_version
    if target.musl is None:
        result.notes.append("the target's musl version is unknown: the wheel's floor could not be checked")
    elif target.musl < need:
        floor_reasons = [r for f in verdict.files for r in f.floor_reasons] + verdict.reasons
        named = dict.fromkeys(
            f"{r.symbol or r.feature} in {r.file}"
            for r in floor_reasons
            if r.musl == verdict.musl_min_version and r.kind in (Kind.SYMBOL, Kind.TIME64, Kind.FEATURE)
        )
        why = f" ({'; '.join(named)[:300]})" if named else ""
        hint = ""
        lowered = verdict.musl_min_version_without_relr
        if lowered is not None and target.musl >= lowered:
            hint = f"; `muslwheel repair` unpacks DT_RELR, after which it needs {lowered}"
        result.problems.append(
            Problem(
                "",
                "musl-version",
                str(need),
                f"needs musl {need}{why}; the target has {target.musl}, whose loader "
                f"cannot see this: it would fail or crash at import{hint}",
            )
        )


def _run_loader(
    result: CheckResult,
    data: Mapping[str, bytes],
    verdict: Verdict,
    target: MuslRoot,
    dirs: list[str],
    runner: list[str],
    sandbox: bool = True,
) -> None:
    loader_file = target.loader_file
    assert loader_file is not None and target.loader is not None
    # A root's loader runs where the root is / (sandbox.root_view): every path it opens is the
    # root's, its links followed inside it. Without the sandbox, it runs on this host's paths,
    # given the root's files for the links of its directories that would lead out of it.
    view = target.root is not None and sandbox
    with tempfile.TemporaryDirectory(prefix="muslwheel-check-") as tmp:
        work = Path(tmp)
        sees = VIEW_DIR + "/work" if view else tmp  # the work directory as the loader sees it
        shadows: dict[str, Path] = {}  # a directory of links -> the root's directory it stands for
        if view:
            searched, link_to = list(dirs), target.loader
        else:
            searched, shadows = target.host_search_dirs(dirs, work / "escapes")
            link_to = str(loader_file.resolve())
        link = target.loader_prefix(work / "prefix", searched, link_to)
        loader = f"{sees}/{link.relative_to(work)}"
        unpacked = work / "wheel"
        for name, raw in data.items():
            dest = unpacked / name  # member names were validated by WheelFile
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(raw)
            dest.chmod(0o755)

        def named(path: str) -> str:
            """A path the loader printed, as the user knows it: a wheel member, or a root's file."""
            if path.startswith(f"{sees}/wheel"):
                return os.path.relpath(path, f"{sees}/wheel")
            head, _, name = path.rpartition("/")
            if head in shadows:
                return str(shadows[head] / name)
            if view and path.startswith("/"):
                try:
                    return str(target.host_path(head or "/") / name)
                except MuslwheelError:
                    return path
            return path

        def command(member: str) -> list[str]:
            argv = [loader, "--list", f"{sees}/wheel/{member}"]
            if not view:
                return [*runner, *argv]
            assert target.root is not None
            return root_view(target.root, argv, [(work, sees)], runner)

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        # One problem per library and symbol, however many members' loads run into it.
        seen: set[tuple[str, str, str]] = set()
        for ld in verdict.loads.loads:
            name = ld.entry
            proc = subprocess.run(
                command(name),
                capture_output=True,
                text=True,
                errors="replace",
                env=env,
                timeout=120,
            )
            found: list[Problem] = []
            for line in (proc.stderr + proc.stdout).splitlines():
                m = LOADER_MISSING.search(line)
                if m and m.group(3) is not None:
                    # named by the object that needs it (the entry point, or a library it loads)
                    needer = named(m.group(3))
                    key = ("missing-library", m.group(1), needer)
                    if key not in seen:
                        seen.add(key)
                        found.append(Problem(needer, "missing-library", m.group(1), m.group(2)))
                    continue
                m = LOADER_UNBOUND.search(line)
                if m and not is_interpreter_symbol(m.group(2)):
                    owner = named(m.group(1))
                    key = ("unbound-symbol", m.group(2), owner)
                    if key not in seen:
                        seen.add(key)
                        found.append(Problem(owner, "unbound-symbol", m.group(2), "symbol not found"))
            failed = _unexplained_failure(proc.returncode, proc.stderr + proc.stdout)
            if failed is not None:  # the loader died or failed without saying why: never "loads"
                found.append(Problem(name, "loader-failed", failed[0], failed[1]))
            # A library loaded on its own that misses a name the wheel carries works when the
            # program has loaded that member first: a note, as in the audit.
            if ld.kind != LIBRARY or not any(r.kind == ELSEWHERE for r in ld.resolutions):
                result.problems += found
            else:
                result.notes += [
                    f"{p.file}: loaded on its own (no entry point loads it): {p.kind} {p.subject}: {p.why}"
                    for p in found
                ]
