"""Where kits and their parts live, and the plumbing every kit build step shares.

- kit directories: ``<kits>/<name>/`` with ``kit.json`` and ``root/`` (names from
  :func:`muslwheel.kits.kit_name`), CPython trees ``<kits>/cpython/<arch>-py<X.Y>-musl<ver>/``;
  one of them is *current* when its ``kit.json`` carries this :data:`RECIPE` (a CPython kit or
  tree) or one of :data:`MUSL_RECIPES` (a loader-only kit);
- ``<kits>/times.json``: what each kind of step took last time in this cache, the progress
  estimate of the next build (:func:`kit_steps`);
- one lock per kit or tree (:func:`kit_lock`), a build tree outside the cache (:func:`work_dir`),
  and running a build command with its log (:func:`run`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ..arch import Arch
from ..cache import locked
from ..progress import LinePrinter, Progress, Steps
from ..versions import CPython, MuslVersion
from . import MUSL_RECIPES as MUSL_RECIPES  # the recipes are the package's (list_kits reads them)
from . import RECIPE as RECIPE
from . import Kit, KitError, kit_name, kits_dir

#: rough cold times (seconds, a busy 2-core machine) for the progress estimate, until this cache
#: has measured its own (``<kits>/times.json``: the last time each kind of step took); a kit's
#: system libraries are :mod:`muslwheel.libs`' to estimate (``system-libs`` is what is left of them)
KIT_ESTIMATE = {
    "musl-deb": 30,
    "musl-src": 180,
    "cpython": 600,
    "cpython-bare": 600,
    "build-python": 300,
    "system-libs": 1800,
}


class StderrProgress(LinePrinter):
    """``kit build``'s progress on stderr: a plain line when each step starts (with its estimate
    and the estimate left in all) and when it ends (with the time it took); on a terminal, between
    those, one live line redrawn each second with the time spent and the estimate left."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        super().__init__("muslwheel kit", stream, live=live)


_stderr = StderrProgress()


def _times_file() -> Path:
    return kits_dir() / "times.json"


def _measured() -> dict[str, float]:
    try:
        data = json.loads(_times_file().read_text())
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def _record(kind: str, took: float) -> None:
    with contextlib.suppress(OSError):
        write_json(_times_file(), {**_measured(), kind: round(took, 1)})


def kit_steps(progress: Progress, plan: list[str]) -> Steps:
    """The steps of one kit build, estimated from this cache's ``times.json`` (else :data:`KIT_ESTIMATE`)."""
    return Steps(progress, plan, {**KIT_ESTIMATE, **_measured()}, _record)


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def took(what: str, began: float) -> dict[str, float]:
    """How long a build took and how loaded the machine was at its end (it is often shared)."""
    return {f"{what}_seconds": round(time.monotonic() - began, 1), f"{what}_load": round(os.getloadavg()[0], 2)}


def write_kit(
    directory: Path,
    arch: Arch,
    musl: MuslVersion,
    python: CPython | None,
    extra: dict[str, object],
    *,
    bare: bool = False,
) -> None:
    """``kit.json``; a loader-only kit is the bare musl root when *bare*, else the Alpine-like
    loader-only kit (``…-system``)."""
    meta: dict[str, object] = {
        "name": kit_name(arch.name, musl, python, bare, system=python is None and not bare),
        "arch": arch.name,
        "musl": str(musl),
        "python": str(python) if python else None,
        "bare": bare,
    }
    meta["recipe"] = RECIPE
    meta.update(extra)
    (directory / "kit.json").write_text(json.dumps(meta, indent=2) + "\n")


def current(directory: Path, recipes: tuple[int, ...] = (RECIPE,)) -> bool:
    """Whether *directory* holds a complete CPython kit (or tree) of this recipe (*recipes*
    :data:`MUSL_RECIPES` for a loader-only kit)."""
    try:
        return json.loads((directory / "kit.json").read_text()).get("recipe") in recipes
    except (OSError, ValueError, AttributeError):
        return False


def kit_meta(kit: Kit, key: str) -> object:
    return json.loads((kit.directory / "kit.json").read_text()).get(key)


def kit_directory(
    arch: Arch, musl: MuslVersion, python: CPython | None, bare: bool = False, *, system: bool = False
) -> Path:
    """Where kit (arch, musl, python) lives; ``python`` None: the bare musl root, or with
    *system* the Alpine-like loader-only kit (:func:`~muslwheel.kits.kit_name`)."""
    return kits_dir() / kit_name(arch.name, musl, python, bare, system=system)


def cpython_tree_dir(arch: Arch, python: CPython, musl: MuslVersion, bare: bool = False) -> Path:
    return kits_dir() / "cpython" / (f"{arch.name}-py{python}-musl{musl}" + ("-bare" if bare else ""))


@contextlib.contextmanager
def kit_lock(name: str) -> Iterator[None]:
    """One builder per kit (or CPython tree) at a time; a second waits, then finds it built."""
    with locked(kits_dir() / ".locks" / name):
        yield


@contextlib.contextmanager
def work_dir() -> Iterator[Path]:
    """A build tree outside the cache, removed afterwards (``MUSLWHEEL_KIT_KEEP=1`` keeps it)."""
    path = Path(tempfile.mkdtemp(prefix="muslwheel-kit-"))
    try:
        yield path
    finally:
        if os.environ.get("MUSLWHEEL_KIT_KEEP") == "1":
            _stderr(f"build tree kept in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def run(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    check: bool = True,
) -> None:
    """Run *cmd*; on failure raise KitError with the last lines of its output (unless not *check*)."""
    if log is None:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, errors="replace")
        out, code = proc.stdout + proc.stderr, proc.returncode
    else:
        with open(log, "a") as f:
            f.write(f"\n$ {' '.join(cmd)}\n")
            f.flush()
            code = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
        out = log.read_text(errors="replace")
    if code != 0 and check:
        tail = "\n".join(out.strip().splitlines()[-25:])
        raise KitError(f"{' '.join(cmd[:3])} … failed (exit {code}):\n{tail}")


def source_tarball(package: str, version_prefix: str) -> Path:
    """The upstream tarball of Debian source *package* whose version starts *version_prefix*
    (downloaded once, verified, into the download cache)."""
    from ..debian import debian_source

    return debian_source(package, version_prefix=version_prefix).orig
