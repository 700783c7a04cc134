#!/usr/bin/env python3
"""Download the pinned benchmark wheels (bench/wheels.txt) into bench/wheels/ (not committed).

    python bench/fetch_wheels.py [--dest bench/wheels]

Each line is fetched with ``pip download --no-deps --only-binary=:all: --platform PLATFORM
--python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none NAME==VERSION``.
Already-present wheels are kept.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pinned() -> list[tuple[str, str]]:
    out = []
    for line in (HERE / "wheels.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            platform, requirement = line.split()
            out.append((platform, requirement))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=HERE / "wheels")
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    failed = 0
    for platform, requirement in pinned():
        name, version = requirement.split("==")
        stem = f"{name.replace('-', '_').lower()}-{version}-"
        if any(
            p.name.lower().startswith(stem) and (platform == "any" or platform in p.name)
            for p in args.dest.glob("*.whl")
        ):
            continue
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
            "--abi",
            "cp312",
            "--abi",
            "abi3",
            "--abi",
            "none",
            "-d",
            str(args.dest),
            requirement,
        ]
        if platform != "any":
            cmd[5:5] = ["--platform", platform]
        if subprocess.run(cmd).returncode != 0:
            print(f"fetch_wheels: could not download {requirement} for {platform}", file=sys.stderr)
            failed += 1
    print(f"{len(list(args.dest.glob('*.whl')))} wheels in {args.dest}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
