"""The extras a user is told to install exist, and `[build]` is enough to build a kit.

README.md, docs/ and muslwheel's own messages tell users to ``pip install 'muslwheel[X]'``;
an extra pyproject.toml does not define makes pip warn and install nothing, and the command the
user wanted then stops (issue 23). The last test is the new user's path: a fresh venv,
``pip install '.[build]'``, ``muslwheel kit build``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, need
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.9/3.10
    tomllib = pytest.importorskip("tomli")

#: ``muslwheel[a,b]`` anywhere, or ``.[a]`` as in ``pip install '.[build]'`` (a checkout)
_EXTRA_IN_PROSE = re.compile(r"(?:\bmuslwheel|(?<![\w\]\)])\.)\[([A-Za-z0-9_.,\- ]+)\]")
#: in the code only what users are told: ``muslwheel[`` inside a message
_EXTRA_IN_CODE = re.compile(r"\bmuslwheel\[([A-Za-z0-9_.,\- ]+)\]")


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _extras() -> dict[str, list[str]]:
    extras: dict[str, list[str]] = _pyproject()["project"]["optional-dependencies"]
    return extras


def _named_extras() -> dict[str, set[str]]:
    """extra -> the files (relative to the checkout) that name it."""
    found: dict[str, set[str]] = {}
    prose = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    code = sorted((REPO / "src").rglob("*.py"))
    for paths, pattern in ((prose, _EXTRA_IN_PROSE), (code, _EXTRA_IN_CODE)):
        for path in paths:
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                for extra in match.group(1).split(","):
                    found.setdefault(extra.strip(), set()).add(str(path.relative_to(REPO)))
    return found


def test_every_extra_named_in_readme_docs_and_messages_exists() -> None:
    named = _named_extras()
    # what the project tells users today (docs/github-actions.md, build's "no zig" message,
    # scan --dask, report's chart): if none were found, the search itself is broken
    assert {"build", "dask", "report"} <= set(named), named
    missing = {extra: sorted(files) for extra, files in named.items() if extra not in _extras()}
    assert not missing, f"extras named but not in pyproject.toml: {missing}"


def test_extras_requirements_parse() -> None:
    for extra, requirements in _extras().items():
        for requirement in requirements:
            Requirement(requirement)  # raises on a malformed one
        assert requirements, f"extra {extra!r} is empty"


def _spec(requirements: list[str], name: str) -> str:
    specs = [str(Requirement(r).specifier) for r in requirements if Requirement(r).name == name]
    assert len(specs) == 1, f"{name} in {requirements}"
    return specs[0]


def test_build_extra_brings_the_zig_the_suite_tests_with() -> None:
    """One zig range: the build extra's, the test extra's, and the one kit build's message names."""
    extras = _extras()
    assert "build" in extras
    zig = _spec(extras["build"], "ziglang")
    assert zig == _spec(extras["test"], "ziglang")
    for path in sorted((REPO / "src").rglob("*.py")):
        for quoted in re.findall(r"'(ziglang[<>=!~][^']*)'", path.read_text(encoding="utf-8")):
            assert str(Requirement(quoted).specifier) == zig, f"{path.relative_to(REPO)} names {quoted}"
    # build installs each target's build requirements with `pip --python` (pip 22.3), and reads
    # pyproject.toml with tomli where the stdlib has no tomllib
    assert Requirement(next(r for r in extras["build"] if r.startswith("pip"))).specifier.contains("22.3")
    tomli = [Requirement(r) for r in extras["build"] if Requirement(r).name == "tomli"]
    assert tomli and tomli[0].marker is not None and not tomli[0].marker.evaluate({"python_version": "3.11"})
    assert tomli[0].marker.evaluate({"python_version": "3.9"})


def _copy_checkout(dest: Path) -> Path:
    """What an sdist of this checkout holds (pip builds in the source tree; ours stays clean)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(REPO / "src", dest / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    return dest


def test_fresh_venv_with_the_build_extra_builds_a_kit(tmp_path: Path) -> None:
    """Issue 23's done-when: ``pip install '.[build]'`` in a fresh venv, then ``muslwheel kit
    build --arch aarch64 --bare`` from empty caches makes a loader-only kit, the bare musl root
    (Debian's musl 1.2.3 packages, the kernel headers from the zig the extra brought; without
    ``--bare`` it would build Alpine's base libraries too, OpenSSL first). Measured: pip 7-13 s with pip's
    cache warm, the kit 6-14 s (2 busy cores)."""
    need(shutil.which("apt-get") and shutil.which("dpkg-deb"), "apt-get and dpkg-deb (Debian)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COVERAGE", "PIP_REQUIRE"))}
    env["MUSLWHEEL_CACHE"] = str(tmp_path / "cache")
    env["MUSLWHEEL_DOWNLOADS"] = str(tmp_path / "downloads")  # Debian's packages fetched afresh too
    began = time.monotonic()
    installed = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", ".[build]"],
        cwd=_copy_checkout(tmp_path / "checkout"),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr
    assert "does not provide the extra" not in installed.stderr
    pip_took = time.monotonic() - began
    muslwheel = venv / "bin" / "muslwheel"
    # the venv's own muslwheel and zig, not this checkout's or the suite's
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import muslwheel, ziglang; print(muslwheel.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(venv)), where.stdout
    began = time.monotonic()
    built = subprocess.run(
        [muslwheel, "kit", "build", "--arch", "aarch64", "--musl", "1.2.3", "--bare"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    kit_took = time.monotonic() - began
    assert built.returncode == 0, built.stderr
    assert "aarch64-musl1.2.3: musl 1.2.3 from Debian's packages: done in" in built.stderr, built.stderr
    root = tmp_path / "cache" / "kits" / "aarch64-musl1.2.3" / "root"
    assert (root / "lib" / "ld-musl-aarch64.so.1").is_file()
    assert (root / "usr" / "include" / "linux" / "version.h").is_file()  # zig's kernel headers
    detected = subprocess.run(
        [muslwheel, "detect", "--root", root], env=env, capture_output=True, text=True, check=True
    )
    assert "1.2.3" in detected.stdout and "aarch64" in detected.stdout, detected.stdout
    print(f"pip install '.[build]': {pip_took:.0f} s; kit build --arch aarch64 --musl 1.2.3: {kit_took:.0f} s")
