#!/usr/bin/env python3
"""`muslwheel show` (and `check --import` where a free-threaded kit exists) on real free-threaded
and abi3t musllinux wheels from PyPI, against a judgment made by hand (issue 22).

    PYTHONPATH=src python bench/bench_freethreaded.py --fetch [--import-kit x86_64-musl1.2.6-py3.13t]

The wheels are listed in bench/wheels-freethreaded.txt, one per line with what show must say of
it, judged by hand: the number of members that are extension modules, the best honest tag,
show's exit status and the number of suffix (``module-name``) reasons. ``--fetch`` downloads
them into bench/wheels/freethreaded/ with ``pip download --platform … --python-version …
--abi …``. Each wheel goes through ``muslwheel show --json`` (a process per wheel, as a user runs
it); the results file gives show's roles and verdict beside the judgment and whether they agree.
With ``--import-kit`` (repeatable), ``muslwheel check --import --kit KIT`` imports the wheels of
the kit's arch and ABI (the cp313t aarch64 ones in ``aarch64-musl1.2.6-py3.13t``). Results go
to bench/results/freethreaded.txt with this command.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
import results_file  # noqa: E402


@dataclass(frozen=True)
class Entry:
    platform: str
    python: str
    abi: str
    requirement: str
    expected: dict[str, str]
    why: str

    @property
    def stem(self) -> str:
        name, version = self.requirement.split("==")
        return f"{name.replace('-', '_').lower()}-{version}-"

    def find(self, dest: Path) -> Path | None:
        for p in sorted(dest.glob("*.whl")):
            tags = p.name[:-4].split("-")[-2:]
            if p.name.lower().startswith(self.stem) and self.abi in tags[0].split(".") and self.platform in tags[1]:
                return p
        return None


def entries() -> list[Entry]:
    out = []
    for line in (HERE / "wheels-freethreaded.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        head, expected, why = (part.strip() for part in line.split("|"))
        platform, python, abi, requirement = head.split()
        out.append(Entry(platform, python, abi, requirement, dict(kv.split("=") for kv in expected.split()), why))
    return out


def fetch(entry: Entry, dest: Path) -> None:
    if entry.find(dest):
        return
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--implementation"]
    cmd += ["cp", "--python-version", entry.python, "--abi", entry.abi, "--platform", entry.platform]
    subprocess.run([*cmd, "-d", str(dest), entry.requirement], check=True)


def muslwheel(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "muslwheel", *map(str, args)], capture_output=True, text=True, env=env)


def judge(entry: Entry, wheel: Path) -> tuple[list[str], bool]:
    proc = muslwheel("show", "--json", wheel)
    v = json.loads(proc.stdout)
    roles: dict[str, list[str]] = {}
    for f in v["files"]:
        roles.setdefault(f["role"], []).append(f["path"].rsplit("/", 1)[-1])
    suffix = [r for r in v["reasons"] if r["kind"] == "module-name"]
    got = {
        "ext": str(len(roles.get("extension", []))),
        "tag": str(v["tag"]),
        "exit": str(proc.returncode),
        "suffix": str(len(suffix)),
    }
    agrees = got == entry.expected
    warnings = sorted({r["kind"] for r in v["reasons"] if r["severity"] == "warning"})
    errors = sorted({r["kind"] for r in v["reasons"] if r["severity"] == "error"})
    suffixes = sorted({re.sub(r"^[^.]*", "", name) for name in roles.get("extension", [])})
    lines = [
        f"{wheel.name}: {'agrees' if agrees else 'DISAGREES'} with the hand judgment",
        f"  show: roles {', '.join(f'{k} {len(x)}' for k, x in sorted(roles.items()))}; module suffixes "
        f"{', '.join(suffixes) or '-'}; tag {v['tag']}, musl >= {v['musl_min_version']}, honest {v['honest']},"
        f" exit {proc.returncode}; errors {', '.join(errors) or '-'}; warnings {', '.join(warnings) or '-'};"
        f" suffix reasons {len(suffix)}",
        f"  hand: {' '.join(f'{k}={x}' for k, x in entry.expected.items())}: {entry.why}",
    ]
    return lines, agrees


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=HERE / "wheels" / "freethreaded")
    parser.add_argument("--fetch", action="store_true", help="download the listed wheels first (pip download)")
    parser.add_argument(
        "--import-kit",
        action="append",
        default=[],
        metavar="KIT",
        help="also check --import the wheels of the kit's arch and ABI (x86_64-musl1.2.6-py3.13t; repeatable)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "freethreaded.txt")
    args = parser.parse_args()
    kits = [(kit, re.fullmatch(r"(\w+)-musl[\d.]+-py3\.(\d+t?)", kit)) for kit in args.import_kit]
    for kit, m in kits:
        if not m:
            parser.error(f"--import-kit {kit}: not a kit name such as x86_64-musl1.2.6-py3.13t")
    args.dest.mkdir(parents=True, exist_ok=True)
    listed = entries()
    if args.fetch:
        for entry in listed:
            fetch(entry, args.dest)
    body: list[str] = []
    agreeing = 0
    found = []
    for entry in listed:
        wheel = entry.find(args.dest)
        if wheel is None:
            body.append(f"{entry.requirement} ({entry.abi}): not in {args.dest} (run with --fetch)")
            continue
        found.append((entry, wheel))
        lines, agrees = judge(entry, wheel)
        body += lines
        agreeing += agrees
    projects = sorted({e.requirement.split("==")[0] for e, _ in found})
    abis = sorted({e.abi for e, _ in found})
    summary = [
        f"{len(found)} wheels of {len(projects)} projects ({', '.join(projects)}); ABIs {', '.join(abis)}",
        f"show agrees with the hand judgment on {agreeing} of {len(found)}",
    ]
    for kit, m in kits:
        assert m is not None
        arch, abi = m.group(1), f"cp3{m.group(2)}"
        wheels = [w for e, w in found if e.abi == abi and e.platform.endswith(f"_{arch}")]
        proc = muslwheel("check", "--import", "--kit", kit, "--json", *wheels)
        reports = json.loads(proc.stdout) if proc.stdout.strip() else []
        reports = reports if isinstance(reports, list) else [reports]
        ok = sum(1 for r in reports if r.get("ok"))
        summary.append(f"check --import in {kit}: {ok} of {len(wheels)} {abi} wheels import (exit {proc.returncode})")
        for r in reports:
            results = [f"{x.get('module')}: {x.get('result')}" for x in r.get("modules", [])]
            body.append(f"import in {kit}: {Path(str(r.get('wheel'))).name}: {', '.join(results)}")
        if proc.stderr.strip():
            body.append(f"check --import in {kit}, stderr: {proc.stderr.strip()[:400]}")
    results_file.write(
        [*results_file.header("muslwheel show on free-threaded and abi3t wheels from PyPI"), *summary, "", *body],
        args.out,
    )
    return 0 if agreeing == len(found) == len(listed) else 1


if __name__ == "__main__":
    sys.exit(main())
