"""muslwheel build over real sdists: every target built, repaired, imported and smoke-tested.

    MUSLWHEEL_CACHE=... python bench/bench_build.py --arch all --python 3.11,3.13 [--package markupsafe …]
        [--cold] [--jobs 2] [--cpython PREFIX] [--out bench/results/build.txt]

Targets are the built kits (``muslwheel kit build``) for each arch × minor, plus any
``--cpython`` prefix. Each pinned sdist (sha256-checked, cached under
``$MUSLWHEEL_CACHE/bench-build``) is built for all targets in one ``muslwheel build`` run (the
Python API, ``--jobs`` at once); the table says per arch × package: built / imported, the tag,
the target's time. The same sdist is also built natively for this host (glibc, its own gcc, the
same PEP 517 machinery) to give each cross target's build a ratio. ``--cold`` empties zig's
cache and the build venvs first, so the first run's cost is measured too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import results_file

from muslwheel.build import BuildOptions, build
from muslwheel.build.pep517 import BuildEnv, Source, read_build_system, run_hook
from muslwheel.build.target import Target, select_targets, target_from_prefix
from muslwheel.kits import cache_dir

DEBIAN = "http://deb.debian.org/debian/pool/main"


@dataclass(frozen=True)
class Native:
    """A C library built per target by --before-build, from Debian's source tarball."""

    url: str
    sha256: str
    before_build: str  #: {tarball} is the tarball's path


LIBFFI = Native(
    f"{DEBIAN}/libf/libffi/libffi_3.4.4.orig.tar.gz",
    "d66c56ad259a82cf2a9dfc408b32bf5da52371500b84745f7fb8b645712df676",
    "tar xzf {tarball} && cd libffi-3.4.4 && ./configure -q --build=$(uname -m)-pc-linux-gnu"
    " --host=$MUSLWHEEL_HOST --prefix=$MUSLWHEEL_PREFIX --disable-static --disable-docs"
    " --disable-multi-os-directory --disable-exec-static-tramp && make -s -j1 install",
)
LIBYAML = Native(
    f"{DEBIAN}/liby/libyaml/libyaml_0.2.5.orig.tar.gz",
    "fa240dbf262be053f3898006d502d514936c818e422afdcf33921c63bed9bf2e",
    "tar xzf {tarball} && cmake -S libyaml-0.2.5 -B libyaml-build -DCMAKE_TOOLCHAIN_FILE=$CMAKE_TOOLCHAIN_FILE"
    " -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release"
    " -DCMAKE_INSTALL_PREFIX=$MUSLWHEEL_PREFIX >/dev/null && cmake --build libyaml-build >/dev/null"
    " && cmake --install libyaml-build >/dev/null",
)


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str
    test: str  #: one call, run in the target's CPython
    native: Native | None = None
    env: tuple[tuple[str, str], ...] = ()

    @property
    def sdist(self) -> str:
        return f"{self.name}-{self.version}.tar.gz"


PACKAGES = [
    Package(
        "markupsafe",
        "3.0.4",
        "2e9ad7dd851bf45fab9f75cbff4cb493fee9979e8d8c7c9c3ee119022518edd6",
        "import markupsafe, markupsafe._speedups; assert str(markupsafe.escape('<a>')) == '&lt;a&gt;'",
    ),
    Package(
        "msgpack",
        "1.2.4",
        "475c44e12f2a5de766a8448783f149c9b33f3f49b88953c6cd739a77d93c732c",
        "import msgpack, msgpack._cmsgpack; assert msgpack.unpackb(msgpack.packb([1, 'a'])) == [1, 'a']",
    ),
    Package(
        "zstandard",
        "0.25.0",
        "7713e1179d162cf5c7906da876ec2ccb9c3a9dcbdffef0cc7f70c3667a205f0b",
        "import zstandard as z; d = b'musl' * 999; assert z.ZstdDecompressor().decompress(z.ZstdCompressor().compress(d)) == d; assert z.backend == 'cext'",
    ),
    Package(
        "frozenlist",
        "1.8.0",
        "3ede829ed8d842f6cd48fc7081d7a41001a56f1f38603f9d49bf3020d59a31ad",
        "import frozenlist._frozenlist as f; x = f.FrozenList([1, 2]); x.freeze(); assert hash(x) == hash((1, 2))",
    ),
    Package(
        "kiwisolver",
        "1.5.1",
        "f1303ef2eec81262a4b708c3e858afe58d7c75ad91c1c05266eda7673369859a",
        "import kiwisolver as k; v = k.Variable('x'); s = k.Solver(); s.addConstraint(v == 3); s.updateVariables(); assert v.value() == 3",
    ),
    Package(
        "cffi",
        "2.1.1",
        "dd31f52ea1086513bb9df30f8fcee9b8918323ae067a3d5b78bc826a000712be",
        # cffi's C part alone (the cffi package needs pycparser, not part of this wheel): a call through libffi
        "import _cffi_backend as B; i = B.new_primitive_type('int'); fn = B.new_function_type((i,), i, False);"
        " assert B.load_library(None).load_function(fn, 'abs')(-3) == 3",
        native=LIBFFI,
    ),
    Package(
        "pyyaml",
        "6.0.4",
        "e24bf71af8a432d7808fabff134d38dfe16d3cbb41f2873bb4b1e42422de0a1a",
        "import yaml; assert yaml.__with_libyaml__; assert yaml.load('a: [1]', Loader=yaml.CLoader) == {'a': [1]}",
        native=LIBYAML,
        env=(("PYYAML_FORCE_LIBYAML", "1"),),
    ),
]


def sdist_url(pkg: Package) -> str:
    """The sdist's URL from PyPI's JSON API (the file named by the pinned version)."""
    api = f"https://pypi.org/pypi/{pkg.name}/json"
    with urllib.request.urlopen(api, timeout=60) as r:
        data = json.load(r)
    for f in data["releases"].get(pkg.version, []):
        if f["packagetype"] == "sdist" and f["digests"]["sha256"] == pkg.sha256:
            return str(urllib.parse.urljoin(api, f["url"]))
    raise SystemExit(f"{pkg.name} {pkg.version}: no sdist with the pinned sha256 on PyPI")


def fetch(url: str, sha256: str, dest: Path) -> Path:
    if dest.exists() and hashlib.sha256(dest.read_bytes()).hexdigest() == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=120) as r:
        data = r.read()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SystemExit(f"{url}: sha256 mismatch")
    dest.write_bytes(data)
    return dest


def native_build_seconds(sdist: Path, pkg: Package, rounds: int) -> float:
    """The PEP 517 build_wheel of *sdist* for this host with its own compiler (best of rounds)."""
    best = float("inf")
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(dir=cache_dir() / "build" / "work") as tmp:
            project = Source(sdist).copy_to(Path(tmp) / "src")
            system = read_build_system(project)
            log = Path(tmp) / "native.log"
            env = BuildEnv(Path(sys.executable), system.requires, log)
            environ = {**os.environ, **dict(pkg.env)}
            extra = run_hook(env, system, project, "get_requires_for_build_wheel", [{}], environ, log)
            if extra:
                env.install([str(r) for r in extra])  # type: ignore[union-attr]
            dist = Path(tmp) / "dist"
            dist.mkdir()
            start = time.monotonic()
            run_hook(env, system, project, "build_wheel", [str(dist), {}, None], environ, log)
            best = min(best, time.monotonic() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="all", help="kits' arches, comma-separated; all; or '' for none")
    ap.add_argument("--python", default="3.11")
    ap.add_argument("--package", action="append", default=[])
    ap.add_argument("--cpython", action="append", default=[], help="also this musl CPython prefix as a target")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cold", action="store_true", help="empty zig's cache and the build venvs first")
    ap.add_argument("--native-rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "build.txt")
    args = ap.parse_args()

    from muslwheel.arch import ARCHES

    arches = list(ARCHES) if args.arch == "all" else [a for a in args.arch.split(",") if a]
    targets: list[Target] = [target_from_prefix(Path(p)) for p in args.cpython]
    if arches and args.python:
        targets += select_targets(arches, args.python.split(","), None)
    packages = [p for p in PACKAGES if not args.package or p.name in args.package]
    store = cache_dir() / "bench-build"
    if args.cold:
        shutil.rmtree(cache_dir() / "zig", ignore_errors=True)
        shutil.rmtree(cache_dir() / "build" / "envs", ignore_errors=True)
    (cache_dir() / "build" / "work").mkdir(parents=True, exist_ok=True)

    lines = results_file.header(
        "muslwheel build over real sdists" + (" (cold: zig cache and venvs empty)" if args.cold else "")
    )
    lines.append(f"targets ({len(targets)}): {', '.join(t.name for t in targets)}; {args.jobs} at once")
    rows: list[str] = []
    totals: list[str] = []
    ok_all = True
    for pkg in packages:
        sdist = store / "sdists" / pkg.sdist
        if not sdist.exists():
            fetch(sdist_url(pkg), pkg.sha256, sdist)
        before = None
        if pkg.native is not None:
            tarball = fetch(pkg.native.url, pkg.native.sha256, store / "src" / pkg.native.url.rsplit("/", 1)[1])
            before = pkg.native.before_build.format(tarball=tarball)
        out = Path(tempfile.mkdtemp(prefix=f"{pkg.name}-", dir=cache_dir() / "build" / "work"))
        saved = {k: os.environ.get(k) for k, _ in pkg.env}
        os.environ.update(dict(pkg.env))
        try:
            summary = build(
                BuildOptions(sdist, out, targets, jobs=args.jobs, before_build=before, test_command=pkg.test),
                lambda r, m, name=pkg.name: print(f"{name} {r.target.name}: {m}", file=sys.stderr, flush=True),
            )
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        native = native_build_seconds(sdist, pkg, args.native_rounds)
        for r in summary.results:
            ok_all &= r.ok
            build_s = r.seconds.get("build", 0.0)
            total = sum(r.seconds.values())
            state = "built+imported" if r.ok and r.imported else ("built" if r.wheel else f"FAILED at {r.stage}")
            why = "" if r.ok else f"  ({r.error})"
            rows.append(
                f"| {r.target.arch.name} | {r.target.python} | {pkg.name} {pkg.version} | {state} | {r.tag or '-'} "
                f"| {build_s:.1f} | {build_s / native:.2f} | {total:.1f} |{why}"
            )
        totals.append(
            f"{pkg.name} {pkg.version}: {sum(r.ok for r in summary.results)}/{len(summary.results)} targets ok, "
            f"all together {summary.seconds:.1f} s wall; native build {native:.2f} s (best of {args.native_rounds})"
        )
        shutil.rmtree(out, ignore_errors=True)
    lines += ["", *totals, ""]
    lines.append(
        "| arch | python | package | result | wheel tag | build s | build / native | target total s (prepare+before-build+build+repair+check+import) |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    lines += rows
    results_file.write(lines, args.out)
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
