#!/usr/bin/env python3
"""Real musllinux wheels proven in a bare kit and in an Alpine-like kit of the same arch and musl.

    export MUSLWHEEL_CACHE=...   # kits: {arch}-musl{musl}-py3.11 and {arch}-musl{musl}-py3.11-bare
    python bench/bench_kits_system.py [--arch x86_64 [--arch aarch64 ...]] [--musl 1.2.6] \\
        [--wheels DIR] [--out bench/results/kits_system.txt]

A bare kit (``kit build --bare``: what every kit was before kits carried Alpine's base) has no
``libz.so.1`` in its root and a CPython without ``_ssl``, ``_hashlib``' OpenSSL digests,
``_sqlite3``, ``_lzma`` or ``_bz2``; an Alpine-like kit (the default) has zlib, OpenSSL 3,
libffi, bzip2, xz, sqlite3 and expat in its ``usr/lib`` and a CPython linked against them.

For each package of :data:`PACKAGES` the newest cp311 musllinux wheel for the arch is fetched
(``pip download --no-deps`` with ``muslwheel tags --target ARCH:MUSL --python 3.11 --pip-args``,
into --wheels, a cache outside the repository, reused; a package with no such wheel on PyPI is
named as such), then proven by
``muslwheel check --import --json --kit KIT WHEEL`` in each kit, its dependencies installed by
the proof from PyPI as pip would choose them for the kit. Writes, per wheel and kit, the proof's
class, the count of modules per result and the first reasons a module was not proven, and the
totals before (bare) and after (Alpine-like) per arch and in all, with the command, to --out.
Each arch's section starts with what its two kits cost: the cold build time their builds
recorded (CPython's tree, and each system library's, with the machine's load average then: it is
shared) and their size on disk. An arch whose kits are not both built is named as such
(``kit build --arch A --musl M --python 3.11 [--bare]``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_file import header, write  # noqa: E402

from muslwheel.arch import get_arch  # noqa: E402
from muslwheel.kits import Kit, kit_name, list_kits  # noqa: E402
from muslwheel.versions import MuslVersion  # noqa: E402

MUSLWHEEL = [sys.executable, "-m", "muslwheel"]
PYTHON = "3.11"
#: what issue #31 names (Pillow, h5py, aiohttp, pandas with numpy, grpcio) and more that load
#: libz or ``ssl`` at import time (uvloop's loop, gevent's ssl modules)
PACKAGES = ["pillow", "h5py", "aiohttp", "pandas", "grpcio", "pyproj", "uvloop", "gevent", "lxml", "psycopg2-binary"]


def du(path: Path) -> int:
    """Bytes under *path*, each hard-linked file once."""
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 else 0


def cost(kit: Kit) -> list[str]:
    """What *kit* cost cold, as its build recorded it (its CPython tree; each system library's
    prefix, built by the libs room), and its size on disk."""
    from muslwheel.libs import get_recipe
    from muslwheel.libs.store import BUILD_TIME, prefix_dir

    meta = json.loads((kit.directory / "kit.json").read_text())
    total = float(meta.get("cpython_build_seconds", 0))
    parts = [f"CPython {meta.get('cpython_version')} {total:.0f}s at load {meta.get('cpython_build_load', 0):.1f}"]
    if meta.get("adopted_from"):
        parts[0] += f" (the tree of {meta['adopted_from']}, built before kits had system libraries)"
    libs = sorted({lib["name"] for lib in meta.get("system_libraries", [])})
    for name in libs:
        built = (
            prefix_dir(get_recipe(name), get_arch(kit.arch), MuslVersion.parse(str(meta["built_against_musl"])))
            / BUILD_TIME
        )
        try:
            record = json.loads(built.read_text())
        except (OSError, ValueError):
            parts.append(f"{name} (no build time recorded)")
            continue
        total += float(record["seconds"])
        parts.append(f"{name} {record['seconds']:.0f}s at load {record['load']:.1f}")
    usr_lib = sum(du(kit.root / "usr" / "lib" / lib["soname"]) for lib in meta.get("system_libraries", []))
    return [
        f"  {kit.name}: cold {total:.0f}s in all (against musl {meta['built_against_musl']}): {'; '.join(parts)}",
        f"  {kit.name}: {du(kit.directory) / 1e6:.1f} MB on disk"
        + (f", of which its system libraries {usr_lib / 1e6:.1f} MB" if libs else ""),
    ]


def fetch(dest: Path, arch: str, musl: str) -> tuple[list[Path], list[str]]:
    """The newest cp311 musllinux wheel of each of :data:`PACKAGES` for *arch*, and what the
    results say of the others: a package with none on PyPI, or one whose newest release pip
    would install as a pure-Python wheel on *arch* (its musllinux wheel is then the newest
    release that has one, found in PyPI's JSON)."""
    dest = dest / f"{arch}-musl{musl}"
    dest.mkdir(parents=True, exist_ok=True)
    args = subprocess.run(
        [*MUSLWHEEL, "tags", "--target", f"{arch}:{musl}", "--python", PYTHON, "--pip-args"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out, notes = [], []

    def have(stem: str) -> list[Path]:
        return sorted(p for p in dest.glob("*.whl") if p.name.lower().startswith(stem) and "musllinux" in p.name)

    def download(requirement: str) -> list[Path]:
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), *args, requirement]
        subprocess.run(pip, capture_output=True)
        return sorted(dest.glob("*.whl"))

    for name in PACKAGES:
        stem = name.replace("-", "_").lower() + "-"
        if not have(stem):
            download(name)
        pure = sorted(
            p.name for p in dest.glob("*.whl") if p.name.lower().startswith(stem) and "musllinux" not in p.name
        )
        if pure:  # pip's choice on this arch (kept in --wheels, so a second run says the same)
            version = newest_musllinux(name, arch) if not have(stem) else have(stem)[-1].name.split("-")[1]
            notes.append(
                f"{name}: pip would install {pure[-1]} (pure Python) on {arch}; "
                + (f"its newest musllinux wheel is {name} {version}'s" if version else "it has no musllinux wheel")
            )
            if version and not have(stem):
                download(f"{name}=={version}")
        if not have(stem):
            notes.append(f"{name}: no cp311 musllinux wheel for {arch} on PyPI (not proven here)")
        out.extend(have(stem)[-1:])
    return out, notes


def newest_musllinux(name: str, arch: str) -> str | None:
    """The newest release of *name* with a cp311 (or abi3) musllinux wheel for *arch* (PyPI's JSON)."""
    import urllib.request

    from packaging.version import InvalidVersion, Version

    with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=60) as f:
        releases = json.load(f)["releases"]
    found = []
    for version, files in releases.items():
        names = [f["filename"] for f in files]
        if any("musllinux" in n and n.endswith(f"_{arch}.whl") and ("-cp311-" in n or "-abi3-" in n) for n in names):
            try:
                found.append(Version(version))
            except InvalidVersion:
                continue
    return str(max(found)) if found else None


def prove(kit: str, wheel: Path) -> tuple[str, dict[str, int], list[str], float]:
    start = time.monotonic()
    proc = subprocess.run(
        [*MUSLWHEEL, "check", "--import", "--json", "--kit", kit, str(wheel)], capture_output=True, text=True
    )
    took = time.monotonic() - start
    try:
        (report,) = json.loads(proc.stdout)
    except ValueError:
        return "error", {}, [(proc.stderr.strip().splitlines() or ["no output"])[-1]], took
    counts: dict[str, int] = {}
    reasons: list[str] = []
    for m in report["modules"]:
        counts[m["result"]] = counts.get(m["result"], 0) + 1
        if m["result"] != "imported" and len(reasons) < 2:
            reasons.append(f"{m['module']}: {m['result']}: {' '.join(m['detail'].split())[:140]}")
    reasons += [f"not proven: {line}" for line in report.get("missing_dependencies", [])][:2]
    return str(report["class"]), counts, reasons, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", help="an arch (again for more; default x86_64)")
    parser.add_argument("--musl", default="1.2.6")
    parser.add_argument("--wheels", type=Path, default=Path.home() / ".cache" / "muslwheel-bench" / "system-wheels")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "kits_system.txt")
    args = parser.parse_args()
    built = {k.name: k for k in list_kits()}
    lines = header("check --import of real wheels: a bare kit (before) and an Alpine-like kit (after)")
    totals = {"before": 0, "after": 0, "wheels": 0}
    per_arch = []
    for arch in [a for given in args.arch or ["x86_64"] for a in given.split(",")]:
        bare = kit_name(arch, MuslVersion.parse(args.musl), PYTHON, True)
        alpine = kit_name(arch, MuslVersion.parse(args.musl), PYTHON, False)
        missing = [k for k in (bare, alpine) if k not in built]
        if missing:
            lines += [f"{arch}: not run: kit(s) {', '.join(missing)} not built", ""]
            continue
        kit = built[alpine]
        libs = ", ".join(f"{s.soname} ({s.name} {s.version})" for s in kit.system_libraries)
        lines += [f"## {arch}, musl {args.musl}", f"Alpine-like kit {alpine}: {libs}", ""]
        lines += ["kits' cold build time (as their builds recorded it) and size:"]
        lines += [*cost(built[bare]), *cost(kit), ""]
        wheels, notes = fetch(args.wheels, arch, args.musl)
        if notes:
            lines += [*notes, ""]
        mine = {"before": 0, "after": 0, "wheels": 0}
        left: dict[str, list[str]] = {"before": [], "after": []}  # the wheels not fully imported
        for wheel in wheels:
            mine["wheels"] += 1
            totals["wheels"] += 1
            lines.append(wheel.name)
            for when, name in (("before", bare), ("after", alpine)):
                cls, counts, reasons, took = prove(name, wheel)
                totals[when] += cls == "imported"
                mine[when] += cls == "imported"
                if cls != "imported":
                    left[when].append(f"{wheel.name.split('-')[0]} ({cls})")
                summary = ", ".join(f"{n} {r}" for r, n in sorted(counts.items())) or "no modules"
                lines.append(f"  {when:6} {name}: {cls} ({summary}) in {took:.0f}s")
                lines += [f"         {r}" for r in reasons]
            lines.append("")
        per_arch.append(
            f"{arch}: {mine['wheels']} wheels; every module imported (class 'imported') in the bare kit: "
            f"{mine['before']}, in the Alpine-like kit: {mine['after']}"
        )
        per_arch += [f"  not fully imported, {w}: {', '.join(left[w]) or 'none'}" for w in ("before", "after")]
    lines += [
        *per_arch,
        f"totals: {totals['wheels']} wheels; every module imported (class 'imported') in the bare kit: "
        f"{totals['before']}, in the Alpine-like kit: {totals['after']}",
    ]
    write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
