"""check --import and check --root on a kit whose library is an absolute link inside its root
(``usr/lib/libdep.so.1 -> /opt/vendor/libdep.so.1``) and needs another by an absolute RUNPATH
(``/opt/vendor``), as a vendor's package installs them: the kit's own loader must find the
root's files, which this host does not have at those paths."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import kit_for, muslwheel_cmd, run, write_c
from kitfixture import build_against, build_extension, import_results
from wheelmaker import make_wheel

from muslwheel.kits import find_kit
from muslwheel.kits.build import NEWEST_MUSL

#: libdep.so.1 needs libvnd.so.1, which only its RUNPATH (/opt/vendor) finds
VND_C = "int vnd(int i) { return i; }\n"
DEP_C = (
    "int vnd(int);\n"
    'const char *vendor_word(int i) { static const char *w[] = {"zero", "one", "two"}; return w[vnd(i)]; }\n'
)


def test_a_kits_library_linked_inside_its_root_is_the_roots(tmp_path: Path) -> None:
    world = kit_for("x86_64", NEWEST_MUSL, "3.11")
    assert not Path("/opt/vendor").exists()
    copy = tmp_path / "kit"  # the world's kit, hard-linked: nothing of it is changed
    subprocess.run(["cp", "-al", str(world.directory), str(copy)], check=True)
    shutil.rmtree(copy / "run", ignore_errors=True)
    kit = find_kit(copy / "root")
    build = tmp_path / "build"
    build.mkdir()
    vnd = build_against(
        kit, build / "libvnd.so.1", write_c(build / "vnd.c", VND_C), "-shared", "-fPIC", "-Wl,-soname,libvnd.so.1"
    )
    dep = build_against(
        kit,
        build / "libdep.so.1",
        write_c(build / "dep.c", DEP_C),
        "-shared",
        "-fPIC",
        str(vnd),
        "-Wl,-rpath,/opt/vendor",
        "-Wl,-soname,libdep.so.1",
    )
    (kit.root / "opt/vendor").mkdir(parents=True)
    real = kit.root / "opt/vendor/libdep.so.1"
    shutil.copyfile(dep, real)
    shutil.copyfile(vnd, kit.root / "opt/vendor/libvnd.so.1")
    (kit.root / "usr/lib/libdep.so.1").symlink_to("/opt/vendor/libdep.so.1")
    ext = build_extension(kit, build, "depmod", "-DVENDOR", str(dep))
    wheel = make_wheel(tmp_path, "depmod", "1.0", "cp311-cp311-musllinux_1_2_x86_64", {ext.name: ext.read_bytes()})
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.root, wheel])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert import_results(proc.stdout)[(kit.name, "depmod")][0] == "imported"
    checked = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", kit.root, wheel]).stdout)
    assert checked["loads"] and checked["method"] == "loader", checked
    # without the root's file, both fail: the passes above were the root's own library
    real.unlink()
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.root, wheel])
    assert proc.returncode == 1
    assert import_results(proc.stdout)[(kit.name, "depmod")][0] == "loader-error"
    checked = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", kit.root, wheel]).stdout)
    assert ("missing-library", "libdep.so.1") in [(p["kind"], p["subject"]) for p in checked["problems"]]
