"""The musl test world, as pytest fixtures.

``scripts/build-world`` and ``scripts/setup-system`` build it; here each test asks for the
pieces it needs. A missing piece skips the test on a developer's machine and fails it when
``MUSLWHEEL_REQUIRE_WORLD=1`` (CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from muslwheel.arch import ARCHES, DEBIAN_MUSL_ARCHES
from muslwheel.kits import Kit
from muslwheel.kits.musl import DEBIAN_BINARY_MUSL, NEWEST_MUSL

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("MUSLWHEEL_CACHE") or Path.home() / ".cache" / "muslwheel")
WORLD = CACHE / "world"
REQUIRED = os.environ.get("MUSLWHEEL_REQUIRE_WORLD") == "1"
#: `scripts/test --fast`: every test that needs a piece of the musl world skips at once
FAST = os.environ.get("MUSLWHEEL_FAST") == "1"

#: wheel arch -> (zig target, qemu-user program or None for this host's own arch, Debian has its
#: musl loader), from muslwheel.arch.ARCHES
ARCH_TOOLS = {
    a.name: (a.zig_target, None if a.name == os.uname().machine else a.qemu, a.debian_arch is not None)
    for a in ARCHES.values()
}
#: wheel arch -> Debian's musl loader as installed here (the arches Debian ships musl for)
LOADERS = {a.name: f"/lib/{a.loader_name}" for a in DEBIAN_MUSL_ARCHES}
ALL_ARCHES = list(ARCH_TOOLS)
RUNNABLE_ARCHES = [a for a, (_, _, has) in ARCH_TOOLS.items() if has]
#: the arches whose CPython 3.11 kits scripts/build-world builds: each code path once (x86_64
#: native and Alpine-like, from a given tarball; aarch64 and armv7l, 64- and 32-bit, under qemu;
#: loongarch64 the newest port, with its own patch to CPython's configure); i686's, ppc64le's,
#: riscv64's and s390x's take those paths (s390x's big-endian ELF and i686's native 32-bit loader are
#: the suite's in their loader-only kits) and are proven in bench/ (bench_kits.py, bench_build.py),
#: which keeps the suite's cold time in bounds; armv6l's (armv7l's path with an ARMv6 CPU) is
#: built for tests/builder/test_build_armv6.py alone
PY_ARCHES = [a for a in ALL_ARCHES if a not in ("i686", "ppc64le", "riscv64", "s390x", "armv6l")]
#: (arch, musl) of the CPython 3.11 kits scripts/build-world builds for them: under Debian's musl
#: 1.2.3 where Debian has it, and under the newest musl everywhere
PY_KITS = [
    (a, m)
    for a in PY_ARCHES
    for m in (DEBIAN_BINARY_MUSL, NEWEST_MUSL)
    if m == NEWEST_MUSL or ARCHES[a].debian_arch is not None
]
PY_KIT_IDS = [f"{a}-{m}" for a, m in PY_KITS]
#: the free-threaded CPython 3.13t kits scripts/build-world builds (musl 1.2.6): x86_64's, run
#: natively (running a kit under qemu-user is the 3.11 kits' path); the other arches' are bench's
#: (bench/bench_kits.py, bench/results/kits-3.13t.txt), which keeps the cold suite in bounds
FT_KIT_ARCHES = ["x86_64"]


#: piece of the musl world -> how many times a test used it (printed at the end of the run)
WORLD_USED: dict[str, int] = {}


def need(condition: object, what: str) -> None:
    """Skip (or, under CI, fail) the calling test unless *condition* holds."""
    if FAST:
        pytest.skip(f"scripts/test --fast: no musl world ({what})")
    if condition:
        WORLD_USED[what] = WORLD_USED.get(what, 0) + 1
        return
    message = f"musl world piece missing: {what} (run scripts/test to build it)"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


def run(cmd: Sequence[object], **kw: object) -> subprocess.CompletedProcess[str]:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run([str(c) for c in cmd], **kw)  # type: ignore[call-overload,no-any-return]


def run_ok(cmd: Sequence[object], **kw: object) -> subprocess.CompletedProcess[str]:
    proc = run(cmd, **kw)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


class Toolchain:
    """Builds musl binaries: musl-gcc for x86_64 by default, zig for every arch."""

    def __init__(self) -> None:
        self.musl_gcc = shutil.which("musl-gcc")
        try:
            import ziglang  # noqa: F401

            self.zig: list[str] | None = [sys.executable, "-m", "ziglang"]
        except ImportError:
            self.zig = None

    def compiler(self, arch: str, use_zig: bool = False) -> list[str]:
        if arch == "x86_64" and not use_zig:
            need(self.musl_gcc, "musl-gcc (Debian musl-tools)")
            return [str(self.musl_gcc)]
        need(self.zig, "zig (the ziglang wheel)")
        assert self.zig is not None
        # -O2: zig's default debug build links ubsan's runtime, which i386 PIC cannot take.
        from muslwheel.zig import target_args  # -mcpu= too where the arch has one (armv6l)

        return [*self.zig, "cc", "-O2", *target_args(ARCHES[arch])]

    def build(
        self,
        arch: str,
        out: Path,
        sources: Sequence[Path],
        *,
        shared: bool = False,
        args: Sequence[str] = (),
        use_zig: bool = False,
    ) -> Path:
        cmd = [*self.compiler(arch, use_zig)]
        if shared:
            cmd += ["-shared", "-fPIC", f"-Wl,-soname,{out.name}"]
        elif cmd[0] != self.musl_gcc:
            cmd += ["-dynamic"]  # zig links executables statically unless told otherwise
        cmd += ["-o", str(out), *map(str, sources), *args]
        run_ok(cmd)
        return out


def stub_library(toolchain: Toolchain, tmp: Path, arch: str, soname: str, code: str) -> Path:
    """A shared library named *soname* (its SONAME too) built from *code* into ``tmp/stub/``:
    something to link against (a libpython, a libz) that the wheel under test will not carry."""
    stub = tmp / "stub"
    stub.mkdir(exist_ok=True)
    return toolchain.build(arch, stub / soname, [write_c(tmp / f"{soname}.c", code)], shared=True)


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    return Toolchain()


def write_c(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def musl_python() -> Path:
    python = WORLD / "cpython" / "bin" / "python3.11"
    need(python.exists(), f"musl CPython ({python})")
    return python


def python_include(python: Path) -> str:
    """The C header directory of the CPython *python*."""
    return run_ok([python, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"]).stdout.strip()


@pytest.fixture(scope="session")
def world_wheels() -> Path:
    wheels = WORLD / "wheels"
    need(any(wheels.glob("pip-*.whl")), f"pip and packaging wheels ({wheels})")
    return wheels


def kit_for(arch: str, musl: str, python: str | None = None, *, bare: bool | None = None) -> Kit:
    """A kit ``scripts/build-world`` built (see ``KITS`` there): with *python*, the Alpine-like
    kit where it is built, else the bare one (``…-bare``: the world builds most CPython kits bare);
    without, the bare musl root (``<arch>-musl<ver>``, what everything compiles against); *bare*
    True or False asks for that kind only (``<arch>-musl<ver>-system``: the Alpine-like loader-only kit)."""
    from muslwheel.kits import kit_name, list_kits

    kinds = ([False, True] if python else [True]) if bare is None else [bare]
    names = [kit_name(arch, musl, python, kind, system=not python and not kind) for kind in kinds]
    built = {k.name: k for k in list_kits(CACHE / "kits")}  # of the current recipe only
    for name in names:
        if name in built:
            return built[name]
    need(False, f"kit {' or '.join(dict.fromkeys(names))}")
    raise AssertionError("unreachable")


def loader_for(arch: str) -> Path:
    path = Path(LOADERS.get(arch, f"/nonexistent/{arch}"))
    need(path.exists(), f"Debian's musl loader for {arch} ({path})")
    return path


def runner_for(arch: str) -> list[str]:
    """The command prefix that runs a dynamically linked musl binary of *arch* here."""
    loader_for(arch)
    qemu = ARCH_TOOLS[arch][1]
    if qemu is None:
        return []
    path = shutil.which(qemu)
    need(path, f"{qemu} (Debian qemu-user)")
    return [str(path)]


def muslwheel_cmd(python: Path | None = None) -> list[str]:
    """Run muslwheel from this checkout, with *python* (default: the test interpreter)."""
    return [str(python or sys.executable), "-m", "muslwheel"]


def checkout_env(extra_paths: Sequence[Path] = ()) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), *map(str, extra_paths)])
    return env


def repair_grafts_nothing_then_check(wheel: Path, out: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    """``muslwheel repair`` into *out* must graft nothing; then ``check --json`` on *wheel*:
    its exit status and its report."""
    out.mkdir(exist_ok=True)
    repaired = run_ok([*muslwheel_cmd(), "repair", "--json", "-w", out, wheel], env=checkout_env())
    assert json.loads(repaired.stdout)["grafted"] == []
    checked = run([*muslwheel_cmd(), "check", "--json", wheel], env=checkout_env())
    return checked.returncode, json.loads(checked.stdout)


@pytest.fixture(scope="session")
def real_wheels() -> dict[str, Path]:
    """numpy 2.4.6 and scipy 1.17.1, musllinux_1_2_x86_64 (the world's real-wheels piece)."""
    found = {p.name.split("-")[0]: p for p in (WORLD / "real-wheels").glob("*.whl")}
    need({"numpy", "scipy"} <= set(found), f"numpy and scipy wheels in {WORLD / 'real-wheels'}")
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The repair/show invariant over every wheel the session made runs after all the others."""
    items.sort(key=lambda item: "test_invariant.py::test_repair_never_writes_a_wheel_show" in item.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, a worker hands the pieces of the world its tests used to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["world_used"] = json.dumps(WORLD_USED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist's controller: add up what each worker's tests used (printed below)."""
    for what, count in json.loads(getattr(node, "workeroutput", {}).get("world_used", "{}")).items():
        WORLD_USED[what] = WORLD_USED.get(what, 0) + int(count)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which pieces of the musl world the run used, and which tests skipped and why."""
    tr = terminalreporter
    tr.section("musl world")
    if WORLD_USED:
        for what, count in sorted(WORLD_USED.items()):
            tr.write_line(f"used: {what} ({count}x)")
    else:
        tr.write_line("used: nothing (no test needed a piece of the musl world)")
    skipped = tr.stats.get("skipped", [])
    tr.write_line(f"skipped: {len(skipped)} test(s)" + (" (MUSLWHEEL_REQUIRE_WORLD=1 allows none)" if REQUIRED else ""))
    for rep in skipped:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        tr.write_line(f"  {rep.nodeid}: {reason}")
