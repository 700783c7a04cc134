#!/usr/bin/env python3
"""`muslwheel wheelhouse` on real PyPI projects: cold and warm, what was downloaded, repaired and
built, then installed from the wheelhouse with `pip install --no-index` and imported in the
target's kit; and the Dask run's lock against the local one's.

    export MUSLWHEEL_CACHE=...   # kits: aarch64-musl1.2.3-py3.11, x86_64-musl1.2.6-py3.11
    python bench/bench_wheelhouse.py [--targets alpine:3.17/aarch64,alpine:3.24/x86_64] [--python 3.11] \\
        [--requirements bench/wheelhouse-requirements.txt] [--dask-target alpine:3.24/x86_64] \\
        [--work DIR] [--out bench/results/wheelhouse.txt]

Per target: a cold run (an empty wheelhouse cache, pip's HTTP cache off), a warm run (the same
cache: only pip's resolution runs again), then `pip install --no-index --find-links DIR --target
SITE` with the target's tags (`muslwheel tags --pip-args`'s) and a smoke script in the target's
kit importing every top-level package of every wheel in SITE. Then, for --dask-target, the cold
run again on a two-worker LocalCluster, and whether its lock is byte-identical to the local one.
The kits' CPython is 3.11 (Alpine 3.17's own python3 is 3.10, which kits do not build), so the
targets are given --python 3.11.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_file import header, write  # noqa: E402


def wheelhouse(target: str, args: argparse.Namespace, out: Path, cache: Path, *extra: str) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "muslwheel", "wheelhouse", "-r", str(args.requirements), "--target", target,
           "--python", args.python, "-w", str(out), "--cache-dir", str(cache), "--no-kit-build", "--json", *extra]  # fmt: skip
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PIP_NO_CACHE_DIR="1"))
    seconds = time.monotonic() - start
    if proc.returncode == 2 or not proc.stdout.strip():
        raise SystemExit(f"wheelhouse {target} failed: {proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout)


def top_levels(wheel: Path) -> set[str]:
    from muslwheel.check_import import wheel_modules
    from muslwheel.wheelfile import installed_path  # the one site mapping

    modules = wheel_modules(wheel)
    if modules is not None:
        return set(modules.top_levels)
    tops = set()
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            site = installed_path(name)
            if site and "/" in site and site.split("/", 1)[0].isidentifier():
                tops.add(site.split("/", 1)[0])
            elif site and site.endswith(".py") and "/" not in site:
                tops.add(site[:-3])
    return tops


def smoke(target: str, args: argparse.Namespace, out: Path, report: dict) -> tuple[bool, str]:
    """pip install --no-index from DIR into a site, then import every top level in the kit."""
    from muslwheel.kits import select_kits
    from muslwheel.wheelhouse import parse_targets

    t = parse_targets([target], args.python)[0]
    proven_in = {str(p["kit"]) for p in report["proofs"] if p.get("kit")}
    kits = [k for k in select_kits(arch=t.arch, python=t.python_text, with_python=True) if k.musl <= t.musl]
    if not kits:
        return False, "no kit"
    # the kit the wheelhouse proved the set in (the target's own musl when built), else the newest
    kit = next((k for k in kits if k.name in proven_in), max(kits, key=lambda k: k.musl))
    names = sorted({w["name"] for w in report["lock"] if w["target"] == t.name})
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-index", "--find-links",
               str(out), "--target", str(site), *t.pip_args(), *names]  # fmt: skip
        proc = subprocess.run(pip, capture_output=True, text=True)
        if proc.returncode != 0:
            return False, f"pip install --no-index: {proc.stderr.strip().splitlines()[-1:]}"
        tops = sorted({top for w in report["lock"] if w["target"] == t.name for top in top_levels(out / w["file"])})
        code = f"import importlib\nfor m in {tops!r}:\n    importlib.import_module(m)\nprint('imported', {len(tops)})\n"
        env = {"PYTHONPATH": str(site), "PATH": os.environ["PATH"], "HOME": tmp}
        proc = subprocess.run(
            [*kit.python_command(), "-c", code], capture_output=True, text=True, env=env, timeout=1800
        )
        if proc.returncode != 0:
            return False, f"smoke in {kit.name}: {proc.stderr.strip().splitlines()[-1:]}"
        return (
            True,
            f"{proc.stdout.strip()} top-level modules in {kit.name} from pip install --no-index ({len(names)} projects)",
        )


def shares(report: dict) -> str:
    counts: dict[str, int] = {}
    for w in report["lock"]:
        counts[w["origin"]] = counts.get(w["origin"], 0) + 1
    total = sum(counts.values()) or 1
    return ", ".join(f"{k} {n} ({100 * n / total:.0f}%)" for k, n in sorted(counts.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="alpine:3.17/aarch64,alpine:3.24/x86_64")
    parser.add_argument("--python", default="3.11")
    parser.add_argument("--requirements", type=Path, default=HERE / "wheelhouse-requirements.txt")
    parser.add_argument("--dask-target", default="alpine:3.24/x86_64", help="'' to skip the Dask run")
    parser.add_argument(
        "--work", type=Path, default=None, help="where the wheelhouses and caches go (default: a temp dir)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "wheelhouse.txt")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-wheelhouse-"))
    lines = header("muslwheel wheelhouse over bench/wheelhouse-requirements.txt from PyPI")
    reqs = [x for x in args.requirements.read_text().splitlines() if x.strip() and not x.startswith("#")]
    lines.append(f"requirements: {len(reqs)} projects ({args.requirements.name}), --python {args.python}")
    lines.append(
        "python: Alpine 3.17 ships Python 3.10, for which Debian serves no source (so no kit): every target is given "
        f"--python {args.python}"
    )
    ok = True
    for target in args.targets.split(","):
        key = target.replace(":", "-").replace("/", "-")
        out, cache = work / key / "out", work / key / "cache"
        cold, report = wheelhouse(target, args, out, cache)
        warm, again = wheelhouse(target, args, out, cache)
        same = (out / "wheelhouse.lock.json").read_bytes()
        passed, why = smoke(target, args, out, again)
        ok &= passed and not report["problems"]
        lines += [
            f"{target} ({report['targets'][0]['name']}): {len(report['lock'])} wheels: {shares(report)}",
            f"  cold {cold:.0f} s, warm {warm:.0f} s (warm run's work: {again['work']})",
            f"  proof: {'; '.join(str(p['result']) + ' in ' + str(p['kit']) for p in report['proofs'])}",
            "  markers (pip's, for the target): "
            + ", ".join(
                f"{k}={v}"
                for env in report.get("markers", {}).values()
                for k, v in sorted(env.items())
                if k in ("platform_machine", "python_version", "python_full_version", "sys_platform")
            ),
            f"  smoke: {'ok' if passed else 'FAILED'}: {why}",
        ]
        lines += [f"  problem: {p}" for p in report["problems"]]
        lines += [f"  note: {n}" for n in report["notes"]]
        lines += [
            f"  repaired: {d['project']} {d['version']}: {d['why']}"
            for d in report["decisions"]
            if d["decision"] == "repaired"
        ]
        lines += [
            f"  built: {d['project']} {d['version']}: {d['file']}"
            for d in report["decisions"]
            if d["decision"] == "built"
        ]
        if target == args.dask_target:
            import distributed

            with distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as c:
                seconds, dask_report = wheelhouse(
                    target, args, work / key / "dask", work / key / "dask-cache", "--dask", c.scheduler_address
                )
            identical = (work / key / "dask" / "wheelhouse.lock.json").read_bytes() == same
            ok &= identical
            lines.append(
                f"  dask (LocalCluster, 2 worker processes): cold {seconds:.0f} s; lock byte-identical to the local run's: {identical}"
            )
    write(lines, args.out)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
