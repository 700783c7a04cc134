"""check --import's choices and reports, as real wheels showed them: which kits it picks by
default, a wheel whose Python has no kit, a system library the kit lacks (not a crash), a timeout
per module, and paths named as the wheel names them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import kit_for, muslwheel_cmd, run, run_ok, write_c
from test_check_import import build_extension, import_results, relr_wheel
from wheelmaker import make_wheel

from muslwheel.kits import Kit
from muslwheel.kits.build import DEBIAN_BINARY_MUSL, NEWEST_MUSL

PY = "3.11"


def kits_cache(tmp_path: Path, *kits: Kit) -> dict[str, str]:
    """An environment whose MUSLWHEEL_CACHE holds exactly *kits* (each a kit.json and a link to
    the built kit's root), so the default choice is made among known kits."""
    cache = tmp_path / "cache"
    for kit in kits:
        directory = cache / "kits" / kit.name
        directory.mkdir(parents=True)
        (directory / "kit.json").write_text((kit.root.parent / "kit.json").read_text())
        (directory / "root").symlink_to(kit.root)
    return dict(os.environ, MUSLWHEEL_CACHE=str(cache))


def fixture_wheel(kit: Kit, tmp_path: Path, tag: str, files: dict[str, bytes | str] | None = None) -> Path:
    """A wheel of one extension (``chk._ext``) built against *kit*, with *tag* and extra files."""
    build = tmp_path / f"build-{tag}"
    build.mkdir()
    python = tag.split("-")[0][2:]
    suffix = f".cpython-{python}-x86_64-linux-musl.so"
    ext = build_extension(kit, build, "_ext", suffix=suffix)
    out = tmp_path / f"out-{tag}"
    out.mkdir()
    members: dict[str, bytes | str] = {"chk/__init__.py": "", f"chk/{ext.name}": ext.read_bytes(), **(files or {})}
    return make_wheel(out, "chk", "1.0", tag, members)


@pytest.mark.world
@pytest.mark.parametrize("plat", ["musllinux_1_1_x86_64", "musllinux_1_2_x86_64"])
def test_default_kits_are_the_oldest_musl_the_tag_promises_and_the_newest(plat: str, tmp_path: Path) -> None:
    old, new = kit_for("x86_64", DEBIAN_BINARY_MUSL, PY), kit_for("x86_64", NEWEST_MUSL, PY)
    wheel = fixture_wheel(new, tmp_path, f"cp311-cp311-{plat}")
    # musllinux_1_1 promises every musl from 1.1: with no 1.1 kit, 1.2.3 is the oldest it promises
    # (pydantic_core's real musllinux_1_1 wheel was checked on the newest musl alone before)
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", wheel], env=kits_cache(tmp_path, old, new))
    assert proc.returncode == 0, proc.stderr
    assert [r["kit"] for r in json.loads(proc.stdout)] == [old.name, new.name]
    alone = run([*muslwheel_cmd(), "check", "--import", "--json", wheel], env=kits_cache(tmp_path / "new", new))
    assert [r["kit"] for r in json.loads(alone.stdout)] == [new.name]


@pytest.mark.world
def test_a_wheel_whose_python_has_no_kit_says_so_on_one_line(tmp_path: Path) -> None:
    old, new = kit_for("x86_64", DEBIAN_BINARY_MUSL, PY), kit_for("x86_64", NEWEST_MUSL, PY)
    env = kits_cache(tmp_path, old, new)
    cp312 = fixture_wheel(new, tmp_path, "cp312-cp312-musllinux_1_2_x86_64")
    cp311 = fixture_wheel(new, tmp_path, "cp311-cp311-musllinux_1_2_x86_64")
    before = cp312.read_bytes()
    proc = run([*muslwheel_cmd(), "check", "--import", cp311, cp312], env=env)
    assert proc.returncode == 2 and proc.stdout == ""  # nothing imported, nothing half-reported
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "no kit with CPython 3.12 for x86_64" in proc.stderr and "--python 3.12" in proc.stderr
    # an explicit kit of another Python is refused too, not imported and called a binary error
    proc = run([*muslwheel_cmd(), "check", "--import", "--kit", new.name, cp312], env=env)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert f"is for CPython 3.12; kit {new.name} has CPython 3.11" in proc.stderr
    assert cp312.read_bytes() == before


@pytest.mark.world
def test_a_system_library_the_kit_lacks_is_reported_as_such_not_as_a_crash(tmp_path: Path) -> None:
    kit = kit_for("x86_64", NEWEST_MUSL, PY)
    # an extension that needs libz.so.1 from the system, as pillow's aarch64 wheel does; the kits
    # have no libz (their CPython links zlib statically)
    stub = tmp_path / "stub"
    stub.mkdir()
    src = write_c(stub / "z.c", "int zlibCompileFlags(void) { return 0; }\n")
    zig = [sys.executable, "-m", "ziglang", "cc", "-target", kit.zig_target]
    run_ok([*zig, "-shared", "-fPIC", "-Wl,-soname,libz.so.1", "-o", stub / "libz.so", src])
    ext = build_extension(kit, tmp_path, "_z", f"-L{stub}", "-Wl,--no-as-needed", "-lz")
    good = build_extension(kit, tmp_path, "_good")
    wheel = make_wheel(
        tmp_path,
        "zpkg",
        "1.0",
        "cp311-cp311-musllinux_1_2_x86_64",
        {"zpkg/__init__.py": "", f"zpkg/{ext.name}": ext.read_bytes(), f"zpkg/{good.name}": good.read_bytes()},
    )
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the wheel is not at fault
    results = {m: r for (_, m), r in import_results(proc.stdout).items()}
    result, detail = results["zpkg._z"]
    assert result == "system-library" and detail.startswith("libz.so.1: "), detail
    assert "muslwheel-import-" not in detail and f"needed by zpkg/{ext.name}" in detail
    assert results["zpkg._good"][0] == "imported"
    assert json.loads(proc.stdout)[0]["not_proven"] == ["zpkg._z"]
    text = run([*muslwheel_cmd(), "check", "--import", "--kit", kit.name, wheel])
    assert text.returncode == 0
    assert "imports, but 1 module(s) not proven: the kit lacks libz.so.1" in text.stdout


@pytest.mark.world
def test_the_timeout_bounds_each_module_not_the_whole_wheel(tmp_path: Path) -> None:
    kit = kit_for("x86_64", NEWEST_MUSL, PY)
    slow = {f"slow{i}/__init__.py": "import time\ntime.sleep(1.0)\n" for i in range(4)}
    wheel = fixture_wheel(
        kit,
        tmp_path,
        "cp311-cp311-musllinux_1_2_x86_64",
        {**slow, "hang/__init__.py": "import time\ntime.sleep(600)\n"},
    )
    # four modules of 1 s each in one process: 4 s in all, above the timeout, each well below it
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--timeout", "3", "--kit", kit.name, wheel])
    assert proc.returncode == 1, proc.stderr  # a hang is a binary failure
    results = {m: r for (_, m), r in import_results(proc.stdout).items()}
    assert results["hang"] == ("timeout", "no answer in 3s")
    assert all(results[f"slow{i}"][0] == "imported" for i in range(4)), results
    assert results["chk._ext"][0] == "imported" and results["chk"][0] == "imported"
    bad = run([*muslwheel_cmd(), "check", "--import", "--timeout", "0", "--kit", kit.name, wheel])
    assert bad.returncode == 2 and "--timeout" in bad.stderr


@pytest.mark.world
def test_a_plain_library_in_a_package_is_not_imported_as_a_module(tmp_path: Path) -> None:
    # pyarrow ships pyarrow/libarrow_python.so beside its modules: a library, no PyInit_
    kit = kit_for("x86_64", NEWEST_MUSL, PY)
    lib = tmp_path / "libhelper.so"
    src = write_c(tmp_path / "helper.c", "int helper(void) { return 7; }\n")
    run_ok([sys.executable, "-m", "ziglang", "cc", "-target", kit.zig_target, "-shared", "-fPIC", "-o", lib, src])
    plain = build_extension(kit, tmp_path, "plain", suffix=".so")  # a suffix-less module: PyInit_plain
    wheel = fixture_wheel(
        kit,
        tmp_path,
        "cp311-cp311-musllinux_1_2_x86_64",
        {"chk/libhelper.so": lib.read_bytes(), "chk/plain.so": plain.read_bytes()},
    )
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = {m: r for (_, m), r in import_results(proc.stdout).items()}
    assert "chk.libhelper" not in results
    assert results["chk.plain"][0] == "imported" and results["chk._ext"][0] == "imported"


@pytest.mark.world
def test_an_extension_whose_package_wants_a_missing_dependency_is_still_proven(tmp_path: Path) -> None:
    # pydantic_core's __init__ imports typing_extensions, which check --import does not install:
    # its extension is then loaded from its file, so a crash in it still shows
    old, new = kit_for("x86_64", DEBIAN_BINARY_MUSL, PY), kit_for("x86_64", NEWEST_MUSL, PY)
    wheel = relr_wheel(new, tmp_path, "dep", "import not_installed_dependency\n")
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", wheel], env=kits_cache(tmp_path, old, new))
    assert proc.returncode == 1, proc.stderr
    results = import_results(proc.stdout)
    assert results[(old.name, "dep._ext")] == ("crashed", "SIGSEGV")
    result, detail = results[(new.name, "dep._ext")]
    assert result == "imported" and "not_installed_dependency" in detail and "loaded from its file" in detail
    assert results[(new.name, "dep")][0] == "python-error"


def test_a_pure_wheel_has_nothing_to_import_and_says_so(tmp_path: Path) -> None:
    # as `check` has it (exit 0, "nothing to load"): a wheelhouse loop is not stopped by six
    pure = make_wheel(tmp_path, "purepkg", "1.0", "py3-none-any", {"purepkg/__init__.py": ""}, root_is_purelib=True)
    proc = run([*muslwheel_cmd(), "check", "--import", pure])
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout
        == f"{pure.name}: pure wheel: no ELF members, nothing binary to import (it imports wherever Python does)\n"
    )
    (report,) = json.loads(run_ok([*muslwheel_cmd(), "check", "--import", "--json", pure]).stdout)
    assert (report["kit"], report["ok"], report["modules"]) == (None, True, [])


@pytest.mark.world
def test_a_glibc_module_is_a_binary_error_that_names_its_file(tmp_path: Path) -> None:
    kit = kit_for("x86_64", NEWEST_MUSL, PY)
    gnu = build_extension(kit, tmp_path, "_gnu", suffix=".cpython-311-x86_64-linux-gnu.so")
    wheel = fixture_wheel(kit, tmp_path, "cp311-cp311-musllinux_1_2_x86_64", {f"chk/{gnu.name}": gnu.read_bytes()})
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 1
    result, detail = {m: r for (_, m), r in import_results(proc.stdout).items()}["chk._gnu"]
    assert result == "binary-error" and f"does not import a module file named {gnu.name}" in detail


@pytest.mark.world
def test_check_names_the_object_that_needs_a_missing_library(tmp_path: Path) -> None:
    # pillow's x86_64 wheel on a root without libz.so.1: `check` printed
    # "PIL/_imaging…: libz.so.1" twice, once for _imaging and once for the libtiff it loads
    kit = kit_for("x86_64", NEWEST_MUSL, PY)
    zig = [sys.executable, "-m", "ziglang", "cc", "-target", kit.zig_target, "-shared", "-fPIC"]
    gone = tmp_path / "libgone.so"
    run_ok(
        [*zig, "-Wl,-soname,libgone.so.1", "-o", gone, write_c(tmp_path / "gone.c", "int gone(void) { return 1; }\n")]
    )
    dep = tmp_path / "libdep-0123abcd.so"
    dep_src = write_c(tmp_path / "dep.c", "int gone(void);\nint dep(void) { return gone(); }\n")
    run_ok([*zig, f"-Wl,-soname,{dep.name}", "-o", dep, dep_src, f"-L{tmp_path}", "-Wl,--no-as-needed", "-lgone"])
    ext = build_extension(
        kit, tmp_path, "_m", f"-L{tmp_path}", "-Wl,--no-as-needed", "-lgone", str(dep), "-Wl,-rpath,$ORIGIN/../m.libs"
    )
    wheel = make_wheel(
        tmp_path,
        "m",
        "1.0",
        "cp311-cp311-musllinux_1_2_x86_64",
        {f"m/{ext.name}": ext.read_bytes(), f"m.libs/{dep.name}": dep.read_bytes()},
    )
    proc = run([*muslwheel_cmd(), "check", "--json", "--root", kit.root, wheel])
    assert proc.returncode == 1, proc.stderr
    missing = [(p["file"], p["subject"]) for p in json.loads(proc.stdout)["problems"] if p["kind"] == "missing-library"]
    assert sorted(missing) == [(f"m.libs/{dep.name}", "libgone.so.1"), (f"m/{ext.name}", "libgone.so.1")]
