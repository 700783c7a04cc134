"""repair --strip strips first, then patches, and writes no file musl's loader would map wrong
(auditwheel#716: strip after patchelf, "ELF load command address/offset not page-aligned")."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

from conftest import Toolchain, checkout_env, muslwheel_cmd, run, run_ok, write_c
from wheelmaker import make_wheel

from muslwheel.elf import PT, is_elf, program_headers
from muslwheel.layout import check_layout

INNER = "int inner(int x) { return x + 100; }\n"
OUTER = "int inner(int);\nstatic int table[64] = {1, 2, 3};\nint *ptrs[] = {&table[0], &table[1]};\nint outer(int x) { return inner(x) + table[x & 63]; }\n"


def lld_libraries(toolchain: Toolchain, tmp: Path) -> tuple[Path, Path]:
    """libouter.so needing libinner.so, linked by zig's lld (x86_64): a layout binutils' strip
    mis-lays out once patchelf has rewritten it (its PT_GNU_RELRO left astride its segment)."""
    libs = tmp / "libs"
    libs.mkdir()
    toolchain.build("x86_64", libs / "libinner.so", [write_c(tmp / "inner.c", INNER)], shared=True, use_zig=True)
    outer = toolchain.build(
        "x86_64",
        tmp / "libouter.so",
        [write_c(tmp / "outer.c", OUTER)],
        shared=True,
        use_zig=True,
        args=["-g", f"-L{libs}", "-linner"],
    )
    return libs, outer


def layout_problems(wheel: Path) -> dict[str, list[str]]:
    with zipfile.ZipFile(wheel) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return {n: [str(p) for p in check_layout(program_headers(d))] for n, d in members.items() if is_elf(d)}


def test_strip_before_patchelf_keeps_the_layout_musl_maps(toolchain: Toolchain, tmp_path: Path) -> None:
    libs, outer = lld_libraries(toolchain, tmp_path)
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(dist, "use", "1.0", "py3-none-linux_x86_64", {"use/libouter.so": outer.read_bytes()})
    out = tmp_path / "out"
    proc = run_ok(
        [*muslwheel_cmd(), "repair", "--json", "--strip", "-w", out, "--ldpaths", libs, wheel], env=checkout_env()
    )
    repaired = Path(json.loads(proc.stdout)["output"])
    problems = layout_problems(repaired)
    assert set(problems) == {
        "use/libouter.so",
        f"use.libs/{json.loads(proc.stdout)['grafted'][0]['path'].split('/')[1]}",
    }
    assert all(p == [] for p in problems.values()), problems  # stripped after patchelf: PT_GNU_RELRO astray
    with zipfile.ZipFile(repaired) as zf:
        assert b".symtab" not in zf.read("use/libouter.so")
    run_ok([*muslwheel_cmd(), "check", repaired], env=checkout_env())


def test_a_rewrite_musl_would_not_map_is_refused_in_one_line(toolchain: Toolchain, tmp_path: Path) -> None:
    libs, outer = lld_libraries(toolchain, tmp_path)
    data = bytearray(outer.read_bytes())
    ph = program_headers(bytes(data))
    (i,) = [i for i, s in enumerate(ph.segments) if s.type == PT.GNU_RELRO]
    at = ph.phoff + i * ph.phentsize + 16  # p_vaddr, p_paddr: past every PT_LOAD
    struct.pack_into("<QQ", data, at, ph.segments[i].vaddr + 0x100000, ph.segments[i].vaddr + 0x100000)
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(dist, "use", "1.0", "py3-none-linux_x86_64", {"use/libouter.so": bytes(data)})
    before = wheel.read_bytes()
    out = tmp_path / "out"
    proc = run([*muslwheel_cmd(), "repair", "-q", "-w", out, "--ldpaths", libs, wheel], env=checkout_env())
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "use/libouter.so: after patchelf, musl's loader would not map it: relro:" in proc.stderr
    assert not out.exists() and wheel.read_bytes() == before


def test_strip_of_numpy_loads_and_keeps_what_strip_would_break(real_wheels: dict[str, Path], tmp_path: Path) -> None:
    """numpy 2.4.6 (scipy 1.17.1 alike, by hand: its 117 files cost 20 s more here)."""
    out = tmp_path / "out"
    proc = run_ok(
        [*muslwheel_cmd(), "repair", "--json", "--strip", "-w", out, real_wheels["numpy"]], env=checkout_env()
    )
    for result in [json.loads(proc.stdout)]:
        repaired = Path(result["output"])
        problems = layout_problems(repaired)
        assert all(p == [] for p in problems.values()), {n: p for n, p in problems.items() if p}
        # the libraries auditwheel's patchelf rewrote upstream: strip would misalign them
        assert any("openblas" in m for m in result["unstripped"]), result["unstripped"]
        with zipfile.ZipFile(repaired) as zf:
            stripped = [n for n in problems if n not in result["unstripped"]]
            assert all(b".symtab" not in zf.read(n) for n in stripped)
        run_ok([*muslwheel_cmd(), "check", repaired], env=checkout_env())
