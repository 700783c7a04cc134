"""pip, driven for a target: the resolver of the wheelhouse (never re-implemented here).

- :func:`dry_run`: ``pip install --dry-run --ignore-installed --target … --report`` with the
  target's ``--platform``/``--python-version``/``--implementation``/``--abi`` flags
  (:func:`muslwheel.tags.pip_download_args`) and ``--only-binary=:all:``: pip's JSON report of
  what it chose (each file's URL and sha256), or the project it found no wheel for.

pip evaluates environment markers (``platform_machine``, ``python_version``, …) with this host's
values, whatever ``--platform`` says, for the requirements and every ``Requires-Dist`` it follows.
So pip runs with a start-up shim (:data:`_SHIM`) that answers its
``pip._vendor.packaging.markers.default_environment`` (and an unbundled pip's
``packaging.markers``) with the target's environment (:func:`muslwheel.markers.marker_environment`):
pip stays the resolver, and decides every marker for the target. pip's report says which
environment it used (its ``environment`` field), and :func:`dry_run` checks it.
- :func:`download`: the chosen files, through ``pip download --no-deps`` of the pins (pip's own
  index options, authentication and HTTP cache), each checked against the report's sha256.
- :func:`fetch_sdist`: ``pip download --no-deps --no-binary NAME`` of one requirement, for a
  project with no wheel for the target.

Everything pip prints stays in the log; a failure is one line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.utils import canonicalize_name

from ..cache import file_sha256
from ..errors import MuslwheelError


class PipError(MuslwheelError):
    """pip could not do what it was asked (one line: its last ERROR)."""


#: ``python -c _SHIM ENVIRONMENT_JSON VERB ARGS…``: pip, with every environment marker evaluated in
#: ENVIRONMENT (packaging's ``Marker.evaluate`` starts from ``default_environment()``, looked up
#: in its module when called); the working directory is not put on sys.path (as ``-m pip``'s is
#: not used by pip either)
_SHIM = """\
import json, sys
sys.path[:] = [p for p in sys.path if p]
_env = json.loads(sys.argv.pop(1))
def _target_environment():
    return dict(_env)
import pip._vendor.packaging.markers as _m
_m.default_environment = _target_environment
try:
    import packaging.markers as _m2
except ImportError:
    pass
else:
    _m2.default_environment = _target_environment
from pip._internal.cli.main import main
sys.exit(main())
"""


@dataclass(frozen=True)
class PipConfig:
    """How pip is run: which interpreter's pip, index options, whether the user's pip
    configuration applies."""

    python: str = sys.executable
    index_options: tuple[str, ...] = ()  #: --index-url/--extra-index-url/--find-links/--no-index
    hermetic: bool = False  #: no pip configuration files, no PIP_* variables (the tests use it)

    def command(self, verb: str, markers: Mapping[str, str] | None = None) -> list[str]:
        """pip's command line for *verb*; with *markers*, pip evaluates environment markers
        with them (the target's), not this host's."""
        head = [self.python, "-c", _SHIM, json.dumps(dict(markers))] if markers else [self.python, "-m", "pip"]
        return [*head, verb, "--disable-pip-version-check", "--no-input"]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.hermetic:
            env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
            env["PIP_CONFIG_FILE"] = os.devnull
        return env


@dataclass(frozen=True)
class Chosen:
    """One distribution pip chose: its name, version, and the file it would install."""

    name: str  #: canonical
    version: str
    url: str
    sha256: str

    @property
    def filename(self) -> str:
        return unquote(Path(urlparse(self.url).path).name)

    @property
    def local_path(self) -> Path | None:
        parsed = urlparse(self.url)
        return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


@dataclass
class DryRun:
    """What ``pip install --dry-run`` chose for a target, or why it could not."""

    chosen: list[Chosen] = field(default_factory=list)
    missing: str | None = None  #: the requirement pip found nothing for (``foo>=1``)
    missing_from: str | None = None  #: the distribution that required it, when pip says
    error: str | None = None  #: any other failure, one line


_NOT_FOUND = re.compile(r"Could not find a version that satisfies the requirement (.+?) \(from versions: ")
_FROM = re.compile(r"^(.*?)\s+\(from ([^)]+)\)\s*$")


def _last_error(text: str) -> str:
    errors = [line[len("ERROR: ") :] for line in text.splitlines() if line.startswith("ERROR: ")]
    if errors:
        return errors[-1].strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "pip failed"


def _run(cmd: list[str], config: PipConfig, log: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=config.env(), stdin=subprocess.DEVNULL)
    with open(log, "a", encoding="utf-8") as f:
        shown = ["<muslwheel's marker shim>" if arg == _SHIM else arg for arg in cmd]
        f.write("$ " + " ".join(shown) + "\n" + proc.stdout + proc.stderr + f"(exit {proc.returncode})\n")
    return proc


def dry_run(
    requirements: Path,
    constraints: Sequence[Path],
    target_args: Sequence[str],
    find_links: Sequence[Path],
    config: PipConfig,
    log: Path,
    markers: Mapping[str, str] | None = None,
) -> DryRun:
    """What pip chooses for *requirements* on the target *target_args* name (one dry run), every
    environment marker evaluated in *markers* (the target's; None: this host's)."""
    with tempfile.TemporaryDirectory(prefix="muslwheel-pip-") as tmp:
        report = Path(tmp) / "report.json"
        cmd = [
            *config.command("install", markers),
            "--dry-run",
            "--ignore-installed",
            "--target",
            str(Path(tmp) / "target"),
            "--report",
            str(report),
            *target_args,
            *config.index_options,
            *(x for p in find_links for x in ("--find-links", str(p))),
            *(x for c in constraints for x in ("-c", str(c))),
            "-r",
            str(requirements),
        ]
        proc = _run(cmd, config, log)
        if proc.returncode != 0:
            out = proc.stdout + proc.stderr
            m = _NOT_FOUND.search(out)
            if m:
                req, parent = m.group(1).strip(), None
                f = _FROM.match(req)
                while f:  # "foo>=1 (from bar==2)": the requirement and who asked for it
                    req, parent = f.group(1).strip(), parent or f.group(2).strip()
                    f = _FROM.match(req)
                return DryRun(missing=req, missing_from=parent)
            return DryRun(error=_last_error(out))
        data = json.loads(report.read_text("utf-8"))
    if markers and "environment" in data and data["environment"] != dict(markers):
        raise PipError(
            f"{config.python}'s pip did not evaluate markers for the target (its report says {data['environment']})"
        )
    chosen = []
    for item in data.get("install", []):
        info = item.get("download_info") or {}
        hashes = (info.get("archive_info") or {}).get("hashes") or {}
        meta = item.get("metadata") or {}
        url = str(info.get("url", ""))
        if "sha256" not in hashes:
            if url.startswith("file:"):  # a --find-links file: pip reports no hash for it
                path = Path(unquote(urlparse(url).path))
                hashes = {"sha256": file_sha256(path)}
            else:
                raise PipError(f"pip reported no sha256 for {url}")
        chosen.append(
            Chosen(canonicalize_name(str(meta.get("name", ""))), str(meta.get("version", "")), url, hashes["sha256"])
        )
    return DryRun(chosen=sorted(chosen, key=lambda c: c.name))


def download(
    items: Sequence[Chosen], target_args: Sequence[str], config: PipConfig, into: Path, log: Path
) -> dict[str, Path]:
    """The files of *items* in *into* (already there, with the right hash: not fetched again),
    by sha256. A file whose hash differs from pip's report is refused (PipError)."""
    into.mkdir(parents=True, exist_ok=True)
    have: dict[str, Path] = {}
    todo: list[Chosen] = []
    for c in items:
        cached = into / c.filename
        if cached.is_file() and file_sha256(cached) == c.sha256:
            have[c.sha256] = cached
        elif c.local_path is not None and c.local_path.is_file():
            _place(c.local_path, cached, c.sha256)
            have[c.sha256] = cached
        else:
            todo.append(c)
    if todo:
        with tempfile.TemporaryDirectory(prefix="muslwheel-pip-", dir=into) as tmp:
            cmd = [
                *config.command("download"),
                "--no-deps",
                "-d",
                tmp,
                *target_args,
                *config.index_options,
                *(f"{c.name}=={c.version}" for c in todo),
            ]
            proc = _run(cmd, config, log)
            if proc.returncode != 0:
                raise PipError(f"pip download: {_last_error(proc.stdout + proc.stderr)}")
            for c in todo:
                got = Path(tmp) / c.filename
                if not got.is_file():
                    raise PipError(f"pip download did not fetch {c.filename}")
                _place(got, into / c.filename, c.sha256)
                have[c.sha256] = into / c.filename
    return have


def _place(src: Path, dest: Path, sha256: str) -> None:
    """Copy *src* to *dest* through a partial file, if its hash is *sha256*."""
    got = file_sha256(src)
    if got != sha256:
        raise PipError(f"{src.name}: sha256 {got} is not the {sha256} pip reported")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    shutil.copyfile(src, partial)
    os.replace(partial, dest)


def fetch_sdist(
    requirement: str,
    name: str,
    constraints: Sequence[Path],
    config: PipConfig,
    into: Path,
    log: Path,
    markers: Mapping[str, str] | None = None,
) -> Path:
    """The sdist of *requirement* (``foo>=1``, project *name*) in *into*: ``pip download
    --no-deps --no-binary NAME`` (only the project: pip prepares its metadata to learn its
    version, as it does for any sdist, with its build requirements as wheels); the constraints'
    markers evaluated in *markers* (the target's)."""
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="muslwheel-sdist-", dir=into) as tmp:
        cmd = [
            *config.command("download", markers),
            "--no-deps",
            "--no-binary",
            name,
            "-d",
            tmp,
            *config.index_options,
            *(x for c in constraints for x in ("-c", str(c))),
            requirement,
        ]
        proc = _run(cmd, config, log)
        if proc.returncode != 0:
            raise PipError(f"no wheel for the target and no sdist: {_last_error(proc.stdout + proc.stderr)}")
        files = [p for p in Path(tmp).iterdir() if p.is_file()]
        if len(files) != 1 or not (files[0].name.endswith(".tar.gz") or files[0].name.endswith(".zip")):
            raise PipError(
                f"pip download of {requirement} gave {', '.join(p.name for p in files) or 'nothing'}, not one sdist"
            )
        dest = into / files[0].name
        os.replace(files[0], dest)
    return dest
