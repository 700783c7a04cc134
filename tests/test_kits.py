"""Kits: real musl releases (Debian's 1.2.3, the newest built from source with zig) for every
arch, run through the kit's own loader natively or under qemu-user."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import ALL_ARCHES, CACHE, kit_for, muslwheel_cmd, run, run_ok, write_c

from muslwheel.arch import DEBIAN_MUSL_ARCHES
from muslwheel.elf import read_elf
from muslwheel.kits import Kit
from muslwheel.kits.build import DEBIAN_BINARY_MUSL, NEWEST_MUSL

LOADER_KITS = [(a.name, DEBIAN_BINARY_MUSL) for a in DEBIAN_MUSL_ARCHES] + [(a, NEWEST_MUSL) for a in ALL_ARCHES]

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


def build_against(kit: Kit, out: Path, source: Path, *args: str) -> Path:
    """Compile with zig against the kit's own musl (its headers, startup files and libc.so)."""
    env = dict(os.environ, ZIG_LIBC=str(kit.zig_libc_file()))
    run_ok([sys.executable, "-m", "ziglang", "cc", "-target", kit.zig_target, "-O2", *args, "-o", out, source], env=env)
    return out


@pytest.mark.world
@pytest.mark.parametrize(("arch", "musl"), LOADER_KITS, ids=[f"{a}-{m}" for a, m in LOADER_KITS])
def test_a_program_runs_on_the_kits_own_musl(arch: str, musl: str, tmp_path: Path) -> None:
    kit = kit_for(arch, musl)
    exe = build_against(kit, tmp_path / "probe", write_c(tmp_path / "probe.c", PROBE), "-dynamic", "-lm")
    env = {"KIT_PROBE": "kit-ok", "A": "1", "B": "2"}
    proc = run_ok([*kit.loader_command(), exe, "7.5"], env=env)
    # environ intact (zig's stand-in libc.so would have clobbered it), libm's fmod exported
    assert proc.stdout.split() == ["kit-ok", "1.5", "3"]
    version = run([*kit.loader_command(), "--version"])
    assert f"Version {musl}" in version.stderr + version.stdout
    detected = json.loads(run_ok([*muslwheel_cmd(), "detect", "--root", kit.root, "--json"]).stdout)
    assert (detected["musl_version"], detected["arch"]) == (musl, arch)


@pytest.mark.world
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
    built = {p.parent.name for p in (CACHE / "kits").glob("*/kit.json") if not p.parent.name.endswith(".tmp")}
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
