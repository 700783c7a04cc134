"""muslwheel build over a real Rust sdist that vendors its crates: every target built offline,
repaired, honest by ``show``, imported and smoke-tested in the kit's CPython.

    MUSLWHEEL_CACHE=... python bench/bench_rust.py --arch all --python 3.11,3.13 [--jobs 2]
        [--runs 2] [--cold-rust] [--no-native] [--out bench/results/rust.txt]

The sdist is orjson 3.13.0 (pinned by SHA256, downloaded once into the download cache): its
``.cargo/config.toml`` replaces crates-io with ``include/cargo``, so cargo needs no network.
maturin comes from the world's ``rust-wheels`` (``PIP_NO_INDEX``). Targets are the kits for each
arch × minor (a pair without a kit is listed as missing). Run 1 is cold for whatever the Rust
caches lack (the ``std`` column says whether this run built the target's std); with
``--cold-rust`` for all of it (an empty Rust cache for run 1: Debian's toolchain unpacked from
the download cache, every target's std built). Every run compiles the crates from nothing (each
target has its own cargo target dir); run 2 (``--runs 2``) is warm, and ``same bytes`` says
whether its wheel is byte-identical to run 1's. ``native`` is the same PEP 517 build for this
host (x86_64 glibc, the same toolchain, no cross environment): the cost rule's reference.
loongarch64's import runs under the qemu :mod:`muslwheel.qemu` picks (the ``runner:`` line).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import results_file

from muslwheel.arch import ARCHES
from muslwheel.audit import audit_wheel
from muslwheel.builder import BuildOptions, build
from muslwheel.builder.run import TargetResult
from muslwheel.builder.target import Target, select_targets
from muslwheel.cache import cache_dir, downloads_dir
from muslwheel.errors import MuslwheelError
from muslwheel.qemu import runner

SDIST = (
    "orjson-3.13.0.tar.gz",
    "https://files.pythonhosted.org/packages/f2/72/380b97dc45bd162d23afe5194721ef678d9eac7cfaa549fe2873f7f0a518/"
    "orjson-3.13.0.tar.gz",
    "d1de5eb04485110c5da4c657e49168995d55e076b1ce60f1a042e254f4186c4f",
)
#: one call into the Rust code: a round trip through orjson's serializer and parser
SMOKE = (
    "import orjson, datetime; v = {'a': [1, 2.5, None, 'é'], 'd': datetime.date(2026, 12, 6)}; "
    'b = orjson.dumps(v); assert b == b\'{"a":[1,2.5,null,"\\xc3\\xa9"],"d":"2026-12-06"}\', b; '
    "assert orjson.loads(b)['a'] == [1, 2.5, None, 'é']; print('orjson ok')"
)


def fetch_sdist() -> Path:
    name, url, sha = SDIST
    dest = downloads_dir() / "files" / name
    if not dest.is_file() or hashlib.sha256(dest.read_bytes()).hexdigest() != sha:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=120) as r:
            data = r.read()
        got = hashlib.sha256(data).hexdigest()
        if got != sha:
            raise SystemExit(f"{name}: SHA256 {got}, expected {sha}")
        dest.write_bytes(data)
    return dest


@contextlib.contextmanager
def cold_rust_cache(cold: bool) -> Iterator[None]:
    """With *cold*: builder.rust's cache (Debian's toolchain, the std sysroots, CARGO_HOME) is an
    empty directory for the duration (removed after), so the run pays all of it; the shared
    cache is never touched."""
    if not cold:
        yield
        return
    from muslwheel.builder import rust

    real = rust.rust_cache
    tmp = Path(tempfile.mkdtemp(prefix="cold-rust-", dir=cache_dir()))
    rust.rust_cache = lambda: tmp  # type: ignore[assignment]
    try:
        yield
    finally:
        rust.rust_cache = real  # type: ignore[assignment]
        shutil.rmtree(tmp, ignore_errors=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def differing_members(a: Path, b: Path) -> list[str]:
    """The members whose bytes differ between two wheels (or that only one has)."""
    import zipfile

    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        na, nb = set(za.namelist()), set(zb.namelist())
        out = sorted(n for n in na & nb if za.read(n) != zb.read(n))
        out += sorted(f"{n} (only in one)" for n in na ^ nb)
    if not out:
        out.append("zip metadata only")
    return out


def std_sysroots() -> set[Path]:
    """The Rust std sysroots the cache holds (``<cache>/rust/std/<toolchain>/<triple>``)."""
    return {p.parent for p in (cache_dir() / "rust" / "std").glob("*/*/.complete")}


def std_built(result: TargetResult, before: set[Path]) -> str:
    """Whether this run built the target's std (a sysroot for its triple that was not there)."""
    triple = result.target.arch.rust_target
    return "built" if any(p.name == triple for p in std_sysroots() - before) else "cached"


def native_seconds(sdist: Path, env: dict[str, str]) -> float | None:
    """maturin's build_wheel for this host (glibc), the same Rust toolchain, no cross environment."""
    from muslwheel.builder.rust import rust_setup

    rustc = rust_setup(ARCHES["x86_64"]).rustc
    with tempfile.TemporaryDirectory(prefix="native-", dir=cache_dir() / "build" / "work") as tmp:
        subprocess.run(["tar", "xzf", str(sdist), "-C", tmp], check=True)
        project = next(Path(tmp).iterdir())
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "maturin==1.16.0"]
        subprocess.run(pip, check=True, env=env)
        run_env = {
            **env,
            "PATH": f"{rustc.cargo.parent}{os.pathsep}{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "RUSTC": str(rustc.rustc),
            "CARGO": str(rustc.cargo),
            "CARGO_HOME": str(cache_dir() / "rust" / "cargo-home"),
            "CARGO_TARGET_DIR": str(Path(tmp) / "target"),
            "MATURIN_NO_INSTALL_RUST": "1",
        }
        start = time.monotonic()
        proc = subprocess.run(
            [str(venv / "bin" / "maturin"), "build", "--release", "-o", str(Path(tmp) / "dist")],
            cwd=project,
            env=run_env,
            capture_output=True,
            text=True,
        )
        took = time.monotonic() - start
        return took if proc.returncode == 0 else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="all")
    ap.add_argument("--python", default="3.11")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-native", action="store_true")
    ap.add_argument(
        "--cold-rust",
        action="store_true",
        help="run 1 with an empty Rust cache (Debian's toolchain unpacked, every std built, inside its times)",
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "rust.txt")
    args = ap.parse_args()
    arches = list(ARCHES) if args.arch == "all" else args.arch.split(",")
    pythons = args.python.split(",")
    world = cache_dir() / "world"
    env = {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"{world / 'rust-wheels'} {world / 'build-wheels'}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    os.environ.update(env)
    sdist = fetch_sdist()
    targets: list[Target] = []
    missing: list[str] = []
    for arch in arches:
        for py in pythons:
            try:
                targets += select_targets([arch], [py], None)
            except MuslwheelError:
                missing.append(f"{arch} py{py}")
    lines = results_file.header(f"muslwheel build, Rust: {SDIST[0]} (vendored crates, offline)")
    lines += [f"sdist: {SDIST[0]} sha256 {SDIST[2]}; smoke test: orjson.dumps/loads round trip in the kit's CPython"]
    for arch in {t.arch.name: t.arch for t in targets}.values():
        if arch.qemu_minimum is not None:  # say which qemu ran it, and why (muslwheel.qemu)
            chosen = runner(arch)
            said = chosen.how if chosen is not None and chosen.how else f"{arch.name}: {chosen}"
            lines.append(f"runner: {said}")
    runs: list[dict[str, TargetResult]] = []
    digests: list[dict[str, str]] = []
    walls: list[float] = []
    std_before = std_sysroots()
    for run in range(args.runs):
        out = Path(tempfile.mkdtemp(prefix="bench-rust-"))
        start = time.monotonic()
        with cold_rust_cache(args.cold_rust and run == 0):
            summary = build(BuildOptions(sdist, out, targets, jobs=args.jobs, test_command=SMOKE))
        walls.append(time.monotonic() - start)
        runs.append({r.target.name: r for r in summary.results})
        digests.append({r.target.name: sha256(r.wheel) for r in summary.results if r.wheel is not None})
        if run == 0:
            results = summary.results
    head = f"{'target':29} {'status':7} {'tag':38} {'honest':6} {'import+smoke':12} {'std':6} {'build s':>8}"
    if args.runs > 1:
        head += f" {'warm s':>7} {'same bytes':10}"
    lines += ["", head]
    ok = 0
    for r in results:
        honest = "-"
        if r.wheel is not None:
            honest = "yes" if audit_wheel(r.wheel).honest else "NO"
        row = (
            f"{r.target.name:29} {r.status:7} {(r.tag or '-'):38} {honest:6} "
            f"{('yes' if r.ok and r.imported else 'no'):12} {('cold' if args.cold_rust else std_built(r, std_before)):6} {r.seconds.get('build', 0):8.1f}"
        )
        if args.runs > 1:
            warm = runs[-1][r.target.name]
            first, last = digests[0].get(r.target.name), digests[-1].get(r.target.name)
            same = "-" if first is None or last is None else "yes" if first == last else "NO"
            row += f" {warm.seconds.get('build', 0):7.1f} {same:10}"
            if same == "NO" and r.wheel is not None and warm.wheel is not None:
                lines.append(row)
                row = f"    differs: {', '.join(differing_members(r.wheel, warm.wheel))}"
        lines.append(row)
        if not r.ok:
            lines.append(f"    {r.stage}: {r.error}")
        ok += r.ok and honest == "yes" and bool(r.imported)
    lines.append("")
    lines.append(f"{ok} of {len(results)} targets built, repaired, honest, imported and smoke-tested")
    if args.runs > 1:
        same_all = sum(1 for n, d in digests[0].items() if digests[-1].get(n) == d)
        lines.append(
            f"same bytes twice: {same_all} of {len(results)} wheels byte-identical between run 1 and run {args.runs}"
        )
    lines.append("wall: " + ", ".join(f"run {i + 1} {w:.1f} s" for i, w in enumerate(walls)) + f" (-j {args.jobs})")
    if missing:
        lines.append(f"no kit: {', '.join(missing)}")
    for t in targets:  # each kit's own cold build time, as its build recorded it (kit.json)
        kit_json = t.root.parent / "kit.json" if t.kit is not None and t.root is not None else None
        meta = json.loads(kit_json.read_text()) if kit_json is not None and kit_json.is_file() else {}
        if "cpython_build_seconds" in meta:
            lines.append(
                f"kit {t.name}: CPython {meta['cpython_version']} built in {meta['cpython_build_seconds']:.0f} s"
                f" at load {meta['cpython_build_load']:.1f} (-j 2, recorded by its build)"
            )
    if not args.no_native:
        native = native_seconds(sdist, {**os.environ})
        if native is not None:
            lines.append(f"native x86_64 glibc build_wheel (maturin build --release, same toolchain): {native:.1f} s")
            for label, run_results in (("cold", runs[0]), ("warm", runs[-1]))[: args.runs]:
                lines.append(
                    f"cost per target ({label} build / native): "
                    + ", ".join(
                        f"{name.replace('-musl', ' ').split(' ')[0]}/{r.target.python} "
                        f"{r.seconds.get('build', 0) / native:.2f}"
                        for name, r in run_results.items()
                        if r.ok
                    )
                )
    results_file.write(lines, args.out)
    for run_out in runs:
        for r in run_out.values():
            if r.wheel is not None:
                shutil.rmtree(r.wheel.parent, ignore_errors=True)
                break
    print(json.dumps({"ok": ok, "targets": len(results)}), file=sys.stderr)
    return 0 if ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
