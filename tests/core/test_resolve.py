"""musl's search rules inside a wheel: on ELF facts given directly, and on binaries the test builds,
proven with musl's real loader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import (
    Toolchain,
    checkout_env,
    loader_for,
    muslwheel_cmd,
    repair_grafts_nothing_then_check,
    run,
    run_ok,
    write_c,
)
from wheelmaker import make_wheel

from muslwheel.arch import ARCHES, arch_of_elf
from muslwheel.elf import EM, ELFFile, Symbol, read_elf
from muslwheel.resolve import (
    ELSEWHERE,
    EXECUTABLE,
    EXTENSION,
    EXTERNAL,
    LIBRARY,
    MUSL,
    SYSTEM,
    WHEEL,
    entry_kind,
    resolve_closure,
    resolve_wheel,
)

X86_64 = ARCHES["x86_64"]
EXT = ".cpython-311-x86_64-linux-musl.so"


def elf(needed: tuple[str, ...] = (), runpath: tuple[str, ...] = (), rpath: tuple[str, ...] = ()) -> ELFFile:
    return ELFFile(64, True, EM.X86_64, 0, 0, 3, is_dynamic=True, needed=needed, runpath=runpath, rpath=rpath)


def kinds(closure) -> dict[str, tuple[str, object]]:  # type: ignore[no-untyped-def]
    return {r.needed: (r.kind, r.path) for r in closure}


def test_runpath_is_inherited_down_the_chain_unlike_glibc() -> None:
    # _ext.so's RUNPATH finds liba; liba has no RUNPATH, yet musl finds libb through _ext.so's.
    elfs = {
        "pkg/_ext.so": elf(("liba.so", "libc.so"), runpath=("$ORIGIN/../pkg.libs",)),
        "pkg.libs/liba.so": elf(("libb.so",)),
        "pkg.libs/libb.so": elf(("libz.so.1", "libm.so.6")),
    }
    got = kinds(resolve_closure("pkg/_ext.so", elfs, X86_64))
    assert got == {
        "liba.so": (WHEEL, "pkg.libs/liba.so"),
        "libb.so": (WHEEL, "pkg.libs/libb.so"),
        "libc.so": (MUSL, None),
        "libz.so.1": (SYSTEM, None),
        "libm.so.6": (MUSL, None),
    }


def test_origin_is_the_directory_of_the_object_that_owns_the_path() -> None:
    elfs = {
        "pkg/sub/_ext.so": elf(("liba.so",), rpath=("${ORIGIN}/..",)),
        "pkg/liba.so": elf(),
        "liba.so": elf(),
    }
    assert kinds(resolve_closure("pkg/sub/_ext.so", elfs, X86_64))["liba.so"] == (WHEEL, "pkg/liba.so")


def test_runpath_wins_over_rpath_and_paths_outside_the_wheel_are_external() -> None:
    elfs = {
        "pkg/_ext.so": elf(("liba.so", "libq.so"), runpath=("$ORIGIN/../../../lib",), rpath=("$ORIGIN",)),
        "pkg/liba.so": elf(),
    }
    got = kinds(resolve_closure("pkg/_ext.so", elfs, X86_64))
    assert got["liba.so"] == (EXTERNAL, None)  # RPATH ($ORIGIN) is ignored when RUNPATH exists
    assert got["libq.so"] == (EXTERNAL, None)


def test_a_name_already_loaded_is_reused_without_searching() -> None:
    # libb.so is found once through _ext.so's RUNPATH; liba asks for it by the same name and,
    # with no path of its own, still gets the loaded one.
    elfs = {
        "pkg/_ext.so": elf(("libb.so", "liba.so"), runpath=("$ORIGIN/libs",)),
        "pkg/libs/liba.so": elf(("libb.so",), runpath=("/nonexistent",)),
        "pkg/libs/libb.so": elf(),
    }
    got = [r for r in resolve_closure("pkg/_ext.so", elfs, X86_64) if r.needed == "libb.so"]
    assert {(r.requested_by, r.path) for r in got} == {
        ("pkg/_ext.so", "pkg/libs/libb.so"),
        ("pkg/libs/liba.so", "pkg/libs/libb.so"),
    }


# --- A wheel is resolved load by load, from its entry points --------------------------------


def test_a_sibling_without_rpath_is_found_through_the_extension_that_loads_it() -> None:
    # numpy 2.4.6's shape: numpy.libs/libstdc++ has no RPATH and needs libgcc_s, its sibling;
    # the extension's RUNPATH names numpy.libs, and musl inherits it down the chain.
    elfs = {
        "pkg/_ext.cpython-311-x86_64-linux-musl.so": elf(("libstd.so.6", "libc.so"), rpath=("$ORIGIN/../pkg.libs",)),
        "pkg.libs/libstd.so.6": elf(("libc.so", "libgcc.so.1")),
        "pkg.libs/libgcc.so.1": elf(("libc.so",)),
    }
    loads = resolve_wheel(elfs, arch_of_elf)
    assert [(ld.entry, ld.kind) for ld in loads.loads] == [("pkg/_ext.cpython-311-x86_64-linux-musl.so", EXTENSION)]
    (ld,) = loads.loads
    assert ld.members == (
        "pkg/_ext.cpython-311-x86_64-linux-musl.so",
        "pkg.libs/libstd.so.6",
        "pkg.libs/libgcc.so.1",
    )
    assert kinds(loads.resolutions_of("pkg.libs/libstd.so.6"))["libgcc.so.1"] == (WHEEL, "pkg.libs/libgcc.so.1")
    assert ld.chain("pkg.libs/libgcc.so.1") == [
        "pkg.libs/libgcc.so.1",
        "pkg.libs/libstd.so.6",
        "pkg/_ext.cpython-311-x86_64-linux-musl.so",
    ]
    # Loaded on its own, as the old audit judged it, libstd would not find its sibling.
    assert kinds(resolve_closure("pkg.libs/libstd.so.6", elfs, X86_64))["libgcc.so.1"] == (EXTERNAL, None)


def test_each_entry_point_loads_as_if_first_and_a_library_sees_only_what_every_load_gives_it() -> None:
    elfs = {
        "pkg/a.abi3.so": elf(("libx.so", "liby.so"), runpath=("$ORIGIN",)),
        "pkg/b.abi3.so": elf(("libx.so",), runpath=("$ORIGIN",)),
        "pkg/libx.so": elf(),
        "pkg/liby.so": elf(),
    }
    loads = resolve_wheel(elfs, arch_of_elf)
    assert [ld.entry for ld in loads.entry_points] == ["pkg/a.abi3.so", "pkg/b.abi3.so"]
    # libx is in both loads, which share only libx itself; liby only in a's.
    assert loads.visible("pkg/libx.so") == {"pkg/libx.so"}
    assert loads.visible("pkg/liby.so") == {"pkg/a.abi3.so", "pkg/libx.so", "pkg/liby.so"}
    assert [ld.entry for ld in loads.loads_of("pkg/libx.so")] == ["pkg/a.abi3.so", "pkg/b.abi3.so"]


def test_a_library_no_entry_point_loads_gets_a_load_of_its_own_and_names_the_wheel_carries_are_elsewhere() -> None:
    elfs = {
        "pkg/_ext.abi3.so": elf(("libuse.so",), runpath=("$ORIGIN",)),
        "pkg/libuse.so": elf(),
        "pkg/plugins/libplugin.so": elf(("libuse.so", "libmissing.so")),
    }
    loads = resolve_wheel(elfs, arch_of_elf)
    assert [(ld.entry, ld.kind) for ld in loads.loads] == [
        ("pkg/_ext.abi3.so", EXTENSION),
        ("pkg/plugins/libplugin.so", LIBRARY),
    ]
    got = kinds(loads.resolutions_of("pkg/plugins/libplugin.so"))
    assert got == {"libuse.so": (ELSEWHERE, "pkg/libuse.so"), "libmissing.so": (EXTERNAL, None)}


def test_entry_points_are_modules_by_name_or_by_pyinit_and_executables() -> None:
    pyinit = ELFFile(64, True, EM.X86_64, 0, 0, 3, is_dynamic=True, symbols=(Symbol("PyInit_fast", True, False),))
    assert entry_kind("pkg/_m.cpython-311-x86_64-linux-musl.so", elf()) == EXTENSION
    assert entry_kind("pkg/_m.pypy310-pp73-x86_64-linux-musl.so", elf()) == EXTENSION
    assert entry_kind("pkg-1.0.data/platlib/pkg/_m.abi3.so", elf()) == EXTENSION
    assert entry_kind("pkg/fast.so", pyinit) == EXTENSION
    assert entry_kind("pkg/libfast.so", pyinit) is None  # PyInit_fast is not libfast's init
    assert entry_kind("pkg/fast.so", elf()) is None
    assert entry_kind("pkg.libs/_m.abi3.so", elf()) is None  # not importable: "pkg.libs" is no package
    assert entry_kind("pkg-1.0.data/headers/_m.abi3.so", elf()) is None
    exe = ELFFile(64, True, EM.X86_64, 0, 0, 3, interpreter="/lib/ld-musl-x86_64.so.1", is_dynamic=True)
    assert entry_kind("pkg-1.0.data/scripts/tool", exe) == EXECUTABLE
    static = ELFFile(64, True, EM.X86_64, 0, 0, 2)
    assert entry_kind("pkg/bin/tool", static) == EXECUTABLE


# --- The same shape, built and proven with musl's real loader ------------------------------

SIB_C = "int sib(int x) { return x + 1; }\n"
STD_C = "int sib(int);\nint std_twice(int x) { return 2 * sib(x); }\n"
EXT_C = "int sib(int); int std_twice(int);\nint use(int x) { return std_twice(x) + %s; }\n"


@pytest.mark.parametrize("shape", ["loaded-first", "inherited-rpath"])
def test_a_libs_library_without_rpath_finds_its_sibling_as_musls_loader_does(
    toolchain: Toolchain, tmp_path: Path, shape: str
) -> None:
    """numpy 2.4.6 and scipy 1.17.1 (musllinux x86_64) have this shape: numpy.libs/libstdc++
    has no RPATH and needs libgcc_s, which the extension (RPATH $ORIGIN/../numpy.libs) loads
    first, or which musl finds on the extension's inherited RPATH."""
    loader = loader_for("x86_64")
    libs = tmp_path / "build"
    libs.mkdir()
    sib = toolchain.build("x86_64", libs / "libsib.so.1", [write_c(tmp_path / "sib.c", SIB_C)], shared=True)
    std = toolchain.build(
        "x86_64",
        libs / "libstd.so.6",
        [write_c(tmp_path / "std.c", STD_C)],
        shared=True,
        args=[f"-L{libs}", "-l:libsib.so.1"],
    )
    ext_links = ["-l:libsib.so.1", "-l:libstd.so.6"] if shape == "loaded-first" else ["-l:libstd.so.6"]
    ext = toolchain.build(
        "x86_64",
        tmp_path / f"_ext{EXT}",
        [write_c(tmp_path / "ext.c", EXT_C % ("sib(x)" if shape == "loaded-first" else "0"))],
        shared=True,
        args=[f"-L{libs}", *ext_links, "-Wl,-rpath,$ORIGIN/../pkg.libs"],
    )
    std_elf = read_elf(std)
    assert std_elf.rpath == () and std_elf.runpath == () and "libsib.so.1" in std_elf.needed
    assert read_elf(ext).needed[0] == ("libsib.so.1" if shape == "loaded-first" else "libstd.so.6")
    members = {f"pkg/_ext{EXT}": ext, "pkg.libs/libstd.so.6": std, "pkg.libs/libsib.so.1": sib}

    # musl's loader, on the wheel's files as installed: the extension loads, and its libraries
    # come from pkg.libs; libstd loaded on its own would not find its sibling.
    site = tmp_path / "site"
    for name, src in members.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, site / name)
    listing = run_ok([loader, "--list", site / f"pkg/_ext{EXT}"]).stdout
    assert f"libsib.so.1 => {site}/pkg/../pkg.libs/libsib.so.1" in listing
    assert f"libstd.so.6 => {site}/pkg/../pkg.libs/libstd.so.6" in listing
    alone = run([loader, "--list", site / "pkg.libs/libstd.so.6"])
    assert alone.returncode != 0 and "libsib.so.1" in alone.stderr

    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(
        dist, "pkg", "1.0", "cp311-cp311-musllinux_1_1_x86_64", {k: v.read_bytes() for k, v in members.items()}
    )
    shown = run([*muslwheel_cmd(), "show", "--json", wheel], env=checkout_env())
    v = json.loads(shown.stdout)
    assert shown.returncode == 0 and v["honest"] and v["external_libs"] == [] and v["tag"] == "musllinux_1_1_x86_64"
    std_report = next(f for f in v["files"] if f["path"] == "pkg.libs/libstd.so.6")
    assert std_report["role"] == "library" and std_report["loaded_by"] == [f"pkg/_ext{EXT}"]
    assert {r["needed"]: r.get("path") for r in std_report["resolved"]}["libsib.so.1"] == "pkg.libs/libsib.so.1"

    status, c = repair_grafts_nothing_then_check(wheel, tmp_path / "out")
    assert status == 0 and c["loads"] and c["method"] == "loader", c["problems"]
