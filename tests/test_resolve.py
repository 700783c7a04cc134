"""musl's search rules inside a wheel, on ELF facts given directly."""

from __future__ import annotations

from muslwheel.arch import ARCHES
from muslwheel.elf import EM, ELFFile
from muslwheel.resolve import EXTERNAL, MUSL, SYSTEM, WHEEL, resolve_closure

X86_64 = ARCHES["x86_64"]


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
