"""muslwheel wheelhouse: requirements -> per target: take / repair / refuse / build -> proven in the
target's kit -> PEP 503 index + lock + report. pip resolves from local wheels the test builds
(``--no-index --find-links``, ``--no-pip-config``): nothing reaches PyPI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import checkout_env, kit_for, muslwheel_cmd, need, run, run_ok, write_c
from kitfixture import build_extension, relr_wheel
from wheelmaker import make_wheel

from muslwheel.kits import Kit
from muslwheel.wheelhouse import parse_targets

PY = "3.11"
TARGET = "x86_64:1.2.3"  # the musl of Alpine 3.16/3.17: a DT_RELR wheel crashes it


def wheelhouse(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run([*muslwheel_cmd(), "wheelhouse", *map(str, args)], env=checkout_env(), cwd=cwd)


def glibc_module(tmp: Path, name: str) -> Path:
    """An extension module built by the host's gcc against glibc (NEEDED libc.so.6, GLIBC_ versions)."""
    gcc = shutil.which("gcc")
    need(gcc, "gcc")
    src = write_c(
        tmp / "g.c",
        '#include <string.h>\n#include <stdio.h>\nint g(const char *s){printf("%s", s); return (int)strlen(s);}\n',
    )
    so = tmp / name
    run_ok([gcc, "-shared", "-fPIC", "-O2", "-Wl,--no-as-needed", "-o", so, src])
    return so


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A find-links directory: a pure wheel, a musllinux_1_1 extension wheel, a musllinux_1_2
    wheel whose vendored library has DT_RELR, a glibc wheel tagged musllinux; and the
    requirements naming them and a project nobody provides."""
    kit = kit_for("x86_64", "1.2.3", PY)
    tmp = tmp_path_factory.mktemp("house")
    links = tmp / "links"
    links.mkdir()
    make_wheel(links, "purepkg", "1.0", "py3-none-any", {"purepkg/__init__.py": "VALUE = 1\n"}, root_is_purelib=True)
    (tmp / "fast").mkdir()
    ext = build_extension(kit, tmp / "fast", "_fast")
    make_wheel(
        links,
        "fastpkg",
        "1.0",
        f"cp311-cp311-musllinux_1_1_{kit.arch}",
        {"fastpkg/__init__.py": "from ._fast import fib\n", f"fastpkg/{ext.name}": ext.read_bytes()},
    )
    (tmp / "relr").mkdir()
    relr = relr_wheel(kit, tmp / "relr", "relrpkg", "from ._ext import word\nassert word == 'two', word\n")
    shutil.copy(relr, links / relr.name)
    (tmp / "glibc").mkdir()
    so = glibc_module(tmp / "glibc", f"_g{kit.ext_suffix}")
    make_wheel(
        links,
        "glibcpkg",
        "1.0",
        f"cp311-cp311-musllinux_1_1_{kit.arch}",
        {"glibcpkg/__init__.py": "from ._g import g\n", f"glibcpkg/{so.name}": so.read_bytes()},
    )
    req = tmp / "requirements.txt"
    req.write_text("purepkg\nfastpkg==1.0\nrelrpkg\nglibcpkg  # a glibc wheel in a musllinux tag\nnobody-has-this\n")
    return {"kit": kit, "links": links, "req": req, "tmp": tmp}


def args_for(house: dict[str, Any], out: Path, cache: Path, *extra: object) -> list[object]:
    return [
        "-r", house["req"], "--target", TARGET, "--python", PY, "-w", out, "--cache-dir", cache,
        "--no-index", "--find-links", house["links"], "--no-pip-config", "--json", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def first(house: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One local run over *house* (its output directory, cache, exit status and report)."""
    tmp = tmp_path_factory.mktemp("first")
    out, cache = tmp / "out", tmp / "cache"
    proc = wheelhouse(*args_for(house, out, cache))
    return {"out": out, "cache": cache, "proc": proc, "report": json.loads(proc.stdout or "{}")}


def by_project(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["project"]: d for d in report["decisions"]}


def test_wheelhouse_takes_repairs_refuses_proves_and_writes_an_installable_index(
    house: dict[str, Any], first: dict[str, Any], tmp_path: Path
) -> None:
    kit: Kit = house["kit"]
    out, proc, report = first["out"], first["proc"], first["report"]
    assert proc.returncode == 1, proc.stderr  # two problems, the rest done
    d = by_project(report)
    assert d["purepkg"]["decision"] == "downloaded" and d["fastpkg"]["decision"] == "downloaded"
    assert d["fastpkg"]["file"].endswith("musllinux_1_1_x86_64.whl")
    assert d["relrpkg"]["decision"] == "repaired" and "DT_RELR unpacked" in d["relrpkg"]["why"]
    assert d["glibcpkg"]["decision"] == "refused" and "glibc" in d["glibcpkg"]["why"]
    problems = report["problems"]
    assert len(problems) == 2, problems
    assert any("glibcpkg" in p and "glibc" in p for p in problems)
    assert any("nobody-has-this" in p for p in problems)
    [proof] = report["proofs"]
    assert proof["result"] == "imports" and proof["kit"] == kit.name, proof
    lock = json.loads((out / "wheelhouse.lock.json").read_text())
    assert {(w["name"], w["origin"]) for w in lock["wheels"]} == {
        ("purepkg", "downloaded"),
        ("fastpkg", "downloaded"),
        ("relrpkg", "repaired"),
    }
    for w in lock["wheels"]:
        page = (out / "simple" / w["name"] / "index.html").read_text()
        assert f"{w['file']}#sha256={w['sha256']}" in page
    assert (out / "report.html").read_text().count("<tr>") >= 5
    # the index works for pip, and what it installs imports in the target's own CPython
    site = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    target_args = parse_targets([TARGET], PY)[0].pip_args()  # `muslwheel tags --pip-args`'s
    pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--target", site, *target_args]
    run_ok([*pip, "--index-url", f"file://{out}/simple", "purepkg", "fastpkg", "relrpkg"], env=env)
    code = "import purepkg, fastpkg, relrpkg; assert fastpkg.fib(50) == 12586269025 and relrpkg.word == 'two'"
    proc = run([*kit.python_command(), "-c", code], env={"PYTHONPATH": str(site), "PATH": os.environ["PATH"]})
    assert proc.returncode == 0, proc.stderr


def test_second_run_does_nothing_and_writes_the_same_lock(house: dict[str, Any], first: dict[str, Any]) -> None:
    out, cache = first["out"], first["cache"]
    assert first["report"]["work"]["repaired"] == 1 and first["report"]["work"]["proved"] == 1
    lock = (out / "wheelhouse.lock.json").read_bytes()
    again = wheelhouse(*args_for(house, out, cache))
    second = json.loads(again.stdout)
    assert again.returncode == 1
    assert second["work"] == {"downloaded": 0, "repaired": 0, "built": 0, "proved": 0}
    assert (out / "wheelhouse.lock.json").read_bytes() == lock


def test_dask_local_cluster_gives_the_same_lock(house: dict[str, Any], first: dict[str, Any], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local = first["out"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        proc = wheelhouse(*args_for(house, tmp_path / "dask", tmp_path / "cache", "--dask", cluster.scheduler_address))
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["runner"] == "dask" and report["proofs"][0]["result"] == "imports"
    assert (tmp_path / "dask" / "wheelhouse.lock.json").read_bytes() == (local / "wheelhouse.lock.json").read_bytes()


def test_a_task_whose_worker_dies_is_run_again_and_only_it(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from muslwheel.wheelhouse.tasks import Dask

    marker = tmp_path / "died-once"

    def task(n: int, marker: str) -> int:
        import os
        from pathlib import Path

        if n == 1 and not Path(marker).exists():
            Path(marker).write_text(str(os.getpid()))
            os._exit(1)  # the worker process is lost mid-task
        return n * 10

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        ex = Dask(cluster.scheduler_address)
        try:
            got = ex.run(task, [((n, str(marker)), {}) for n in range(3)])
        finally:
            ex.close()
    assert got == [0, 10, 20]
    assert marker.exists()


def test_a_request_that_cannot_start_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = wheelhouse("-r", tmp_path / "missing.txt", "--target", TARGET, "--python", PY, "-w", tmp_path / "o")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "missing.txt" in proc.stderr
    req = tmp_path / "r.txt"
    req.write_text("six\n")
    proc = wheelhouse("-r", req, "--target", "sparc64:1.2.3", "--python", PY, "-w", tmp_path / "o")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert not (tmp_path / "o").exists()


def test_an_unknown_release_is_one_line_and_the_other_targets_are_done(tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    make_wheel(links, "purepkg", "1.0", "py3-none-any", {"purepkg/__init__.py": ""}, root_is_purelib=True)
    req = tmp_path / "r.txt"
    req.write_text("purepkg\n")
    out = tmp_path / "o"
    proc = wheelhouse(
        "-r", req, "--target", f"alpine:3.99/x86_64,{TARGET}", "--python", PY, "-w", out, "--cache-dir",
        tmp_path / "c", "--no-index", "--find-links", links, "--no-pip-config", "--no-prove", "--json",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["problems"]) == 1 and "alpine:3.99" in report["problems"][0]
    assert [w["file"] for w in report["lock"]] == ["purepkg-1.0-py3-none-any.whl"]
    assert (out / "simple" / "purepkg" / "index.html").is_file()


SDIST_C = r"""
#include <Python.h>
static PyObject *twice(PyObject *self, PyObject *arg) { return PyLong_FromLong(2 * PyLong_AsLong(arg)); }
static PyMethodDef methods[] = {{"twice", twice, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "_sp", NULL, -1, methods};
PyMODINIT_FUNC PyInit__sp(void) { return PyModule_Create(&def); }
"""


def make_sdist(dest: Path, name: str, c_code: str) -> Path:
    """``name-1.0.tar.gz``: a setuptools project with one C extension, ``name._sp``."""
    import tarfile

    root = dest / f"{name}-1.0"
    (root / name).mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=70.1"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
    )
    (root / "setup.py").write_text(
        "from setuptools import Extension, setup\n"
        f'setup(packages=["{name}"], ext_modules=[Extension("{name}._sp", ["{name}/sp.c"])])\n'
    )
    (root / name / "__init__.py").write_text("from ._sp import twice\n")
    (root / name / "sp.c").write_text(c_code)
    (root / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    out = dest / f"{name}-1.0.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(root, arcname=root.name)
    shutil.rmtree(root)
    return out


def test_a_project_with_no_wheel_is_built_from_its_sdist_and_a_failed_build_is_one_line(tmp_path: Path) -> None:
    kit_for("x86_64", "1.2.2", PY)  # builds go to the oldest kit at or below the target's musl
    build_wheels = (
        Path(os.environ.get("MUSLWHEEL_CACHE") or Path.home() / ".cache" / "muslwheel") / "world" / "build-wheels"
    )
    need(any(build_wheels.glob("setuptools-*.whl")), f"setuptools wheel for builds ({build_wheels})")
    links = tmp_path / "links"
    links.mkdir()
    make_sdist(links, "sdistpkg", SDIST_C)
    make_sdist(links, "brokenpkg", SDIST_C.replace("return PyModule_Create", "return PyModule_Create("))
    req = tmp_path / "r.txt"
    req.write_text("sdistpkg\nbrokenpkg\n")
    out, cache = tmp_path / "o", tmp_path / "c"
    args = [
        "-r", req, "--target", TARGET, "--python", PY, "-w", out, "--cache-dir", cache, "--no-index",
        "--find-links", links, "--find-links", build_wheels, "--no-pip-config", "--json",
    ]  # fmt: skip
    env = checkout_env()  # the build's own environment gets setuptools from the same wheels
    env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(build_wheels)})
    proc = run([*muslwheel_cmd(), "wheelhouse", *map(str, args)], env=env, timeout=1200)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    d = by_project(report)
    assert d["sdistpkg"]["decision"] == "built" and "musllinux" in d["sdistpkg"]["file"], d
    assert d["brokenpkg"]["decision"] == "build-failed", d
    assert [p for p in report["problems"] if "brokenpkg" in p and "build failed" in p] == report["problems"]
    assert report["proofs"][0]["result"] == "imports"
    assert [(w["name"], w["origin"]) for w in report["lock"]] == [("sdistpkg", "built")]
    req.write_text("sdistpkg\n")  # (a failed build is tried again on the next run: not cached)
    again = run([*muslwheel_cmd(), "wheelhouse", *map(str, args)], env=env, timeout=1200)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["work"] == {"downloaded": 0, "repaired": 0, "built": 0, "proved": 0}
