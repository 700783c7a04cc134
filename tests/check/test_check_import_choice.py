"""check --import's choices and reports, as real wheels showed them: which kits it picks by
default, a wheel whose Python has no kit, a system library the kit lacks (not a crash), a timeout
per module, and paths named as the wheel names them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import CACHE, kit_for, muslwheel_cmd, need, run, run_ok, write_c
from kitfixture import build_extension, import_results, relr_wheel
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


def test_a_wheel_whose_python_has_no_kit_says_so_on_one_line(tmp_path: Path) -> None:
    old, new = kit_for("x86_64", DEBIAN_BINARY_MUSL, PY), kit_for("x86_64", NEWEST_MUSL, PY)
    env = kits_cache(tmp_path, old, new)
    cp312 = fixture_wheel(new, tmp_path, "cp312-cp312-musllinux_1_2_x86_64")
    cp311 = fixture_wheel(new, tmp_path, "cp311-cp311-musllinux_1_2_x86_64")
    before = cp312.read_bytes()
    proc = run([*muslwheel_cmd(), "check", "--import", "--no-kit-build", cp311, cp312], env=env)
    assert proc.returncode == 2 and proc.stdout == ""  # nothing imported, nothing half-reported
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "no kit with CPython 3.12 for x86_64" in proc.stderr and "--python 3.12" in proc.stderr
    # a kit is made on demand only for a CPython kits can have: 3.12 is none, so nothing is built
    proc = run([*muslwheel_cmd(), "check", "--import", cp311, cp312], env=env)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert "no kit with CPython 3.12 for x86_64, and kits cannot have it" in proc.stderr
    assert sorted(p.name for p in Path(env["MUSLWHEEL_CACHE"], "kits").iterdir()) == sorted([old.name, new.name])
    # an explicit kit of another Python is refused too, not imported and called a binary error
    proc = run([*muslwheel_cmd(), "check", "--import", "--kit", new.name, cp312], env=env)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert f"is for CPython 3.12; kit {new.name} has CPython 3.11" in proc.stderr
    assert cp312.read_bytes() == before


def test_a_system_library_the_kit_lacks_is_reported_as_such_not_as_a_crash(tmp_path: Path) -> None:
    # an extension that needs libz.so.1 from the system, as pillow's aarch64 wheel does; a bare
    # kit has no libz (its CPython links zlib statically; an Alpine-like kit has Alpine's libz.so.1)
    kit = kit_for("aarch64", NEWEST_MUSL, PY, bare=True)
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
        "cp311-cp311-musllinux_1_2_aarch64",
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


def test_a_glibc_module_is_a_binary_error_that_names_its_file(tmp_path: Path) -> None:
    kit = kit_for("x86_64", NEWEST_MUSL, PY)
    gnu = build_extension(kit, tmp_path, "_gnu", suffix=".cpython-311-x86_64-linux-gnu.so")
    wheel = fixture_wheel(kit, tmp_path, "cp311-cp311-musllinux_1_2_x86_64", {f"chk/{gnu.name}": gnu.read_bytes()})
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 1
    result, detail = {m: r for (_, m), r in import_results(proc.stdout).items()}["chk._gnu"]
    assert result == "binary-error" and f"does not import a module file named {gnu.name}" in detail


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


# --- the choice itself, on kit.json records (no kit needs to be built) ---------------------------


def kit_records(base: Path, *specs: str) -> Path:
    """A kits directory holding a ``kit.json`` (current recipe) for each ``ARCH:MUSL[:PYTHON]``."""
    from muslwheel.kits import kit_name
    from muslwheel.kits.store import RECIPE

    for spec in specs:
        arch, musl, *python = spec.split(":")
        name = kit_name(arch, musl, python[0] if python else None)
        (base / name).mkdir(parents=True)
        meta = {"name": name, "arch": arch, "musl": musl, "python": python[0] if python else None, "recipe": RECIPE}
        (base / name / "kit.json").write_text(json.dumps(meta))
    return base


CHOICE_KITS = (
    "x86_64:1.2.2:3.11",
    "x86_64:1.2.3:3.11",
    "x86_64:1.2.6:3.11",
    "x86_64:1.2.3:3.13",
    "x86_64:1.2.6:3.13",
    "x86_64:1.2.3:3.13t",
    "x86_64:1.2.6:3.13t",
    "x86_64:1.2.6:3.15",
    "x86_64:1.2.6:3.15t",
    "x86_64:1.1.24:3.11",
    "aarch64:1.2.6:3.13t",
)


@pytest.mark.parametrize(
    ("tag", "chosen"),
    [
        # a free-threaded wheel goes to the free-threaded kits only, a GIL wheel to the GIL kits
        ("cp313-cp313t-musllinux_1_2_x86_64", ["1.2.3:3.13t", "1.2.6:3.13t"]),
        ("cp313-cp313-musllinux_1_2_x86_64", ["1.2.3:3.13", "1.2.6:3.13"]),
        # abi3: every GIL minor from its own; abi3t (PEP 803): every free-threaded one from its own
        ("cp313-abi3-musllinux_1_2_x86_64", ["1.2.3:3.13", "1.2.6:3.13", "1.2.6:3.15"]),
        ("cp315-abi3t-musllinux_1_2_x86_64", ["1.2.6:3.15t"]),
        ("cp315-abi3.abi3t-musllinux_1_2_x86_64", ["1.2.6:3.15", "1.2.6:3.15t"]),
        ("cp313-abi3t-musllinux_1_2_x86_64", ["1.2.3:3.13t", "1.2.6:3.13t", "1.2.6:3.15t"]),
        # the oldest kit the tag promises: musllinux_1_2 -> 1.2.2 (not Debian's 1.2.3), 1_1 -> 1.1.24
        ("cp311-cp311-musllinux_1_2_x86_64", ["1.2.2:3.11", "1.2.6:3.11"]),
        ("cp311-cp311-musllinux_1_1_x86_64", ["1.1.24:3.11", "1.2.6:3.11"]),
    ],
)
def test_the_kits_chosen_are_those_whose_cpython_installs_the_wheel(
    tag: str, chosen: list[str], tmp_path: Path
) -> None:
    from muslwheel.kits.choice import default_kits, kit_needs
    from muslwheel.wheelfile import parse_wheel_name

    base = kit_records(tmp_path, *CHOICE_KITS)
    name = parse_wheel_name(f"chk-1.0-{tag}.whl")
    kits = default_kits(kit_needs(name, "x86_64", None), name.filename, base)
    assert [f"{k.musl}:{k.python}" for k in kits] == chosen


@pytest.mark.parametrize(
    ("tag", "wanted"),
    [("cp313-cp313t-musllinux_1_2_x86_64", "3.13t"), ("cp315-abi3.abi3t-musllinux_1_2_x86_64", "3.15+, 3.15t+")],
)
def test_no_kit_for_a_free_threaded_wheel_names_the_build_it_wants(tag: str, wanted: str, tmp_path: Path) -> None:
    from muslwheel.errors import MuslwheelError
    from muslwheel.kits.choice import default_kits, kit_needs
    from muslwheel.wheelfile import parse_wheel_name

    # GIL kits of the same minors are there: they would not import it
    base = kit_records(tmp_path, "x86_64:1.2.6:3.13", "x86_64:1.2.6:3.14")
    name = parse_wheel_name(f"chk-1.0-{tag}.whl")
    with pytest.raises(MuslwheelError) as e:
        default_kits(kit_needs(name, "x86_64", None), name.filename, base)
    assert f"no kit with CPython {wanted} for x86_64" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("tag", "present", "made"),
    [
        # the oldest CPython the tags name that a kit can have; the cheapest musl the floor allows
        ("cp311-cp311-musllinux_1_2_x86_64", (), "x86_64-musl1.2.3-py3.11"),
        ("cp39-abi3-musllinux_1_2_aarch64", (), "aarch64-musl1.2.3-py3.11"),
        ("cp313-cp313t-musllinux_1_2_x86_64", (), "x86_64-musl1.2.3-py3.13t"),
        # no Debian musl for riscv64: the newest, from source
        ("cp311-cp311-musllinux_1_2_riscv64", (), "riscv64-musl1.2.6-py3.11"),
        # what the cache has is reused: a loader-only 1.2.2 kit, a CPython 3.13 tree for abi3
        ("cp311-cp311-musllinux_1_2_x86_64", ("x86_64:1.2.2", "x86_64:1.2.6"), "x86_64-musl1.2.2-py3.11"),
        ("cp311-abi3-musllinux_1_2_aarch64", ("cpython/aarch64-py3.13-musl1.2.3",), "aarch64-musl1.2.3-py3.13"),
        # a 1.1 kit is no loader-only kit of a 1.2 wheel's floor
        ("cp311-cp311-musllinux_1_2_x86_64", ("x86_64:1.1.24",), "x86_64-musl1.2.3-py3.11"),
    ],
)
def test_the_kit_made_on_demand(tag: str, present: tuple[str, ...], made: str, tmp_path: Path) -> None:
    from muslwheel.kits.choice import kit_needs
    from muslwheel.kits.ondemand import kit_for_wheel
    from muslwheel.kits.store import RECIPE
    from muslwheel.wheelfile import parse_wheel_name

    kits = tmp_path / "kits"
    kit_records(kits, *(p for p in present if ":" in p))
    for tree in (p for p in present if p.startswith("cpython/")):
        (kits / tree).mkdir(parents=True)
        (kits / tree / "kit.json").write_text(json.dumps({"recipe": RECIPE}))
    name = parse_wheel_name(f"chk-1.0-{tag}.whl")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUSLWHEEL_CACHE", str(tmp_path))
        assert kit_for_wheel(kit_needs(name, tag.split("_", 3)[-1], None), name.filename).name == made


def test_no_kit_is_made_for_a_python_kits_cannot_have(tmp_path: Path) -> None:
    from muslwheel.kits import KitError
    from muslwheel.kits.choice import kit_needs
    from muslwheel.kits.ondemand import kit_for_wheel
    from muslwheel.wheelfile import parse_wheel_name

    name = parse_wheel_name("chk-1.0-cp312-cp312-musllinux_1_2_x86_64.whl")
    with pytest.MonkeyPatch.context() as mp, pytest.raises(KitError) as e:
        mp.setenv("MUSLWHEEL_CACHE", str(tmp_path))
        kit_for_wheel(kit_needs(name, "x86_64", None), name.filename)
    assert "no kit with CPython 3.12 for x86_64, and kits cannot have it" in str(e.value)
    assert not (tmp_path / "kits").exists()


def linked_cache(tmp_path: Path, arch: str) -> tuple[dict[str, str], Path, str]:
    """(env, cache, kit): a cache with no CPython kit for *arch*, only what making one reuses (the
    arch's CPython 3.11 tree and the loader-only kit it was built against, linked from the
    suite's cache, and zig's cache and build's venvs), and the name of the kit then made."""
    from muslwheel.kits.store import cpython_tree_dir, kit_directory, kit_meta

    built = kit_for(arch, DEBIAN_BINARY_MUSL, PY)
    base = str(kit_meta(built, "built_against_musl"))
    cache = tmp_path / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUSLWHEEL_CACHE", str(cache))
        tree, loader = cpython_tree_dir(built.arch_info, PY, base), kit_directory(built.arch_info, base, None)
    tree.parent.mkdir(parents=True)
    tree.symlink_to(CACHE / "kits" / "cpython" / tree.name)
    loader.symlink_to(CACHE / "kits" / loader.name)
    if (CACHE / "build" / "envs").is_dir():  # build's cached backend venvs (60 s saved under load)
        (cache / "build").mkdir()
        (cache / "build" / "envs").symlink_to(CACHE / "build" / "envs")
    env = dict(os.environ, MUSLWHEEL_CACHE=str(cache), ZIG_GLOBAL_CACHE_DIR=str(CACHE / "zig"))
    return env, cache, f"{arch}-musl{base}-py{PY}"


#: the arch of the kits made on demand below: the one whose Alpine-like CPython tree the world
#: builds (a kit made on demand is never bare; another arch's would build OpenSSL and CPython)
MADE_ARCH = "x86_64"


def test_check_import_makes_the_kit_it_needs_unless_told_not_to(tmp_path: Path) -> None:
    # a cache with no CPython kit for the arch: only what making one reuses
    built = kit_for(MADE_ARCH, DEBIAN_BINARY_MUSL, PY)
    env, cache, made = linked_cache(tmp_path, MADE_ARCH)
    ext = build_extension(built, tmp_path, "_ext")
    wheel = make_wheel(
        tmp_path,
        "chk",
        "1.0",
        "cp311-cp311-musllinux_1_2_" + MADE_ARCH,
        {"chk/__init__.py": "", f"chk/{ext.name}": ext.read_bytes()},
    )

    refused = run([*muslwheel_cmd(), "check", "--import", "--no-kit-build", wheel], env=env)
    assert refused.returncode == 2 and refused.stdout == "", refused.stderr
    assert refused.stderr.count("\n") == 1 and f"no kit with CPython 3.11 for {MADE_ARCH}" in refused.stderr
    assert not (cache / "kits" / made).exists()

    proc = run([*muslwheel_cmd(), "check", "--import", "--json", wheel], env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert [r["kit"] for r in json.loads(proc.stdout)] == [made]
    assert import_results(proc.stdout)[(made, "chk._ext")][0] == "imported"
    # kit build's progress, and only the missing piece built: no CPython build, no musl build
    assert f"making {made}" in proc.stderr and "against musl" not in proc.stderr
    assert "from Debian's packages" not in proc.stderr and "with zig" not in proc.stderr, proc.stderr
    assert (cache / "kits" / made / "kit.json").is_file()


def test_build_makes_the_kit_and_the_wheel_in_one_command(tmp_path: Path) -> None:
    from buildfixture import BEFORE_BUILD, TEST, write_fixture
    from conftest import WORLD, checkout_env

    wheels = WORLD / "build-wheels"
    need(any(wheels.glob("setuptools-*.whl")), f"setuptools wheel for builds ({wheels})")
    env, cache, made = linked_cache(tmp_path, MADE_ARCH)
    env.update(checkout_env(), MUSLWHEEL_CACHE=env["MUSLWHEEL_CACHE"], ZIG_GLOBAL_CACHE_DIR=env["ZIG_GLOBAL_CACHE_DIR"])
    env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    project, out = write_fixture(tmp_path), tmp_path / "out"
    args = [project, "-w", out, "--arch", MADE_ARCH, "--python", PY, "--before-build", BEFORE_BUILD, "--test", TEST]
    refused = run([*muslwheel_cmd(), "build", "--no-kit-build", *args], env=env)
    assert (
        refused.returncode == 2
        and refused.stderr.count("\n") == 1
        and f"no kit for {MADE_ARCH} py3.11" in refused.stderr
    )
    assert not out.exists() and not (cache / "kits" / made).exists()
    proc = run([*muslwheel_cmd(), "build", "--json", *args], env=env, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)["targets"]
    assert result["target"]["name"] == made
    assert "fixture._speed" in result["imported"] and Path(result["wheel"]).name.endswith(f"_{MADE_ARCH}.whl")
    assert (
        f"no kit for {MADE_ARCH} py3.11: making {made}" in proc.stderr
        and (cache / "kits" / made / "kit.json").is_file()
    )


def test_a_free_threaded_wheel_is_imported_in_the_free_threaded_kit_only(tmp_path: Path) -> None:
    ft = kit_for("x86_64", NEWEST_MUSL, "3.13t")
    # beside the real free-threaded kit, a GIL-enabled 3.13 kit that exists only as a record: a
    # wheel sent there would fail (its root is missing), so only the right choice passes
    env = kits_cache(tmp_path, ft)
    kit_records(Path(env["MUSLWHEEL_CACHE"]) / "kits", f"x86_64:{NEWEST_MUSL}:3.13")
    ext = build_extension(ft, tmp_path, "_ext")
    assert ext.name.endswith(".cpython-313t-x86_64-linux-musl.so")
    probe = "import sys\nassert not sys._is_gil_enabled()\n"
    wheel = make_wheel(
        tmp_path,
        "ftchk",
        "1.0",
        "cp313-cp313t-musllinux_1_2_x86_64",
        {"ftchk/__init__.py": probe, f"ftchk/{ext.name}": ext.read_bytes()},
    )
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--no-kit-build", wheel], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = import_results(proc.stdout)
    assert {k: r[0] for k, r in results.items()} == {
        (ft.name, "ftchk._ext"): "imported",
        (ft.name, "ftchk"): "imported",
    }


def test_kit_build_without_musl_makes_the_kit_made_on_demand_and_says_why(tmp_path: Path) -> None:
    # the oldest loader-only kit of the arch already built: nothing to build for musl
    kits = kit_records(tmp_path / "kits", "x86_64:1.2.6", "x86_64:1.2.2", "aarch64:1.2.2")
    env = dict(os.environ, MUSLWHEEL_CACHE=str(tmp_path))
    proc = run_ok([*muslwheel_cmd(), "kit", "build", "--arch", "x86_64", "--bare"], env=env)
    assert proc.stdout == f"x86_64-musl1.2.2: {kits / 'x86_64-musl1.2.2' / 'root'}\n"
    assert proc.stderr.splitlines() == [
        "kit build: musl 1.2.2: the oldest musl kit of x86_64 already built (nothing to build for musl) "
        "(--musl chooses another)"
    ]


@pytest.mark.parametrize(
    ("arch", "present", "musl", "why"),
    [
        ("x86_64", (), DEBIAN_BINARY_MUSL, "Debian's binary packages for x86_64"),
        ("riscv64", (), NEWEST_MUSL, "built from source with zig (Debian ships no musl for riscv64)"),
        ("x86_64", ("x86_64:1.2.2", "x86_64:1.2.6"), "1.2.2", "already built"),
    ],
)
def test_the_musl_of_a_kit_made_without_musl(
    arch: str, present: tuple[str, ...], musl: object, why: str, tmp_path: Path
) -> None:
    # the one answer kit build, check --import and build share (kits.ondemand.kit_to_make)
    from muslwheel.kits.choice import KitKey
    from muslwheel.kits.ondemand import kit_for_target, kit_to_make
    from muslwheel.versions import CPython

    kit_records(tmp_path / "kits", *present)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUSLWHEEL_CACHE", str(tmp_path))
        spec = kit_to_make(KitKey(arch, CPython(11)))
        assert (str(spec.musl), spec.name) == (str(musl), f"{arch}-musl{musl}-py3.11") and why in spec.why_musl
        assert kit_for_target(arch, CPython(11), None) == spec


def test_pick_serves_a_key_with_the_oldest_musl_that_qualifies(tmp_path: Path) -> None:
    from muslwheel.kits import list_kits
    from muslwheel.kits.choice import KitKey, pick
    from muslwheel.versions import CPython, MuslWanted

    kits = list_kits(kit_records(tmp_path / "kits", *CHOICE_KITS, "aarch64:1.2.2:3.11"))
    name = lambda key: (lambda k: k.name if k else None)(pick(key, kits))  # noqa: E731
    assert name(KitKey("x86_64", CPython(11))) == "x86_64-musl1.1.24-py3.11"
    assert name(KitKey("x86_64", CPython(11), MuslWanted.parse("1.2"))) == "x86_64-musl1.2.2-py3.11"
    assert name(KitKey("x86_64", CPython(11), MuslWanted.parse("1.2.6"))) == "x86_64-musl1.2.6-py3.11"
    assert name(KitKey("x86_64", CPython(11), floor=(1, 2))) == "x86_64-musl1.2.2-py3.11"
    assert name(KitKey("x86_64", CPython(13, True))) == "x86_64-musl1.2.3-py3.13t"
    assert name(KitKey("x86_64", CPython(12))) is None
