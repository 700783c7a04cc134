#!/usr/bin/env python3
"""Build library recipes for the arches asked, and tabulate every recipe × the eight arches.

    MUSLWHEEL_CACHE=... python bench/bench_libs.py [--arch A]... [--lib NAME]... [--musl 1.2.3] [--no-build]

For each recipe asked (``--lib``, default all of ``muslwheel lib list``) × arch asked (``--arch``,
default x86_64 and aarch64), builds it with :func:`muslwheel.libs.build_many` (its dependencies
first; each library proven under the target by its own small program, natively or under
qemu-user) unless ``--no-build``. Then writes ``bench/results/libs.txt``: every recipe × the
eight arches (:data:`TABLE_ARCHES`, and any other asked), each row built (the upstream and
Debian versions, the cold build time as the build recorded it in ``muslwheel-lib-build.json``
with the machine's load then: it is shared, and the prefix's size), refused (the recipe's one
line why), failed (the build's one line), or not built (not in the cache).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from results_file import header, write  # noqa: E402

from muslwheel.arch import get_arch  # noqa: E402
from muslwheel.errors import MuslwheelError  # noqa: E402
from muslwheel.kits.ondemand import musl_kit_for  # noqa: E402
from muslwheel.libs import all_recipes, read_prefix  # noqa: E402
from muslwheel.libs.store import BUILD_TIME, build_many, current_prefix, prefix_dir  # noqa: E402
from muslwheel.progress import LinePrinter  # noqa: E402

#: real PyPI sdists that need the recipes' libraries (``--sdist NAME``): (release, libraries,
#: environment of the build, the smoke test run in the target's CPython after the import, with
#: the wheel's dependencies installed as ``build`` does)
SDISTS: dict[str, tuple[str, str, dict[str, str], str]] = {
    "pynacl": (
        "pynacl==1.5.0",
        "libsodium",
        {"SODIUM_INSTALL": "system"},
        "import nacl.secret, nacl.utils; b = nacl.secret.SecretBox(nacl.utils.random(32)); "
        "assert b.decrypt(b.encrypt(b'musl')) == b'musl'",
    ),
    "psycopg2": (
        "psycopg2==2.9.10",
        "libpq",
        {},
        "import psycopg2, psycopg2.extensions as e; assert e.libpq_version() >= 180000, e.libpq_version()",
    ),
    "shapely": (
        "shapely==2.1.2",
        "geos",
        {},
        "import shapely; from shapely.geometry import box; "
        "assert box(0, 0, 4, 4).intersection(box(2, 2, 6, 6)).area == 4.0; print(shapely.geos_version)",
    ),
    "pycurl": (
        "pycurl==7.45.6",
        "libcurl",
        {"PYCURL_SSL_LIBRARY": "openssl"},
        "import pycurl; assert 'OpenSSL' in pycurl.version, pycurl.version",
    ),
}

#: the arches of the table: those ``lib build --arch`` names (armv6l is asked for with --arch)
TABLE_ARCHES = ("x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64", "loongarch64")


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 and out.stdout else 0


def fetch_sdist(spec: str, dest: Path) -> Path:
    """The sdist of *spec* (``name==version``) from PyPI's simple index (PEP 691 JSON), its
    SHA-256 checked, into *dest* (kept). Not ``pip download``: that builds the metadata, which
    pycurl's setup.py cannot without a curl-config."""
    import hashlib
    import urllib.request

    name, version = spec.split("==")
    dest.mkdir(parents=True, exist_ok=True)
    index = urllib.request.Request(
        f"https://pypi.org/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(index, timeout=60) as r:
        files = json.load(r)["files"]
    (sdist,) = [f for f in files if f["filename"].lower() == f"{name}-{version}.tar.gz".lower()]
    path = dest / sdist["filename"]
    if not path.is_file():
        with urllib.request.urlopen(sdist["url"], timeout=120) as r:
            data = r.read()
        if hashlib.sha256(data).hexdigest() != sdist["hashes"]["sha256"]:
            raise SystemExit(f"{sdist['filename']}: its SHA-256 is not the index's")
        path.write_bytes(data)
    return path


def build_sdist(name: str, musl: str) -> list[str]:
    """Build sdist *name* of :data:`SDISTS` for x86_64 with its libraries, repaired, imported and
    smoke-tested in the kit's CPython; its result line(s)."""
    import tempfile

    from muslwheel.audit import audit_wheel

    spec, libs, env_extra, test = SDISTS[name]
    sdist = fetch_sdist(spec, HERE / "work" / "sdists")
    out = Path(tempfile.mkdtemp(prefix=f"bench-libs-{name}-"))
    cmd = [sys.executable, "-m", "muslwheel", "build", str(sdist), "--arch", "x86_64", "--python", "3.11"]
    cmd += ["--musl", musl, "--with", libs, "--test", test, "-w", str(out), "--json"]
    env = dict(os.environ, **env_extra)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    try:
        (target,) = json.loads(proc.stdout)["targets"]
    except (ValueError, KeyError):
        return [f"{spec:18} --with {libs}: exit {proc.returncode}: {proc.stderr.strip()[-300:]}"]
    if target.get("status") != "ok":
        lines = [f"{spec:18} --with {libs}: FAILED at {target.get('stage')}: {str(target.get('error'))[:300]}"]
        for wheel in sorted(out.glob("*.whl")):  # repaired, its import failed: where does it import?
            check = [sys.executable, "-m", "muslwheel", "check", "--import", str(wheel)]
            check += ["--kit", f"x86_64-musl{musl}-py3.11", "--kit", "x86_64-musl1.2.6-py3.11"]
            done = subprocess.run(check, capture_output=True, text=True, env=env)
            said = [x.strip() for x in done.stdout.splitlines() if x.startswith(wheel.name)]  # one per kit
            lines += [f"{'':18}   check --import (exit {done.returncode}): {x}" for x in said]
        return lines
    wheel = Path(target["wheel"])
    verdict = audit_wheel(wheel)
    grafted = ", ".join(Path(g).name for g in target.get("grafted", []))
    seconds = sum(target.get("seconds", {}).values())
    how = f"imported {', '.join(target.get('imported', []))} and smoke-tested in the kit's CPython 3.11"
    return [
        f"{spec:18} --with {libs}: {wheel.name} ({seconds:.0f}s), grafted {grafted or 'nothing'}, "
        f"show: {'honest' if verdict.honest else 'DISHONEST'}, {how}"
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", action="append", default=[])
    parser.add_argument("--lib", action="append", default=[])
    parser.add_argument("--musl", default="1.2.3")
    parser.add_argument("--no-build", action="store_true", help="report what the cache holds")
    parser.add_argument("--sdist", action="append", default=[], choices=sorted(SDISTS), help="also build it (x86_64)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "libs.txt")
    args = parser.parse_args()
    sdist_lines = [line for name in args.sdist for line in build_sdist(name, args.musl)]
    arches = args.arch or ["x86_64", "aarch64"]
    names = args.lib or sorted(all_recipes())
    failed: dict[tuple[str, str], str] = {}
    if not args.no_build:
        for name in names:
            for arch in arches:
                try:
                    say = LinePrinter(f"bench libs {name} {arch}")
                    build_many([name], musl_kit_for(get_arch(arch), args.musl, progress=say), progress=say)
                except MuslwheelError as e:
                    failed[(name, arch)] = str(e)
    table_arches = [*TABLE_ARCHES, *(a for a in arches if a not in TABLE_ARCHES)]
    lines = header("Target libraries: every recipe × eight arches, built with zig and proven under the target")
    lines.append(f"at the end: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine is shared)")
    lines.append("")
    lines.append(
        f"{'library':14} {'arch':11} {'version':9} {'debian version':28} {'cold build':>10} {'load':>5} {'prefix':>9}"
    )
    total = 0.0
    counts = {"built": 0, "refused": 0, "failed": 0, "not built": 0}
    for name in sorted(all_recipes()):
        recipe = all_recipes()[name]
        for arch in table_arches:
            a = get_arch(arch)
            row = f"{name:14} {arch:11} "
            why = recipe.refusal(arch)
            path = prefix_dir(recipe, a, args.musl)
            prefix = current_prefix(recipe, a, args.musl)
            if why:
                counts["refused"] += 1
                lines.append(row + f"refused: {why}")
                continue
            if prefix is None:
                key = "failed" if (name, arch) in failed else "not built"
                counts[key] += 1
                stale = " (an older recipe's prefix is there)" if read_prefix(path) else ""
                lines.append(row + (f"FAILED: {failed[(name, arch)]}" if key == "failed" else f"not built{stale}"))
                continue
            counts["built"] += 1
            try:
                took = json.loads((path / BUILD_TIME).read_text())
                note = ""
            except (OSError, ValueError):  # built before the room kept its time beside the prefix
                took, note = {}, " (built before prefixes kept their build time: not known here)"
            seconds = float(took.get("seconds", 0.0))
            total += seconds
            size = du(path) / 1e6
            versions = f"{prefix.facts['version']!s:9} {prefix.facts['debian_version']!s:28} "
            timing = f"{seconds:9.0f}s {float(took.get('load', 0.0)):5.1f}" if took else f"{'?':>10} {'?':>5}"
            lines.append(row + versions + timing + f" {size:7.1f}MB{note}")
    lines.append("")
    lines.append(", ".join(f"{n} {k}" for k, n in counts.items()) + f" (musl {args.musl})")
    if sdist_lines:
        lines += [
            "",
            "real sdists built with `muslwheel build SDIST --arch x86_64 --python 3.11 --with LIB --test CODE`:",
        ]
        lines += sdist_lines
    lines.append("")
    lines.append(f"cold build time of the rows above with a known time, summed: {total:.0f}s")
    lines.append("(a build after a failed attempt of the same sources reuses zig's compile cache: not cold)")
    write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
