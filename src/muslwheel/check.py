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
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .arch import Arch, describe_arm_cpu, fits_cpu, get_arch
from .audit import Verdict, audit_elfs, read_wheel_elfs
from .elf import read_elf
from .errors import ELFError, MuslwheelError
from .libc import MuslVersion, detect_interpreter, detect_root
from .policy import is_interpreter_symbol
from .qemu import runner as qemu_runner
from .resolve import ELSEWHERE, LIBRARY
from .root import MuslRoot, SearchDir
from .vocabulary import Libc
from .wheelfile import WheelFile

_MISSING = re.compile(r"Error loading shared library (\S+): (.*) \(needed by (.+)\)")
_UNBOUND = re.compile(r"Error relocating (.+?): (\S+): symbol not found")
#: musl's ldso/dynlink.c reports every load and relocation error as "Error loading …" or
#: "Error relocating …", then, in --list mode, exits 127 after listing
_LOADER_ERROR = re.compile(r"Error (?:loading shared library|relocating) ")


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
    if returncode != 0 and not _LOADER_ERROR.search(output):
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
    target_musl: str | None
    wheel_musl_min: str | None
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


def check_wheel(path: Path, *, root: Path | None = None) -> CheckResult:
    with WheelFile(path) as wheel:
        elfs, data = read_wheel_elfs(wheel, keep_bytes=True)
        verdict = audit_elfs(wheel.name, elfs)
    if not elfs:
        result = CheckResult(Path(path).name, "any", None, None, "none", None, [])
        result.notes.append("pure wheel: no ELF members, it loads wherever Python does")
        return result
    if verdict.arch is None:
        raise MuslwheelError(f"{Path(path).name}: no single musllinux architecture in this wheel")
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
        Path(path).name,
        arch.name,
        str(target.musl) if target.musl else None,
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
        if r.kind == "initial-exec-tls":
            result.problems.append(Problem(r.file or "", r.kind, "initial-exec TLS", r.why))
    # musl's loader maps libc.so.6 to itself and may list a glibc binary happily; it is still
    # not a musl binary (glibc's symbol versions, struct layouts, its loader's PT_INTERP).
    for f in verdict.files:
        if f.libc == "glibc":
            result.problems.append(
                Problem(f.path, "glibc", "libc", f"a glibc binary, not a musl one ({'; '.join(f.glibc_evidence)})")
            )
    if runner is None:
        why = "no musl loader for it" if loader is None else f"no {arch.qemu} to run its loader"
        result.notes.append(f"{arch.name}: {why} here; static analysis only")
        for lib in verdict.external_libs:
            result.problems.append(Problem("", "missing-library", lib, "not in the wheel (static analysis)"))
        for r in verdict.reasons:
            if r.kind in ("unresolved", "glibc-symbol"):
                result.problems.append(Problem(r.file or "", "unbound-symbol", r.symbol or "", r.why))
        return result
    # not executable: natively it would not start, and qemu-user would exit 1 saying nothing
    if loader is not None and not os.access(loader, os.X_OK):
        raise MuslwheelError(f"{loader}: the target's musl loader is not executable (chmod +x to check with it)")
    result.method = "loader+qemu" if runner else "loader"
    _run_loader(result, data, verdict, target, dirs, runner)
    return result


def _version_problems(result: CheckResult, verdict: Verdict, target: MuslRoot) -> None:
    if verdict.musl_min_version is None:
        return
    need = MuslVersion.parse(verdict.musl_min_version)
    if target.musl is None:
        result.notes.append("the target's musl version is unknown: the wheel's floor could not be checked")
    elif target.musl < need:
        floor_reasons = [r for f in verdict.files for r in f.floor_reasons] + verdict.reasons
        named = dict.fromkeys(
            f"{r.symbol or r.feature} in {r.file}"
            for r in floor_reasons
            if r.musl == verdict.musl_min_version and r.kind in ("symbol", "time64", "feature")
        )
        why = f" ({'; '.join(named)[:300]})" if named else ""
        hint = ""
        lowered = verdict.musl_min_version_without_relr
        if lowered is not None and target.musl >= MuslVersion.parse(lowered):
            hint = f"; `muslwheel repair` unpacks DT_RELR, after which it needs {lowered}"
        result.problems.append(
            Problem(
                "",
                "musl-version",
                verdict.musl_min_version,
                f"needs musl {need}{why}; the target has {target.musl}, whose loader "
                f"cannot see this: it would fail or crash at import{hint}",
            )
        )


def _escapes(target: MuslRoot, directory: str, into: Path) -> bool:
    """Links in *into* to the files of the root's *directory* that the host's kernel would follow
    out of the root (``libfoo.so.1 -> /opt/foo/libfoo.so.1`` names the host's /opt), each to the
    root's own file; whether there were any. Searched just before *directory*, they are what the
    loader opens for those names, and *directory* gives it every other name as it is."""
    host_dir = target.host_path(directory)
    try:
        links = sorted(e.name for e in os.scandir(host_dir) if e.is_symlink())
    except OSError:
        return False
    any_ = False
    for name in links:
        try:
            inside = target.host_file(SearchDir(directory), name)
        except MuslwheelError:  # a symlink loop in the root: musl cannot open it either
            continue
        if os.path.realpath(host_dir / name) != os.path.realpath(inside):
            into.mkdir(parents=True, exist_ok=True)
            os.symlink(inside, into / name)
            any_ = True
    return any_


def _run_loader(
    result: CheckResult,
    data: dict[str, bytes],
    verdict: Verdict,
    target: MuslRoot,
    dirs: list[str],
    runner: list[str],
) -> None:
    loader_file = target.loader_file
    assert loader_file is not None
    with tempfile.TemporaryDirectory(prefix="muslwheel-check-") as tmp:
        prefix = Path(tmp) / "prefix"
        (prefix / "lib").mkdir(parents=True)
        (prefix / "etc").mkdir()
        loader = prefix / "lib" / target.arch.loader_name
        os.symlink(loader_file.resolve(), loader)
        searched: list[str] = []
        shadows: dict[str, Path] = {}  # a directory of links -> the root's directory it stands for
        for i, d in enumerate(dirs):
            host_dir = target.host_path(d)
            fixes = Path(tmp) / "escapes" / str(i)
            if target.root is not None and _escapes(target, d, fixes):
                shadows[str(fixes)] = host_dir
                searched.append(str(fixes))
            searched.append(str(host_dir))
        (prefix / "etc" / f"ld-musl-{target.arch.ldso_arch}.path").write_text("\n".join(searched) + "\n")
        unpacked = Path(tmp) / "wheel"
        for name, raw in data.items():
            dest = unpacked / name  # member names were validated by WheelFile
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(raw)
            dest.chmod(0o755)

        def named(path: str) -> str:
            """A path the loader printed, as the user knows it: a wheel member, or a root's file."""
            if path.startswith(str(unpacked)):
                return os.path.relpath(path, unpacked)
            head, _, name = path.rpartition("/")
            return str(shadows[head] / name) if head in shadows else path

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        # One problem per library and symbol, however many members' loads run into it.
        seen: set[tuple[str, str, str]] = set()
        for ld in verdict.loads.loads:
            name = ld.entry
            proc = subprocess.run(
                [*runner, str(loader), "--list", str(unpacked / name)],
                capture_output=True,
                text=True,
                errors="replace",
                env=env,
                timeout=120,
            )
            found: list[Problem] = []
            for line in (proc.stderr + proc.stdout).splitlines():
                m = _MISSING.search(line)
                if m:
                    # named by the object that needs it (the entry point, or a library it loads)
                    needer = named(m.group(3))
                    key = ("missing-library", m.group(1), needer)
                    if key not in seen:
                        seen.add(key)
                        found.append(Problem(needer, "missing-library", m.group(1), m.group(2)))
                    continue
                m = _UNBOUND.search(line)
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
