"""PEP 517 without pip's front end: the source copy, the build environment, the backend hooks.

Each target builds in its own copy of the source (an unpacked sdist, or a copy of the tree
without VCS and build leftovers), so targets can build at once and the user's tree is never
written to. The build environment is a venv of the target's build Python holding the
``[build-system] requires`` (installed by pip, from PyPI or wherever ``PIP_*`` points); it is
cached by (interpreter, requirements) under ``<cache>/build/envs`` and shared by targets of
the same minor. The backend's hooks run in that venv as a child process, with the target's
cross environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..cache import cache_dir, locked
from ..versions import CPython
from .target import BuildError, TargetUnavailable

DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
DEFAULT_REQUIRES = ("setuptools>=40.8.0",)
_SKIP_ANYWHERE = {".git", ".hg", ".svn", ".tox", ".nox", ".venv", "__pycache__", ".mypy_cache", ".pytest_cache"}
_SKIP_TOP = {"build", "dist", "wheelhouse"}


@dataclass(frozen=True)
class BuildSystem:
    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] = ()


@dataclass
class ProjectSource:
    """A source as given on the command line: a directory or an sdist."""

    path: Path
    is_sdist: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.path.is_dir():
            self.is_sdist = False
            if not (self.path / "pyproject.toml").is_file() and not (self.path / "setup.py").is_file():
                raise BuildError(f"{self.path}: no pyproject.toml or setup.py: not a Python project")
        elif self.path.is_file() and self.path.name.endswith((".tar.gz", ".tgz", ".zip")):
            self.is_sdist = True
        elif self.path.exists():
            raise BuildError(f"{self.path}: not a source directory or an sdist (.tar.gz, .zip)")
        else:
            raise BuildError(f"{self.path}: no such file or directory")

    def copy_to(self, dest: Path) -> Path:
        """A private copy of the project in *dest*; the project's directory in it."""
        if not self.is_sdist:
            project = dest / (self.path.resolve().name or "project")
            shutil.copytree(self.path, project, symlinks=True, ignore=_ignore_for(self.path))
            return project
        dest.mkdir(parents=True, exist_ok=True)
        if self.path.name.endswith(".zip"):
            _unzip(self.path, dest)
        else:
            _untar(self.path, dest)
        tops = list(dest.iterdir())
        if len(tops) != 1 or not tops[0].is_dir():
            raise BuildError(f"{self.path}: an sdist holds one top-level directory; this one has {len(tops)} entries")
        return tops[0]


def _ignore_for(top: Path):  # type: ignore[no-untyped-def]
    top_resolved = str(top.resolve())

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in _SKIP_ANYWHERE or n.endswith(".egg-info")}
        if str(Path(directory).resolve()) == top_resolved:
            skip |= {n for n in names if n in _SKIP_TOP and not (Path(directory) / n / "__init__.py").exists()}
        return skip

    return ignore


def _safe_member(name: str, where: Path) -> None:
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or "\\" in name or "\x00" in name:
        raise BuildError(f"{where}: refusing member {name!r} outside the sdist's directory")


def _untar(path: Path, dest: Path) -> None:
    try:
        with tarfile.open(path) as tar:
            members = tar.getmembers()
            for m in members:
                _safe_member(m.name, path)
                if m.issym() or m.islnk():
                    target = PurePosixPath(m.name).parent / m.linkname if m.issym() else PurePosixPath(m.linkname)
                    _safe_member(str(target), path)
                elif not (m.isfile() or m.isdir()):
                    raise BuildError(f"{path}: refusing special member {m.name!r}")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, members=members, filter="data")
            else:  # checked above: names, links and types
                tar.extractall(dest, members=members)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise BuildError(f"{path}: unreadable sdist ({e})") from None


def _unzip(path: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                _safe_member(name, path)
            z.extractall(dest)
    except (zipfile.BadZipFile, OSError) as e:
        raise BuildError(f"{path}: unreadable sdist ({e})") from None


def _read_pyproject(project: Path) -> dict[str, Any] | None:
    """*project*'s ``pyproject.toml`` as a table, None when it has none."""
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        return None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - 3.9/3.10
        import tomli as tomllib
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise BuildError(f"{pyproject}: invalid TOML ({e})") from None


def read_build_system(project: Path) -> BuildSystem:
    """The ``[build-system]`` table of *project* (PEP 517/518 defaults when absent)."""
    data = _read_pyproject(project)
    table = data.get("build-system") if data is not None else None
    if table is None:
        return BuildSystem(DEFAULT_REQUIRES, DEFAULT_BACKEND)
    pyproject = project / "pyproject.toml"
    requires = table.get("requires")
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise BuildError(f"{pyproject}: build-system.requires must be a list of strings")
    backend = table.get("build-backend", DEFAULT_BACKEND)
    path = table.get("backend-path", [])
    if not isinstance(backend, str) or not isinstance(path, list):
        raise BuildError(f"{pyproject}: build-system.build-backend must be a string, backend-path a list")
    return BuildSystem(tuple(requires), backend, tuple(str(p) for p in path))


def read_with(project: Path) -> tuple[str, ...]:
    """The native libraries *project* states it links: ``[tool.muslwheel] with = ["libxml2", …]``
    in its ``pyproject.toml`` (:mod:`muslwheel.libs`' names), () when it states none."""
    data = _read_pyproject(project)
    tool = data.get("tool", {}) if data is not None else {}
    table = tool.get("muslwheel", {}) if isinstance(tool, dict) else {}
    value = table.get("with", []) if isinstance(table, dict) else []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BuildError(f"{project / 'pyproject.toml'}: tool.muslwheel.with must be a list of library names")
    return tuple(value)


@dataclass(frozen=True)
class Interpreter:
    """A host CPython as it really is: the executable behind a launcher (a pyenv shim is a
    shell script that costs ~0.15 s a start), its minor, and what identifies its build."""

    executable: Path
    minor: CPython  #: the host CPython's own (``3.11``: a host build is the GIL one)
    identity: str


_INTERPRETERS: dict[str, Interpreter] = {}
_INTERPRETERS_LOCK = threading.Lock()
_IDENTITY = "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2]); print(sys.version); print(sys.base_prefix)"


def interpreter(python: Path) -> Interpreter:
    """*python* resolved once per process (it runs once; targets and runs share the answer)."""
    key = str(python)
    with _INTERPRETERS_LOCK:
        known = _INTERPRETERS.get(key)
    if known is not None:
        return known
    out = subprocess.run([key, "-c", _IDENTITY], capture_output=True, text=True, timeout=60, env=_clean_env())
    lines = out.stdout.splitlines()
    if out.returncode != 0 or len(lines) < 4 or not lines[0]:
        raise BuildError(f"{python}: the build Python does not run ({out.stderr.strip()[-200:]})")
    executable = Path(lines[0])
    found = Interpreter(executable, CPython.parse(lines[1]), f"{executable.resolve()}\n" + "\n".join(lines[2:]) + "\n")
    with _INTERPRETERS_LOCK:
        _INTERPRETERS[key] = found
    return found


class BuildEnv:
    """A cached venv of *python* with *requires* installed."""

    def __init__(self, python: Path, requires: Sequence[str], log: Path) -> None:
        self.interpreter = interpreter(python)
        self.base_python = self.interpreter.executable
        self.log = log
        self.parent: BuildEnv | None = None
        key = hashlib.sha256((self.interpreter.identity + "\n".join(sorted(requires))).encode()).hexdigest()[:16]
        self.directory = cache_dir() / "build" / "envs" / key
        self.python = self.directory / "bin" / "python"
        with locked(self.directory.with_suffix(".lock")):
            if not (self.directory / ".complete").exists():
                shutil.rmtree(self.directory, ignore_errors=True)
                cmd = [str(self.base_python), "-m", "venv", "--without-pip", str(self.directory)]
                self._run(cmd, "creating the build venv")
                if requires:
                    self.install(requires)
                (self.directory / ".complete").write_text("\n".join(requires) + "\n")

    def _run(self, cmd: list[str], what: str) -> None:
        with open(self.log, "a") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_clean_env())
        if proc.returncode != 0:
            raise BuildError(f"{what} failed (exit {proc.returncode})")

    def site_packages(self) -> Path:
        found = sorted(self.directory.glob("lib/python*/site-packages"))
        if not found:
            raise BuildError(f"{self.directory}: a venv without site-packages")
        return found[0]

    def sites(self) -> list[Path]:
        """Where this venv imports from: its own site-packages, then the one it overlays."""
        return [self.site_packages()] + ([self.parent.site_packages()] if self.parent else [])

    def numpy_config(self, macro: str) -> int | None:
        """A size numpy's C headers in this venv (or the one it overlays) were generated for:
        *macro* of ``_numpyconfig.h`` (numpy 1 and 2 layouts), or None without numpy."""
        for site in self.sites():
            for sub in ("_core", "core"):
                header = site / "numpy" / sub / "include" / "numpy" / "_numpyconfig.h"
                if header.is_file():
                    m = re.search(rf"^#define {macro} (\d+)", header.read_text(errors="replace"), re.M)
                    return int(m.group(1)) if m else None
        return None

    def numpy_pointer_size(self) -> int | None:
        """The ``npy_intp`` size numpy's C headers here were generated for
        (``NPY_SIZEOF_PY_INTPTR_T``), or None without numpy. pip installs the host's numpy, so
        its headers are the host's."""
        return self.numpy_config("NPY_SIZEOF_PY_INTPTR_T")

    def numpy_version(self) -> str | None:
        """The version of the numpy this venv imports (its own, else the one it overlays), or None."""
        for site in self.sites():
            for info in sorted(site.glob("numpy-*.dist-info")):
                return info.name[len("numpy-") : -len(".dist-info")]
        return None

    def overlay(self, directory: Path) -> BuildEnv:
        """A venv of its own for one target that sees this one's packages (a ``.pth`` file):
        the target's ``_sysconfigdata`` goes into its site-packages, where even ``python -E``
        (CMake's FindPython) finds it. Laid out as ``python -m venv --without-pip`` lays one
        out (``pyvenv.cfg``, ``bin/python*`` links, ``site-packages``), without starting a
        Python to do it."""
        base = self.interpreter
        site = directory / "lib" / f"python{base.minor}" / "site-packages"
        site.mkdir(parents=True)
        (directory / "include").mkdir()
        bin_dir = directory / "bin"
        bin_dir.mkdir()
        for name in ("python", "python3", f"python{base.minor}"):
            (bin_dir / name).symlink_to(base.executable)
        if sys.maxsize > 2**32:
            (directory / "lib64").symlink_to("lib")
        (directory / "pyvenv.cfg").write_text(
            f"home = {base.executable.parent}\ninclude-system-site-packages = false\n"
            f"version = {base.identity.splitlines()[1].split()[0]}\nexecutable = {base.executable.resolve()}\n"
        )
        (site / "_muslwheel_build_env.pth").write_text(f"{self.site_packages()}\n")
        child = object.__new__(BuildEnv)
        child.interpreter, child.base_python, child.log = base, self.base_python, self.log
        child.directory, child.python, child.parent = directory, bin_dir / "python", self
        return child

    def missing(self, requires: Sequence[str]) -> list[str]:
        """The requirements not satisfied by what the venv holds."""
        from importlib.metadata import distributions

        from packaging.requirements import InvalidRequirement, Requirement
        from packaging.utils import canonicalize_name

        site = [self.site_packages()] + ([self.parent.site_packages()] if self.parent else [])
        installed = {
            canonicalize_name(d.metadata["Name"] or ""): d.version for d in distributions(path=[str(p) for p in site])
        }
        out = []
        for text in requires:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                out.append(text)
                continue
            version = installed.get(canonicalize_name(req.name))
            if version is None or (req.specifier and not req.specifier.contains(version, prereleases=True)):
                out.append(text)
        return out

    def install(self, requires: Sequence[str]) -> None:
        """Install what of *requires* is missing (into the shared venv, for an overlay)."""
        if self.parent is not None:
            self.parent.install(requires)
            return
        with locked(self.directory.with_suffix(".lock-install")):
            todo = self.missing(requires)
            if todo:
                cmd = [
                    sys.executable,
                    "-m",
                    "pip",
                    "--python",
                    str(self.python),
                    "install",
                    "--disable-pip-version-check",
                ]
                self._run([*cmd, *todo], f"installing the build requirements ({', '.join(todo)})")


def _clean_env() -> dict[str, str]:
    """This process's environment without what would point pip or the venv at other Pythons."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONUSERBASE"):
        env.pop(key, None)
    return env


_HOOK = r"""
import importlib, json, os, sys
hook, out, args, backend_path = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
sys.path[:0] = [os.path.abspath(p) for p in backend_path]
name, _, obj = os.environ["MUSLWHEEL_BACKEND"].partition(":")
backend = importlib.import_module(name)
for part in filter(None, obj.split(".")):
    backend = getattr(backend, part)
fn = getattr(backend, hook, None)
if fn is None:
    result = [] if hook.startswith("get_requires") else None
else:
    result = fn(*args)
with open(out, "w") as f:
    json.dump(result, f)
"""


def run_hook(
    env: BuildEnv,
    system: BuildSystem,
    project: Path,
    hook: str,
    args: list[object],
    environ: dict[str, str],
    log: Path,
) -> object:
    """Call *hook* of the project's backend in *env*; its JSON-able result."""
    out = log.with_name(f"{hook}.json")
    start = log.stat().st_size if log.exists() else 0
    # the venv's scripts first, as an activated venv has them (meson, ninja, cmake, cython)
    dirs = [env.directory / "bin"] + ([env.parent.directory / "bin"] if env.parent else [])
    path = os.pathsep.join([*map(str, dirs), environ.get("PATH", os.defpath)])
    environ = {**environ, "MUSLWHEEL_BACKEND": system.backend, "PATH": path, "VIRTUAL_ENV": str(env.directory)}
    cmd = [str(env.python), "-c", _HOOK, hook, str(out), json.dumps(args), json.dumps(list(system.backend_path))]
    with open(log, "a") as f:
        f.write(f"$ {system.backend} {hook}\n")
        f.flush()
        proc = subprocess.run(
            cmd, cwd=project, env=environ, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    if proc.returncode != 0:
        why = _known_failure(log, start, environ)
        message = f"{system.backend}: {hook} failed (exit {proc.returncode})" + (f": {why}" if why else "")
        # a crate cargo could not fetch is this host's network, not the project's fault
        raise (TargetUnavailable if why else BuildError)(message)
    return json.loads(out.read_text())


def _known_failure(log: Path, start: int, environ: dict[str, str]) -> str | None:
    """The reason of a failed hook, in one line, where the log says one we know: for a Rust
    build, the crate cargo could not fetch (:func:`muslwheel.builder.rust.cargo_failure`)."""
    if "CARGO_BUILD_TARGET" not in environ:
        return None
    from .rust import cargo_failure

    with open(log, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    return cargo_failure(text)
