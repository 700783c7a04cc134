"""One target end to end, and all targets in parallel.

For each target: a private copy of the source, the toolchain (:mod:`.toolchain`), the
``--before-build`` command, the PEP 517 build (:mod:`.pep517`), then
:func:`muslwheel.repair.repair_wheel` against the target's root and the check: musl's loader
over every ELF member (:func:`muslwheel.check.check_wheel`) and an import of every extension
module in the target's CPython (natively or under qemu-user) when the target has one. A
target that fails does not stop the others; its result carries the reason and the last lines
of its build log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from ..errors import MuslwheelError
from ..kits import cache_dir
from ..progress import BoardPrinter
from .pep517 import BuildEnv, BuildSystem, Source, read_build_system, run_hook
from .target import BuildError, Target
from .toolchain import Toolchain, cross_environment, make_toolchain

LOG_TAIL_LINES = 15


@dataclass
class BuildOptions:
    source: Path
    out_dir: Path
    targets: Sequence[Target]
    jobs: int = 0  #: 0: the core count
    before_build: str | None = None
    config_settings: dict[str, str | list[str]] = field(default_factory=dict)
    test_command: str | None = None  #: Python code run in the target's CPython after the import
    import_check: bool = True
    keep_work: bool = False


@dataclass
class TargetResult:
    target: Target
    status: str = "pending"  #: ok, failed
    stage: str = ""  #: where it stopped or what it did last: before-build, build, repair, check, import
    wheel: Path | None = None
    tag: str | None = None
    built_wheel: str | None = None  #: the backend's file name, before repair
    grafted: list[str] = field(default_factory=list)
    check: str | None = None  #: loader, loader+qemu, static
    imported: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    log_tail: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target.to_json(),
            "status": self.status,
            "stage": self.stage,
            "wheel": str(self.wheel) if self.wheel else None,
            "tag": self.tag,
            "built_wheel": self.built_wheel,
            "grafted": self.grafted,
            "check": self.check,
            "imported": self.imported,
            "notes": self.notes,
            "error": self.error,
            "log_tail": self.log_tail,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


@dataclass
class BuildSummary:
    results: list[TargetResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "targets": [r.to_json() for r in self.results],
        }


Progress = Callable[[TargetResult, str], None]


def build(options: BuildOptions, progress: Progress | None = None) -> BuildSummary:
    """Build, repair and check *options.source* for every target. Raises only for a request
    that cannot start (bad source or output directory); a failing target is in the summary."""
    source = Source(Path(options.source))
    out_dir = Path(options.out_dir)
    if not options.targets:
        raise BuildError("no targets to build for")
    names = [t.name for t in options.targets]
    if len(set(names)) != len(names):
        raise BuildError(f"a target is given twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    say: Progress = progress or (lambda _r, _m: None)
    jobs = options.jobs or os.cpu_count() or 1
    start = time.monotonic()
    results = [TargetResult(t) for t in options.targets]
    work_root = cache_dir() / "build" / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="source-", dir=work_root) as staging:
        if source.is_sdist:  # unpacked (and refused if hostile) once, before any target starts
            source = Source(source.copy_to(Path(staging)))
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(results)))) as pool:
            for _ in pool.map(lambda r: _build_one(source, out_dir, options, r, say), results):
                pass
    return BuildSummary(results, time.monotonic() - start)


def _build_one(source: Source, out_dir: Path, options: BuildOptions, result: TargetResult, say: Progress) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"{result.target.name}-", dir=cache_dir() / "build" / "work"))
    result.log = work / "build.log"
    result.log.touch()
    failed = False
    try:
        _stages(source, out_dir, options, result, work, say)
        result.status = "ok"
        say(result, f"ok: {result.wheel.name if result.wheel else ''}")
    except (MuslwheelError, OSError, subprocess.SubprocessError) as e:
        failed = True
        result.status = "failed"
        result.error = str(e)
        result.log_tail = _tail(result.log)
        say(result, f"FAILED at {result.stage}: {e}")
    except Exception as e:  # a bug in muslwheel: report it against this target, keep the others
        failed = True
        result.status = "failed"
        result.error = f"internal error: {type(e).__name__}: {e}"
        result.log_tail = _tail(result.log)
        say(result, f"FAILED at {result.stage}: {result.error}")
    finally:
        if failed or options.keep_work:
            # named by project and target: one bench run builds several projects per target
            kept = cache_dir() / "build" / "logs" / f"{source.path.name}-{result.target.name}.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(result.log, kept)
            result.log = kept
        else:
            result.log = None
        if not options.keep_work:
            shutil.rmtree(work, ignore_errors=True)


def _tail(log: Path | None) -> list[str]:
    if log is None or not log.exists():
        return []
    with open(log, "rb") as f:
        f.seek(max(0, log.stat().st_size - 16384))
        lines = f.read().decode("utf-8", "replace").splitlines()
    return lines[-LOG_TAIL_LINES:]


class _Clock:
    def __init__(self, result: TargetResult, say: Progress) -> None:
        self.result, self.say = result, say

    def stage(self, name: str) -> _Clock:
        self.result.stage = name
        self.say(self.result, name)
        self.start = time.monotonic()
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.result.seconds[self.result.stage] = time.monotonic() - self.start


def _stages(
    source: Source, out_dir: Path, options: BuildOptions, result: TargetResult, work: Path, say: Progress
) -> None:
    target = result.target
    log = result.log
    assert log is not None
    clock = _Clock(result, say)
    with clock.stage("prepare"):
        project = source.copy_to(work / "src")
        system = read_build_system(project)
        env = BuildEnv(target.build_python, system.requires, log).overlay(work / "venv")
        tc = make_toolchain(target, work, env.site_packages())
        environ = cross_environment(tc, dict(os.environ))
    if options.before_build:
        with clock.stage("before-build"):
            _run_logged(["/bin/sh", "-c", options.before_build], project, environ, log, "--before-build")
    with clock.stage("build"):
        config = _config_settings(system.backend, tc, options.config_settings)
        environ = _maturin_preflight(system, tc, environ, result)
        host_environ = {k: v for k, v in environ.items() if k not in ("_PYTHON_SYSCONFIGDATA_NAME", "PYTHONPATH")}
        extra = run_hook(env, system, project, "get_requires_for_build_wheel", [config], host_environ, log)
        if not isinstance(extra, list):
            raise BuildError(f"{system.backend}: get_requires_for_build_wheel returned {extra!r}")
        if extra:
            env.install([str(r) for r in extra])
        dist = work / "dist"
        dist.mkdir()
        name = run_hook(env, system, project, "build_wheel", [str(dist), config, None], environ, log)
        if not isinstance(name, str) or not (dist / name).is_file():
            raise BuildError(f"{system.backend}: build_wheel returned {name!r}, not a wheel it wrote")
        result.built_wheel = name
    with clock.stage("repair"):
        _repair(dist / name, out_dir, tc, result)
    with clock.stage("check"):
        _check(result, options)


def _run_logged(cmd: list[str], cwd: Path, env: dict[str, str], log: Path, what: str) -> None:
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode})")


def _config_settings(backend: str, tc: Toolchain, given: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    """The backend's config settings: the user's, plus what makes it cross-compile."""
    config = dict(given)
    if backend.startswith("mesonpy"):
        cross = f"--cross-file={tc.meson_cross_file}"
        old = config.get("setup-args", [])
        config["setup-args"] = [*([old] if isinstance(old, str) else old), cross]
    elif backend.startswith("maturin"):
        # the target, linker and sysroot come from the environment (builder.rust); the wheel is
        # tagged plain linux and left to muslwheel's repair, as a C project's is
        rust = tc.target.arch.rust_target
        old = config.get("build-args", "")
        extra = f"--target {rust} --compatibility linux --auditwheel skip"
        config["build-args"] = f"{old} {extra}".strip() if isinstance(old, str) else [*old, *extra.split()]
    return config


def uses_rust(system: BuildSystem) -> bool:
    """Whether the project builds with Rust: maturin, or setuptools-rust among its requirements."""
    names = [re.split(r"[\s<>=!~;\[]", r.strip(), maxsplit=1)[0].lower().replace("_", "-") for r in system.requires]
    return system.backend.startswith("maturin") or "setuptools-rust" in names or "maturin" in names


def _maturin_preflight(
    system: BuildSystem, tc: Toolchain, environ: dict[str, str], result: TargetResult
) -> dict[str, str]:
    """For a Rust project (:func:`uses_rust`): the target's Rust toolchain (:mod:`.rust`, its
    std built once if it must be; the path taken is a note) and the environment cargo needs."""
    if not uses_rust(system):
        return environ
    from .rust import rust_environment, rust_setup

    setup = rust_setup(tc.target.arch, result.log)
    result.notes.append(setup.how)
    if result.log is not None:
        with open(result.log, "a") as f:
            f.write(setup.how + "\n")
    env = rust_environment(
        setup,
        cc=tc.cc,
        cxx=tc.cxx,
        ar=tc.ar,
        work=tc.work,
        sysconfig_dir=tc.sysconfig_dir,
        python=tc.target.python,
        base=environ,
    )
    env["MATURIN_NO_INSTALL_RUST"] = "1"  # never let the backend fetch rustup (puccinialin)
    return env


def _repair(built: Path, out_dir: Path, tc: Toolchain, result: TargetResult) -> None:
    from ..repair import repair_wheel
    from ..root import MuslRoot

    system = MuslRoot.of(tc.target.arch, tc.target.root).system_dirs_on_host()
    ldpaths = [str(tc.prefix / "lib"), *(str(d) for d in system)]
    repaired = repair_wheel(built, out_dir, root=tc.target.root, ldpaths=ldpaths, allow_pure=True)
    assert repaired.output is not None
    result.wheel = repaired.output
    result.tag = repaired.output.name[:-4].split("-", 2)[2] if repaired.output else None
    result.grafted = [g.wheel_path for g in repaired.grafted]


def _check(result: TargetResult, options: BuildOptions) -> None:
    from ..check import check_wheel

    assert result.wheel is not None
    target = result.target
    with zipfile.ZipFile(result.wheel) as z:
        names = z.namelist()
    modules = extension_modules(names, target)
    if not modules and not any(n.endswith(".so") or ".so." in n for n in names):
        result.check = "pure"
        return
    checked = check_wheel(result.wheel, root=target.root)
    result.check = checked.method
    if not checked.loads:
        first = checked.problems[0]
        raise BuildError(f"{result.wheel.name} will not load: {first.file}: {first.subject}: {first.why}")
    if not options.import_check:
        return
    if target.python_command is None:
        result.stage = "check (no interpreter to import with)"
        return
    result.stage = "import"
    if target.kit is not None and _kit_import_check(result, target.kit):
        if options.test_command:
            run_test_command(result.wheel, target, options.test_command, result.log)
        return
    result.imported = import_in_target(result.wheel, modules, target, options.test_command, result.log, result.notes)


def _kit_import_check(result: TargetResult, kit: str) -> bool:
    """``check --import`` in the kit (:mod:`muslwheel.check_import`); False if this muslwheel
    has none. BuildError on a binary failure."""
    try:
        import importlib

        check_import = importlib.import_module("muslwheel.check_import")
    except ImportError:
        return False
    assert result.wheel is not None
    (report,) = check_import.check_imports([result.wheel], [kit])
    if result.log is not None:
        with open(result.log, "a") as f:
            f.write(f"$ check --import in {kit}\n{report.to_json()}\n")
    for m in report.modules:
        if m.result == "imported":
            result.imported.append(m.module)
        elif not m.binary_failure:
            result.notes.append(f"{m.module}: {m.result}: {m.detail}")
    if not report.ok:
        bad = next(m for m in report.modules if m.binary_failure)
        raise BuildError(f"import in {kit}: {bad.module}: {bad.result}: {bad.detail}")
    return True


def extension_modules(names: Sequence[str], target: Target) -> list[str]:
    """The importable names of the wheel's extension modules for *target*."""
    from .toolchain import read_build_time_vars

    suffix = str(read_build_time_vars(target.sysconfigdata).get("EXT_SUFFIX", ""))
    out = []
    for n in names:
        top, _, rest = n.partition("/")
        if top.endswith(".data"):
            scheme, _, rest = rest.partition("/")
            if scheme not in ("purelib", "platlib"):
                continue
            n = rest
        elif top.endswith(".libs"):  # libraries repair grafted, not modules
            continue
        for s in (suffix, ".abi3.so", ".so"):
            if s and n.endswith(s):
                out.append(n[: -len(s)].replace("/", "."))
                break
    return sorted(set(out))


# A module the wheel has but this interpreter cannot load is a binary failure (exit 3); one
# whose init imports a package that is not installed (zstandard's cffi backend wants
# _cffi_backend) is the wheel's runtime dependency, not a build problem: reported, not failed.
_IMPORT = r"""
import importlib, sys
sys.path.insert(0, sys.argv[1])
bad = 0
for name in sys.argv[2:]:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name in (name, None) or name.startswith(e.name + "."):
            print("binary-error", name, e, flush=True); bad = 1
        else:
            print("needs", name, e.name, flush=True)
        continue
    except ImportError as e:
        print("binary-error", name, e, flush=True); bad = 1
        continue
    print("imported", name, flush=True)
sys.exit(3 if bad else 0)
"""


@contextmanager
def _installed(wheel: Path) -> Iterator[str]:
    """The wheel's files unpacked as an installer would lay out site-packages, in a temporary
    directory (the wheel's names were validated when repair wrote it)."""
    with tempfile.TemporaryDirectory(prefix="muslwheel-import-") as tmp:
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp)
        for data in Path(tmp).glob("*.data"):
            for scheme in ("purelib", "platlib"):
                if (data / scheme).is_dir():
                    shutil.copytree(data / scheme, tmp, dirs_exist_ok=True)
        yield tmp


def _run_in_target(target: Target, what: str, args: list[str], cwd: str, log: Path | None) -> str:
    """Run the target's CPython with *args*; its stdout. BuildError with its last words."""
    assert target.python_command is not None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(
        [*target.python_command, *args], capture_output=True, text=True, timeout=600, env=env, cwd=cwd
    )
    if log is not None:
        with open(log, "a") as f:
            f.write(f"$ {what} in {target.name}\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        why = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        errors = [line for line in proc.stdout.splitlines() if line.startswith("binary-error ")]
        last = (errors or proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BuildError(f"{what} in {target.name} failed ({why}): {last}")
    return proc.stdout


def run_test_command(wheel: Path, target: Target, code: str, log: Path | None) -> None:
    """Run *code* (``--test``) in the target's CPython with *wheel* installed."""
    with _installed(wheel) as site:
        _run_in_target(target, "test", ["-c", f"import sys; sys.path.insert(0, {site!r})\n{code}"], site, log)


def import_in_target(
    wheel: Path,
    modules: Sequence[str],
    target: Target,
    test_command: str | None,
    log: Path | None,
    notes: list[str] | None = None,
) -> list[str]:
    """Import each of *modules* of *wheel* in the target's CPython (then run *test_command*
    there); the modules imported. BuildError with the interpreter's last words."""
    imported: list[str] = []
    with _installed(wheel) as site:
        out = _run_in_target(target, "import", ["-c", _IMPORT, site, *modules], site, log)
        for line in out.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "imported":
                imported.append(rest)
            elif kind == "needs" and notes is not None:
                module, _, dependency = rest.partition(" ")
                notes.append(f"{module} not imported: it needs {dependency}, not installed in {target.name}")
    if test_command:
        run_test_command(wheel, target, test_command, log)
    return imported


class ProgressPrinter(BoardPrinter):
    """``build``'s progress (:class:`muslwheel.progress.BoardPrinter`): one live line per target
    on a terminal, plain ``build: <target>: <message>`` lines otherwise."""

    def __init__(self, targets: Sequence[Target], stream: TextIO | None = None, live: bool | None = None) -> None:
        super().__init__("build", [t.name for t in targets], stream, live)

    def __call__(self, result: TargetResult, message: str) -> None:
        self.update(result.target.name, message)
