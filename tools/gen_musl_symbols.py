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

    apt-get install ccache gcc-i686-linux-gnu gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf \\
        gcc-powerpc64le-linux-gnu gcc-s390x-linux-gnu gcc-riscv64-linux-gnu
    git clone https://git.musl-libc.org/git/musl /tmp/musl
    python tools/gen_musl_symbols.py --musl-git /tmp/musl

Or add one release from a source tarball to the existing table (every built arch; the derived
ones follow), checksummed and recorded in the output's "sources" with where it came from:

    python tools/gen_musl_symbols.py --debian-source 1.2.6   # Debian sid's source package

or, with a tarball fetched another way:

    python tools/gen_musl_symbols.py --tarball musl_1.2.6.orig.tar.gz \\
        --origin "Debian sid source package musl 1.2.6-2, https://deb.debian.org/debian/pool/main/m/musl/"

Use the upstream tarball (Debian's ``.orig.tar.gz`` is upstream's, unpatched). A tarball of a
release the table already has is built and compared instead (nothing written;
exit 1 on any difference): that proves this machine's compilers reproduce the table.

ccache makes the 31 builds of one arch take minutes, not an hour. An architecture whose port
does not exist yet at a tag simply has no entry for it: its first release is its port's.
loongarch64 (ported in 1.2.5) has no cross gcc in Debian bookworm: its table is x86_64's with
every symbol still exported in the newest release starting at 1.2.5, which is exact for a port
that began at 1.2.5 with the generic 64-bit ABI.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from muslwheel.elf import read_elf
from muslwheel.policy import expand_arch, raise_to_port

# wheel arch -> (musl configure target, C compiler). Flags where Debian's cross gcc defaults
# differ from what musl builds with: Thumb-2 (old musl ARM assembly wants ARM mode), and IEEE
# 128-bit long double on ppc64le (musl's powerpc64 ABI has a 64-bit long double).
ARCHES = {
    "x86_64": ("x86_64", "gcc"),
    "i686": ("i386", "i686-linux-gnu-gcc" if shutil.which("i686-linux-gnu-gcc") else "gcc -m32"),
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


def extract_git(repo: Path, version: str, src: Path) -> None:
    archive = subprocess.run(["git", "-C", str(repo), "archive", f"v{version}"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)


def tarball_version(tarball: Path) -> str:
    """The release a musl source tarball holds, from its VERSION file."""
    with tarfile.open(tarball) as tar:
        member = next((m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/VERSION")), None)
        if member is None:
            raise SystemExit(f"{tarball}: no top-level VERSION file: not a musl source tarball")
        f = tar.extractfile(member)
        assert f is not None
        version = f.read().decode().strip()
    if not re.fullmatch(r"1\.\d+\.\d+", version):
        raise SystemExit(f"{tarball}: VERSION says {version!r}, not a musl release")
    return version


def extract_tarball(tarball: Path, src: Path) -> None:
    subprocess.run(["tar", "-x", "--strip-components=1", "-C", str(src), "-f", str(tarball)], check=True)


def build_exports(
    extract: Callable[[Path], None], version: str, target: str, cc: str, work: Path, jobs: int
) -> set[str] | None:
    """The defined dynamic symbols of libc.so at *version* (its sources put in place by
    *extract*) for *target*; None if the port does not exist there."""
    src = work / "musl"  # the same path every time, so ccache hits across releases
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    extract(src)
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
        exports = build_exports(functools.partial(extract_git, repo, version), version, target, cc, work, jobs)
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
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--musl-git", type=Path, help="a clone of musl's git repository: every release tag")
    source.add_argument("--tarball", type=Path, help="one release's source tarball, added to the existing table")
    source.add_argument(
        "--debian-source",
        metavar="VERSION",
        help="like --tarball, with the upstream tarball of Debian's musl source package VERSION (1.2.6), "
        "downloaded and SHA256-checked by muslwheel.debian",
    )
    parser.add_argument("--origin", help="with --tarball: where it came from (recorded in the output)")
    parser.add_argument("--arches", default=",".join(ARCHES), help="comma-separated wheel arch names")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "src/muslwheel/data/musl_symbols.json"
    )
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 2, 2))
    parser.add_argument(
        "--glibc-dir",
        type=Path,
        help="also record glibc's exported names that no musl release has, from the glibc libraries "
        "in this directory (e.g. /lib/x86_64-linux-gnu), with --glibc-origin saying which glibc",
    )
    parser.add_argument("--glibc-origin", help="which glibc build --glibc-dir holds")
    args = parser.parse_args()
    if args.glibc_dir is not None:
        if args.glibc_origin is None:
            parser.error("--glibc-dir needs --glibc-origin")
        return add_glibc(args.glibc_dir, args.glibc_origin, args.out)
    if args.debian_source is not None:
        from muslwheel.debian import debian_source

        src = debian_source("musl", version_prefix=args.debian_source)
        origin = (
            f"Debian source package musl {src.version} (upstream tarball, SHA256 from Debian's signed Sources index)"
        )
        return add_release(src.orig, origin, args.arches.split(","), args.out, args.jobs)
    if args.musl_git is None and args.tarball is None:
        parser.error("one of --musl-git, --tarball, --debian-source or --glibc-dir is required")
    if args.tarball is not None:
        if args.origin is None:
            parser.error("--tarball needs --origin: say where the sources came from")
        return add_release(args.tarball, args.origin, args.arches.split(","), args.out, args.jobs)

    versions = release_tags(args.musl_git)
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.arches.split(","):
            target, cc = ARCHES[arch]
            print(f"{arch}:", file=sys.stderr)
            table = table_for_arch(args.musl_git, versions, target, cc, Path(tmp), args.jobs)
            # Saved after each arch, keeping the arches not rebuilt this time.
            tables = expand(json.loads(args.out.read_text())) if args.out.exists() else {}
            tables[arch] = table
            derive(tables)
            if "x86_64" in tables:
                sources = {v: f"musl git tag v{v}" for v in versions}
                old = json.loads(args.out.read_text()) if args.out.exists() else {}
                write(args.out, tables, versions, sources, old.get("glibc_only"))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def add_release(tarball: Path, origin: str, arches: list[str], out: Path, jobs: int) -> int:
    """Build *tarball*'s release for *arches* and add it to the table in *out* as the newest
    release; if the table has that release already, compare instead (exit 1 on a difference)."""
    version = tarball_version(tarball)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    data = json.loads(out.read_text())
    versions: list[str] = data["releases"]
    sources: dict[str, str] = data.get("sources") or {v: f"musl git tag v{v}" for v in versions}
    tables = expand(data)
    verify = version in versions
    if not verify and version_key(version) < version_key(versions[-1]):
        raise SystemExit(f"{tarball}: musl {version} is older than the table's newest release {versions[-1]}")
    print(f"{tarball.name}: musl {version}, sha256 {digest}, from {origin}", file=sys.stderr)
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        for arch in arches:
            target, cc = ARCHES[arch]
            exports = build_exports(functools.partial(extract_tarball, tarball), version, target, cc, Path(tmp), jobs)
            if exports is None:
                print(f"  {arch}: no port in {version}", file=sys.stderr)
                continue
            table = tables.get(arch, {})
            if verify:
                known = {n for n, spans in table.items() if _exports(spans, version)}
                extra, missing = sorted(exports - known), sorted(known - exports)
                differences += len(extra) + len(missing)
                print(f"  {arch}: {len(exports)} symbols; not in the table: {extra}; only in the table: {missing}")
                continue
            previous = {n for n, spans in table.items() if spans[-1] == ""}
            for name in sorted(exports - previous):
                table.setdefault(name, []).extend([version, ""])
            for name in previous - exports:
                table[name][-1] = version
            tables[arch] = dict(sorted(table.items()))
            print(
                f"  {arch}: {len(exports)} symbols, new: {sorted(exports - previous)}, gone: {sorted(previous - exports)}"
            )
    if verify:
        print(f"musl {version}: {'the table matches' if not differences else f'{differences} differences'}")
        return 1 if differences else 0
    versions = [*versions, version]
    sources[version] = f"{tarball.name} (sha256 {digest}) from {origin}"
    derive(tables)
    write(out, tables, versions, sources, data.get("glibc_only"))
    print(f"wrote {out}", file=sys.stderr)
    return 0


GLIBC_LIBRARIES = (
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libanl.so.1",
)


def add_glibc(directory: Path, origin: str, out: Path) -> int:
    """Record in *out* the names glibc's libraries in *directory* export that no musl release
    exports on any arch (glibc's version-definition names such as ``GLIBC_2.17`` left out)."""
    data = json.loads(out.read_text())
    musl = {n for table in expand(data).values() for n in table}
    names: set[str] = set()
    for lib in GLIBC_LIBRARIES:
        path = directory / lib
        if path.exists():
            names |= {s.name for s in read_elf(path).symbols if s.defined}
    if not names:
        raise SystemExit(f"{directory}: no glibc libraries ({', '.join(GLIBC_LIBRARIES)})")
    only = sorted(n for n in names - musl if not re.fullmatch(r"GLIBC_[\w.]+", n))
    data["glibc_only"] = {
        "source": f"defined dynamic symbols of {', '.join(GLIBC_LIBRARIES)} from {origin}, "
        "minus every name any musl release exports",
        "names": only,
    }
    out.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")
    print(f"{len(only)} glibc-only names from {origin}", file=sys.stderr)
    return 0


def _exports(spans: list[str], version: str) -> bool:
    v = version_key(version)
    return any(
        version_key(spans[i]) <= v and (not spans[i + 1] or v < version_key(spans[i + 1]))
        for i in range(0, len(spans), 2)
    )


def derive(tables: dict[str, dict[str, list[str]]]) -> None:
    """The derived arches' tables from the arch each is like."""
    for derived, (like, floor) in DERIVED.items():
        if like in tables:
            tables[derived] = {n: _raise_floor(spans, floor) for n, spans in tables[like].items() if spans[-1] == ""}


def write(
    out: Path,
    tables: dict[str, dict[str, list[str]]],
    versions: list[str],
    sources: dict[str, str],
    glibc_only: object = None,
) -> None:
    data = compact(tables, versions, sources)
    if glibc_only is not None:
        data["glibc_only"] = glibc_only
    out.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")


def _raise_floor(spans: list[str], floor: str) -> list[str]:
    """A port that began at *floor*: the symbol is exported from max(its last start, floor)."""
    return [max(spans[-2], floor, key=version_key), ""]


def compact(tables: dict[str, dict[str, list[str]]], versions: list[str], sources: dict[str, str]) -> dict[str, object]:
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
        "source": "musl's libc.so dynamic exports, built from each release's sources (see 'sources'); "
        "generated by tools/gen_musl_symbols.py",
        "sources": sources,
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
