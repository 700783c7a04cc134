"""Helpers over the musl test world's pieces: a venv of the musl CPython, pip installs into it,
and Debian's musl packages unpacked into a root."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import (
    need,
    run,
    run_ok,
)


def musl_venv(musl_python: Path, tmp: Path) -> Path:
    env_dir = tmp / "venv"
    run_ok([musl_python, "-m", "venv", "--without-pip", env_dir])
    return env_dir / "bin" / "python"


def pip_install(python: Path, wheels: Path, *args: object) -> None:
    pip = next(wheels.glob("pip-*.whl"))
    run_ok([python, f"{pip}/pip", "install", "--no-index", "--disable-pip-version-check", *args])


def unpack_debian_musl(arch_deb: str, root: Path) -> Path:
    """Copy the files of Debian's installed musl:ARCH package into *root*, links as links."""
    listing = run(["dpkg", "-L", f"musl:{arch_deb}"])
    need(listing.returncode == 0, f"Debian package musl:{arch_deb}")
    for line in listing.stdout.splitlines():
        src = Path(line)
        if src.is_dir() or not (src.is_file() or src.is_symlink()):
            continue
        dest = root / line.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dest)
        else:
            shutil.copy2(src, dest)
    return root
