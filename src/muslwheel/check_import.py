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
- ``timeout``.

All but ``imported``, ``python-error`` and ``system-library`` are binary failures (exit status 1).

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
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import MuslwheelError
from .kits import Kit, find_kit
from .kits.choice import KitNeeds, kit_fits, kit_needs, pythons_wanted
from .kits.ondemand import kits_for_wheel
from .policy import is_allowed_system_library
from .resolve import module_name
from .sandbox import Sandbox
from .sandbox import room as sandbox_room
from .vocabulary import Kind
from .wheelfile import installed_path

BINARY_FAILURES = ("crashed", "loader-error", "binary-error", "timeout")
#: not the wheel's fault, but not proven either
UNPROVEN = ("system-library",)
_LOADER = re.compile(r"Error (?:loading shared library|relocating) [^\n]*")
#: musl's ldso/dynlink.c: "Error loading shared library %s: %m (needed by %s)"
_MISSING = re.compile(r"Error loading shared library ([^:\s]+): No such file or directory")
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
    python: str  #: its minor: ``3.11``, ``3.13t``
    musl: str  #: its musl release, "" when unknown
    command: tuple[str, ...]  #: runs its interpreter here (through qemu-user for a foreign arch)
    reads: tuple[Path, ...] = ()  #: the directories it reads, made visible inside the sandbox
    kit: str | None = None  #: the kit's name, when it is one

    @classmethod
    def of_kit(cls, kit: Kit) -> MuslPython:
        if kit.python is None:
            raise MuslwheelError(f"kit {kit.name} has no CPython to import with")
        command = tuple(kit.python_command())
        reads = (kit.directory, kit.root, *(Path(p) for p in kit.runner()))  # qemu too: it may live in ~/bin
        return cls(kit.name, kit.arch, kit.python, kit.musl, command, reads, kit.name)


@dataclass
class ModuleResult:
    module: str
    file: str | None  #: the wheel member for an extension module, None for a package
    result: str  #: imported, crashed, loader-error, binary-error, python-error, timeout
    detail: str = ""

    @property
    def binary_failure(self) -> bool:
        return self.result in BINARY_FAILURES


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
    musl: str
    python: str
    modules: list[ModuleResult] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""  #: why nothing was imported (a pure wheel); target is then ""
    sandboxed: bool = False  #: the wheel's code ran in :mod:`muslwheel.sandbox`
    test: TestRun | None = None
    notes: list[str] = field(default_factory=list)  #: the audit's run-time warnings (thread stacks)

    @property
    def ok(self) -> bool:
        return not any(m.binary_failure for m in self.modules)

    @property
    def not_proven(self) -> list[ModuleResult]:
        """Modules the kit could not import for want of a system library (not the wheel's fault)."""
        return [m for m in self.modules if m.result in UNPROVEN]

    def summary(self) -> str:
        """``imports``, ``does NOT import``, or ``imports, but …`` when a module went unproven."""
        if self.note:
            return self.note
        if not self.ok:
            return "does NOT import"
        if self.not_proven:
            libs = sorted({m.detail.split(":", 1)[0] for m in self.not_proven})
            return (
                f"imports, but {len(self.not_proven)} module(s) not proven: the kit lacks "
                f"{', '.join(libs)}, which the wheel may take from the system"
            )
        return "imports"

    def to_json(self) -> dict[str, object]:
        return {
            "wheel": self.wheel,
            "kit": self.target or None,
            "arch": self.arch,
            "musl": self.musl,
            "python": self.python,
            "ok": self.ok,
            "not_proven": [m.module for m in self.not_proven],
            "seconds": round(self.seconds, 2),
            "sandbox": self.sandboxed,
            **({"note": self.note} if self.note else {}),
            **({"notes": self.notes} if self.notes else {}),
            "modules": [
                {"module": m.module, "file": m.file, "result": m.result, "detail": m.detail} for m in self.modules
            ],
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


def wheel_modules(path: Path) -> WheelModules | None:
    """The modules of the wheel at *path*; None for a wheel with no ELF member (nothing binary
    to prove: it imports wherever Python does)."""
    return _read_wheel(path)[1]


def _read_wheel(path: Path) -> tuple[KitNeeds | None, WheelModules | None]:
    from .audit import audit_elfs, read_wheel_elfs
    from .wheelfile import WheelFile

    with WheelFile(path) as wheel:
        elfs, _ = read_wheel_elfs(wheel)
        names = [m.filename for m in wheel.members]
        if not elfs:
            return None, None
        verdict = audit_elfs(wheel.name, elfs)
        wheel_name = wheel.name
    extensions: dict[str, str] = {}
    for member in sorted(elfs):
        name = module_name(member, elfs[member])
        if name is not None:
            extensions.setdefault(name, member)
    notes = tuple(f"{r.file}: {r.why}" for r in verdict.reasons if r.kind == Kind.THREAD_STACK)
    modules = WheelModules(extensions, _top_levels(names), notes)
    if verdict.arch is None:
        return None, modules
    return kit_needs(wheel_name, verdict.arch, verdict.musl_min_version), modules


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
    wheels: list[Path],
    kits: list[str] | None = None,
    *,
    timeout: float = 120.0,
    sandbox: bool = True,
    kit_build: bool = True,
) -> list[ImportReport]:
    """Import every extension module and top-level package of each wheel in each kit.

    Every wheel and kit is checked before anything is imported: a wheel no kit can import (its
    Python has no kit that can be made, or none may be made: not *kit_build*; an explicit kit of
    another arch or Python) is one :class:`MuslwheelError`, and so is a host that cannot give the
    wheel's code a sandbox (:func:`muslwheel.sandbox.room`) unless *sandbox* is False. A missing
    kit is made (:mod:`muslwheel.kits.ondemand`) unless not *kit_build*."""
    chosen_kits = [find_kit(k) for k in kits] if kits else None
    plan: list[tuple[Path, WheelModules | None, list[Kit]]] = []
    for path in wheels:
        needs, modules = _read_wheel(path)
        if modules is None:  # as `check` has it: nothing to load, it imports wherever Python does
            plan.append((path, None, []))
            continue
        if needs is None:
            raise MuslwheelError(f"{path.name}: no single musllinux architecture in this wheel")
        targets = chosen_kits if chosen_kits is not None else kits_for_wheel(needs, path.name, make=kit_build)
        for kit in targets:
            if kit.python is None:
                raise MuslwheelError(f"kit {kit.name} has no CPython to import with")
            if kit.arch != needs.arch:
                raise MuslwheelError(f"{path.name} is {needs.arch}; kit {kit.name} is {kit.arch}")
            if not kit_fits(needs, kit):
                raise MuslwheelError(
                    f"{path.name} is for CPython {pythons_wanted(needs)}; kit {kit.name} has CPython "
                    f"{kit.python}, which would not import it"
                )
        plan.append((path, modules, targets))
    room = sandbox_room(sandbox) if any(targets for _, _, targets in plan) else None
    reports = []
    for path, modules, targets in plan:
        if modules is None or room is None:
            note = "pure wheel: no ELF members, nothing binary to import (it imports wherever Python does)"
            reports.append(ImportReport(path.name, "", "any", "", "", note=note))
            continue
        reports.extend(
            prove_import(path, MuslPython.of_kit(kit), modules, timeout=timeout, room=room) for kit in targets
        )
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
) -> ImportReport:
    """The import proof of the wheel at *path* in *target*: installed into a throwaway directory,
    each extension module and top-level package imported in turn (each bounded by *timeout*),
    then *test* (Python code, build's ``--test``) run there, all inside *room* (default: the
    sandbox, :func:`muslwheel.sandbox.room`). *modules*: :func:`wheel_modules` of the wheel, if
    the caller has it."""
    if room is None:
        room = sandbox_room(True)
    if modules is None:
        modules = wheel_modules(path)
    if modules is None:  # no ELF member: its packages are imported all the same
        with zipfile.ZipFile(path) as z:
            modules = WheelModules({}, _top_levels(z.namelist()))
    report = ImportReport(path.name, target.name, target.arch, target.musl, target.python, sandboxed=room.used)
    report.notes = list(modules.notes)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="muslwheel-import-") as tmp:
        work = Path(tmp)
        site = work / "site"
        site.mkdir()
        (work / "home").mkdir()
        _install(path, site)
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
        todo = modules.names
        results: dict[str, ModuleResult] = {}
        while todo:
            results.update(_run_probe(run, todo, files, timeout))
            todo = [m for m in todo if m not in results]
        report.modules = [results[m] for m in modules.names]
        for m in report.modules:  # paths as the wheel names them, not the throwaway directory's
            m.detail = m.detail.replace(f"{site}/", "")
        if test is not None:
            report.test = _run_test(run, test, test_timeout)
    report.seconds = time.monotonic() - start
    return report


@dataclass(frozen=True)
class _Run:
    """One proof's interpreter: the target, the room, the environment, the throwaway directory."""

    target: MuslPython
    room: Sandbox
    env: dict[str, str]
    work: Path

    def argv(self, args: list[str]) -> list[str]:
        return self.room.command([*self.target.command, *args], self.work, self.target.reads)


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
    m = _LOADER.search(text)
    if m is None:
        return None
    detail = m.group(0)[:500]
    missing = _MISSING.search(text)
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
