#!/usr/bin/env python3
"""Generate src/muslwheel/data/musl_symbols.json: for every symbol musl's libc.so exports, the
first release that exports it (and the release that stopped exporting it, if any), per
architecture.

Source: musl's own git repository, https://git.musl-libc.org/cgit/musl (mirrored read-only at
https://github.com/bminor/musl), release tags v1.1.0 to the newest. Debian's build is not used:
Debian patches musl (its 1.2.3 drops crypt, encrypt and setkey and adds fts_*).

For each release tag and architecture this script extracts the tree (``git archive``), runs
musl's ``configure --target=ARCH`` with a cross gcc from Debian, builds ``lib/libc.so`` and reads
its defined dynamic symbols with muslwheel's own ELF reader. Each symbol gets the releases that
export it, as intervals: the LFS64 names went in 1.2.4; on i386 ``__xstat`` left with time64 in
1.2.0 and came back in 1.2.4. Rerun it after a musl release:

    apt-get install ccache gcc-multilib gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf \\
        gcc-powerpc64le-linux-gnu gcc-s390x-linux-gnu gcc-riscv64-linux-gnu
    git clone https://git.musl-libc.org/git/musl /tmp/musl
    python tools/gen_musl_symbols.py --musl-git /tmp/musl

ccache makes the 31 builds of one arch take minutes, not an hour. An architecture whose port
does not exist yet at a tag simply has no entry for it: its first release is its port's.
loongarch64 (ported in 1.2.5) has no cross gcc in Debian bookworm: its table is x86_64's with
every symbol still exported in the newest release starting at 1.2.5, which is exact for a port
that began at 1.2.5 with the generic 64-bit ABI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from muslwheel.elf import read_elf
from muslwheel.policy import expand_arch, raise_to_port

# wheel arch -> (musl configure target, C compiler). Flags where Debian's cross gcc defaults
# differ from what musl builds with: Thumb-2 (old musl ARM assembly wants ARM mode), and IEEE
# 128-bit long double on ppc64le (musl's powerpc64 ABI has a 64-bit long double).
ARCHES = {
    "x86_64": ("x86_64", "gcc"),
    "i686": ("i386", "gcc -m32"),
    "aarch64": ("aarch64", "aarch64-linux-gnu-gcc"),
    "armv7l": ("arm", "arm-linux-gnueabihf-gcc -marm"),
    "ppc64le": ("powerpc64le", "powerpc64le-linux-gnu-gcc -mlong-double-64"),
    "s390x": ("s390x", "s390x-linux-gnu-gcc"),
    "riscv64": ("riscv64", "riscv64-linux-gnu-gcc"),
}
DERIVED = {"loongarch64": ("x86_64", "1.2.5")}


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def release_tags(repo: Path) -> list[str]:
    tags = subprocess.run(["git", "-C", str(repo), "tag"], capture_output=True, text=True, check=True).stdout.split()
    versions = [t[1:] for t in tags if re.fullmatch(r"v1\.[12]\.\d+", t)]
    return sorted(versions, key=version_key)


def build_exports(repo: Path, version: str, target: str, cc: str, work: Path, jobs: int) -> set[str] | None:
    """The defined dynamic symbols of libc.so at *version* for *target*; None if unsupported."""
    src = work / "musl"  # the same path every time, so ccache hits across releases
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", f"v{version}"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    env = {**os.environ, "CC": f"ccache {cc}", "CFLAGS": "-O1 -w"}
    conf = subprocess.run(
        ["./configure", f"--target={target}", "--disable-static"], cwd=src, env=env, capture_output=True, text=True
    )
    if conf.returncode != 0:
        if "unsupported target" in conf.stderr + conf.stdout:
            return None  # the port does not exist yet at this release
        raise SystemExit(f"{version} {target}: configure failed:\n{conf.stderr[-2000:]}")
    make = subprocess.run(["make", f"-j{jobs}", "lib/libc.so"], cwd=src, env=env, capture_output=True, text=True)
    if make.returncode != 0:
        raise SystemExit(f"{version} {target}: build failed:\n{make.stderr[-2000:]}")
    return {s.name for s in read_elf(src / "lib" / "libc.so").symbols if s.defined}


def table_for_arch(
    repo: Path, versions: list[str], target: str, cc: str, work: Path, jobs: int
) -> dict[str, list[str]]:
    """{symbol: [start, end, start, end, …]} over *versions*: the releases exporting it, as
    half-open intervals, the last end "" while the newest release still exports it.

    A symbol can come back: i386's ``__xstat`` left libc.so with time64 in 1.2.0 and returned in
    1.2.4 as a time32 shim.
    """
    spans: dict[str, list[str]] = {}
    previous: set[str] = set()
    for version in versions:
        exports = build_exports(repo, version, target, cc, work, jobs)
        if exports is None:
            print(f"  {version} {target}: no port", file=sys.stderr)
            continue
        print(f"  {version} {target}: {len(exports)} symbols", file=sys.stderr)
        for name in exports - previous:
            spans.setdefault(name, []).extend([version, ""])
        for name in previous - exports:
            spans[name][-1] = version
        previous = exports
    return dict(sorted(spans.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--musl-git", type=Path, required=True, help="a clone of musl's git repository")
    parser.add_argument("--arches", default=",".join(ARCHES), help="comma-separated wheel arch names")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "src/muslwheel/data/musl_symbols.json"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    versions = release_tags(args.musl_git)
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.arches.split(","):
            target, cc = ARCHES[arch]
            print(f"{arch}:", file=sys.stderr)
            table = table_for_arch(args.musl_git, versions, target, cc, Path(tmp), args.jobs)
            # Saved after each arch, keeping the arches not rebuilt this time.
            tables = expand(json.loads(args.out.read_text())) if args.out.exists() else {}
            tables[arch] = table
            for derived, (like, floor) in DERIVED.items():
                if like in tables:
                    tables[derived] = {
                        n: _raise_floor(spans, floor) for n, spans in tables[like].items() if spans[-1] == ""
                    }
            if "x86_64" in tables:
                args.out.write_text(json.dumps(compact(tables, versions), indent=0, sort_keys=True) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _raise_floor(spans: list[str], floor: str) -> list[str]:
    """A port that began at *floor*: the symbol is exported from max(its last start, floor)."""
    return [max(spans[-2], floor, key=version_key), ""]


def compact(tables: dict[str, dict[str, list[str]]], versions: list[str]) -> dict[str, object]:
    """Store x86_64's table as "common"; each other arch as the release its port began ("since")
    and its differences from common raised to that release (null: not exported there)."""
    common = tables["x86_64"]
    per_arch: dict[str, dict[str, object]] = {}
    for arch, table in tables.items():
        if arch == "x86_64" or not table:
            continue
        since = min((spans[0] for spans in table.values()), key=version_key)
        diff: dict[str, object] = {}
        for name in sorted(set(common) | set(table)):
            implied = raise_to_port(common[name], since) if name in common else None
            actual = table.get(name)
            if implied != actual:
                diff[name] = actual
        per_arch[arch] = {"since": since, "diff": diff}
    return {
        "source": "musl git release tags, libc.so dynamic exports; generated by tools/gen_musl_symbols.py",
        "releases": versions,
        "format": "symbol: [start, end, start, end, ...]: the releases whose libc.so exports it, as "
        "half-open intervals, the last end '' while the newest release exports it; "
        "arches: the release the port began and the differences from common (x86_64) raised to it, "
        "null = not exported there",
        "built_arches": sorted(a for a in tables if a not in DERIVED),
        "derived_arches": {a: {"like": like, "floor": floor} for a, (like, floor) in DERIVED.items()},
        "common": common,
        "arches": per_arch,
    }


def expand(data: dict[str, object]) -> dict[str, dict[str, list[str]]]:
    arches = ["x86_64", *data["arches"]]  # type: ignore[list-item]
    if data["arches"] and "since" not in next(iter(data["arches"].values())):  # type: ignore[attr-defined]
        return _expand_v2(data)
    return {arch: expand_arch(data, arch) for arch in arches}


def _expand_v2(data: dict[str, object]) -> dict[str, dict[str, list[str]]]:
    """The previous layout (plain differences from common), read once to convert it."""
    common: dict[str, list[str]] = data["common"]  # type: ignore[assignment]
    out = {"x86_64": dict(common)}
    for arch, diff in data["arches"].items():  # type: ignore[attr-defined]
        table = dict(common)
        for n, e in diff.items():
            if e is None:
                table.pop(n, None)
            else:
                table[n] = e
        out[arch] = table
    return out


if __name__ == "__main__":
    sys.exit(main())
