"""Target libraries (muslwheel.libs): each build system proven for real on two arches with the
smallest set (zlib: a hand-written configure; libpng -> zlib: autotools with a dependency;
expat: CMake; OpenSSL's Configure is bench's), each library's own proof run under the target; the
refusals that come before anything is built; and ``build --with``: a C extension linking the
target's expat, repaired with libexpat grafted, imported and run in a musl CPython; and the zig
wrappers' guard failing a build that names the host's headers.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import CACHE, WORLD, checkout_env, kit_for, muslwheel_cmd, need, run

from muslwheel.kits import Kit

#: the two arches every build system is proven on (x86_64 natively, aarch64 under qemu-user)
ARCHES = ("x86_64", "aarch64")
MUSL = "1.2.3"


def _musl_kit(arch: str) -> Kit:
    return kit_for(arch, MUSL)  # the loader kit the libraries compile against and their proofs run with


# --- refusals (no world needed) --------------------------------------------------------------------


def test_an_unknown_library_is_refused_in_one_line_before_anything(tmp_path: Path) -> None:
    env = dict(checkout_env(), MUSLWHEEL_CACHE=str(tmp_path / "cache"))
    proc = run([*muslwheel_cmd(), "lib", "build", "zlib,nosuchlib", "--arch", "aarch64"], env=env)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "no recipe for the library 'nosuchlib'" in proc.stderr
    assert not (tmp_path / "cache").exists()  # nothing built, nothing downloaded


def test_lib_build_offline_refuses_a_missing_source_before_making_a_kit(tmp_path: Path) -> None:
    """``lib build libpng --offline`` with empty caches: one line naming the first source the
    download cache lacks (zlib's, libpng's dependency), exit 2, and no kit made for it."""
    env = dict(checkout_env(), MUSLWHEEL_CACHE=str(tmp_path / "cache"), MUSLWHEEL_DOWNLOADS=str(tmp_path / "dl"))
    cmd = [*muslwheel_cmd(), "lib", "build", "libpng", "--arch", "aarch64", "--musl", "1.2.3", "--offline"]
    proc = run(cmd, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "zlib: --offline, and the download cache has no Debian source zlib 1.3" in line
    assert not (tmp_path / "cache" / "kits").exists() and not (tmp_path / "dl").exists()


def test_an_arch_a_recipe_refuses_and_a_source_debian_lacks_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from muslwheel.libs import LibError, recipes
    from muslwheel.libs.store import check_buildable, source

    monkeypatch.setenv("MUSLWHEEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MUSLWHEEL_DOWNLOADS", str(tmp_path / "downloads"))
    zlib_recipe = recipes.RECIPES["zlib"]
    monkeypatch.setitem(recipes.RECIPES, "zlib", replace(zlib_recipe, refuses=(("s390x", "not yet"),)))
    with pytest.raises(LibError, match=r"^zlib is not built for s390x: not yet$"):
        check_buildable(["libpng"], "s390x")  # refused through the dependency, before any kit or source
    assert not (tmp_path / "cache").exists()
    with pytest.raises(LibError, match=r"--offline, and the download cache has no Debian source zlib 1\.3"):
        source(zlib_recipe, offline=True)
    missing = replace(zlib_recipe, name="nolib", debian_source="muslwheel-no-such-source")
    need(Path("/usr/bin/apt-get").exists(), "apt-get (Debian's archive)")
    with pytest.raises(LibError, match=r"^nolib: Debian has no source package muslwheel-no-such-source"):
        source(missing)


def test_the_facts_file_follows_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """A prefix is current only for its recipe's hash; a dependency's change changes it too."""
    from dataclasses import replace

    from muslwheel.libs import recipes
    from muslwheel.libs.store import recipe_hash

    png = recipes.RECIPES["libpng"]
    before = recipe_hash(png, "aarch64")
    monkeypatch.setitem(recipes.RECIPES, "zlib", replace(recipes.RECIPES["zlib"], options=("--const",)))
    assert recipe_hash(png, "aarch64") != before
    # an option for one arch changes that arch's prefixes only
    monkeypatch.setitem(recipes.RECIPES, "libpng", replace(png, arch_options=(("s390x", ("--x",)),)))
    assert recipe_hash(recipes.RECIPES["libpng"], "aarch64") == recipe_hash(png, "aarch64")
    assert recipe_hash(recipes.RECIPES["libpng"], "s390x") != recipe_hash(png, "s390x")


# --- the build systems, for real -------------------------------------------------------------------


def _check_prefix(
    prefix_path: Path, name: str, arch: str, sonames: list[str], depends: list[str], *, static: bool = True
) -> dict[str, object]:
    from muslwheel.elf import read_elf

    facts = json.loads((prefix_path / "muslwheel-lib.json").read_text())
    assert set(facts) == {
        "schema",
        "name",
        "version",
        "debian_source",
        "debian_version",
        "arch",
        "musl",
        "recipe",
        "depends",
        "libraries",
    }
    assert (facts["schema"], facts["name"], facts["arch"], facts["musl"]) == (1, name, arch, MUSL)
    assert facts["depends"] == depends and facts["version"] in facts["debian_version"]
    assert [Path(p).name.split(".so")[0] for p in facts["libraries"]] == sonames
    for lib in facts["libraries"]:
        elf = read_elf((prefix_path / lib).resolve())
        assert elf.soname == Path(lib).name
        from muslwheel.arch import ARCHES as TABLE

        assert elf.machine == TABLE[arch].machine
    for pc in (prefix_path / "lib" / "pkgconfig").glob("*.pc"):
        text = pc.read_text()
        assert f"prefix={prefix_path}" in text and "/stage/" not in text, pc
    assert any((prefix_path / "lib").glob("*.a")) == static  # static libraries too, where the recipe builds them
    return facts  # type: ignore[no-any-return]


@pytest.mark.parametrize("arch", ARCHES)
def test_zlib_and_libpng_autotools_with_a_dependency(arch: str) -> None:
    """zlib's configure (both arches) and libpng's autotools (which finds zlib through the
    target's .pc files only; x86_64 here, every arch in bench/bench_libs.py), each proven by its
    own round trip under the target; a second call rebuilds nothing."""
    from muslwheel import libs

    kit = _musl_kit(arch)
    if arch != "x86_64":
        _check_prefix(libs.build_library("zlib", kit).path, "zlib", arch, ["libz"], [])
        return
    zlib_prefix, png = libs.build_many(["libpng"], kit)
    _check_prefix(zlib_prefix.path, "zlib", arch, ["libz"], [])
    _check_prefix(png.path, "libpng", arch, ["libpng16"], ["zlib"])
    stamp = (png.path / "muslwheel-lib.json").stat().st_mtime_ns
    assert libs.build_library("libpng", kit).path == png.path
    assert (png.path / "muslwheel-lib.json").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("arch", ARCHES)
def test_expat_cmake(arch: str) -> None:
    from muslwheel import libs

    prefix = libs.build_library("expat", _musl_kit(arch))
    _check_prefix(prefix.path, "expat", arch, ["libexpat"], [], static=False)


# OpenSSL's Configure (libssl and libcrypto, proven by sha256("abc") under the target) is built
# and proven by bench/bench_libs.py on every arch, not here: its ~700 C files cost minutes per
# arch on two cores, more than the cold suite's budget (bench/results/libs.txt has its times).


# --- build --with ----------------------------------------------------------------------------------

XFIX_C = r"""#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <expat.h>

static void XMLCALL start(void *count, const XML_Char *name, const XML_Char **attrs) { ++*(long *)count; }

static PyObject *elements(PyObject *self, PyObject *args) {
    const char *doc;
    Py_ssize_t n;
    long count = 0;
    if (!PyArg_ParseTuple(args, "s#", &doc, &n)) return NULL;
    XML_Parser p = XML_ParserCreate(NULL);
    XML_SetUserData(p, &count);
    XML_SetStartElementHandler(p, start);
    int ok = XML_Parse(p, doc, (int)n, 1) == XML_STATUS_OK;
    XML_ParserFree(p);
    if (!ok) return PyErr_Format(PyExc_ValueError, "not XML");
    return PyLong_FromLong(count);
}

static PyObject *version(PyObject *self, PyObject *unused) { return PyUnicode_FromString(XML_ExpatVersion()); }

static PyMethodDef methods[] = {{"elements", elements, METH_VARARGS, NULL}, {"version", version, METH_NOARGS, NULL}, {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "xfix._x", NULL, -1, methods};
PyMODINIT_FUNC PyInit__x(void) { return PyModule_Create(&module); }
"""


def write_xfix(root: Path, *, pyproject_with: bool) -> Path:
    """A setuptools C extension that links expat (``-lexpat``), stating it in pyproject.toml or not."""
    project = root / "xfix"
    (project / "xfix").mkdir(parents=True)
    tool = '\n[tool.muslwheel]\nwith = ["expat"]\n' if pyproject_with else ""
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=70.1"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "xfix"\nversion = "1.0"\n' + tool
    )
    (project / "setup.py").write_text(
        "from setuptools import Extension, setup\n"
        'setup(packages=["xfix"], ext_modules=[Extension("xfix._x", ["xfix/x.c"], libraries=["expat"])])\n'
    )
    (project / "xfix" / "__init__.py").write_text("from ._x import elements, version\n")
    (project / "xfix" / "x.c").write_text(XFIX_C)
    return project


def _world_build_env() -> dict[str, str]:
    wheels = WORLD / "build-wheels"
    need(any(wheels.glob("setuptools-*.whl")), f"setuptools wheel for builds ({wheels})")
    env = checkout_env()
    env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env


def _kit_cpython(arch: str) -> tuple[str, str]:
    """A kit with CPython 3.11 for *arch* (name, musl): musl 1.2.3's (the libraries' tests'), else
    any built one."""
    from muslwheel.kits import kit_name, select_kits

    if (CACHE / "kits" / kit_name(arch, MUSL, "3.11") / "kit.json").is_file():
        return kit_name(arch, MUSL, "3.11"), MUSL
    found = select_kits(arch=arch, python="3.11", with_python=True)
    need(found, f"a kit with CPython 3.11 for {arch}")
    return found[0].name, found[0].musl


def test_build_with_grafts_the_targets_expat_and_imports_it(tmp_path: Path) -> None:
    """``[tool.muslwheel] with = ["expat"]``: aarch64's expat is built (or reused), found by the
    compiler and linker, grafted by repair, and the extension parses with it in the kit's
    CPython under qemu-user (the version it reports is the prefix's)."""
    from muslwheel import libs
    from muslwheel.audit import audit_wheel

    env = _world_build_env()
    kit, musl = _kit_cpython("aarch64")
    version = str(libs.build_library("expat", kit_for("aarch64", musl)).facts["version"])
    project = write_xfix(tmp_path, pyproject_with=True)
    test = f"import xfix; assert xfix.elements('<a><b/><c/></a>') == 3; assert xfix.version() == 'expat_{version}'"
    proc = run(
        [*muslwheel_cmd(), "build", "--json", project, "-w", tmp_path / "out", "--kit", kit, "--test", test],
        env=env,
        timeout=1200,
    )
    summary = json.loads(proc.stdout)
    assert proc.returncode == 0, (proc.stderr, json.dumps(summary, indent=1))
    (result,) = summary["targets"]
    assert [Path(g).name.split("-")[0] for g in result["grafted"]] == ["libexpat"]
    assert "xfix._x" in result["imported"]
    verdict = audit_wheel(Path(result["wheel"]))
    assert verdict.honest and verdict.arch == "aarch64" and not verdict.external_libs


def test_a_host_include_flag_fails_the_target_in_one_line(tmp_path: Path) -> None:
    """``CFLAGS=-I/usr/include``: the zig wrappers refuse it, and the target's error names the
    flag and who added it, not a compile error from the host's glibc headers."""
    env = _world_build_env()
    kit, _ = _kit_cpython("x86_64")
    project = write_xfix(tmp_path, pyproject_with=False)
    env["CFLAGS"] = "-O1 -I/usr/include"
    proc = run(
        [*muslwheel_cmd(), "build", "--json", project, "-w", tmp_path / "out", "--kit", kit, "--with", "expat"],
        env=env,
        timeout=1200,
    )
    assert proc.returncode == 1, proc.stderr
    (result,) = json.loads(proc.stdout)["targets"]
    assert result["stage"] == "build"
    assert result["error"].startswith("host path in the target's build: -I/usr/include (added by $CFLAGS)")


def test_build_with_an_unknown_library_is_refused_before_anything(tmp_path: Path) -> None:
    env = _world_build_env()
    kit, _ = _kit_cpython("x86_64")
    project = write_xfix(tmp_path, pyproject_with=False)
    proc = run(
        [*muslwheel_cmd(), "build", project, "-w", tmp_path / "out", "--kit", kit, "--with", "expat,libnope"], env=env
    )
    assert proc.returncode == 2 and "no recipe for the library 'libnope'" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_the_guard_in_the_wrappers_names_the_flag(tmp_path: Path) -> None:
    """The one place the host-path policy lives: ``cc`` refuses ``-I``/``-L`` into the host's
    system directories (also as two arguments) and lets the target's own pass."""
    from muslwheel.zig import GUARD_MARK, write_wrappers

    need(os.environ.get("MUSLWHEEL_FAST") != "1", "zig")
    tools = write_wrappers(tmp_path / "bin", "x86_64-linux-musl", libc_file=None, guard=True)
    source = tmp_path / "t.c"
    source.write_text("int f(void) { return 1; }\n")
    for flags in (["-I/usr/include/libxml2"], ["-L", "/usr/lib/x86_64-linux-gnu"], ["-isystem/usr/local/include"]):
        proc = subprocess.run(
            [str(tools.cc), *flags, "-c", str(source), "-o", str(tmp_path / "t.o")], capture_output=True, text=True
        )
        assert proc.returncode == 1 and GUARD_MARK in proc.stderr and " ".join(flags) in proc.stderr, proc.stderr
    ok = subprocess.run(
        [str(tools.cc), f"-I{tmp_path}/usr/include", "-c", str(source), "-o", str(tmp_path / "t.o")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr


def test_build_offline_names_the_source_the_download_cache_lacks(tmp_path: Path) -> None:
    """``build --offline --with expat`` with an empty download cache: one line naming expat's
    Debian source, exit 2, before any target starts (no wheel directory, nothing downloaded)."""
    env = _world_build_env()
    kit, _ = _kit_cpython("x86_64")
    project = write_xfix(tmp_path, pyproject_with=False)
    env["MUSLWHEEL_DOWNLOADS"] = str(tmp_path / "downloads")
    cmd = [*muslwheel_cmd(), "build", project, "-w", tmp_path / "out", "--kit", kit, "--with", "expat", "--offline"]
    proc = run(cmd, env=env)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "expat: --offline, and the download cache has no Debian source expat 2" in line
    assert not (tmp_path / "out").exists() and not any((tmp_path / "downloads").rglob("*.tar.*"))
