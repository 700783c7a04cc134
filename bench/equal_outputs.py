#!/usr/bin/env python3
"""Snapshot muslwheel's user-visible output over a set of wheels, and compare two snapshots.

A refactoring that must not change behaviour is checked by running one snapshot with the old
code and one with the new, then comparing them byte for byte:

    python bench/equal_outputs.py snap --src OLD_CHECKOUT --out /tmp/eq/old WHEEL_DIR ...
    python bench/equal_outputs.py snap --src NEW_CHECKOUT --out /tmp/eq/new WHEEL_DIR ...
    python bench/equal_outputs.py compare /tmp/eq/old /tmp/eq/new

``--src`` is a checkout whose ``src/`` is put first on PYTHONPATH (a ``git worktree add --detach``
of the old commit serves). Per wheel: ``show --json -v``, plain ``show`` (stdout, stderr and exit
status), ``repair -w`` (its output, exit status and the sha256 of every file written) and, for
x86_64 and pure wheels, ``check --json``. Then ``scan`` of all the wheels into one database and
``report --format json`` and ``md`` of it. With no WHEEL_DIR: bench/wheels (fetch_wheels.py)
and the test world's wheels under ``$MUSLWHEEL_CACHE/world``.

``compare`` prints every file that differs (a unified diff of its first lines) and exits 1 if any
does; scan's elapsed seconds and its progress lines (as many as the clock allows) are the one
thing masked.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORLD_DIRS = ("world/real-wheels", "world/wheels", "world/rust-wheels", "world/build-wheels")
ELAPSED = re.compile(rb"; [0-9.]+ s$", re.MULTILINE)
#: scan's progress lines on stderr: as many as the clock allows
PROGRESS = re.compile(rb"^muslwheel: scan: \d+ audited, .*\n", re.MULTILINE)


def default_dirs() -> list[Path]:
    cache = Path(os.environ.get("MUSLWHEEL_CACHE", Path.home() / ".cache" / "muslwheel"))
    return [HERE / "wheels", *(cache / d for d in WORLD_DIRS)]


def wheels_in(dirs: list[Path]) -> list[Path]:
    found: list[Path] = []
    for d in dirs:
        found.extend(sorted(d.rglob("*.whl")) if d.is_dir() else [])
    return found


def snap(src: Path, out: Path, dirs: list[Path]) -> int:
    env = dict(os.environ, PYTHONPATH=str(src / "src"))
    where = subprocess.run(
        [sys.executable, "-c", "import muslwheel; print(muslwheel.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not where.startswith(str(src.resolve())):
        sys.exit(f"muslwheel comes from {where}, not from {src}")

    def run(args: list[str], stem: Path) -> None:
        r = subprocess.run([sys.executable, "-m", "muslwheel", *args], env=env, capture_output=True, cwd=work)
        for suffix, data in ((".out", r.stdout), (".err", r.stderr)):
            stem.with_suffix(suffix).write_bytes(data.replace(bytes(work), b"WORK"))
        stem.with_suffix(".rc").write_text(f"{r.returncode}\n")

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    wheels = wheels_in(dirs)
    with tempfile.TemporaryDirectory(prefix="equal-outputs-") as tmp:
        work = Path(tmp).resolve()
        scan_dir = work / "scan"
        scan_dir.mkdir()
        for i, wheel in enumerate(wheels, 1):
            d = out / f"{i:04d}-{wheel.name}"
            d.mkdir()
            (d / "path").write_text(f"{wheel}\n")
            run(["show", "--json", "-v", str(wheel)], d / "show-json")
            run(["show", str(wheel)], d / "show")
            rep = work / "rep"
            shutil.rmtree(rep, ignore_errors=True)
            rep.mkdir()
            run(["repair", "-w", str(rep), str(wheel)], d / "repair")
            sums = [
                f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(rep)}"
                for p in sorted(rep.rglob("*"))
                if p.is_file()
            ]
            (d / "repair.sha256").write_text("".join(s + "\n" for s in sums))
            if wheel.name.endswith(("x86_64.whl", "-any.whl")):
                run(["check", "--json", str(wheel)], d / "check-json")
            if not (scan_dir / wheel.name).exists():
                shutil.copy(wheel, scan_dir / wheel.name)
            print(f"{i}/{len(wheels)} {wheel.name}", flush=True)
        db = work / "scan.sqlite"
        run(["scan", str(scan_dir), "--db", str(db)], out / "scan")
        for fmt in ("json", "md"):
            run(["report", str(db), "--format", fmt], out / f"report-{fmt}")
    for p in out.glob("scan.*"):
        p.write_bytes(ELAPSED.sub(b"; N s", p.read_bytes()))
    print(f"{len(wheels)} wheels into {out}")
    return 0


def compare(a: Path, b: Path) -> int:
    names_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    names_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    differ = 0
    for name in sorted(names_a ^ names_b):
        print(f"only in {'old' if name in names_a else 'new'}: {name}")
        differ += 1
    for name in sorted(names_a & names_b):
        old, new = (a / name).read_bytes(), (b / name).read_bytes()
        if name.name == "scan.err":
            old, new = PROGRESS.sub(b"", old), PROGRESS.sub(b"", new)
        if old != new:
            differ += 1
            print(f"differs: {name}")
            lines = difflib.unified_diff(
                old.decode(errors="replace").splitlines(),
                new.decode(errors="replace").splitlines(),
                lineterm="",
            )
            for line in list(lines)[:20]:
                print("   ", line)
    print(f"{len(names_a & names_b)} files compared, {differ} differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    s = sub.add_parser("snap")
    s.add_argument("--src", type=Path, required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("dirs", type=Path, nargs="*")
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.verb == "snap":
        return snap(args.src, args.out, args.dirs or default_dirs())
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
