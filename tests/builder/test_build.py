"""muslwheel build: a real C extension with a vendored library, cross-built with zig for musl
CPythons, repaired, checked by musl's loader and imported in the target's own interpreter.

The fixture project (`buildfixture.py`) is what a user's project looks like: a setuptools C
extension linking ``libfix.so.1``, a library that ``--before-build`` compiles with the target's
``$CC`` into ``$MUSLWHEEL_PREFIX``; ``repair`` must graft it. Build requirements come from the
wheels ``scripts/build-world`` downloads (``PIP_NO_INDEX``), never from the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from buildfixture import BEFORE_BUILD, TEST, write_fixture
from conftest import FT_KIT_ARCHES, WORLD, checkout_env, muslwheel_cmd, need, run

pytestmark = pytest.mark.world


@pytest.fixture(scope="session")
def build_wheels() -> Path:
    wheels = WORLD / "build-wheels"
    need(any(wheels.glob("setuptools-*.whl")), f"setuptools wheel for builds ({wheels})")
    return wheels


@pytest.fixture(scope="session")
def world_cpython() -> Path:
    prefix = WORLD / "cpython"
    need((prefix / "bin" / "python3.11").exists(), f"musl CPython ({prefix})")
    return prefix


def offline_env(build_wheels: Path) -> dict[str, str]:
    env = checkout_env()
    env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(build_wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    env.pop("SOURCE_DATE_EPOCH", None)
    return env


def muslwheel_build(args: list[object], env: dict[str, str]) -> tuple[int, dict[str, object] | None, str]:
    proc = run([*muslwheel_cmd(), "build", "--json", "-j", "2", *args], env=env, timeout=1200)
    data = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, data, proc.stderr


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_builds_repairs_and_imports_natively(tmp_path: Path, build_wheels: Path, world_cpython: Path) -> None:
    """x86_64 musl CPython: built with zig, libfix grafted, honest by show, imported and run,
    and the same bytes from a second build."""
    from muslwheel.audit import audit_wheel

    project = write_fixture(tmp_path)
    before = tree_digest(project)
    env = offline_env(build_wheels)
    outputs = []
    for n in (1, 2):
        out = tmp_path / f"wheelhouse{n}"
        code, summary, stderr = muslwheel_build(
            [project, "-w", out, "--cpython", world_cpython, "--before-build", BEFORE_BUILD, "--test", TEST], env
        )
        assert code == 0, f"{stderr}\n{json.dumps(summary, indent=1)}"
        assert summary is not None and summary["ok"] is True
        (result,) = summary["targets"]  # type: ignore[misc]
        wheel = Path(result["wheel"])
        assert wheel.parent == out and [p.name for p in out.iterdir()] == [wheel.name]
        assert result["built_wheel"].endswith("-cp311-cp311-linux_x86_64.whl")
        assert wheel.name.startswith("fixture-1.0-cp311-cp311-musllinux_1_") and wheel.name.endswith("_x86_64.whl")
        assert result["check"] == "loader"
        assert result["imported"] == ["fixture._speed", "fixture"]  # as check --import: modules, then packages
        assert [Path(g).name.split("-")[0] for g in result["grafted"]] == ["libfix"]
        verdict = audit_wheel(wheel)
        assert verdict.honest and not verdict.external_libs, verdict.to_json()
        with zipfile.ZipFile(wheel) as z:
            assert any(n.startswith("fixture.libs/libfix-") for n in z.namelist())
        outputs.append(wheel.read_bytes())
    assert outputs[0] == outputs[1], "two builds of the same source differ"
    assert tree_digest(project) == before, "the build wrote into the source tree"


def test_builds_from_an_sdist(tmp_path: Path, build_wheels: Path, world_cpython: Path) -> None:
    project = write_fixture(tmp_path / "src")
    sdist = tmp_path / "fixture-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        tar.add(project, arcname="fixture-1.0")
    out = tmp_path / "out"
    code, summary, stderr = muslwheel_build(
        [sdist, "-w", out, "--cpython", world_cpython, "--before-build", BEFORE_BUILD, "--test", TEST],
        offline_env(build_wheels),
    )
    assert code == 0, stderr
    assert summary is not None
    assert summary["targets"][0]["imported"] == ["fixture._speed", "fixture"]  # type: ignore[index]


def test_a_failing_target_is_reported_with_its_log(tmp_path: Path, build_wheels: Path, world_cpython: Path) -> None:
    project = write_fixture(tmp_path)
    out = tmp_path / "out"
    failing = f"{BEFORE_BUILD} && echo vendored-build-broke-on-$MUSLWHEEL_ARCH >&2 && exit 3"
    code, summary, stderr = muslwheel_build(
        [project, "-w", out, "--cpython", world_cpython, "--before-build", failing], offline_env(build_wheels)
    )
    assert code == 1
    assert summary is not None and summary["ok"] is False
    (result,) = summary["targets"]  # type: ignore[misc]
    assert result["status"] == "failed" and result["stage"] == "before-build"
    assert "exit 3" in result["error"]
    assert "vendored-build-broke-on-x86_64" in result["log_tail"][-1]
    assert not any(out.iterdir()), "a failed target left a wheel"


def test_the_build_error_of_a_broken_extension_is_shown(
    tmp_path: Path, build_wheels: Path, world_cpython: Path
) -> None:
    project = write_fixture(tmp_path)
    (project / "fixture" / "speed.c").write_text("#include <Python.h>\nint broken( {\n")
    proc = run(
        [*muslwheel_cmd(), "build", project, "-w", tmp_path / "out", "--cpython", world_cpython, "-q"],
        env=offline_env(build_wheels),
        timeout=600,
    )
    assert proc.returncode == 1
    assert "FAILED at build" in proc.stdout
    assert "speed.c" in proc.stdout and "error" in proc.stdout  # the compiler's own words, from the log
    # the whole log is kept, named by project and target (a bench builds many projects per target)
    (log,) = [Path(line.split("full log: ", 1)[1]) for line in proc.stdout.splitlines() if "full log: " in line]
    assert log.name == "fixture-x86_64-py3.11.log" and "speed.c" in log.read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["/nonexistent/src", "--cpython", "{world}"], "no such file or directory"),
        (["{empty}", "--cpython", "{world}"], "not a Python project"),
        (["{project}", "--arch", "sparc64", "--python", "3.11"], "unknown architecture"),
        (["{project}", "--arch", "x86_64"], "give both --arch and --python"),
        (["{project}"], "no targets"),
        (["{project}", "--arch", "riscv64", "--python", "3.99"], "kit"),
        (["{project}", "--arch", "x86_64", "--python", "3.12t"], "free-threaded builds start at 3.13"),
        (["{evil}", "--cpython", "{world}"], "outside the sdist"),
    ],
)
def test_bad_requests_are_refused_in_one_line(
    tmp_path: Path, world_cpython: Path, args: list[str], message: str
) -> None:
    project = write_fixture(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    evil = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("evil-1.0/../../escaped.txt")
        tar.addfile(info)
    out = tmp_path / "out"
    values = {"world": world_cpython, "empty": empty, "project": project, "evil": evil}
    proc = run([*muslwheel_cmd(), "build", "-w", out, *(a.format(**values) for a in args)], env=checkout_env())
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_toolchain_gives_the_backend_the_targets_sysconfig(tmp_path: Path, world_cpython: Path) -> None:
    """What a backend sees through the cross environment: the target's platform, extension
    suffix, headers and compilers, read by the build Python's own sysconfig."""
    from muslwheel.builder.target import target_from_prefix
    from muslwheel.builder.toolchain import cross_environment, make_toolchain

    target = target_from_prefix(world_cpython)
    tc = make_toolchain(target, tmp_path)
    env = cross_environment(tc, {"PATH": os.environ["PATH"]})
    code = (
        "import sysconfig, json; print(json.dumps([sysconfig.get_platform(), sysconfig.get_config_var('EXT_SUFFIX'),"
        " sysconfig.get_config_var('INCLUDEPY'), sysconfig.get_config_var('CC')]))"
    )
    proc = run([target.build_python, "-c", code], env=env)
    assert proc.returncode == 0, proc.stderr
    platform, suffix, include, cc = json.loads(proc.stdout)
    assert platform == "linux-x86_64"
    assert suffix == ".cpython-311-x86_64-linux-musl.so"
    assert Path(include) == world_cpython / "include" / "python3.11" and (Path(include) / "Python.h").exists()
    assert cc == str(tc.cc)


MODULE_C = r"""#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *unused) { return PyLong_FromLong(6 * 7 + (long)sizeof(void *)); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "%(name)s", NULL, -1, methods};
PyMODINIT_FUNC PyInit_%(name)s(void) { return PyModule_Create(&module); }
"""


#: (build requirement, backend, build file, its text) of each non-setuptools fixture
BACKENDS = {
    "meson-python": (
        "meson-python",
        "mesonpy",
        "meson.build",
        "project('{name}', 'c', version: '1.0')\n"
        "py = import('python').find_installation(pure: false)\n"
        "py.extension_module('{name}', '{name}.c', install: true)\n",
    ),
    "scikit-build-core": (
        "scikit-build-core",
        "scikit_build_core.build",
        "CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.15)\nproject({name} LANGUAGES C)\n"
        "find_package(Python COMPONENTS Development.Module REQUIRED)\n"
        "Python_add_library({name} MODULE {name}.c WITH_SOABI)\ninstall(TARGETS {name} DESTINATION .)\n",
    ),
}


def write_backend_project(root: Path, kind: str, name: str) -> Path:
    """A one-module project built by *kind* (meson-python or scikit-build-core)."""
    requirement, backend, build_file, text = BACKENDS[kind]
    project = root / name
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["{requirement}"]\nbuild-backend = "{backend}"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
    )
    (project / build_file).write_text(text.format(name=name))
    (project / f"{name}.c").write_text(MODULE_C % {"name": name})
    return project


@pytest.mark.parametrize("kind", ["meson-python", "scikit-build-core"])
def test_meson_and_cmake_projects_cross_build(
    tmp_path: Path, build_wheels: Path, world_cpython: Path, kind: str
) -> None:
    """meson-python through the generated cross file, scikit-build-core through the generated
    toolchain file: a musllinux wheel whose module imports and answers."""
    name = "mfix" if kind == "meson-python" else "sfix"
    project = write_backend_project(tmp_path, kind, name)
    code, summary, stderr = muslwheel_build(
        [
            project,
            "-w",
            tmp_path / "out",
            "--cpython",
            world_cpython,
            "--test",
            f"import {name}; assert {name}.answer() == 50",
        ],
        offline_env(build_wheels),
    )
    assert code == 0, f"{stderr}\n{json.dumps(summary, indent=1)}"
    assert summary is not None
    (result,) = summary["targets"]  # type: ignore[misc]
    assert result["imported"] == [name]
    assert Path(result["wheel"]).name.startswith(f"{name}-1.0-cp311-cp311-musllinux_1_")


RUN_MODULE_C = r"""#define PY_SSIZE_T_CLEAN
#include <Python.h>
int helper(void);
/* RUN_POINTER: what the build system's run check printed, sizeof(void *) of the machine it ran on */
static PyObject *answer(PyObject *self, PyObject *unused) {
    return Py_BuildValue("(ii)", RUN_POINTER, (int)sizeof(void *) + helper());
}
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "%(name)s", NULL, -1, methods};
PyMODINIT_FUNC PyInit_%(name)s(void) { return PyModule_Create(&module); }
"""
PROBE_C = '#include <stdio.h>\nint main(void) { printf("%d", (int)sizeof(void *)); return 0; }\n'

#: projects whose build runs a program it compiled (meson's ``run``, as numpy's long double check;
#: CMake's ``try_run``) and compiles its answer in; meson's also links an internal static
#: library, which meson archives thin (``ar csrDT``) and zig's linker must still read
RUN_BACKENDS = {
    "meson-python": (
        "meson.build",
        "project('{name}', 'c', version: '1.0')\n"
        "r = meson.get_compiler('c').run(files('probe.c'), name: 'pointer size')\n"
        "assert(r.compiled() and r.returncode() == 0, 'the run check did not run')\n"
        "helper = static_library('helper', 'helper.c')\n"
        "py = import('python').find_installation(pure: false)\n"
        "py.extension_module('{name}', '{name}.c', link_with: helper,\n"
        "  c_args: ['-DRUN_POINTER=' + r.stdout().strip()], install: true)\n",
    ),
    "scikit-build-core": (
        "CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.15)\nproject({name} LANGUAGES C)\n"
        "try_run(RUN_CODE COMPILED ${{CMAKE_BINARY_DIR}}/probe ${{CMAKE_CURRENT_SOURCE_DIR}}/probe.c\n"
        "  RUN_OUTPUT_VARIABLE RUN_POINTER)\n"
        'if(NOT COMPILED OR NOT RUN_CODE EQUAL 0)\n  message(FATAL_ERROR "the run check did not run")\nendif()\n'
        "find_package(Python COMPONENTS Development.Module REQUIRED)\n"
        "Python_add_library({name} MODULE {name}.c helper.c WITH_SOABI)\n"
        "target_compile_definitions({name} PRIVATE RUN_POINTER=${{RUN_POINTER}})\n"
        "install(TARGETS {name} DESTINATION .)\n",
    ),
}


@pytest.mark.parametrize(
    ("kind", "where"), [("meson-python", "armv7l"), ("scikit-build-core", "armv7l"), ("meson-python", "prefix")]
)
def test_a_build_systems_run_checks_run_on_the_target(
    tmp_path: Path, build_wheels: Path, world_cpython: Path, kind: str, where: str
) -> None:
    """A project that runs what it compiles gets the target's answer, not the host's: for armv7l
    (4-byte pointers, under qemu with the kit's loader; this host's are 8) meson's ``run`` (the
    cross file's ``exe_wrapper``) and CMake's ``try_run`` (``CMAKE_CROSSCOMPILING_EMULATOR``) say
    4, as numpy's ``long double`` check must; for an installed x86_64 musl CPython (``--cpython``)
    the program runs with this host's musl loader and says 8. Without a wrapper meson refuses
    ("Can not run test applications in this cross environment")."""
    from muslwheel.builder import BuildOptions, build
    from muslwheel.builder.target import target_from_prefix

    name = ("mrun" if kind == "meson-python" else "crun") + ("p" if where == "prefix" else "")
    requirement, backend, _, _ = BACKENDS[kind]
    build_file, text = RUN_BACKENDS[kind]
    project = tmp_path / name
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["{requirement}"]\nbuild-backend = "{backend}"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
    )
    (project / build_file).write_text(text.format(name=name))
    (project / f"{name}.c").write_text(RUN_MODULE_C % {"name": name})
    (project / "helper.c").write_text("int helper(void) { return 100; }\n")
    (project / "probe.c").write_text(PROBE_C)
    target = kit_target("armv7l") if where == "armv7l" else target_from_prefix(world_cpython)
    size = 4 if where == "armv7l" else 8
    env = offline_env(build_wheels)
    saved = dict(os.environ)
    os.environ.update({k: env[k] for k in ("PIP_NO_INDEX", "PIP_FIND_LINKS")})
    try:
        test = f"import {name}; assert {name}.answer() == ({size}, {size + 100}), {name}.answer()"
        summary = build(BuildOptions(project, tmp_path / "out", [target], jobs=1, test_command=test))  # type: ignore[list-item]
    finally:
        os.environ.clear()
        os.environ.update(saved)
    (result,) = summary.results
    assert result.ok, (result.stage, result.error, result.log_tail)
    assert result.imported == [name]


def kit_target(arch: str) -> object:
    """A build target for the kit of *arch* with a CPython (the first minor built)."""
    try:
        from muslwheel import kits
    except ImportError:
        kits = None  # type: ignore[assignment]
    found = kits.select_kits(arch=arch, with_python=True) if kits is not None else []
    need(found, f"a kit with a CPython for {arch} (muslwheel kit build --arch {arch})")
    from muslwheel.builder.target import select_targets

    (target,) = select_targets([arch], [str(sorted(k.python for k in found)[0])], None)
    return target


#: with x86_64 (the world's CPython, above) the four arches the suite builds the fixture for;
#: riscv64 and loongarch64 are in bench/bench_build.py
CROSS_ARCHES = ["aarch64", "armv7l"]  # 64- and 32-bit under qemu; i686's in bench/bench_build.py


def test_cross_builds_import_in_each_kits_cpython(tmp_path: Path, build_wheels: Path) -> None:
    """aarch64 and armv7l at once: each wheel repaired with libfix grafted, honest, and imported
    in that arch's own musl CPython under qemu-user, computing the value."""
    from muslwheel.audit import audit_wheel
    from muslwheel.builder import BuildOptions, build

    targets = [kit_target(a) for a in CROSS_ARCHES]
    project = write_fixture(tmp_path)
    out = tmp_path / "out"
    env = offline_env(build_wheels)
    saved = dict(os.environ)
    os.environ.update({k: env[k] for k in ("PIP_NO_INDEX", "PIP_FIND_LINKS")})
    try:
        summary = build(
            BuildOptions(project, out, targets, jobs=2, before_build=BEFORE_BUILD, test_command=TEST)  # type: ignore[arg-type]
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    failures = {r.target.name: (r.stage, r.error, r.log_tail) for r in summary.results if not r.ok}
    assert not failures, failures
    for r in summary.results:
        arch = r.target.arch.name
        assert r.wheel is not None and r.wheel.name.endswith(f"_{arch}.whl") and "musllinux_1_" in r.wheel.name
        assert r.check == "loader+qemu"
        assert "fixture._speed" in r.imported  # check --import also imports the package
        assert [Path(g).name.split("-")[0] for g in r.grafted] == ["libfix"]
        verdict = audit_wheel(r.wheel)
        assert verdict.honest and verdict.arch == arch and not verdict.external_libs
        assert r.to_json()["pypi_uploadable"] is True and not [n for n in r.notes if "PyPI" in n]


FT_ARCHES = FT_KIT_ARCHES  # conftest: the 3.13t kits scripts/build-world builds
FT_MODULE_C = r"""#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* what the headers it was compiled against said: a cp313t build defines Py_GIL_DISABLED */
static PyObject *compiled_free_threaded(PyObject *self, PyObject *unused) {
#ifdef Py_GIL_DISABLED
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

static PyObject *tri(PyObject *self, PyObject *arg) {
    long long n = PyLong_AsLongLong(arg), s = 0;
    if (n == -1 && PyErr_Occurred()) return NULL;
    for (long long i = 1; i <= n; i++) s += i;
    return PyLong_FromLongLong(s);
}

static PyMethodDef methods[] = {
    {"compiled_free_threaded", compiled_free_threaded, METH_NOARGS, NULL},
    {"tri", tri, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

/* a free-threading-ready module says so; without it, importing it turns the GIL back on */
static PyModuleDef_Slot slots[] = {
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "ftfix._ft", NULL, 0, methods, slots};

PyMODINIT_FUNC PyInit__ft(void) { return PyModuleDef_Init(&module); }
"""
#: run in each free-threaded kit with the wheel installed: threads call the module, no GIL
FT_TEST = (
    "import sys, threading, ftfix._ft as ft\n"
    "assert ft.compiled_free_threaded(), 'not compiled for a free-threaded CPython'\n"
    "out = []\n"
    "ts = [threading.Thread(target=lambda n=n: out.append(ft.tri(n))) for n in range(1, 9)]\n"
    "[t.start() for t in ts]; [t.join() for t in ts]\n"
    "assert sorted(out) == [n * (n + 1) // 2 for n in range(1, 9)], out\n"
    "assert sys._is_gil_enabled() is False, 'the GIL is on'\n"
    "print('free-threaded ok', sys.abiflags)\n"
)


def test_a_free_threaded_extension_is_built_for_cp313t_and_imported_without_the_gil(
    tmp_path: Path, build_wheels: Path
) -> None:
    """`build --python 3.13t` for the arches of conftest.FT_KIT_ARCHES: a C extension compiled against the
    free-threaded headers, tagged cp313-cp313t, repaired, imported in each arch's free-threaded
    kit, where threads call it with the GIL still off."""
    from conftest import kit_for

    from muslwheel.arch import get_arch
    from muslwheel.audit import audit_wheel
    from muslwheel.kits.build import NEWEST_MUSL

    for arch in FT_ARCHES:
        kit_for(arch, NEWEST_MUSL, "3.13t")
    project = tmp_path / "ftfix"
    (project / "ftfix").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=70.1"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "ftfix"\nversion = "1.0"\n'
    )
    (project / "setup.py").write_text(
        'from setuptools import Extension, setup\nsetup(packages=["ftfix"], ext_modules=[Extension("ftfix._ft", ["ftfix/ft.c"])])\n'
    )
    (project / "ftfix" / "__init__.py").write_text("")
    (project / "ftfix" / "ft.c").write_text(FT_MODULE_C)
    out = tmp_path / "out"
    code, summary, stderr = muslwheel_build(
        [project, "-w", out, "--arch", ",".join(FT_ARCHES), "--python", "3.13t", "--test", FT_TEST],
        offline_env(build_wheels),
    )
    assert code == 0, f"{stderr}\n{json.dumps(summary, indent=1)}"
    assert summary is not None and summary["ok"] is True
    results = {r["target"]["arch"]: r for r in summary["targets"]}  # type: ignore[attr-defined]
    assert sorted(results) == sorted(FT_ARCHES)
    for arch, result in results.items():
        name = kit_for(arch, NEWEST_MUSL, "3.13t").name  # the world's: bare (scripts/build-world)
        assert result["target"]["python"] == "3.13t" and result["target"]["name"] == name
        assert result["built_wheel"] == f"ftfix-1.0-cp313-cp313t-linux_{arch}.whl"
        wheel = Path(result["wheel"])
        assert wheel.name.startswith("ftfix-1.0-cp313-cp313t-musllinux_1_") and wheel.name.endswith(f"_{arch}.whl")
        assert "ftfix._ft" in result["imported"]
        with zipfile.ZipFile(wheel) as z:
            modules = [n for n in z.namelist() if n.endswith(".so")]
        assert modules == [f"ftfix/_ft.cpython-313t-{get_arch(arch).cpython_triplet('musl')}.so"]
        verdict = audit_wheel(wheel)
        assert verdict.honest and verdict.arch == arch, verdict.to_json()


def test_the_import_step_and_test_run_in_the_sandbox(tmp_path: Path, build_wheels: Path, world_cpython: Path) -> None:
    """build --test runs the wheel's code: under the sandbox its connection to a listener on
    127.0.0.1, to a Unix socket in $HOME, and its writes into $HOME and /tmp reach nothing, and
    the target still builds, imports and passes; with --no-sandbox all of them reach the host."""
    from sandboxfixture import EVERYTHING, NOTHING, host

    project = write_fixture(tmp_path)
    env = offline_env(build_wheels)
    with host() as reach:
        for n, extra, sandboxed, reached in ((1, [], True, NOTHING), (2, ["--no-sandbox"], False, EVERYTHING)):
            args = [project, "-w", tmp_path / f"out{n}", "--cpython", world_cpython, "--before-build", BEFORE_BUILD]
            code, summary, stderr = muslwheel_build([*args, "--test", reach.code(), *extra], env)
            assert code == 0, f"{stderr}\n{json.dumps(summary, indent=1)}"
            assert summary is not None
            (result,) = summary["targets"]  # type: ignore[misc]
            assert result["sandbox"] is sandboxed
            assert result["imported"] == ["fixture._speed", "fixture"]
            assert reach.reached() == reached


def test_the_import_step_installs_the_wheels_dependencies(
    tmp_path: Path, build_wheels: Path, world_cpython: Path
) -> None:
    """The built wheel's package imports a pure-Python dependency it names in Requires-Dist:
    build's import step installs it from --find-links (as check --import does), so the package
    imports and --test sees it; the dependency is never copied into the wheel."""
    from wheelmaker import make_wheel

    project = write_fixture(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'dependencies = ["muslwheel-test-helper>=1"]\n')
    init = project / "fixture" / "__init__.py"
    init.write_text(init.read_text() + "from muslwheel_test_helper import VALUE\n")
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(
        house, "muslwheel_test_helper", "1.0", "py3-none-any", {"muslwheel_test_helper/__init__.py": "VALUE = 7\n"}
    )
    test = "import fixture; assert fixture.VALUE == 7 and fixture.mix(6, 7) == 6 * 7 + 0x5a17"
    args = [project, "-w", tmp_path / "out", "--cpython", world_cpython, "--before-build", BEFORE_BUILD]
    code, summary, stderr = muslwheel_build([*args, "--find-links", house, "--test", test], offline_env(build_wheels))
    assert code == 0, f"{stderr}\n{json.dumps(summary, indent=1)}"
    assert summary is not None
    (result,) = summary["targets"]  # type: ignore[misc]
    assert result["imported"] == ["fixture._speed", "fixture"], result["notes"]
    with zipfile.ZipFile(result["wheel"]) as z:
        assert not any(n.startswith("muslwheel_test_helper") for n in z.namelist())


def test_a_host_without_a_sandbox_stops_before_anything_is_built(tmp_path: Path, world_cpython: Path) -> None:
    """No bubblewrap (none on PATH): one line, exit 2, no wheel; the wheel's code would run."""
    project = write_fixture(tmp_path)
    (tmp_path / "bin").mkdir()
    env = dict(checkout_env(), PATH=str(tmp_path / "bin"))
    out = tmp_path / "out"
    proc = run([*muslwheel_cmd(), "build", project, "-w", out, "--cpython", world_cpython], env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "bubblewrap" in lines[0] and "--no-sandbox" in lines[0], proc.stderr
    assert not out.exists()
