"""muslwheel build over real sdists: every target built, repaired, imported and smoke-tested.

    MUSLWHEEL_CACHE=... python bench/bench_build.py --arch all --python 3.11,3.13 [--package markupsafe …]
        [--cold] [--runs 2] [--jobs 2] [--cpython PREFIX] [--out bench/results/build.txt]

Targets are the built kits (``muslwheel kit build``) for each arch × minor (a pair without a
kit is listed as missing, the others still run), plus any ``--cpython`` prefix. Each pinned
sdist (sha256-checked, cached under ``$MUSLWHEEL_CACHE/bench-build``) is built for all targets
in one ``muslwheel build`` run (the Python API, ``--jobs`` at once); the table says per arch ×
package: built / imported and smoke-tested, the tag, honest by ``show``, the target's times.

The cost rule compares like with like: a target's "build" is the PEP 517 part of
``muslwheel build`` (``get_requires_for_build_wheel`` then ``build_wheel``, each a fresh
process of the target minor's host Python in the prepared build venv, zig as the compiler);
"native" is exactly that for this host (glibc, the same host Python, its own gcc, its own
flags), through the same functions, best of ``--native-rounds``. Neither side includes the
source copy, ``--before-build``, repair or the import, and both compile every file (each
build has a fresh work directory, so zig's object cache cannot answer for a compile).

``--cold`` empties zig's cache and the build venvs first, so the first run's cost is measured;
``--runs 2`` builds everything again (warm) and compares the wheels byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import buildfixture
import results_file

from muslwheel.builder import BuildOptions, build
from muslwheel.builder.pep517 import BuildEnv, ProjectSource, read_build_system, run_hook
from muslwheel.builder.run import TargetResult
from muslwheel.builder.target import Target, select_targets, target_from_prefix
from muslwheel.cache import cache_dir
from muslwheel.errors import MuslwheelError
from muslwheel.hostpython import find_build_python

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
    # lld (zig's linker) refuses a version script naming symbols an arch does not define (the
    # java raw API on i386, long double on armv7l) unless told --undefined-version; zig fails
    # libffi's `cc -Werror -S` visibility probe, and i386's sysv.S needs hidden visibility
    "tar xzf {tarball} && cd libffi-3.4.4 && ./configure -q --build=$(uname -m)-pc-linux-gnu"
    " --host=$MUSLWHEEL_HOST --prefix=$MUSLWHEEL_PREFIX --disable-static --disable-docs"
    " --disable-multi-os-directory --disable-exec-static-tramp libffi_cv_hidden_visibility_attribute=yes"
    ' LDFLAGS="$LDFLAGS -Wl,--undefined-version" && make -s -j1 install',
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
    before_build: str | None = None  #: a command of its own (the fixture's vendored library)
    local: bool = False  #: not on PyPI: the test suite's fixture, packed into an sdist here

    @property
    def sdist(self) -> str:
        return f"{self.name}-{self.version}.tar.gz"


PACKAGES = [
    # the test suite's fixture (a C extension + a vendored library built by --before-build): the
    # suite builds it for x86_64, i686, aarch64 and armv7l; here it goes to every arch
    Package("fixture", "1.0", "", buildfixture.TEST, before_build=buildfixture.BEFORE_BUILD, local=True),
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


def pack_fixture(sdist: Path) -> None:
    """The test suite's fixture project as an sdist (written afresh each run)."""
    with tempfile.TemporaryDirectory() as tmp:
        project = buildfixture.write_fixture(Path(tmp), "fixture-1.0")
        sdist.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist, "w:gz") as tar:
            tar.add(project, arcname=project.name)


def native_build_seconds(sdist: Path, pkg: Package, python: Path, rounds: int) -> tuple[float, float]:
    """get_requires_for_build_wheel + build_wheel of *sdist* for this host with its own
    compiler, in the cached build venv of *python* (best of *rounds*): what a cross target's
    "build" stage does, minus the cross environment. (wall s, CPU s of the processes it ran)"""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(dir=cache_dir() / "build" / "work") as tmp:
            project = ProjectSource(sdist).copy_to(Path(tmp) / "src")
            system = read_build_system(project)
            log = Path(tmp) / "native.log"
            env = BuildEnv(python, system.requires, log)
            environ = {**os.environ, **dict(pkg.env)}
            dist = Path(tmp) / "dist"
            dist.mkdir()
            start, cpu = time.monotonic(), children_cpu()
            extra = run_hook(env, system, project, "get_requires_for_build_wheel", [{}], environ, log)
            if extra:
                pause, pause_cpu = time.monotonic(), children_cpu()
                env.install([str(r) for r in extra])  # type: ignore[union-attr]
                start += time.monotonic() - pause  # installing is the prepared venv's cost, not the build's
                cpu += children_cpu() - pause_cpu
            run_hook(env, system, project, "build_wheel", [str(dist), {}, None], environ, log)
            best = min(best, time.monotonic() - start)
            best_cpu = min(best_cpu, children_cpu() - cpu)
    return best, best_cpu


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class StageCPU:
    """Progress callback that charges children's CPU to each target's stages. Exact only
    with --jobs 1 (children's CPU is per process, not per thread)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last: dict[str, tuple[str, float]] = {}
        self.cpu: dict[tuple[str, str], float] = {}

    def __call__(self, r: TargetResult, message: str) -> None:
        print(f"{self.name} {r.target.name}: {message}", file=sys.stderr, flush=True)
        now = children_cpu()
        previous = self.last.get(r.target.name)
        if previous is not None:
            self.cpu[(r.target.name, previous[0])] = now - previous[1]
        self.last[r.target.name] = (message.split(":")[0], now)


def native_round(
    sdist: Path,
    pkg: Package,
    python: str,
    natives: dict[str, float | None],
    native_cpus: dict[str, float],
    totals: list[str],
) -> None:
    """One native build, folded into the best so far in *natives*; a failure stops nothing."""
    if pkg.local or natives.get(python, 0.0) is None:  # the fixture's library exists only per target
        natives[python] = None
        return
    try:
        seconds, cpu = native_build_seconds(sdist, pkg, find_build_python(python), 1)
    except Exception as e:  # the native build is the yardstick; its failure stops nothing
        natives[python] = None
        totals.append(f"{pkg.name} {pkg.version}: native build with Python {python} failed ({e})")
        return
    natives[python] = min(seconds, natives.get(python) or float("inf"))
    native_cpus[python] = min(cpu, native_cpus.get(python, float("inf")))


def compiler_calls(target: Target, sdist: Path, calls: int, *, with_gcc: bool) -> list[str]:
    """What one compiler call costs: markupsafe's ``_speedups.c`` compiled (each call with a
    define of its own, so zig's cache cannot answer) and linked, with the target's zig wrapper
    at the target CPython's flags and with this host's gcc at its Python's flags; and an empty
    file, the fixed cost. Median wall seconds of *calls* each."""
    import statistics
    import subprocess
    import sysconfig

    from muslwheel.builder.toolchain import make_toolchain, read_build_time_vars

    with tempfile.TemporaryDirectory(dir=cache_dir() / "build" / "work") as tmp:
        work = Path(tmp)
        tc = make_toolchain(target, work / "tc")
        project = ProjectSource(sdist).copy_to(work / "src")
        source = project / "src" / "markupsafe" / "_speedups.c"
        (work / "empty.c").write_text("int empty;\n")
        target_flags = str(read_build_time_vars(target.sysconfigdata).get("CFLAGS", "")).split()
        host_flags = str(sysconfigdata_cflags()).split()
        host_include = sysconfig.get_paths()["include"]
        compilers = {
            f"zig ({target.name})": ([str(tc.cc), *target_flags, "-fPIC", f"-I{target.include_dir}"], [str(tc.cc)]),
            "gcc (host)": (["gcc", *host_flags, "-fPIC", f"-I{host_include}"], ["gcc"]),
        }
        if not with_gcc:
            del compilers["gcc (host)"]
        out = []
        for name, (compile_cmd, link_cmd) in compilers.items():
            times: dict[str, list[float]] = {"compile _speedups.c": [], "link -shared": [], "compile an empty file": []}
            for i in range(calls):
                tag = f"-DMUSLWHEEL_BENCH_{os.getpid()}_{i}_{time.monotonic_ns()}"
                for what, cmd in (
                    ("compile _speedups.c", [*compile_cmd, tag, "-c", str(source), "-o", str(work / "s.o")]),
                    ("link -shared", [*link_cmd, "-shared", str(work / "s.o"), "-o", str(work / f"s{i}.so")]),
                    (
                        "compile an empty file",
                        [*compile_cmd, tag, "-c", str(work / "empty.c"), "-o", str(work / "e.o")],
                    ),
                ):
                    start = time.monotonic()
                    subprocess.run(cmd, check=True, cwd=work, stdout=subprocess.DEVNULL)
                    times[what].append(time.monotonic() - start)
            out.append(f"{name}: " + ", ".join(f"{what} {statistics.median(v):.3f} s" for what, v in times.items()))
        return out


def sysconfigdata_cflags() -> str:
    import sysconfig

    return str(sysconfig.get_config_var("CFLAGS") or "")


def pick_targets(arches: list[str], pythons: list[str]) -> tuple[list[Target], list[str]]:
    """The oldest-musl kit of each arch × minor; the pairs without one."""
    targets: list[Target] = []
    missing: list[str] = []
    for arch in arches:
        for python in pythons:
            try:
                targets += select_targets([arch], [python], None)
            except MuslwheelError:
                missing.append(f"{arch} py{python}")
    return targets, missing


@dataclass
class Row:
    target: Target
    package: Package
    state: str
    tag: str
    honest: str
    build_s: float
    total_s: float
    same_bytes: str
    why: str
    native: float | None = None
    build_cpu: float | None = None  #: CPU s of the build stage's processes (--jobs 1 only)
    stages: dict[str, float] = field(default_factory=dict)
    native_cpu: float | None = None


def honest(wheel: Path | None) -> str:
    if wheel is None:
        return "-"
    from muslwheel.audit import audit_wheel

    verdict = audit_wheel(wheel)
    return "yes" if verdict.honest and not verdict.external_libs else "NO"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="all", help="kits' arches, comma-separated; all; or '' for none")
    ap.add_argument("--python", default="3.11")
    ap.add_argument("--package", action="append", default=[])
    ap.add_argument("--cpython", action="append", default=[], help="also this musl CPython prefix as a target")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cold", action="store_true", help="empty zig's cache and the build venvs first")
    ap.add_argument("--runs", type=int, default=1, help="2: build again (warm), compare the wheels' bytes")
    ap.add_argument("--native-rounds", type=int, default=3, help="0: no native build")
    ap.add_argument("--compiler-calls", type=int, default=0, help="N: time N compiler calls, zig and gcc")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "build.txt")
    args = ap.parse_args()

    from muslwheel.arch import ARCHES

    arches = list(ARCHES) if args.arch == "all" else [a for a in args.arch.split(",") if a]
    pythons = [p for p in args.python.split(",") if p]
    targets: list[Target] = [target_from_prefix(Path(p)) for p in args.cpython]
    found, missing = pick_targets(arches, pythons)
    targets += found
    packages = [p for p in PACKAGES if not args.package or p.name in args.package]
    store = cache_dir() / "bench-build"
    if args.cold:
        shutil.rmtree(cache_dir() / "zig", ignore_errors=True)
        shutil.rmtree(cache_dir() / "build" / "envs", ignore_errors=True)
    (cache_dir() / "build" / "work").mkdir(parents=True, exist_ok=True)

    lines = results_file.header(
        "muslwheel build over real sdists" + (" (first run cold: zig cache and build venvs empty)" if args.cold else "")
    )
    lines.append(f"targets ({len(targets)}): {', '.join(t.name for t in targets)}; {args.jobs} at once")
    if missing:
        lines.append(f"no kit (not built): {', '.join(missing)}")
    lines.append(
        "build s: get_requires_for_build_wheel + build_wheel of the target (zig), best of the runs; native s: the"
        " same two hooks for this host with its own gcc and flags, best of the native rounds; total s: the target"
        " end to end in the last run"
        " (source copy, build venv, --before-build, build, repair, loader check, import, smoke test)"
    )
    rows: list[Row] = []
    totals: list[str] = []
    for pkg in packages:
        try:
            sdist = store / "sdists" / pkg.sdist
            if pkg.local:
                pack_fixture(sdist)
            elif not sdist.exists():
                fetch(sdist_url(pkg), pkg.sha256, sdist)
            before = pkg.before_build
            if pkg.native is not None:
                tarball = fetch(pkg.native.url, pkg.native.sha256, store / "src" / pkg.native.url.rsplit("/", 1)[1])
                before = pkg.native.before_build.format(tarball=tarball)
        except (OSError, SystemExit) as e:  # one package's download never stops the others
            totals.append(f"{pkg.name} {pkg.version}: not fetched ({e})")
            continue
        wheels: list[dict[str, bytes]] = []
        summaries = []
        natives: dict[str, float | None] = {}
        native_cpus: dict[str, float] = {}
        cpus: list[StageCPU] = []
        pythons_built = sorted({str(t.python) for t in targets})

        # cross runs and native rounds interleaved, so both see the machine's load drift alike
        for run in range(max(args.runs, args.native_rounds)):
            for python in pythons_built if run < args.native_rounds else ():
                native_round(sdist, pkg, python, natives, native_cpus, totals)
            if run >= args.runs:
                continue
            out = Path(tempfile.mkdtemp(prefix=f"{pkg.name}-", dir=cache_dir() / "build" / "work"))
            saved = {k: os.environ.get(k) for k, _ in pkg.env}
            os.environ.update(dict(pkg.env))
            cpus.append(StageCPU(pkg.name))
            try:
                summary = build(
                    BuildOptions(sdist, out, targets, jobs=args.jobs, before_build=before, test_command=pkg.test),
                    cpus[-1],
                )
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            summaries.append(summary)
            wheels.append({r.target.name: r.wheel.read_bytes() for r in summary.results if r.wheel is not None})
            verdicts = {r.target.name: honest(r.wheel) for r in summary.results}
            if run + 1 < args.runs:
                shutil.rmtree(out, ignore_errors=True)
        if not args.native_rounds:
            natives = dict.fromkeys(pythons_built)
        summary = summaries[-1]
        for r in summary.results:
            state = "built+imported" if r.ok and r.imported else ("built" if r.wheel else f"FAILED at {r.stage}")
            same = "-"
            if args.runs > 1:
                first, last = wheels[0].get(r.target.name), wheels[-1].get(r.target.name)
                same = "yes" if first is not None and first == last else ("NO" if first and last else "-")
            rows.append(
                Row(
                    r.target,
                    pkg,
                    state,
                    r.tag or "-",
                    verdicts[r.target.name],
                    min(
                        (
                            x.seconds.get("build", 0.0)
                            for s in summaries
                            for x in s.results
                            if x.target == r.target and x.ok
                        ),
                        default=r.seconds.get("build", 0.0),
                    ),
                    sum(r.seconds.values()),
                    same,
                    "" if r.ok else f"  ({r.error}; log tail: {' | '.join(r.log_tail[-3:])})",
                )
            )
            rows[-1].stages = dict(r.seconds)
            if args.jobs == 1:
                rows[-1].build_cpu = min(
                    (
                        c.cpu[(x.target.name, "build")]
                        for s, c in zip(summaries, cpus)
                        for x in s.results
                        if x.target == r.target and x.ok and (x.target.name, "build") in c.cpu
                    ),
                    default=None,
                )
        shutil.rmtree(out, ignore_errors=True)
        walls = ", ".join(f"{s.seconds:.1f} s" for s in summaries)
        native_text = "; ".join(
            f"native build (Python {p}) {v:.2f} s, {native_cpus.get(p, 0.0):.2f} CPU s"
            if v is not None
            else f"no native build (Python {p})"
            for p, v in natives.items()
        )
        totals.append(
            f"{pkg.name} {pkg.version}: {sum(r.ok for r in summary.results)}/{len(summary.results)} targets ok;"
            f" all targets together: {walls} wall (run {'/'.join(str(i + 1) for i in range(args.runs))}); {native_text}"
        )
        for row in rows[-len(summary.results) :]:
            row.native = natives.get(str(row.target.python))
            row.native_cpu = native_cpus.get(str(row.target.python)) if row.native else None
    lines += ["", *totals, ""]
    measured = [r for r in rows if r.native and r.state.startswith("built")]
    ratios = [r.build_s / r.native for r in measured if r.native]
    if ratios:
        worst = max(measured, key=lambda r: r.build_s / r.native if r.native else 0.0)
        lines.append(
            f"build / native, wall: max {max(ratios):.2f} ({worst.target.name} {worst.package.name}),"
            f" median {sorted(ratios)[len(ratios) // 2]:.2f}, over {len(ratios)} built targets"
        )
        cpu_ratios = [r.build_cpu / r.native_cpu for r in measured if r.build_cpu and r.native_cpu]
        if cpu_ratios:
            worst = max(measured, key=lambda r: r.build_cpu / r.native_cpu if r.build_cpu and r.native_cpu else 0.0)
            lines.append(
                f"build / native, CPU: max {max(cpu_ratios):.2f} ({worst.target.name} {worst.package.name}),"
                f" median {sorted(cpu_ratios)[len(cpu_ratios) // 2]:.2f}, over {len(cpu_ratios)} built targets"
            )
        lines.append("")
    lines.append(
        "| arch | python | package | result | wheel tag | honest (show) | same bytes twice | build s | native s"
        " | build / native | build CPU s | native CPU s | CPU ratio | total s |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")

    def num(v: float | None, digits: int = 2) -> str:
        return f"{v:.{digits}f}" if v else "-"

    for r in rows:
        built = r.state.startswith("built")
        ratio = r.build_s / r.native if r.native and built else None
        cpu_ratio = r.build_cpu / r.native_cpu if r.build_cpu and r.native_cpu and built else None
        lines.append(
            f"| {r.target.arch.name} | {r.target.python} | {r.package.name} {r.package.version} | {r.state} | {r.tag} "
            f"| {r.honest} | {r.same_bytes} | {r.build_s:.1f} | {num(r.native)} | {num(ratio)} "
            f"| {num(r.build_cpu)} | {num(r.native_cpu)} | {num(cpu_ratio)} | {r.total_s:.1f} |{r.why}"
        )
    lines += ["", *matrix(rows, packages)]
    lines += stage_table(rows)
    if args.compiler_calls:
        lines += ["", f"one compiler call, median of {args.compiler_calls} (markupsafe's _speedups.c):"]
        markupsafe = store / "sdists" / next(p for p in PACKAGES if p.name == "markupsafe").sdist
        chosen = [t for t in {t.arch.name: t for t in targets}.values() if t.arch.name in ("x86_64", "aarch64")]
        for i, target in enumerate(chosen):
            lines += compiler_calls(target, markupsafe, args.compiler_calls, with_gcc=i == 0)
    results_file.write(lines, args.out)
    return 0 if rows and all(r.state == "built+imported" and r.honest == "yes" for r in rows) and not missing else 1


def stage_table(rows: list[Row]) -> list[str]:
    """Where each target's time went, stage by stage (the last run)."""
    stages = ["prepare", "before-build", "build", "repair", "check", "import"]
    out = [
        "",
        "where the time went (s, last run; prepare: source copy, build venv, toolchain; import includes check --import"
        " and the smoke test, under qemu-user for a foreign arch):",
        "",
        "| target | package | " + " | ".join(stages) + " |",
        "| --- | --- |" + " --- |" * len(stages),
    ]
    for r in rows:
        out.append(
            f"| {r.target.name} | {r.package.name} | "
            + " | ".join(f"{r.stages[s]:.2f}" if s in r.stages else "-" for s in stages)
            + " |"
        )
    return out


def matrix(rows: list[Row], packages: list[Package]) -> list[str]:
    """arch × package: each minor's result and the target's total time."""
    keys = sorted({(r.target.arch.name, r.target.python) for r in rows})
    arches = list(dict.fromkeys(a for a, _ in keys))
    out = ["| arch | " + " | ".join(p.name for p in packages) + " |", "| --- |" + " --- |" * len(packages)]
    for arch in arches:
        cells = []
        for pkg in packages:
            found = [r for r in rows if r.target.arch.name == arch and r.package is pkg]
            cells.append(
                "<br>".join(
                    f"{r.target.python}: {'ok' if r.state == 'built+imported' and r.honest == 'yes' else r.state} {r.total_s:.0f} s"
                    for r in sorted(found, key=lambda r: r.target.python)
                )
                or "-"
            )
        out.append(f"| {arch} | " + " | ".join(cells) + " |")
    return out


if __name__ == "__main__":
    sys.exit(main())
