"""A wheel's dependencies for the import proof: its ``Requires-Dist`` resolved for the target and
fetched as the binary wheels pip would install there.

``check --import`` installs the wheels it is given together (one site, as a user installs them)
and, unless told not to (``--no-deps``), their dependencies:

- each wheel's ``Requires-Dist`` is read from its METADATA and its markers evaluated for the
  *target* (:func:`muslwheel.markers.marker_environment`: the kit's CPython and arch, never this host's), with the
  extras the user asks for (``--extra NAME``); a dependency's own requirements likewise, with
  the extras that asked for it;
- pip finds each dependency, driven for the target: ``pip download --no-deps`` with
  :func:`muslwheel.tags.pip_download_args` (``--only-binary=:all:``, every musllinux platform
  tag of the kit's musl, ``--python-version``, ``--implementation cp``, ``--abi``), so only
  wheels that target installs are chosen and no package's code runs here (no sdist is built);
  pip does not evaluate markers for a ``--platform`` (it asks this host), which is why each
  level is resolved here and pip gets one requirement per name with ``--no-deps``;
- from PyPI (or pip's configured index) the wheels land in the download cache
  (:func:`muslwheel.cache.downloads_dir` ``/wheels``); pip checks a cached file against the
  index's hash before reusing it, and muslwheel records each file's SHA256 when it arrives and
  checks it again whenever the cache is used offline;
- ``--find-links DIR`` adds a wheelhouse (several wheels and a directory of their
  dependencies); with ``--no-index`` only those directories are searched (pip runs
  ``--isolated``: its configuration and ``PIP_*`` variables are not read), and nothing is
  cached; ``--offline`` takes dependencies only from the download cache and the find-links
  directories.

A dependency pip cannot find for the target is not skipped: it is a :class:`Missing`, which the
proof names against the module that needed it (``not proven: needs X, no musllinux wheel for
ARCH``). The network is used only by pip's download step, here on the host, before any of the
wheels' code runs in the sandbox.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path

from .cache import downloads_dir, file_sha256, locked
from .errors import MuslwheelError
from .markers import marker_environment as marker_environment  # re-exported: the one place that computes it
from .versions import CPython, MuslVersion

#: pip's last words when no candidate fits: "ERROR: No matching distribution found for dep>=1"
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
#: pip's lines naming the file it chose: "Saved ./x.whl", "File was already downloaded /c/x.whl"
_CHOSEN = re.compile(r"^\s*(?:Saved|File was already downloaded) (.+\.whl)\s*$", re.MULTILINE)
#: pip could not reach the index
_NO_NETWORK = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
    r"Network is unreachable|Name or service not known|ConnectTimeout|ProxyError"
)
#: bound on a METADATA file read from a (hostile) wheel
_MAX_METADATA = 16 << 20


@dataclass(frozen=True)
class DepsOptions:
    """How the proof gets a wheel's dependencies (``check --import``'s options)."""

    resolve: bool = True  #: False: ``--no-deps``, the wheels alone
    extras: tuple[str, ...] = ()  #: ``--extra NAME``: extras of the given wheels
    find_links: tuple[Path, ...] = ()  #: ``--find-links DIR``
    no_index: bool = False  #: ``--no-index``: only the find-links directories
    offline: bool = False  #: ``--offline``: only the download cache and the find-links directories


@dataclass(frozen=True)
class Dependency:
    """A dependency installed for the proof."""

    name: str  #: its canonical name
    version: str
    wheel: Path
    required_by: str  #: the (canonical) name of the distribution that asked for it first


@dataclass(frozen=True)
class Missing:
    """A dependency that could not be had for the target."""

    requirement: str  #: as written (``dep>=1``)
    name: str  #: canonical
    required_by: str
    why: str  #: ``no musllinux wheel for x86_64``, ``not in the download cache (offline)``

    def line(self) -> str:
        return f"needs {self.requirement}, {self.why}"


@dataclass
class Dependencies:
    """What the proof installs beside the wheels it was given."""

    dependencies: list[Dependency] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)


def canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


@dataclass(frozen=True)
class WheelMeta:
    name: str  #: canonical
    version: str
    requires: tuple[str, ...]  #: Requires-Dist, as written
    extras: tuple[str, ...] = ()  #: Provides-Extra (canonical)


def wheel_meta(path: Path) -> WheelMeta:
    """The name, version and ``Requires-Dist`` of the wheel at *path* (read through
    :class:`muslwheel.wheelfile.WheelFile`, which validates the archive first)."""
    from .wheelfile import WheelFile

    with WheelFile(path) as wheel:
        member = f"{wheel.dist_info}/METADATA"
        info = wheel.info(member)
        if info is None:
            raise MuslwheelError(f"{path.name}: no {member}")
        if info.file_size > _MAX_METADATA:
            raise MuslwheelError(f"{path.name}: {member} is over {_MAX_METADATA >> 20} MiB")
        text = wheel.read(info).decode("utf-8", errors="replace")
        name, version = wheel.name.distribution, wheel.name.version
    headers = HeaderParser().parsestr(text)
    extras = tuple(canonical(x) for x in headers.get_all("Provides-Extra") or ())
    return WheelMeta(canonical(name), version, tuple(headers.get_all("Requires-Dist") or ()), extras)


def wanted(meta: WheelMeta, env: dict[str, str], extras: Iterable[str]) -> list[tuple[str, str, frozenset[str]]]:
    """The requirements of *meta* that hold in *env* with *extras*: (as written, canonical name,
    the extras it asks of that dependency). A requirement pip could not parse is an error."""
    from packaging.requirements import InvalidRequirement, Requirement

    extras = {canonical(e) for e in extras}
    out = []
    for text in meta.requires:
        try:
            req = Requirement(text)
        except InvalidRequirement as e:
            raise MuslwheelError(f"{meta.name} {meta.version}: bad Requires-Dist {text!r}: {e}") from None
        if req.marker is not None:
            holds = any(req.marker.evaluate({**env, "extra": x}) for x in sorted(extras)) or req.marker.evaluate(
                {**env, "extra": ""}
            )
            if not holds:
                continue
        pip_text = f"{req.name}{req.specifier}" if not req.url else req.name
        out.append((pip_text, canonical(req.name), frozenset(canonical(x) for x in req.extras)))
    return out


def resolve(
    given: Sequence[Path],
    *,
    python: CPython,
    arch: str,
    musl: MuslVersion,
    options: DepsOptions,
    workdir: Path,
    full_version: str | None = None,
) -> Dependencies:
    """The dependencies of the *given* wheels (and theirs) for a musl CPython *python* on *arch*
    with musl *musl* (*full_version*: its ``X.Y.Z``, when known), as wheels pip would install
    there. The given wheels satisfy their own names. Wheels not cached are downloaded into
    *workdir* (the caller removes it). A :class:`MuslwheelError` when pip cannot be run at all,
    or for an extra in *options* that no given wheel has."""
    metas = [wheel_meta(p) for p in given]
    provided = {m.name for m in metas}
    out = Dependencies()
    done: dict[str, WheelMeta] = {}
    extras_of: dict[str, set[str]] = {}
    #: canonical name -> (requirement texts, first asker)
    pending: dict[str, tuple[list[str], str]] = {}

    def ask(meta: WheelMeta, extras: Iterable[str]) -> None:
        for text, name, dep_extras in wanted(meta, env, extras):
            if name in provided:
                continue
            new_extras = dep_extras - extras_of.get(name, set())
            extras_of.setdefault(name, set()).update(dep_extras)
            if name in done:
                if new_extras:
                    ask(done[name], new_extras)
                continue
            if any(m.name == name for m in out.missing):
                continue
            texts, _ = pending.setdefault(name, ([], meta.name))
            if text not in texts:
                texts.append(text)

    known = {x for m in metas for x in m.extras} | {x for m in metas for x in _marker_extras(m.requires)}
    unknown = [x for x in options.extras if canonical(x) not in known]
    if unknown:
        offered = ", ".join(sorted(known)) or "none"
        raise MuslwheelError(f"--extra {unknown[0]}: no given wheel has that extra (theirs: {offered})")
    # the lower rooms from the highest down: pip's arguments for the target (tags), then the
    # markers' environment (markers), which ``ask`` reads
    fetch = _Fetcher(python, musl, arch, options, workdir)
    env = marker_environment(python, arch, full_version)
    for meta in metas:
        ask(meta, options.extras)
    while pending:
        batch = dict(pending)
        pending.clear()
        got, missing = fetch.get({name: ",".join(_specs(texts, name)) for name, (texts, _) in batch.items()})
        for name, why in missing.items():
            out.missing.append(Missing(" ".join(batch[name][0]) or name, name, batch[name][1], why))
        metas_got = {name: wheel_meta(path) for name, path in got.items()}
        for name, meta in metas_got.items():
            done[name] = meta
            out.dependencies.append(Dependency(name, meta.version, got[name], batch[name][1]))
        for name, meta in metas_got.items():  # once the whole level is done, so none is asked twice
            ask(meta, extras_of.get(name, set()))
    return out


_EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


def _marker_extras(requires: Iterable[str]) -> set[str]:
    """The extras the ``extra == "x"`` markers of *requires* name (for a wheel whose METADATA
    predates ``Provides-Extra``)."""
    return {canonical(x) for text in requires for x in _EXTRA_MARKER.findall(text.partition(";")[2])}


def _specs(texts: list[str], name: str) -> list[str]:
    """One pip requirement for *name* from several (``dep>=1`` and ``dep<3``: ``dep<3,>=1``)."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet()
    for t in texts:
        spec &= Requirement(t).specifier
    return [f"{name}{spec}"]


class _Fetcher:
    """pip, driven for the target (a musl CPython *python* on *arch* with *musl*: its tags, never
    this host's): one ``pip download --no-deps`` per level, one more for each requirement it finds
    no wheel for (named in its error, then dropped)."""

    def __init__(self, python: CPython, musl: MuslVersion, arch: str, options: DepsOptions, workdir: Path) -> None:
        from .tags import PlatformTarget, pip_download_args

        pip_args = pip_download_args(PlatformTarget(musl, arch).platform_tags(), python)
        self.options = options
        self.workdir = workdir
        self.arch = arch
        self.cached = not (options.no_index or options.offline or options.find_links)
        self.base = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
        self.base += ["--no-input", "--progress-bar", "off", "--retries", "1", *pip_args]
        if options.no_index or options.offline:
            self.base += ["--no-index", "--isolated"]
        for d in options.find_links:
            self.base += ["--find-links", str(d)]
        if options.offline:
            self.base += ["--find-links", str(self.cache)]

    @property
    def cache(self) -> Path:
        return downloads_dir() / "wheels"

    def get(self, reqs: dict[str, str]) -> tuple[dict[str, Path], dict[str, str]]:
        """Wheels for *reqs* (canonical name -> pip requirement); what pip could not find, and why."""
        missing: dict[str, str] = {}
        got: dict[str, Path] = {}
        todo = dict(reqs)
        while todo:
            found, lost = self._download(todo)
            got.update(found)
            missing.update(lost)
            todo = {n: r for n, r in todo.items() if n not in got and n not in missing}
        return got, missing

    def _download(self, reqs: dict[str, str]) -> tuple[dict[str, Path], dict[str, str]]:
        if self.cached:
            self.cache.mkdir(parents=True, exist_ok=True)
            with locked(downloads_dir() / "wheels.lock"):
                return self._pip(reqs, self.cache)
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self._pip(reqs, self.workdir)

    def _pip(self, reqs: dict[str, str], dest: Path) -> tuple[dict[str, Path], dict[str, str]]:
        argv = [*self.base, "-d", str(dest), *reqs.values()]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL)
        except OSError as e:
            raise MuslwheelError(f"cannot run pip to fetch dependencies ({e}); give --no-deps") from None
        if proc.returncode != 0 and "No module named pip" in proc.stderr:
            raise MuslwheelError(f"{sys.executable} has no pip to fetch dependencies with; give --no-deps")
        got: dict[str, Path] = {}
        from packaging.utils import parse_wheel_filename

        for line in _CHOSEN.findall(proc.stdout):
            path = dest / os.path.basename(line.strip())
            if path.is_file():
                got[canonical(str(parse_wheel_filename(path.name)[0]))] = path
        if self.cached:
            _record_hashes(dest, got.values())
        elif self.options.offline:
            _verify_cached(self.cache, got.values())
        if proc.returncode == 0:
            unknown = [n for n in reqs if n not in got]
            return got, dict.fromkeys(unknown, "pip chose no wheel for it")
        named = _NO_MATCH.findall(proc.stderr)
        lost: dict[str, str] = {}
        for text in named:
            name = _name_of(text)
            if name in reqs:
                lost[name] = self._why_missing(proc.stderr)
        if not lost:
            if len(reqs) > 1:  # one at a time, to learn which
                for name, req in reqs.items():
                    one, miss = self._pip({name: req}, dest)
                    got.update(one)
                    lost.update(miss)
                return got, lost
            last = (proc.stderr.strip().splitlines() or [f"pip exit status {proc.returncode}"])[-1]
            lost = dict.fromkeys(reqs, f"pip failed: {last[:300]}")
        return got, lost

    def _why_missing(self, stderr: str) -> str:
        if self.options.offline:
            return "not in the download cache or the find-links directories (offline)"
        if _NO_NETWORK.search(stderr):
            return "could not be fetched: no network (--offline uses the download cache)"
        return f"no musllinux wheel for {self.arch}"


def _name_of(requirement: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return canonical(Requirement(requirement).name)
    except InvalidRequirement:
        return canonical(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])


def _records(cache: Path) -> Path:
    return cache.parent / "wheels.sha256.json"


def _load_records(cache: Path) -> dict[str, str]:
    try:
        data = json.loads(_records(cache).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _record_hashes(cache: Path, paths: Iterable[Path]) -> None:
    """Remember each cached wheel's SHA256 as pip left it (pip checked it against the index's on
    arrival, and checks it again on each reuse online), for an offline run to check."""
    records = _load_records(cache)
    for p in paths:
        records[p.name] = file_sha256(p)
    tmp = _records(cache).with_suffix(".tmp")
    tmp.write_text(json.dumps(records, indent=1, sort_keys=True))
    os.replace(tmp, _records(cache))


def _verify_cached(cache: Path, paths: Iterable[Path]) -> None:
    """Offline: each wheel taken from the download cache must still have the SHA256 recorded
    when it was downloaded."""
    records = _load_records(cache)
    for p in paths:
        src = cache / p.name
        if not src.is_file():
            continue  # from a find-links directory, not the cache
        want = records.get(p.name)
        if want is None or file_sha256(p) != want:
            raise MuslwheelError(
                f"{src}: not as downloaded (no SHA256 record, or it differs); remove it and fetch again online"
            )
