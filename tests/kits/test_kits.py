"""Kits: real musl releases (Debian's 1.2.3, the newest built from source with zig, bullseye's
1.2.2 for x86_64 and aarch64) for every arch, run through the kit's own loader natively or under
qemu-user."""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ALL_ARCHES, CACHE, kit_for, muslwheel_cmd, need, run, run_ok, write_c
from kitfixture import build_against
from wheelmaker import make_wheel

from muslwheel.arch import DEBIAN_MUSL_ARCHES
from muslwheel.cache import downloads_dir
from muslwheel.elf import read_elf
from muslwheel.kits.build import DEBIAN_BINARY_MUSL, NEWEST_MUSL
from muslwheel.kits.musl import OLDEST_MUSL
from muslwheel.kits.store import RECIPE
from muslwheel.versions import MuslVersion

#: the 1.2.2 kits scripts/build-world builds (with CPython 3.11): the oldest 1.2 musl Debian serves
OLDEST_KIT_ARCHES = ("x86_64", "aarch64")
LOADER_KITS = (
    [(a.name, DEBIAN_BINARY_MUSL) for a in DEBIAN_MUSL_ARCHES]
    + [(a, NEWEST_MUSL) for a in ALL_ARCHES]
    + [(a, OLDEST_MUSL) for a in OLDEST_KIT_ARCHES]
)

PROBE = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
extern char **environ;
int main(int argc, char **argv) {
    int n = 0;
    for (char **e = environ; *e; e++) n++;
    printf("%s %g %d\n", getenv("KIT_PROBE"), fmod(atof(argv[1]), 2.0), n);
    return 0;
}
"""


@pytest.mark.parametrize(("arch", "musl"), LOADER_KITS, ids=[f"{a}-{m}" for a, m in LOADER_KITS])
def test_a_program_runs_on_the_kits_own_musl(arch: str, musl: MuslVersion, tmp_path: Path) -> None:
    kit = kit_for(arch, musl)
    exe = build_against(kit, tmp_path / "probe", write_c(tmp_path / "probe.c", PROBE), "-dynamic", "-lm")
    env = {"KIT_PROBE": "kit-ok", "A": "1", "B": "2"}
    proc = run_ok([*kit.loader_command(), exe, "7.5"], env=env)
    # environ intact (zig's stand-in libc.so would have clobbered it), libm's fmod exported
    assert proc.stdout.split() == ["kit-ok", "1.5", "3"]
    version = run([*kit.loader_command(), "--version"])
    assert f"Version {musl}" in version.stderr + version.stdout
    detected = json.loads(run_ok([*muslwheel_cmd(), "detect", "--root", kit.root, "--json"]).stdout)
    assert (detected["musl_version"], detected["arch"]) == (str(musl), arch)


@pytest.mark.parametrize("arch", ALL_ARCHES)
def test_zig_built_musl_exports_its_own_functions_and_not_compiler_rt(arch: str) -> None:
    exported = read_elf(kit_for(arch, NEWEST_MUSL).loader).defined_names
    # zig's compiler_rt, linked in the usual way, would hide these (hidden weak duplicates)
    assert {"memcpy", "memset", "memmove", "fmod", "exp", "environ", "optind"} <= exported
    # ... and its own helpers must not become musl's exports
    assert not {"__muldc3", "__mulsc3", "__divdc3", "__powisf2"} & exported


def test_kit_list_of_an_empty_cache_is_an_empty_list(tmp_path: Path) -> None:
    env = dict(os.environ, MUSLWHEEL_CACHE=str(tmp_path))
    proc = run_ok([*muslwheel_cmd(), "kit", "list", "--json"], env=env)
    assert json.loads(proc.stdout) == []


def test_kit_list_json_names_every_built_kit() -> None:
    kits = json.loads(run_ok([*muslwheel_cmd(), "kit", "list", "--json"]).stdout)
    metas = {p.parent.name: json.loads(p.read_text()) for p in (CACHE / "kits").glob("*/kit.json")}
    # a CPython kit of an older recipe (a cache that outlived a recipe change) is rebuilt when
    # asked for, never listed as if it were current
    built = {
        n for n, m in metas.items() if not n.endswith(".tmp") and (not m.get("python") or m.get("recipe") == RECIPE)
    }
    assert {k["name"] for k in kits} == built
    for k in kits:
        assert {"name", "arch", "musl", "python", "root"} <= set(k)
        assert Path(k["root"], "lib").is_dir()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--arch", "mips", "--musl", "1.2.6"], "unknown architecture 'mips'"),
        (["--arch", "aarch64", "--musl", "latest"], "give a musl release"),
        (["--arch", "aarch64", "--musl", "1.2.6", "--musl-source", "/nonexistent.tar.gz"], "no such source"),
        (["--arch", "aarch64", "--musl", "1.2.6", "--python", "2.7"], "kits have CPython"),
        # musl's loongarch64 port arrived in 1.2.5, riscv64's in 1.1.23, s390x's in 1.1.16 (musl's WHATSNEW;
        # the floor the audit uses, data/musl_symbols.json): refused before any download
        (["--arch", "loongarch64", "--musl", "1.2.2"], "musl 1.2.2 has no loongarch64 port (it arrived in musl 1.2.5)"),
        (["--arch", "riscv64", "--musl", "1.1.22"], "musl 1.1.22 has no riscv64 port (it arrived in musl 1.1.23)"),
        (["--arch", "s390x", "--musl", "1.1.15"], "musl 1.1.15 has no s390x port (it arrived in musl 1.1.16)"),
        (["--arch", "s390x", "--musl", "1.2.2"], "musl 1.2.2 built with zig for s390x does not work"),
    ],
)
def test_kit_build_refuses_bad_requests_in_one_line(args: list[str], says: str, tmp_path: Path) -> None:
    env = dict(os.environ, MUSLWHEEL_CACHE=str(tmp_path))
    proc = run([*muslwheel_cmd(), "kit", "build", *args], env=env)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and says in proc.stderr
    assert not any(tmp_path.iterdir()) or not any((tmp_path / "kits").glob("*/kit.json"))


def test_an_unknown_kit_is_named_with_the_kits_there_are(tmp_path: Path) -> None:
    env = dict(os.environ, MUSLWHEEL_CACHE=str(tmp_path))
    code = "from muslwheel.kits import find_kit\ntry:\n find_kit('nope')\nexcept Exception as e:\n print(e)"
    out = run_ok([sys.executable, "-c", code], env=env).stdout
    assert "no kit 'nope'" in out and "none built" in out


def test_a_kit_of_another_release_than_the_musl_tarball_given_is_refused(tmp_path: Path) -> None:
    # musl 1.1.24 (musllinux_1_1) comes only from a tarball the user brings: one of another
    # release is refused by its VERSION file before anything is built
    tarball = downloads_dir() / "files" / f"musl_{OLDEST_MUSL}.orig.tar.gz"
    need(tarball.is_file(), f"musl {OLDEST_MUSL}'s tarball from Debian bullseye ({tarball})")
    env = dict(os.environ, MUSLWHEEL_CACHE=str(tmp_path))
    proc = run(
        [*muslwheel_cmd(), "kit", "build", "--arch", "x86_64", "--musl", "1.1.24", "--musl-source", tarball], env=env
    )
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"musl {OLDEST_MUSL}'s source, not musl 1.1.24" in proc.stderr
    assert not (tmp_path / "kits").exists() or not any((tmp_path / "kits").glob("*/kit.json"))


def test_a_kits_cpython_is_built_against_the_oldest_musl_of_its_series_the_arch_has(tmp_path: Path) -> None:
    # so one CPython tree per arch serves every kit from there up: 1.2.2 once its loader-only kit
    # is built, else Debian's 1.2.3 (where Debian ships musl), else the kit's own release
    from muslwheel.arch import Arch, get_arch
    from muslwheel.kits.musl import base_musl
    from muslwheel.kits.store import RECIPE

    def loader_kit(arch: str, musl: str) -> None:
        d = tmp_path / "kits" / f"{arch}-musl{musl}"
        d.mkdir(parents=True)
        meta = {"name": d.name, "arch": arch, "musl": musl, "python": None, "recipe": RECIPE}
        (d / "kit.json").write_text(json.dumps(meta))

    x86, riscv = get_arch("x86_64"), get_arch("riscv64")

    def base(arch: Arch, musl: str) -> str:
        return str(base_musl(arch, MuslVersion.parse(musl)))

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUSLWHEEL_CACHE", str(tmp_path))
        assert [base(x86, m) for m in ("1.2.2", "1.2.3", "1.2.6")] == ["1.2.2", "1.2.3", "1.2.3"]
        assert base(riscv, "1.2.6") == "1.2.6"
        loader_kit("x86_64", "1.2.2")
        loader_kit("riscv64", "1.2.2")
        loader_kit("x86_64", "1.1.24")  # another series: a 1.2 kit's CPython is not built against 1.1
        assert [base(x86, m) for m in ("1.2.2", "1.2.3", "1.2.6")] == ["1.2.2", "1.2.2", "1.2.2"]
        assert (base(riscv, "1.2.6"), base(x86, "1.1.24")) == ("1.2.2", "1.1.24")


QSORT_R = r"""
#define _GNU_SOURCE
#include <Python.h>
#include <stdlib.h>
static int cmp(const void *a, const void *b, void *dir) {
    return *(const int *)dir * (*(const int *)a - *(const int *)b);
}
static PyObject *order(PyObject *self, PyObject *arg) {
    int v[3] = {2, 3, 1}, dir = -1;
    qsort_r(v, 3, sizeof v[0], cmp, &dir);
    return Py_BuildValue("iii", v[0], v[1], v[2]);
}
static PyMethodDef methods[] = {{"order", order, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "_sort", NULL, -1, methods};
PyMODINIT_FUNC PyInit__sort(void) { return PyModule_Create(&def); }
"""


@pytest.mark.parametrize("arch", OLDEST_KIT_ARCHES)
def test_a_wheel_needing_qsort_r_fails_on_musl_1_2_2_and_imports_on_1_2_3(arch: str, tmp_path: Path) -> None:
    # qsort_r arrived in musl 1.2.3: musl 1.2.2's own loader refuses the module, as on Alpine 3.15
    old, new = kit_for(arch, OLDEST_MUSL, "3.11"), kit_for(arch, DEBIAN_BINARY_MUSL, "3.11")
    ext = build_against(
        new,
        tmp_path / f"_sort{new.ext_suffix}",
        write_c(tmp_path / "sort.c", QSORT_R),
        "-shared",
        "-fPIC",
        f"-I{new.include_dir}",
    )
    wheel = make_wheel(
        tmp_path, "srt", "1.0", f"cp311-cp311-musllinux_1_2_{arch}", {f"srt/{ext.name}": ext.read_bytes()}
    )
    code = "import srt._sort as s; assert s.order() == (3, 2, 1)"
    results = {}
    for kit in (old, new):
        proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
        (report,) = json.loads(proc.stdout)
        (module,) = [m for m in report["modules"] if m["module"] == "srt._sort"]
        results[kit.musl] = (proc.returncode, module["result"], module["detail"])
    code_old, result_old, detail_old = results[OLDEST_MUSL]
    assert (code_old, result_old) == (1, "loader-error") and "qsort_r" in detail_old, detail_old
    assert results[DEBIAN_BINARY_MUSL][:2] == (0, "imported"), results
    # the module works there, not merely loads
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    ran = run([*new.python_command(), "-c", code], env=dict(os.environ, PYTHONPATH=str(site)))
    assert ran.returncode == 0, ran.stderr
    # the audit knows it too: qsort_r raises the wheel's musl floor to 1.2.3
    shown = json.loads(run([*muslwheel_cmd(), "show", "--json", wheel]).stdout)
    assert shown["musl_min_version"] == "1.2.3", shown
