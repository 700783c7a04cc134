"""One target end to end, and all targets in parallel.

For each target: a private copy of the source, the toolchain (:mod:`.toolchain`), the
``--before-build`` command, the PEP 517 build (:mod:`.pep517`), then
:func:`muslwheel.repair.repair_wheel` against the target's root and the check: musl's loader
over every ELF member (:func:`muslwheel.check.check_wheel`) and, when the target's CPython runs
here (natively or under qemu-user), the import proof and ``--test``
(:func:`muslwheel.check_import.prove_import`, in :mod:`muslwheel.sandbox` unless
``--no-sandbox``), for a kit and an installed CPython alike. A
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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO

from ..cache import cache_dir
from ..cores import usable_cores
from ..errors import MuslwheelError
from ..policy import pypi_note, pypi_uploadable
from ..progress import BoardPrinter
from ..sandbox import room as sandbox_room
from ..zig import host_leak
from .numpy_headers import numpy_headers_for_target
from .pep517 import BuildEnv, BuildSystem, ProjectSource, read_build_system, read_with, run_hook
from .target import BuildError, Target, TargetUnavailable
from .toolchain import Toolchain, cross_environment, make_toolchain

if TYPE_CHECKING:
    from ..audit import AuditedWheel
    from ..proofdeps import DepsOptions

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
    sandbox: bool = True  #: run the wheel's code (import, test) in :mod:`muslwheel.sandbox`
    keep_work: bool = False
    #: native libraries built for each target (:mod:`muslwheel.libs`), besides the project's
    #: own ``[tool.muslwheel] with``
    with_libs: Sequence[str] = ()
    offline: bool = False  #: the libraries' sources (and the import's dependencies) from the download cache only
    #: the import step's dependencies (``build``'s default; ``--no-deps``, ``--find-links``): the
    #: wheel's Requires-Dist for the target, installed beside it, as ``check --import`` does.
    #: None: the wheel alone, as before (the wheelhouse proves its set together afterwards)
    deps: DepsOptions | None = None


@dataclass
class TargetResult:
    target: Target
    status: str = "pending"  #: ok, failed, unavailable (this host cannot build it: TargetUnavailable)
    stage: str = ""  #: where it stopped or what it did last: before-build, build, repair, check, import
    wheel: Path | None = None
    tag: str | None = None
    built_wheel: str | None = None  #: the backend's file name, before repair
    audited: AuditedWheel | None = None  #: the repaired wheel as repair judged it (not in the JSON)
    grafted: list[str] = field(default_factory=list)
    check: str | None = None  #: loader, loader+qemu, static
    imported: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sandbox: bool | None = None  #: whether the import ran in the sandbox; None: nothing ran
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
            "sandbox": self.sandbox,
            "error": self.error,
            "log_tail": self.log_tail,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "pypi_uploadable": pypi_uploadable(self.target.arch.name),  # information, not an error
        }


@dataclass
class BuildSummary:
    results: list[TargetResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def exit_status(self) -> int:
        """0: every target ok; 1: a target failed (the project, its build or its wheel); 2: the
        only failures are targets this host cannot build (no Rust toolchain, an offline crate)."""
        if self.ok:
            return 0
        return 1 if any(r.status == "failed" for r in self.results) else 2

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "targets": [r.to_json() for r in self.results],
        }


TargetProgress = Callable[[TargetResult, str], None]


def build(options: BuildOptions, progress: TargetProgress | None = None) -> BuildSummary:
    """Build, repair and check *options.source* for every target. Raises only for a request
    that cannot start (bad source or output directory); a failing target is in the summary."""
    source = ProjectSource(Path(options.source))
    out_dir = Path(options.out_dir)
    if not options.targets:
        raise BuildError("no targets to build for")
    names = [t.name for t in options.targets]
    if len(set(names)) != len(names):
        raise BuildError(f"a target is given twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    if options.import_check and any(t.python_command for t in options.targets):
        sandbox_room(options.sandbox)  # a host that cannot sandbox the wheel's code: refused before any build
    say: TargetProgress = progress or (lambda _r, _m: None)
    jobs = options.jobs or usable_cores()
    start = time.monotonic()
    results = [TargetResult(t) for t in options.targets]
    work_root = cache_dir() / "build" / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="source-", dir=work_root) as staging:
        if source.is_sdist:  # unpacked (and refused if hostile) once, before any target starts
            source = ProjectSource(source.copy_to(Path(staging)))
        libs = with_libraries(options, source.path)
        out_dir.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(results)))) as pool:
            for _ in pool.map(lambda r: _build_one(source, out_dir, options, r, say, libs), results):
                pass
    return BuildSummary(results, time.monotonic() - start)


def with_libraries(options: BuildOptions, project: Path) -> list[str]:
    """The native libraries of ``--with`` and the project's ``[tool.muslwheel] with``, checked
    for every target's arch and their sources had, before any target starts: an unknown name, an
    arch a recipe refuses, a source Debian does not serve is one line (exit 2), nothing built."""
    from ..libs import closure, parse_names
    from ..libs.store import check_buildable, source

    names = parse_names([*options.with_libs, *read_with(project)])
    if names:
        for target in options.targets:
            check_buildable(names, target.arch)
        for recipe in closure(names):
            source(recipe, offline=options.offline)
    return names


def _build_one(
    source: ProjectSource,
    out_dir: Path,
    options: BuildOptions,
    result: TargetResult,
    say: TargetProgress,
    libs: Sequence[str] = (),
) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"{result.target.name}-", dir=cache_dir() / "build" / "work"))
    result.log = work / "build.log"
    result.log.touch()
    failed = False
    try:
        _stages(source, out_dir, options, result, work, say, libs)
        result.status = "ok"
        result.notes += filter(None, [pypi_note(result.target.arch.name)])
        say(result, f"ok: {result.wheel.name if result.wheel else ''}")
    except (MuslwheelError, OSError, subprocess.SubprocessError) as e:
        failed = True
        result.status = "unavailable" if isinstance(e, TargetUnavailable) else "failed"
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
    def __init__(self, result: TargetResult, say: TargetProgress) -> None:
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
    source: ProjectSource,
    out_dir: Path,
    options: BuildOptions,
    result: TargetResult,
    work: Path,
    say: TargetProgress,
    libs: Sequence[str] = (),
) -> None:
    from ..kits.ondemand import musl_kit_for
    from ..libs import build_many, write_config_tools

    target = result.target
    log = result.log
    assert log is not None
    clock = _Clock(result, say)
    prefixes = []
    if libs:
        with clock.stage("libs"):
            progress = lambda m: say(result, f"libs: {m}")  # noqa: E731
            kit = musl_kit_for(target.arch, target.musl, progress=progress)
            prefixes = build_many(libs, kit, offline=options.offline, progress=progress)
            with open(log, "a") as f:
                f.write("".join(f"--with {p.name}: {p.path}\n" for p in prefixes))
    with clock.stage("prepare"):
        project = source.copy_to(work / "src")
        system = read_build_system(project)
        env = BuildEnv(target.build_python, system.requires, log).overlay(work / "venv")
        # the *-config tools answer for the --with prefixes, and shadow the host's in every build
        config_bin = write_config_tools(work / "config-bin", prefixes)
        tc = make_toolchain(
            target, work, env.site_packages(), lib_prefixes=[p.path for p in prefixes], config_bin=config_bin
        )
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
        numpy_note = numpy_headers_for_target(env, target, options.deps.find_links if options.deps else ())
        if numpy_note:
            result.notes.append(numpy_note)
        dist = work / "dist"
        dist.mkdir()
        try:
            name = run_hook(env, system, project, "build_wheel", [str(dist), config, None], environ, log)
        except BuildError:
            leak = host_leak(log.read_text(errors="replace"))
            if leak:  # the zig wrappers' guard refused a host path: that is the one line to say
                raise BuildError(f"host path in the target's build: {leak}") from None
            raise
        if not isinstance(name, str) or not (dist / name).is_file():
            raise BuildError(f"{system.backend}: build_wheel returned {name!r}, not a wheel it wrote")
        result.built_wheel = name
        if uses_rust(system):  # maturin's SBOM names the work directory: mapped out, as in the binary
            from .rust import normalise_sboms

            normalise_sboms(dist / name, tc.work)
    with clock.stage("repair"):
        _repair(dist / name, out_dir, tc, result)
    with clock.stage("check"):
        check_and_import(result, options)


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
    # --with's prefixes come before the root's directories: their libraries are grafted
    ldpaths = [str(tc.prefix / "lib"), *(str(p / "lib") for p in tc.lib_prefixes), *(str(d) for d in system)]
    repaired = repair_wheel(built, out_dir, root=tc.target.root, ldpaths=ldpaths, allow_pure=True)
    assert repaired.output is not None
    result.wheel, result.audited = repaired.output, repaired.audited
    result.tag = repaired.output.name[:-4].split("-", 2)[2] if repaired.output else None
    result.grafted = [g.wheel_path for g in repaired.grafted]


def check_and_import(result: TargetResult, options: BuildOptions) -> None:
    """Build's check stage for a built and repaired wheel: musl's loader, then the import proof
    and ``--test`` in the target's CPython (when it runs here). BuildError on a failure. The
    wheel is taken as repair judged it (:attr:`TargetResult.audited`): it is not audited again."""
    from ..check import check_wheel
    from ..check_import import prove_import, wheel_modules
    from ..proofdeps import resolve
    from ..versions import MuslVersion

    audited = result.audited
    assert result.wheel is not None and audited is not None
    target = result.target
    modules = wheel_modules(audited)
    if modules is None:
        result.check = "pure"
        return
    checked = check_wheel(audited, root=target.root, sandbox=options.sandbox)
    result.check = checked.method
    if not checked.loads:
        first = checked.problems[0]
        raise BuildError(f"{result.wheel.name} will not load: {first.file}: {first.subject}: {first.why}")
    if not options.import_check:
        return
    python = target.interpreter
    if python is None:
        result.stage = "check (no interpreter to import with)"
        return
    result.stage = "import"
    with tempfile.TemporaryDirectory(prefix="muslwheel-deps-") as downloads:
        deps = None
        if options.deps is not None and options.deps.resolve:  # pip, on the host, before the wheel's code runs
            musl = python.musl or audited.verdict.musl_min_version or MuslVersion(1, 1)
            deps = resolve(
                [result.wheel],
                python=python.python,
                arch=python.arch,
                musl=musl,
                options=_deps_options(options),
                workdir=Path(downloads),
                full_version=target.kit.cpython_version if target.kit else None,  # its python_full_version
            )
        room = sandbox_room(options.sandbox)
        report = prove_import(result.wheel, python, modules, room=room, test=options.test_command, deps=deps)
    result.sandbox = report.sandboxed
    if result.log is not None:
        with open(result.log, "a") as f:
            f.write(f"$ import in {target.name}\n{report.to_json()}\n")
            if report.test is not None:
                f.write(f"$ test in {target.name}\n{report.test.output}")
    for m in report.modules:
        if m.result == "imported":
            result.imported.append(m.module)
        elif not m.binary_failure:
            result.notes.append(f"{m.module}: {m.result}: {m.detail}")
    result.notes += [f"not proven: {line}" for line in report.missing]
    for d in report.dependencies:
        bad = d.failure
        if bad is not None:
            result.notes.append(f"dependency {d.name} {d.version}: {bad.result}: {bad.module}: {bad.detail}")
    if not report.ok:
        bad = next(m for m in report.modules if m.binary_failure)
        raise BuildError(f"import in {target.name}: {bad.module}: {bad.result}: {bad.detail}")
    if report.test is not None and not report.test.ok:
        raise BuildError(f"test in {target.name} failed ({report.test.why}): {report.test.last}")


def _deps_options(options: BuildOptions) -> DepsOptions:
    """The import step's dependency options: *options.deps*, offline when the build is."""
    from dataclasses import replace

    assert options.deps is not None
    return replace(options.deps, offline=True) if options.offline else options.deps


class ProgressPrinter(BoardPrinter):
    """``build``'s progress (:class:`muslwheel.progress.BoardPrinter`): one live line per target
    on a terminal, plain ``build: <target>: <message>`` lines otherwise."""

    def __init__(self, targets: Sequence[Target], stream: TextIO | None = None, live: bool | None = None) -> None:
        super().__init__("build", [t.name for t in targets], stream, live)

    def __call__(self, result: TargetResult, message: str) -> None:
        self.update(result.target.name, message)
