#!/usr/bin/env python3
"""Why muslwheel has its own ELF reader: it against pyelftools on the bench set's ELF members.

    venv=$(bench/setup); $venv/bin/pip install pyelftools
    $venv/bin/python bench/bench_elf.py

Both read what the audit needs from each member already in memory: DT_NEEDED and every dynamic
symbol with whether it is defined. Best of 3; writes bench/results/elf.txt.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import results_file  # noqa: E402
from elftools import __version__ as pyelftools_version  # noqa: E402
from elftools.elf.elffile import ELFFile as PyELFFile  # noqa: E402

from muslwheel.elf import parse_elf  # noqa: E402
from muslwheel.wheelfile import WheelFile  # noqa: E402


def ours(blobs: list[bytes]) -> None:
    for b in blobs:
        e = parse_elf(b)
        _ = (e.needed, [(s.name, s.defined) for s in e.symbols])


def pyelftools(blobs: list[bytes]) -> None:
    for b in blobs:
        f = PyELFFile(io.BytesIO(b))
        dyn = f.get_section_by_name(".dynamic")
        _ = [t.needed for t in dyn.iter_tags() if t.entry.d_tag == "DT_NEEDED"] if dyn else []
        sym = f.get_section_by_name(".dynsym")
        _ = [(s.name, s["st_shndx"] != "SHN_UNDEF") for s in sym.iter_symbols()] if sym else []


def main() -> int:
    blobs: list[bytes] = []
    for w in sorted((HERE / "wheels").glob("*.whl")):
        with WheelFile(w) as wf:
            blobs += [d for _, d in wf.elf_members()]
    lines = [
        *results_file.header("ELF reading: muslwheel.elf vs pyelftools"),
        f"{len(blobs)} ELF members, {sum(map(len, blobs)) / 1e6:.0f} MB, already in memory; best of 3, seconds:",
    ]
    for name, fn in (("muslwheel.elf", ours), (f"pyelftools {pyelftools_version}", pyelftools)):
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            fn(blobs)
            best = min(best, time.perf_counter() - t)
        lines.append(f"{name}: {best:.3f}")
    results_file.write(lines, HERE / "results" / "elf.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
