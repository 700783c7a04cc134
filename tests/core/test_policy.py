"""The policy data and the musl symbol table, checked against real musl."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LOADERS, need

from muslwheel.arch import ARCHES
from muslwheel.elf import read_elf
from muslwheel.libc import MuslVersion
from muslwheel.policy import is_allowed_system_library, is_musl_self, policy_for_version, symbol_table

# Debian patches its musl 1.2.3: no crypt, crypt_r, encrypt, setkey (libcrypt owns them); fts_* added.
DEBIAN_REMOVED = {"crypt", "crypt_r", "encrypt", "setkey"}
DEBIAN_ADDED_PREFIX = "fts_"


@pytest.mark.parametrize("arch", ["x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x"])
def test_table_matches_debian_musl_1_2_3_libc_so_but_for_debians_patches(arch: str) -> None:
    libc = Path(LOADERS[arch]).resolve()
    need(libc.exists(), f"Debian's musl for {arch}")
    table = symbol_table(arch)
    need(table.arch_was_built, f"the symbol table has no build of its own for {arch} yet")
    debian = {s.name for s in read_elf(libc).symbols if s.defined}
    ours = table.exported_by(MuslVersion(1, 2, 3))
    assert ours - debian == DEBIAN_REMOVED
    assert {n for n in debian - ours if not n.startswith(DEBIAN_ADDED_PREFIX)} == set()


@pytest.mark.parametrize(
    "symbol, version",
    [
        ("reallocarray", "1.2.2"),
        ("gettid", "1.2.2"),
        ("_Fork", "1.2.2"),
        ("qsort_r", "1.2.3"),
        ("statx", "1.2.5"),
        ("preadv2", "1.2.5"),
        ("pwritev2", "1.2.5"),
        ("malloc", "1.1.0"),
    ],
)
def test_first_releases_of_known_symbols(symbol: str, version: str) -> None:
    info = symbol_table("x86_64").lookup(symbol)
    assert info is not None and str(info.first) == version


def test_lfs64_names_left_libc_so_in_1_2_4() -> None:
    info = symbol_table("x86_64").lookup("stat64")
    assert info is not None and str(info.removed) == "1.2.4"
    assert "stat64" not in symbol_table("x86_64").exported_by(MuslVersion(1, 2, 5))


def test_time64_names_exist_on_32bit_arches_only() -> None:
    i686 = symbol_table("i686")
    need(i686.arch_was_built, "the symbol table's i686 build")
    info = i686.lookup("__clock_gettime64")
    assert info is not None and str(info.first) == "1.2.0"
    assert symbol_table("x86_64").lookup("__clock_gettime64") is None


def test_loongarch64_starts_at_its_port() -> None:
    info = symbol_table("loongarch64").lookup("malloc")
    assert info is not None and str(info.first) == "1.2.5"


@pytest.mark.parametrize(
    "name",
    [
        "libc.so",
        "libc.musl-x86_64.so.1",
        "libpthread.so.0",
        "libm.so.6",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libxnet.so",
        "ld-musl-x86_64.so.1",
    ],
)
def test_names_musl_maps_to_itself(name: str) -> None:
    assert is_musl_self(name, ARCHES["x86_64"])


@pytest.mark.parametrize("name", ["libcrypto.so.3", "libz.so.1", "libmagic.so", "libcurl.so.4", "ld-musl-aarch64.so.1"])
def test_names_musl_does_not_map_to_itself(name: str) -> None:
    assert not is_musl_self(name, ARCHES["x86_64"])


def test_only_libz_is_allowed_from_the_system() -> None:
    assert is_allowed_system_library("libz.so.1")
    assert not is_allowed_system_library("libssl.so.3")


def test_policy_for_version_uses_the_minor() -> None:
    assert policy_for_version(MuslVersion(1, 1, 24)).name == "musllinux_1_1"  # type: ignore[union-attr]
    assert policy_for_version(MuslVersion(1, 2, 5)).name == "musllinux_1_2"  # type: ignore[union-attr]
    assert policy_for_version(MuslVersion(1, 3, 0)) is None


def test_a_symbol_that_left_and_came_back_counts_from_its_return() -> None:
    # i386: __xstat was time32 ABI; time64 (1.2.0) dropped it, 1.2.4 brought it back as a shim.
    i686 = symbol_table("i686")
    need(i686.arch_was_built, "the symbol table's i686 build")
    info = i686.lookup("__xstat")
    assert info is not None
    assert (str(info.first), str(info.since)) == ("1.1.0", "1.2.4")
    assert not info.exported_by(MuslVersion(1, 2, 3)) and info.exported_by(MuslVersion(1, 2, 4))
    assert str(symbol_table("x86_64").lookup("__xstat").since) == "1.1.0"  # type: ignore[union-attr]


def test_a_port_begins_where_its_arch_was_added() -> None:
    # aarch64 came to musl in 1.1.7, s390x in 1.1.16: nothing is exported there before.
    for arch, since in (("aarch64", "1.1.7"), ("s390x", "1.1.16")):
        table = symbol_table(arch)
        need(table.arch_was_built, f"the symbol table's {arch} build")
        info = table.lookup("malloc")
        assert info is not None and str(info.first) == since


def test_raise_to_port_drops_and_clamps_intervals() -> None:
    from muslwheel.policy import raise_to_port

    assert raise_to_port(["1.1.0", ""], "1.1.7") == ["1.1.7", ""]
    assert raise_to_port(["1.1.0", "1.2.4"], "1.2.5") is None
    assert raise_to_port(["1.1.0", "1.2.0", "1.2.4", ""], "1.2.1") == ["1.2.4", ""]
    assert raise_to_port(["1.1.9", "1.2.4"], "1.1.7") == ["1.1.9", "1.2.4"]
