"""check: will this wheel load on this target? Proven by musl's own loader where one can run.

The wheel's ELF members are unpacked into a temporary directory beside a private "prefix"
holding a link to the target's loader (``lib/ld-musl-ARCH.so.1``) and a path file
(``etc/ld-musl-ARCH.path``) that lists only the target's library directories. musl derives
the path file's location from the loader's own name, so the loader run from there sees the wheel
and the target's libraries and nothing of the host. Each entry point of the wheel's one
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
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .arch import Arch, get_arch, host_runs_natively
from .audit import Verdict, audit_elfs, read_wheel_elfs
from .errors import MuslwheelError
from .kits import QEMU
from .libc import (
    Detection,
    MuslVersion,
    detect_interpreter,
    detect_root,
    musl_path_dirs,
    musl_version_from_loader_bytes,
    resolve_in_root,
)
from .policy import is_interpreter_symbol
from .resolve import ELSEWHERE, LIBRARY
from .wheelfile import WheelFile

_MISSING = re.compile(r"Error loading shared library (\S+): (.*) \(needed by (.+)\)")
_UNBOUND = re.compile(r"Error relocating (.+?): (\S+): symbol not found")


@dataclass(frozen=True)
class Problem:
    file: str
    kind: str  #: missing-library, unbound-symbol, musl-version, glibc, static
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


@dataclass(frozen=True)
class _Target:
    arch: Arch
    loader: Path | None  #: host path of the target's loader file
    musl: MuslVersion | None
    library_dirs: list[Path]


def _target(arch: Arch, root: Path | None) -> _Target:
    if root is not None:
        d: Detection = detect_root(root, arch=arch.name)
        loader = resolve_in_root(root, d.loader) if d.loader else None
        base = root
    else:
        loader = Path(f"/lib/{arch.loader_name}")
        loader = loader if loader.exists() else None
        base = Path("/")
    musl = None
    if loader is not None:
        found = musl_version_from_loader_bytes(loader.read_bytes())
        musl = found[1] if found else None
    dirs = musl_path_dirs(base, arch)
    if dirs is None:
        if root is not None or detect_interpreter().libc == "musl":
            dirs = [base / d for d in ("lib", "usr/local/lib", "usr/lib")]
        else:
            dirs = []  # a glibc host's /lib and /usr/lib are not the musl target's
    return _Target(arch, loader.resolve() if loader else None, musl, dirs)


def _runner(arch: Arch) -> list[str] | None:
    if host_runs_natively(arch):
        return []
    qemu = shutil.which(QEMU[arch.name])
    return [qemu] if qemu else None


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
    target = _target(arch, root)
    runner = _runner(arch) if target.loader is not None else None
    result = CheckResult(
        Path(path).name,
        arch.name,
        str(target.musl) if target.musl else None,
        verdict.musl_min_version,
        "static",
        str(target.loader) if target.loader else None,
        [str(d) for d in target.library_dirs],
    )
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
        why = "no musl loader for it" if target.loader is None else f"no {QEMU[arch.name]} to run its loader"
        result.notes.append(f"{arch.name}: {why} here; static analysis only")
        for lib in verdict.external_libs:
            result.problems.append(Problem("", "missing-library", lib, "not in the wheel (static analysis)"))
        for r in verdict.reasons:
            if r.kind in ("unresolved", "glibc-symbol"):
                result.problems.append(Problem(r.file or "", "unbound-symbol", r.symbol or "", r.why))
        return result
    result.method = "loader+qemu" if runner else "loader"
    _run_loader(result, data, verdict, target, runner)
    return result


def _version_problems(result: CheckResult, verdict: Verdict, target: _Target) -> None:
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


def _run_loader(
    result: CheckResult, data: dict[str, bytes], verdict: Verdict, target: _Target, runner: list[str]
) -> None:
    assert target.loader is not None
    with tempfile.TemporaryDirectory(prefix="muslwheel-check-") as tmp:
        prefix = Path(tmp) / "prefix"
        (prefix / "lib").mkdir(parents=True)
        (prefix / "etc").mkdir()
        loader = prefix / "lib" / target.arch.loader_name
        os.symlink(target.loader, loader)
        (prefix / "etc" / f"ld-musl-{target.arch.ldso_arch}.path").write_text(
            "\n".join(str(d) for d in target.library_dirs) + "\n"
        )
        unpacked = Path(tmp) / "wheel"
        for name, raw in data.items():
            dest = unpacked / name  # member names were validated by WheelFile
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(raw)
            dest.chmod(0o755)
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
                    needer = m.group(3)
                    if needer.startswith(str(unpacked)):
                        needer = os.path.relpath(needer, unpacked)
                    key = ("missing-library", m.group(1), needer)
                    if key not in seen:
                        seen.add(key)
                        found.append(Problem(needer, "missing-library", m.group(1), m.group(2)))
                    continue
                m = _UNBOUND.search(line)
                if m and not is_interpreter_symbol(m.group(2)):
                    owner = (
                        os.path.relpath(m.group(1), unpacked) if m.group(1).startswith(str(unpacked)) else m.group(1)
                    )
                    key = ("unbound-symbol", m.group(2), owner)
                    if key not in seen:
                        seen.add(key)
                        found.append(Problem(owner, "unbound-symbol", m.group(2), "symbol not found"))
            # A library loaded on its own that misses a name the wheel carries works when the
            # program has loaded that member first: a note, as in the audit.
            if ld.kind != LIBRARY or not any(r.kind == ELSEWHERE for r in ld.resolutions):
                result.problems += found
            else:
                result.notes += [
                    f"{p.file}: loaded on its own (no entry point loads it): {p.kind} {p.subject}: {p.why}"
                    for p in found
                ]
