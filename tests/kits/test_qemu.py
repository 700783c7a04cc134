"""The program that runs an arch's binaries here (:mod:`muslwheel.qemu`): ``PATH``'s qemu-user,
unless it is older than the arch's minimum. rustc's loongarch64 musl target enables LSX by
default (rust-lang/rust#132140), which qemu-user translates only since 8.1; Debian bookworm's
qemu-loongarch64 is 7.2, under which orjson's loongarch64 wheel died importing with SIGILL
(bench_rust.py's first run, 2026-12-06). An extension the suite builds with one LSX instruction in
its module init: PATH's 7.2 crashes on it, and ``check --import`` (kits, the sandbox) imports it
with Debian's newer qemu-user, fetched once into the cache. The other arches keep PATH's."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import REPO, kit_for, muslwheel_cmd, need, run, write_c
from kitfixture import build_against
from wheelmaker import make_wheel

from muslwheel.arch import ARCHES
from muslwheel.kits.build import NEWEST_MUSL
from muslwheel.qemu import qemu_version, runner

#: a module whose init adds two vectors with LSX (vld, vadd.w, vst), as rustc's default code does
LSX_EXTENSION = r"""
#include <Python.h>
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "_lsx", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__lsx(void) {
    int a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40}, c[4];
    __asm__ volatile("vld $vr0, %1, 0\n\tvld $vr1, %2, 0\n\tvadd.w $vr2, $vr0, $vr1\n\tvst $vr2, %0, 0"
                     : : "r"(c), "r"(a), "r"(b) : "memory", "$vr0", "$vr1", "$vr2");
    PyObject *m = PyModule_Create(&def);
    if (m) PyModule_AddIntConstant(m, "total", c[0] + c[1] + c[2] + c[3]);
    return m;
}
"""


def test_lsx_code_imports_under_a_qemu_new_enough_for_it(tmp_path: Path) -> None:
    kit = kit_for("loongarch64", NEWEST_MUSL, "3.11")
    ext = build_against(
        kit,
        tmp_path / f"_lsx{kit.ext_suffix}",
        write_c(tmp_path / "_lsx.c", LSX_EXTENSION),
        "-shared",
        "-fPIC",
        "-mlsx",
        f"-I{kit.include_dir}",
    )
    on_path = shutil.which("qemu-loongarch64")
    need(on_path, "qemu-loongarch64 (Debian qemu-user)")
    old = (qemu_version(on_path) or (0,))[:2] < (8, 1)
    if old:  # the premise: PATH's qemu dies on the instruction (what check --import did before)
        argv = [on_path, *kit.loader_command()[1:], kit.interpreter, "-c", "import _lsx"]
        crashed = run(argv, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
        assert crashed.returncode == -4, (crashed.returncode, crashed.stderr)  # SIGILL

    wheel = make_wheel(tmp_path, "lsx", "1.0", "cp311-cp311-musllinux_1_2_loongarch64", {ext.name: ext.read_bytes()})
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (report,) = json.loads(proc.stdout)
    assert [(m["module"], m["result"]) for m in report["modules"]] == [("_lsx", "imported")], report
    assert report["sandbox"] is True  # the cached qemu is visible inside the room
    chosen = runner(ARCHES["loongarch64"])
    assert chosen is not None
    assert (chosen.version or (0,))[:2] >= (8, 1)
    if old:
        assert chosen.command != (on_path,)
        assert chosen.how is not None and "predates LSX (8.1): using Debian's qemu-user" in chosen.how
        assert proc.stderr.count("predates LSX (8.1)") == 1, proc.stderr  # said once, on one line
    else:
        assert chosen.command == (on_path,) and chosen.how is None


def test_other_arches_keep_paths_qemu() -> None:
    """No minimum: PATH's qemu-ARCH as it is (none: nothing runs the arch here), never asked its
    version, nothing downloaded; this host's own arches run natively."""
    for arch in ARCHES.values():
        if arch.qemu_minimum is not None:
            continue
        found = runner(arch)
        if arch.name in ("x86_64", "i686") and os.uname().machine == "x86_64":
            assert found is not None and found.command == ()
            continue
        on_path = shutil.which(arch.qemu)
        if on_path is None:
            assert found is None
        else:
            # the row's qemu_args follow the program (armv6l: -cpu arm1176)
            assert found is not None and found.command == (on_path, *arch.qemu_args)
            assert found.how is None and found.version is None


def test_without_debians_qemu_the_old_one_is_kept_and_said(tmp_path: Path) -> None:
    """No apt here (and empty caches): the PATH's qemu-loongarch64 stays, and one line says what
    will crash under it; a host with no qemu-loongarch64 at all has no runner for it."""
    on_path = shutil.which("qemu-loongarch64")
    need(on_path, "qemu-loongarch64 (Debian qemu-user)")
    version = (qemu_version(on_path) or (0,))[:2]
    if version >= (8, 1):
        pytest.skip("PATH's qemu-loongarch64 is new enough: nothing to replace")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "qemu-loongarch64").symlink_to(on_path)
    probe = (
        "from muslwheel.qemu import runner; from muslwheel.arch import ARCHES; "
        "r = runner(ARCHES['loongarch64']); print(r.command if r else None)"
    )
    env = {
        "PATH": str(bin_dir),  # no apt-get
        "MUSLWHEEL_CACHE": str(tmp_path / "cache"),
        "MUSLWHEEL_DOWNLOADS": str(tmp_path / "downloads"),
        "PYTHONPATH": str(REPO / "src"),
    }
    proc = run([sys.executable, "-c", probe], env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == repr((str(bin_dir / "qemu-loongarch64"),))
    (line,) = proc.stderr.splitlines()
    dotted = ".".join(map(str, version))
    assert line.startswith(f"muslwheel: qemu-loongarch64 {dotted} on PATH predates LSX (8.1) and Debian's qemu-user")
    assert "apt-get not found" in line and line.endswith("will crash under it with SIGILL")
    (bin_dir / "qemu-loongarch64").unlink()
    proc = run([sys.executable, "-c", probe], env=env)
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "None", "")
