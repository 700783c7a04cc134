"""The import proof: install a wheel into a throwaway directory and import it in a musl CPython.

musl's loader alone misses what matters at import time: a module whose initialisation crashes
(DT_RELR on a musl that predates it), a wrong extension suffix, a missing ``PyInit_*``, an import
that dies in the interpreter. So each extension module of the wheel, and each top-level package,
is imported by the target's own CPython, natively or under qemu-user, with a timeout, and each
gets one result:

- ``imported``;
- ``crashed``: the interpreter died of a signal (which one is named);
- ``loader-error``: musl could not load a library or bind a symbol (which one is named);
- ``system-library``: musl could not find a system library the musllinux policy lets a wheel
  take from the system (``libz.so.1``, which Alpine's base image has) and the kit lacks: the
  import is not proven, but that is the kit's gap, not the wheel's fault;
- ``binary-error``: the file is there but CPython refuses it (no ``PyInit_*``, a suffix this
  interpreter does not import, not an ELF object of its arch);
- ``python-error``: the module's own Python code raised (a missing pure-Python dependency …);
- ``timeout``;
- ``missing-dependency``: it wants a dependency that has no wheel for the target (or could not be
  had offline): not proven, and the dependency is named (:mod:`muslwheel.proofdeps`);
- ``dependency-failed``: it failed because a dependency's own import crashed or failed to load
  (imported again without that dependency, it fails for no binary reason): not proven, and the
  dependency's failure is named.

All but ``imported``, ``python-error`` and the not-proven three (``system-library``,
``missing-dependency``, ``dependency-failed``) are binary failures (exit status 1). Each result
falls in one :class:`muslwheel.vocabulary.ImportClass` (``imported``, ``binary-failure``,
``not-proven``, ``python-error``); a wheel's class is its worst module's.

The wheels given together are installed together (one site, as a user installs them), with
their dependencies (:mod:`muslwheel.proofdeps`) unless the caller says ``resolve=False``; each
dependency's top-level packages are imported first, and reported beside the wheel, not as its
verdict.

The target is a :class:`MuslPython` (a kit, or build's installed musl CPython): a name, its
arch, minor and musl, and the command that runs its interpreter. ``check --import``
(:func:`check_imports`, which chooses kits through :mod:`muslwheel.kits.choice`), build's import
step and its ``--test`` (:func:`prove_import`) are this one proof. The wheel's code runs in
:mod:`muslwheel.sandbox` unless the caller says otherwise.

Extension modules are the members :func:`muslwheel.resolve.module_name` names (a module suffix,
or a plain ``name.so`` exporting ``PyInit_name``); a plain library beside them (pyarrow's
``libarrow_python.so``) is not imported as a module. An extension module whose package fails in
Python (its ``__init__`` imports a dependency that is not installed) is loaded from its file, so
its binary is proven all the same; the package's own import stays a ``python-error``.

One interpreter process imports the modules in turn and reports each before the next; when it
dies, the module it was importing is the one that crashed, and a fresh process goes on with the
rest.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .audit import AuditedWheel
from .errors import MuslwheelError
from .kits import Kit, find_kit
from .kits.choice import KitNeeds, kit_fits, kit_needs, pythons_wanted
from .kits.ondemand import kits_for_wheel
from .policy import is_allowed_system_library
from .proofdeps import Dependencies, DepsOptions, Missing, canonical, resolve
from .resolve import module_name
from .root import LOADER_ERROR, LOADER_MISSING
from .sandbox import Sandbox
from .sandbox import room as sandbox_room
from .versions import CPython, MuslVersion
from .vocabulary import ImportClass, Kind
from .wheelfile import installed_path

__all__ = [
    "BINARY_FAILURES",
    "DependencyProof",
    "ImportReport",
    "ModuleResult",
    "MuslPython",
    "TestRun",
    "UNPROVEN",
    "WheelModules",
    "check_imports",
    "prove_import",
    "wheel_modules",
    "worst_class",
]

BINARY_FAILURES = ("crashed", "loader-error", "binary-error", "timeout")
#: not the wheel's fault, but not proven either
UNPROVEN = ("system-library", "missing-dependency", "dependency-failed")
_BINARY = re.compile(r"does not define module export function|invalid ELF header|Exec format error|wrong ELF class")

#: runs inside the kit's CPython: argv = site directory, {extension module: its file}, modules;
#: prints one JSON line per module. An extension module whose import fails in Python (its
#: package's ``__init__`` wants a dependency that is not installed) is then loaded from its file
#: directly, under stand-in parent packages, so its binary is still proven (or not).
_PROBE = r"""
import importlib, importlib.machinery, importlib.util, json, os, sys, types
site, files = sys.argv[1], json.loads(sys.argv[2])
def load_directly(name, path):
    parts, added = name.split("."), []
    try:
        for i in range(1, len(parts)):
            pkg = ".".join(parts[:i])
            if pkg not in sys.modules:
                stub = types.ModuleType(pkg)
                stub.__path__ = [os.path.join(site, *parts[:i])]
                sys.modules[pkg] = stub
                added.append(pkg)
        loader = importlib.machinery.ExtensionFileLoader(name, path)
        spec = importlib.util.spec_from_file_location(name, path, loader=loader)
        loader.exec_module(importlib.util.module_from_spec(spec))
    finally:
        for pkg in added:  # the real packages are imported for real later
            sys.modules.pop(pkg, None)
for name in sys.argv[3:]:
    print(json.dumps({"begin": name}), flush=True)
    try:
        importlib.import_module(name)
        out = {"module": name, "result": "imported"}
    except BaseException as e:
        out = {"module": name, "result": "error", "type": type(e).__name__, "message": str(e)[:2000]}
        path = files.get(name)
        missing = isinstance(e, ModuleNotFoundError) and e.name == name  # a suffix it does not import
        if path and isinstance(e, Exception) and not missing and sys.modules.get(name) is None:
            why = f"{type(e).__name__}: {e}"[:500]
            try:
                load_directly(name, os.path.join(site, path))
                out = {"module": name, "result": "imported", "package_error": why}
            except BaseException as e2:
                out = {"module": name, "result": "error", "type": type(e2).__name__, "message": str(e2)[:2000]}
    print(json.dumps(out), flush=True)
"""


@dataclass(frozen=True)
class MuslPython:
    """A musl CPython to run: what the import proof needs of a target.

    A kit (:meth:`of_kit`) or an installed musl CPython (build's ``--cpython PREFIX``,
    :mod:`muslwheel.builder.target`)."""

    name: str  #: ``aarch64-musl1.2.3-py3.11``, ``x86_64-py3.11``
    arch: str
    python: CPython  #: its build: ``3.11``, ``3.13t``
    musl: MuslVersion | None  #: its musl release, None when unknown
    command: tuple[str, ...]  #: runs its interpreter here (through qemu-user for a foreign arch)
    reads: tuple[Path, ...] = ()  #: the directories it reads, made visible inside the sandbox
    kit: str | None = None  #: the kit's name, when it is one
    #: the kit's root: the sandbox runs the interpreter in its view (:meth:`Sandbox.command`)
    root: Path | None = None
    runner: int = 0  #: how many leading items of :attr:`command` are qemu-user's

    @classmethod
    def of_kit(cls, kit: Kit) -> MuslPython:
        if kit.python is None:
            raise MuslwheelError(f"kit {kit.name} has no CPython to import with")
        command = tuple(kit.python_command())
        runner = kit.runner()
        reads = (kit.directory, kit.root, *(Path(p) for p in runner))  # qemu too: it may live in ~/bin
        return cls(kit.name, kit.arch, kit.python, kit.musl, command, reads, kit.name, kit.root, len(runner))


@dataclass
class ModuleResult:
    module: str
    file: str | None  #: the wheel member for an extension module, None for a package
    result: str  #: imported, crashed, loader-error, binary-error, python-error, timeout
    detail: str = ""

    @property
    def binary_failure(self) -> bool:
        return self.result in BINARY_FAILURES

    @property
    def klass(self) -> ImportClass:
        """Its class: imported, a binary failure, not proven (the target lacks something), or
        the module's own Python error."""
        if self.result == "imported":
            return ImportClass.IMPORTED
        if self.result in UNPROVEN:
            return ImportClass.NOT_PROVEN
        if self.result == "python-error":
            return ImportClass.PYTHON_ERROR
        return ImportClass.BINARY_FAILURE

    def to_json(self) -> dict[str, object]:
        return {
            "module": self.module,
            "file": self.file,
            "result": self.result,
            "class": self.klass,
            "detail": self.detail,
        }


#: a wheel's class is its worst module's, in this order
_CLASS_ORDER = (ImportClass.BINARY_FAILURE, ImportClass.PYTHON_ERROR, ImportClass.NOT_PROVEN, ImportClass.IMPORTED)


def worst_class(modules: list[ModuleResult]) -> ImportClass | None:
    """The class of a set of modules: the worst of theirs (None for none)."""
    classes = {m.klass for m in modules}
    return next((c for c in _CLASS_ORDER if c in classes), None)


@dataclass
class DependencyProof:
    """A dependency installed for the proof and its top-level packages' imports (not the
    wheel's verdict)."""

    name: str
    version: str
    wheel: str
    required_by: str
    modules: list[ModuleResult] = field(default_factory=list)

    @property
    def failure(self) -> ModuleResult | None:
        """Its first module that crashed or failed to load, if any."""
        return next((m for m in self.modules if m.binary_failure), None)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "wheel": self.wheel,
            "required_by": self.required_by,
            "class": worst_class(self.modules),
            "modules": [m.to_json() for m in self.modules],
        }


@dataclass
class TestRun:
    """``--test``: the test code's run in the target's Python, after the imports."""

    ok: bool
    why: str = ""  #: ``exit 1``, ``signal 11``, ``no answer in 600s``
    last: str = ""  #: its last line on stderr (else stdout)
    output: str = ""  #: everything it printed (for the build log)


@dataclass
class ImportReport:
    wheel: str
    target: str  #: the kit's (or installed CPython's) name; "" for a pure wheel
    arch: str
    musl: MuslVersion | None  #: the target's musl; None for a pure wheel's note or a musl not known
    python: str
    modules: list[ModuleResult] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""  #: why nothing was imported (a pure wheel); target is then ""
    sandboxed: bool = False  #: the wheel's code ran in :mod:`muslwheel.sandbox`
    test: TestRun | None = None
    together: list[str] = field(default_factory=list)  #: the other given wheels installed beside it
    dependencies: list[DependencyProof] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  #: ``needs X, no musllinux wheel for ARCH``
    notes: list[str] = field(default_factory=list)  #: the audit's run-time warnings (thread stacks)

    @property
    def ok(self) -> bool:
        return not any(m.binary_failure for m in self.modules)

    @property
    def not_proven(self) -> list[ModuleResult]:
        """Modules the target could not import for want of something (a system library, a
        dependency, a dependency that works): not the wheel's fault."""
        return [m for m in self.modules if m.result in UNPROVEN]

    @property
    def klass(self) -> ImportClass | None:
        """The wheel's class: its worst module's (None for a pure wheel's note)."""
        return worst_class(self.modules)

    def summary(self) -> str:
        """``imports``, ``does NOT import``, or ``imports, but …`` when a module went unproven."""
        if self.note:
            return self.note
        if not self.ok:
            return "does NOT import"
        if self.not_proven:
            why = []
            libs = sorted({m.detail.split(":", 1)[0] for m in self.not_proven if m.result == "system-library"})
            if libs:
                why.append(f"the kit lacks {', '.join(libs)}, which the wheel may take from the system")
            if any(m.result == "missing-dependency" for m in self.not_proven):
                why.append("; ".join(self.missing) or "a dependency is missing")
            failed = [d for d in self.dependencies if d.failure is not None]
            for d in failed:
                bad = d.failure
                assert bad is not None
                why.append(f"its dependency {d.name} {d.version} {bad.result}: {bad.module}: {bad.detail}"[:300])
            return f"imports, but {len(self.not_proven)} module(s) not proven: {'; '.join(why)}"
        return "imports"

    def to_json(self) -> dict[str, object]:
        return {
            "wheel": self.wheel,
            "kit": self.target or None,
            "arch": self.arch,
            "musl": str(self.musl) if self.musl else "",
            "python": self.python,
            "ok": self.ok,
            "class": self.klass,
            "not_proven": [m.module for m in self.not_proven],
            "seconds": round(self.seconds, 2),
            "sandbox": self.sandboxed,
            **({"note": self.note} if self.note else {}),
            **({"notes": self.notes} if self.notes else {}),
            "modules": [m.to_json() for m in self.modules],
            "together": self.together,
            "dependencies": [d.to_json() for d in self.dependencies],
            "missing_dependencies": self.missing,
            **({"test": {"ok": self.test.ok, "why": self.test.why, "last": self.test.last}} if self.test else {}),
        }


@dataclass(frozen=True)
class WheelModules:
    """What the import proof imports of a wheel: its extension modules (the entry points
    :func:`muslwheel.resolve.module_name` names) and its top-level packages and modules."""

    extensions: dict[str, str]  #: dotted name -> wheel member
    top_levels: tuple[str, ...]
    notes: tuple[str, ...] = ()  #: ``show``'s thread-stack warnings, which an import cannot rule out

    @property
    def names(self) -> list[str]:
        """In import order: the extension modules, then the top levels that are not one."""
        return [*self.extensions, *(t for t in self.top_levels if t not in self.extensions)]


def wheel_modules(path: Path | AuditedWheel) -> WheelModules | None:
    """The modules of the wheel at *path* (or the wheel audited already); None for a wheel with
    no ELF member (nothing binary to prove: it imports wherever Python does)."""
    return _read_wheel(path).modules


@dataclass(frozen=True)
class _Given:
    """A wheel given to the proof, read (and audited) once: its project's canonical name, its
    modules (None: no ELF member) and what it asks of a kit (None: no single arch)."""

    path: Path
    project: str
    modules: WheelModules | None
    needs: KitNeeds | None


def _read_wheel(path: Path | AuditedWheel) -> _Given:
    audited = AuditedWheel.of(path, keep_bytes=False)
    elfs, names, verdict, wheel_name = audited.elfs, list(audited.members), audited.verdict, audited.name
    project = canonical(wheel_name.distribution)
    if not elfs:
        return _Given(audited.path, project, None, None)
    extensions: dict[str, str] = {}
    for member in sorted(elfs):
        name = module_name(member, elfs[member])
        if name is not None:
            extensions.setdefault(name, member)
    notes = tuple(f"{r.file}: {r.why}" for r in verdict.reasons if r.kind == Kind.THREAD_STACK)
    modules = WheelModules(extensions, _top_levels(names), notes)
    needs = kit_needs(wheel_name, verdict.arch, verdict.musl_min_version) if verdict.arch is not None else None
    return _Given(audited.path, project, modules, needs)


def _top_levels(names: list[str]) -> tuple[str, ...]:
    tops = set()
    for n in names:
        site = installed_path(n)
        if not site:
            continue
        first = site.split("/", 1)[0]
        if "/" in site and first.isidentifier():
            tops.add(first)
        elif site.endswith(".py") and "/" not in site and site[:-3].isidentifier():
            tops.add(site[:-3])
    return tuple(sorted(tops))


def check_imports(
    wheels: Sequence[Path | AuditedWheel],
    kits: list[str] | None = None,
    *,
    timeout: float = 120.0,
    sandbox: bool = True,
    kit_build: bool = True,
    deps: DepsOptions | None = None,
) -> list[ImportReport]:
    """Import every extension module and top-level package of each wheel in each kit.

    The wheels are installed together (each wheel's site also holds the other given wheels of
    other distributions that fit the kit, and the pure ones), with their dependencies for the
    kit (:func:`muslwheel.proofdeps.resolve`, fetched by pip on the host before any wheel's code
    runs) unless *deps* says ``resolve=False``.

    Every wheel and kit is checked before anything is imported: a wheel no kit can import (its
    Python has no kit that can be made, or none may be made: not *kit_build*; an explicit kit of
    another arch or Python) is one :class:`MuslwheelError`, and so is a host that cannot give the
    wheel's code a sandbox (:func:`muslwheel.sandbox.room`) unless *sandbox* is False. A missing
    kit is made (:mod:`muslwheel.kits.ondemand`) unless not *kit_build*."""
    chosen_kits = [find_kit(k) for k in kits] if kits else None
    plan: list[tuple[_Given, list[Kit]]] = []
    for wheel in wheels:  # each read and audited once (or already)
        g = _read_wheel(wheel)
        if g.modules is None:  # as `check` has it: nothing to load, it imports wherever Python does
            plan.append((g, []))
            continue
        needs = g.needs
        if needs is None:
            raise MuslwheelError(f"{g.path.name}: no single musllinux architecture in this wheel")
        targets = chosen_kits if chosen_kits is not None else kits_for_wheel(needs, g.path.name, make=kit_build)
        for kit in targets:
            if kit.python is None:
                raise MuslwheelError(f"kit {kit.name} has no CPython to import with")
            if kit.arch != needs.arch:
                raise MuslwheelError(f"{g.path.name} is {needs.arch}; kit {kit.name} is {kit.arch}")
            if not kit_fits(needs, kit):
                raise MuslwheelError(
                    f"{g.path.name} is for CPython {pythons_wanted(needs)}; kit {kit.name} has CPython "
                    f"{kit.python}, which would not import it"
                )
        plan.append((g, targets))
    room = sandbox_room(sandbox) if any(targets for _, targets in plan) else None
    deps = deps if deps is not None else DepsOptions()
    reports = []
    with tempfile.TemporaryDirectory(prefix="muslwheel-deps-") as downloads:
        # every resolution (pip, on the host, with the network) before any wheel's code runs
        jobs: list[list[tuple[Kit, list[Path], Dependencies | None]]] = []
        resolved: dict[tuple[str, frozenset[Path]], Dependencies] = {}
        for g, targets in plan:
            jobs.append([])
            for kit in targets if g.modules is not None and room is not None else []:
                # installed beside it: the other given wheels that are pure or proven in this kit,
                # one per project, never another of its own
                beside: dict[str, Path] = {}
                for other, its_kits in plan:
                    if other.project != g.project and (
                        other.modules is None or any(k.name == kit.name for k in its_kits)
                    ):
                        beside.setdefault(other.project, other.path)
                together = list(beside.values())
                key = (kit.name, frozenset((g.path, *together)))
                if deps.resolve and key not in resolved:
                    assert kit.python is not None
                    resolved[key] = resolve(
                        [g.path, *together],
                        python=kit.python,
                        arch=kit.arch,
                        musl=kit.musl,
                        options=deps,
                        workdir=Path(downloads) / str(len(resolved)),
                        full_version=kit.cpython_version,
                    )
                jobs[-1].append((kit, together, resolved.get(key)))
        for (g, _), kits_ in zip(plan, jobs):
            if g.modules is None or room is None:
                note = "pure wheel: no ELF members, nothing binary to import (it imports wherever Python does)"
                reports.append(ImportReport(g.path.name, "", "any", None, "", note=note))
                continue
            for kit, together, resolution in kits_:
                proof = prove_import(
                    g.path,
                    MuslPython.of_kit(kit),
                    g.modules,
                    timeout=timeout,
                    room=room,
                    together=together,
                    deps=resolution,
                )
                reports.append(proof)
    return reports


def _install(path: Path, site: Path) -> None:
    """Unpack the wheel's purelib/platlib files into *site* (names were validated by WheelFile)."""
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            dest = installed_path(info.filename)
            if not dest or info.is_dir():
                continue
            target = site / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            if dest.endswith(".so") or ".so." in dest:
                target.chmod(0o755)


def prove_import(
    path: Path,
    target: MuslPython,
    modules: WheelModules | None = None,
    *,
    timeout: float = 120.0,
    room: Sandbox | None = None,
    test: str | None = None,
    test_timeout: float = 600.0,
    together: Sequence[Path] = (),
    deps: Dependencies | None = None,
) -> ImportReport:
    """The import proof of the wheel at *path* in *target*: installed into a throwaway directory,
    each extension module and top-level package imported in turn (each bounded by *timeout*),
    then *test* (Python code, build's ``--test``) run there, all inside *room* (default: the
    sandbox, :func:`muslwheel.sandbox.room`). *modules*: :func:`wheel_modules` of the wheel, if
    the caller has it. *together*: other wheels installed beside it; *deps*: its dependencies
    (:func:`muslwheel.proofdeps.resolve`), installed too, their top-level packages imported
    first and reported beside the wheel's."""
    if room is None:
        room = sandbox_room(True)
    if modules is None:
        modules = wheel_modules(path)
    if modules is None:  # no ELF member: its packages are imported all the same
        with zipfile.ZipFile(path) as z:
            modules = WheelModules({}, _top_levels(z.namelist()))
    report = ImportReport(path.name, target.name, target.arch, target.musl, str(target.python), sandboxed=room.used)
    report.together = [p.name for p in together]
    dep_wheels = [d.wheel for d in deps.dependencies] if deps else []
    if deps:
        report.missing = [m.line() for m in deps.missing]
    report.notes = list(modules.notes)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="muslwheel-import-") as tmp:
        work = Path(tmp)
        site = work / "site"
        site.mkdir()
        (work / "home").mkdir()
        for wheel in (*dep_wheels, *together, path):  # the wheel's own files last: they win
            _install(wheel, site)
        dep_modules: list[tuple[str, list[str]]] = []
        for wheel in dep_wheels:
            with zipfile.ZipFile(wheel) as z:
                tops = [t for t in _top_levels(z.namelist()) if t not in modules.names]
            dep_modules.append((wheel.name, tops))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(site),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "HOME": str(work / "home"),
            "LC_ALL": "C.UTF-8",
        }
        run = _Run(target, room, env, work)
        files = modules.extensions
        first = list(dict.fromkeys(t for _, tops in dep_modules for t in tops))
        todo = [*first, *modules.names]
        results: dict[str, ModuleResult] = {}
        while todo:
            results.update(_run_probe(run, todo, files, timeout))
            todo = [m for m in todo if m not in results]
        report.modules = [results[m] for m in modules.names]
        if deps:
            for d in deps.dependencies:
                tops = next(t for w, t in dep_modules if w == d.wheel.name)
                report.dependencies.append(
                    DependencyProof(d.name, d.version, d.wheel.name, d.required_by, [results[t] for t in tops])
                )
        for m in [*report.modules, *(m for d in report.dependencies for m in d.modules)]:
            m.detail = m.detail.replace(f"{site}/", "")  # paths as the wheels name them
        if test is not None:
            report.test = _run_test(run, test, test_timeout)
        explained = _without_failed_dependencies(run, report, deps, (*together, path), files, timeout)
        _blame_dependencies(report, deps.missing if deps else [], explained)
    report.seconds = time.monotonic() - start
    return report


_NO_MODULE = re.compile(r"^ModuleNotFoundError: No module named '([^']+)'")
#: failures a failed dependency explains (its crash, loader error or hang comes back in the
#: process that imports it again)
_DEPENDENCY_MAY_EXPLAIN = ("crashed", "loader-error", "timeout")


def _without_failed_dependencies(
    run: _Run,
    report: ImportReport,
    deps: Dependencies | None,
    given: Sequence[Path],
    files: dict[str, str],
    timeout: float,
) -> set[str]:
    """The wheel's modules whose crash, loader error or hang a failed dependency explains: with
    the dependencies that failed taken out of the site, each module that failed so is imported
    again; one that then fails for no binary reason (it cannot find the dependency) failed for
    the dependency's sake, one that still fails is the wheel's own failure."""
    failed = {d.wheel for d in report.dependencies if d.failure is not None}
    suspects = [m.module for m in report.modules if m.result in _DEPENDENCY_MAY_EXPLAIN]
    if not deps or not failed or not suspects:
        return set()
    site = Path(run.env["PYTHONPATH"])
    keep: set[str] = set()
    for wheel in given:  # files the given wheels install too stay
        with zipfile.ZipFile(wheel) as z:
            keep.update(installed_path(n) for n in z.namelist())
    for d in deps.dependencies:
        if d.wheel.name not in failed:
            continue
        with zipfile.ZipFile(d.wheel) as z:
            for name in z.namelist():
                dest = installed_path(name)
                if dest and dest not in keep and not name.endswith("/") and (site / dest).is_file():
                    (site / dest).unlink()
    again: dict[str, ModuleResult] = {}
    todo = suspects
    while todo:
        again.update(_run_probe(run, todo, files, timeout))
        todo = [m for m in todo if m not in again]
    return {m for m in suspects if not again[m].binary_failure}


def _blame_dependencies(report: ImportReport, missing: list[Missing], explained: set[str]) -> None:
    """Name the dependency behind a module's failure: one with no wheel for the target (the
    module's import wanted a module nothing installed has), or one whose own import crashed or
    failed to load when the module, imported without it, fails for no binary reason
    (*explained*)."""
    from .proofdeps import canonical

    failed = [d for d in report.dependencies if d.failure is not None]
    for m in report.modules:
        gone = _NO_MODULE.match(m.detail) if m.result == "python-error" else None
        if gone and missing:
            wanted = canonical(gone.group(1).split(".")[0])
            named = [x for x in missing if wanted == x.name or wanted in x.name.split("-")]
            lines = [x.line() for x in (named or missing)]
            m.result, m.detail = "missing-dependency", f"not proven: {'; '.join(lines)}"[:500]
        elif failed and m.module in explained:
            d = failed[0]
            bad = d.failure
            assert bad is not None
            what = f"its dependency {d.name} {d.version} {bad.result}: {bad.module}: {bad.detail}"
            m.result, m.detail = "dependency-failed", f"{what} (then this: {m.result}: {m.detail})"[:500]


@dataclass(frozen=True)
class _Run:
    """One proof's interpreter: the target, the room, the environment, the throwaway directory."""

    target: MuslPython
    room: Sandbox
    env: dict[str, str]
    work: Path

    def argv(self, args: list[str]) -> list[str]:
        t = self.target
        return self.room.command([*t.command, *args], self.work, t.reads, t.root, t.runner)


def _run_test(run: _Run, code: str, timeout: float) -> TestRun:
    try:
        proc = subprocess.run(
            run.argv(["-c", code]),
            capture_output=True,
            text=True,
            errors="replace",
            env=run.env,
            cwd=run.work,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return TestRun(False, f"no answer in {timeout:.0f}s", "", out)
    output = proc.stdout + proc.stderr
    code_ = run.room.returncode(proc.returncode)
    assert code_ is not None
    if code_ == 0:
        return TestRun(True, "", "", output)
    why = f"signal {-code_}" if code_ < 0 else f"exit {code_}"
    last = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    return TestRun(False, why, last[:500], output)


def _run_with_module_deadline(run: _Run, args: list[str], timeout: float) -> tuple[str, str, int | None, bool]:
    """Run the probe; kill it when a module takes longer than *timeout* (the deadline moves on
    each ``{"begin": …}`` line). Returns stdout, stderr, the exit status (None when killed) and
    whether it timed out."""
    proc = subprocess.Popen(
        run.argv(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=run.env,
        cwd=run.work,
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors: list[bytes] = []
    drain = threading.Thread(target=lambda: errors.append(proc.stderr.read() if proc.stderr else b""), daemon=True)
    drain.start()
    out = bytearray()
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                proc.kill()
                break
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            start = len(out)
            out += chunk
            if b'{"begin"' in out[max(0, start - 10) :]:
                deadline = time.monotonic() + timeout
    finally:
        if proc.poll() is None and not timed_out and sys.exc_info()[0] is not None:
            proc.kill()  # interrupted: leave no interpreter behind
        proc.wait()
        proc.stdout.close()
        drain.join(timeout=10)  # a child the module started may hold stderr open
    stderr = b"".join(errors).decode(errors="replace")
    code = None if timed_out else run.room.returncode(proc.returncode)
    return out.decode(errors="replace"), stderr, code, timed_out


def _run_probe(run: _Run, modules: list[str], files: dict[str, str], timeout: float) -> dict[str, ModuleResult]:
    """Import *modules* in one process; the results it reported, plus the one it died on.

    *timeout* bounds each module (the clock restarts as the probe begins the next one), so a wheel
    of many slow imports under qemu is not cut short by the sum."""
    direct = {m: installed_path(f) for m, f in files.items()}
    args = ["-c", _PROBE, run.env["PYTHONPATH"], json.dumps(direct), *modules]
    stdout, stderr, code, timed_out = _run_with_module_deadline(run, args, timeout)
    results: dict[str, ModuleResult] = {}
    current = None
    for line in stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        if "begin" in msg:
            current = str(msg["begin"])
            continue
        name = str(msg.get("module"))
        current = None
        results[name] = _classify(name, files.get(name), msg)
    if len(results) == len(modules):
        return results
    victim = current or next(m for m in modules if m not in results)
    if timed_out:
        results[victim] = ModuleResult(victim, files.get(victim), "timeout", f"no answer in {timeout:.0f}s")
    elif code is not None and code < 0:
        from .check import signal_name

        results[victim] = ModuleResult(victim, files.get(victim), "crashed", signal_name(code))
    else:
        tail = (stderr.strip().splitlines() or [f"exit status {code}"])[-1][:500]
        loader = _loader_failure(victim, files.get(victim), stderr)
        results[victim] = loader or ModuleResult(victim, files.get(victim), "crashed", tail)
    return results


def _loader_failure(name: str, file: str | None, text: str) -> ModuleResult | None:
    """A loader error in *text*, if any: ``system-library`` when the library musl could not find
    is one the policy lets a wheel take from the system, else ``loader-error``."""
    m = LOADER_ERROR.search(text)
    if m is None:
        return None
    detail = m.group(0)[:500]
    missing = next((f for f in LOADER_MISSING.finditer(text) if f.group(2) == "No such file or directory"), None)
    if missing and is_allowed_system_library(missing.group(1)):
        why = "a system library musllinux wheels may use (Alpine's base has it); this kit lacks it"
        return ModuleResult(name, file, "system-library", f"{missing.group(1)}: {why} ({detail})")
    return ModuleResult(name, file, "loader-error", detail)


def _classify(name: str, file: str | None, msg: dict[str, object]) -> ModuleResult:
    if msg.get("result") == "imported":
        if msg.get("package_error"):
            why = f"loaded from its file; its package's own import failed: {msg['package_error']}"
            return ModuleResult(name, file, "imported", why[:500])
        return ModuleResult(name, file, "imported")
    text = f"{msg.get('type')}: {msg.get('message')}"
    loader = _loader_failure(name, file, str(msg.get("message")))
    if loader is not None:
        return loader
    if _BINARY.search(text):
        return ModuleResult(name, file, "binary-error", text[:500])
    if file is not None and msg.get("type") == "ModuleNotFoundError" and f"'{name}'" in text:
        why = f"{text[:400]} (this CPython does not import a module file named {PurePosixPath(file).name})"
        return ModuleResult(name, file, "binary-error", why)
    return ModuleResult(name, file, "python-error", text[:500])
