"""check --import with a wheel's dependencies: Requires-Dist resolved for the kit (markers of the
kit's Python and arch, extras on request), fetched by pip for the target from a local wheelhouse
(``--no-index --find-links``: nothing reaches PyPI), installed with the wheel, and the proof's four
classes (imported, binary failure, not proven, the wheel's own Python error) in ``--json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import kit_for, muslwheel_cmd, run, write_c
from kitfixture import build_against, build_extension
from wheelmaker import make_wheel

from muslwheel.errors import MuslwheelError
from muslwheel.kits import Kit
from muslwheel.proofdeps import DepsOptions, marker_environment, resolve
from muslwheel.versions import CPython, MuslVersion

TAG = "cp311-cp311-musllinux_1_2_x86_64"
#: requirements that must never be installed for an x86_64 CPython 3.11 kit (none exists anywhere)
NEVER = [
    'muslwheel-test-old-python; python_version < "3.10"',
    'muslwheel-test-arm-only; platform_machine == "aarch64"',
]
FANCY = 'muslwheel-test-fancy; extra == "fancy"'
ABSENT = "muslwheel-test-absent>=1"


def _pure(dest: Path, name: str, requires: list[str]) -> Path:
    mod = name.replace("-", "_")
    return make_wheel(dest, name, "1.0", "py3-none-any", {f"{mod}/__init__.py": ""}, requires=requires)


# --- the resolution alone: pip on the host, no kit --------------------------------------------------


def test_requirements_are_resolved_for_the_kit_not_this_host(tmp_path: Path) -> None:
    """Markers are the kit's (an aarch64 CPython 3.9 here would take both NEVER lines), extras
    only on request, a dependency's own dependencies followed, a missing one named."""
    house = tmp_path / "house"
    house.mkdir()
    _pure(house, "mid", ["leaf>=1"])
    _pure(house, "leaf", [])
    app = _pure(tmp_path, "app", ["mid", *NEVER, FANCY])
    options = DepsOptions(find_links=(house,), no_index=True)

    def names(extras: tuple[str, ...] = (), python: str = "3.11", arch: str = "x86_64") -> tuple[list[str], list[str]]:
        opts = DepsOptions(find_links=options.find_links, no_index=True, extras=extras)
        got = resolve(
            [app],
            python=CPython.parse(python),
            arch=arch,
            musl=MuslVersion(1, 2, 3),
            options=opts,
            workdir=tmp_path / "dl",
        )
        return sorted(d.name for d in got.dependencies), sorted(m.name for m in got.missing)

    assert names() == (["leaf", "mid"], [])
    assert names(("fancy",)) == (["leaf", "mid"], ["muslwheel-test-fancy"])
    assert names(python="3.9", arch="aarch64") == (
        ["leaf", "mid"],
        ["muslwheel-test-arm-only", "muslwheel-test-old-python"],
    )
    with pytest.raises(MuslwheelError, match="--extra fast: no given wheel has that extra .theirs: fancy."):
        names(("fast",))
    env = marker_environment(CPython(13, free_threaded=True), "armv7l")
    assert (env["python_version"], env["platform_machine"]) == ("3.13", "armv7l")


def test_a_dependency_with_no_wheel_for_the_target_is_named(tmp_path: Path) -> None:
    house = tmp_path / "house"
    house.mkdir()
    # a wheel of the dependency for another arch only: pip, driven for x86_64, does not take it
    make_wheel(house, "muslwheel-test-absent", "1.0", "cp311-cp311-musllinux_1_2_aarch64", {"x/__init__.py": ""})
    app = _pure(tmp_path, "app", [ABSENT])
    got = resolve(
        [app],
        python=CPython(11),
        arch="x86_64",
        musl=MuslVersion(1, 2, 3),
        options=DepsOptions(find_links=(house,), no_index=True),
        workdir=tmp_path / "dl",
    )
    assert got.dependencies == []
    assert [m.line() for m in got.missing] == [f"needs {ABSENT}, no musllinux wheel for x86_64"]


# --- the proof in the x86_64 CPython 3.11 kit -------------------------------------------------------

CRASH = r"""
#include <Python.h>
#include <signal.h>
#define CAT(a, b) a##b
#define INIT(n) CAT(PyInit_, n)
PyMODINIT_FUNC INIT(MODNAME)(void) { raise(SIGSEGV); return NULL; }
"""


def _crashing(kit: Kit, build: Path, modname: str) -> Path:
    src = write_c(build / f"{modname}.c", CRASH)
    out = build / f"{modname}{kit.ext_suffix}"
    return build_against(kit, out, src, "-shared", "-fPIC", f"-I{kit.include_dir}", f"-DMODNAME={modname}")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """app (an extension, and a package importing dep) needing dep (an extension); bad (a module
    that crashes, a module with no PyInit, one importing a dependency with no wheel, one importing a dependency whose
    extension crashes); the wheelhouse of dep and crashdep; an empty one."""
    kit: Kit = kit_for("x86_64", "1.2.3", "3.11")
    tmp = tmp_path_factory.mktemp("deps")
    build, house, empty, given = (tmp / d for d in ("build", "house", "empty", "given"))
    for d in (build, house, empty, given):
        d.mkdir()
    dep_ext = build_extension(kit, build, "_dep")
    app_ext = build_extension(kit, build, "_app")
    noinit = build_extension(kit, build, "noinit", "-DNO_INIT")
    crash = _crashing(kit, build, "_crash")
    own = _crashing(kit, build, "owncrash")
    files = {"dep/__init__.py": "from ._dep import fib\n", f"dep/{dep_ext.name}": dep_ext.read_bytes()}
    dep = make_wheel(house, "dep", "1.0", TAG, files)
    files = {"crashdep/__init__.py": "from . import _crash\n", f"crashdep/{crash.name}": crash.read_bytes()}
    make_wheel(house, "crashdep", "1.0", TAG, files)
    files = {"app/__init__.py": "import dep\nVALUE = dep.fib(50)\n", f"app/{app_ext.name}": app_ext.read_bytes()}
    app = make_wheel(given, "app", "1.0", TAG, files, requires=["dep>=1.0", *NEVER, FANCY])
    files = {
        f"bad/{noinit.name}": noinit.read_bytes(),
        f"bad/{own.name}": own.read_bytes(),
        "bad/__init__.py": "",
        "needsabsent/__init__.py": "import muslwheel_test_absent\n",
        "needscrash/__init__.py": "import crashdep\n",
    }
    bad = make_wheel(given, "bad", "1.0", TAG, files, requires=[ABSENT, "crashdep"])
    return {"kit": Path(kit.name), "app": app, "dep": dep, "bad": bad, "house": house, "empty": empty}


def _check(made: dict[str, Path], *args: object) -> tuple[int, list[dict]]:  # type: ignore[type-arg]
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", made["kit"], *args])
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _modules(report: dict) -> dict[str, tuple[str, str, str]]:  # type: ignore[type-arg]
    return {m["module"]: (m["result"], m["class"], m["detail"]) for m in report["modules"]}


def test_without_dependencies_the_wheel_stops_at_a_python_error(made: dict[str, Path]) -> None:
    code, (report,) = _check(made, "--no-deps", made["app"])
    assert code == 0
    assert _modules(report)["app"][:2] == ("python-error", "python-error")
    assert "No module named 'dep'" in _modules(report)["app"][2]
    assert report["class"] == "python-error" and report["dependencies"] == []


def test_wheels_given_together_are_proven_together(made: dict[str, Path]) -> None:
    code, reports = _check(made, "--no-index", "--find-links", made["empty"], made["app"], made["dep"])
    assert code == 0
    app = next(r for r in reports if r["wheel"] == made["app"].name)
    assert _modules(app) == {"app._app": ("imported", "imported", ""), "app": ("imported", "imported", "")}
    assert app["class"] == "imported" and app["together"] == [made["dep"].name]
    assert app["missing_dependencies"] == []  # the markers false for the kit asked for nothing


def test_a_wheelhouse_supplies_the_dependencies(made: dict[str, Path]) -> None:
    code, (report,) = _check(made, "--no-index", "--find-links", made["house"], made["app"])
    assert code == 0
    assert report["class"] == "imported"
    assert _modules(report)["app"][0] == "imported"
    (dep,) = report["dependencies"]
    assert (dep["name"], dep["version"], dep["required_by"], dep["class"]) == ("dep", "1.0", "app", "imported")
    assert report["missing_dependencies"] == []
    # an extra only on request; one with no wheel is named, never skipped
    code, (fancy,) = _check(made, "--no-index", "--find-links", made["house"], "--extra", "fancy", made["app"])
    assert fancy["missing_dependencies"] == ["needs muslwheel-test-fancy, no musllinux wheel for x86_64"]


def test_missing_and_crashing_dependencies_are_named_and_not_the_wheels_failure(made: dict[str, Path]) -> None:
    code, (report,) = _check(made, "--no-index", "--find-links", made["house"], made["bad"])
    assert code == 1  # bad.noinit: the wheel's own binary
    modules = _modules(report)
    assert modules["bad.noinit"][:2] == ("binary-error", "binary-failure")
    assert modules["needsabsent"][:2] == ("missing-dependency", "not-proven")
    assert modules["needsabsent"][2] == f"not proven: needs {ABSENT}, no musllinux wheel for x86_64"
    assert modules["needscrash"][:2] == ("dependency-failed", "not-proven")
    assert modules["needscrash"][2].startswith("its dependency crashdep 1.0 crashed: crashdep: SIGSEGV")
    # the wheel's own crash is not put on the dependency: without crashdep it still crashes
    assert modules["bad.owncrash"] == ("crashed", "binary-failure", "SIGSEGV")
    (crashdep,) = report["dependencies"]
    assert crashdep["class"] == "binary-failure" and crashdep["modules"][0]["result"] == "crashed"
    assert report["class"] == "binary-failure"
    text = run(
        [
            *muslwheel_cmd(),
            "check",
            "--import",
            "--kit",
            made["kit"],
            "--no-index",
            "--find-links",
            made["house"],
            made["bad"],
        ]
    )
    assert f"not proven: needs {ABSENT}, no musllinux wheel for x86_64" in text.stdout
    assert "dependency crashdep 1.0" in text.stdout and "crashed" in text.stdout


def test_deps_options_go_with_import(tmp_path: Path) -> None:
    app = _pure(tmp_path, "app", [])
    proc = run([*muslwheel_cmd(), "check", "--no-deps", app])
    assert proc.returncode == 2 and "--no-deps goes with --import" in proc.stderr
    proc = run([*muslwheel_cmd(), "check", "--import", "--no-index", app])
    assert proc.returncode == 2 and "--no-index takes dependencies only from --find-links" in proc.stderr
