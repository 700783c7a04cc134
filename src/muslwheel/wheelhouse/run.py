"""The wheelhouse, end to end: :func:`plan` checks the request (exit 2 when it cannot start),
:func:`run` does it.

Per target: pip resolves the requirements for the target (:mod:`.pip`); a project pip finds no
wheel for is fetched as an sdist and built for the target (:func:`.tasks.build_task`, cached by
the sdist's sha256 and the target), the built wheel offered to pip by ``--find-links`` for the
next round; a project that cannot be had (nothing on the index, a failed build) is dropped with
the top-level requirement that pulls it in, one line each, and the rest resolved again. Every
chosen wheel is downloaded (cached by hash) and taken, repaired or refused (:mod:`.choose`).
Then every target's whole set is proven in its kit (:func:`.tasks.prove_task`, cached by kit and
the set's hashes), and DIR written (:mod:`.output`): wheels, index, lock, report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..cache import file_sha256
from ..errors import MuslwheelError
from . import output
from .choose import BUILT, DOWNLOADED, choose
from .pip import Chosen, PipConfig, PipError, download, dry_run, fetch_sdist
from .target import HouseTarget, split_targets
from .tasks import BuildOutcome, ProofOutcome, build_task, executor, kit_for, prove_task

Say = Callable[[str], None]
#: rounds of resolve -> build or drop -> resolve, per target
MAX_ROUNDS = 50


class WheelhouseError(MuslwheelError):
    """A wheelhouse request that cannot start (exit 2)."""


@dataclass
class Options:
    requirements: Path
    targets: Sequence[str]
    out_dir: Path
    constraints: Sequence[Path] = ()
    python: str | None = None
    arch: str | None = None
    pip: PipConfig = field(default_factory=PipConfig)
    with_map: Path | None = None  #: JSON {project: [library, ...]} for builds' --with
    cache: Path | None = None  #: default: <muslwheel cache>/wheelhouse
    dask: str | None = None  #: tcp://HOST:8786: builds and proofs there
    prove: bool = True
    sandbox: bool = True
    kit_build: bool = True


@dataclass
class Plan:
    options: Options
    targets: list[HouseTarget]
    problems: list[str]  #: request-level problems that do not stop it (an unknown release)
    requirements: list[str]  #: the requirement lines, relative -r/-c made absolute
    with_map: dict[str, list[str]]
    cache: Path


@dataclass
class Decision:
    target: str
    project: str
    version: str
    decision: str  #: downloaded, repaired, built; refused, unresolvable, build-failed
    why: str
    file: str = ""
    floor: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "project": self.project,
            "version": self.version,
            "decision": self.decision,
            "why": self.why,
            "file": self.file or None,
            "floor": self.floor,
        }


@dataclass
class HouseSummary:
    targets: list[HouseTarget]
    decisions: list[Decision] = field(default_factory=list)
    entries: list[output.Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    proofs: list[dict[str, object]] = field(default_factory=list)
    #: per target name: the marker environment pip evaluated the requirements' markers in
    markers: dict[str, dict[str, str]] = field(default_factory=dict)
    #: what this run did (not found done in the cache): downloaded, repaired, built, proved
    work: dict[str, int] = field(default_factory=lambda: {"downloaded": 0, "repaired": 0, "built": 0, "proved": 0})
    out_dir: Path | None = None
    seconds: float = 0.0
    runner: str = "local"

    @property
    def exit_status(self) -> int:
        return 1 if self.problems else 0

    def line(self) -> str:
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[e.origin] = counts.get(e.origin, 0) + 1
        made = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no wheels"
        did = ", ".join(f"{k} {n}" for k, n in self.work.items() if n) or "nothing to do: all cached"
        return (
            f"{len(self.entries)} wheel(s) for {len(self.targets)} target(s) ({made}); "
            f"this run: {did}; {len(self.problems)} problem(s)"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "ok": not self.problems,
            "exit_status": self.exit_status,
            "summary": self.line(),
            "out_dir": str(self.out_dir) if self.out_dir else None,
            "runner": self.runner,
            "targets": [t.to_json() for t in self.targets],
            "problems": self.problems,
            "notes": self.notes,
            "decisions": [d.to_json() for d in self.decisions],
            "proofs": self.proofs,
            "markers": self.markers,
            "lock": [e.to_json() for e in self.entries],
            "work": self.work,
            "seconds": round(self.seconds, 2),
        }


# --- the request ----------------------------------------------------------------------------


def _requirement_lines(path: Path) -> list[str]:
    """The lines of a requirements file, comments and continuations folded, and the paths of
    ``-r``/``-c`` lines made absolute (pip reads them from a copy in another directory)."""
    text = path.read_text("utf-8").replace("\\\n", "")
    out = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        m = re.match(r"^(-r|-c|--requirement|--constraint)[\s=]+(.+)$", line)
        if m and not re.match(r"^[a-z]+://", m.group(2)):
            line = f"{m.group(1)} {(path.parent / m.group(2)).resolve()}"
        out.append(line)
    return out


def _name_of(line: str) -> str | None:
    if line.startswith("-"):
        return None
    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return None


def plan(options: Options) -> Plan:
    """Check the request before anything is done: the requirements and constraints files, the
    targets (a malformed one: :class:`~muslwheel.errors.TargetError`; an unknown release of a
    known distro: a problem line, the others still done), the ``--with-map``."""
    req = Path(options.requirements)
    if not req.is_file():
        raise WheelhouseError(f"{req}: no such requirements file")
    for c in options.constraints:
        if not Path(c).is_file():
            raise WheelhouseError(f"{c}: no such constraints file")
    targets, unknown = split_targets(options.targets, options.python, options.arch)
    problems = [f"{spec}: {e}" for spec, e in unknown]
    with_map: dict[str, list[str]] = {}
    if options.with_map is not None:
        try:
            raw = json.loads(Path(options.with_map).read_text("utf-8"))
            with_map = {canonicalize_name(k): [str(x) for x in v] for k, v in raw.items()}
        except (OSError, ValueError, AttributeError, TypeError) as e:
            raise WheelhouseError(
                f"--with-map {options.with_map}: not a JSON object of project -> [libraries] ({e})"
            ) from None
    out = Path(options.out_dir)
    if out.exists() and not out.is_dir():
        raise WheelhouseError(f"{out}: not a directory")
    lines = _requirement_lines(req)
    if not any(_name_of(line) for line in lines):
        raise WheelhouseError(f"{req}: no requirements in it")
    cache = (Path(options.cache) if options.cache else _default_cache()).resolve()
    return Plan(options, targets, problems, lines, with_map, cache)


def _default_cache() -> Path:
    from ..cache import cache_dir

    return cache_dir() / "wheelhouse"


# --- the work -------------------------------------------------------------------------------


class _House:
    def __init__(self, p: Plan, say: Say) -> None:
        self.p = p
        self.o = p.options
        self.say = say
        self.summary = HouseSummary(p.targets, problems=list(p.problems))
        self.ex = executor(self.o.dask)
        self.summary.runner = self.ex.name
        self.log = p.cache / "logs" / "pip.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._markers: dict[HouseTarget, dict[str, str]] = {}

    def markers(self, t: HouseTarget) -> dict[str, str]:
        """The target's marker environment, which pip evaluates every marker in: its arch and
        CPython, the full version of the CPython of the kit that proves it when one is built."""
        if t not in self._markers:
            kit = self._kit(t)
            self._markers[t] = t.marker_environment((kit.cpython_version or None) if kit is not None else None)
            self.summary.markers[t.name] = self._markers[t]
        return self._markers[t]

    # one target's resolution, with builds and drops
    def resolve(self, t: HouseTarget) -> list[Chosen]:
        built_dir = self.p.cache / "built" / t.name
        built_dir.mkdir(parents=True, exist_ok=True)
        dropped: set[str] = set()
        tried: set[str] = set()
        with tempfile.TemporaryDirectory(prefix="muslwheel-req-") as tmp:
            for _ in range(MAX_ROUNDS):
                lines = [line for line in self.p.requirements if _name_of(line) not in dropped]
                if not any(_name_of(line) for line in lines):
                    return []
                reqs = Path(tmp) / "requirements.txt"
                reqs.write_text("\n".join(lines) + "\n", encoding="utf-8")
                res = dry_run(
                    reqs, self.o.constraints, t.pip_args(), [built_dir], self.o.pip, self.log, self.markers(t)
                )
                if res.missing is None and res.error is None:
                    return res.chosen
                if res.error is not None:
                    self._problem(t, "-", "", "unresolvable", f"pip: {res.error}")
                    return []
                assert res.missing is not None
                try:
                    name = canonicalize_name(Requirement(res.missing).name)
                except InvalidRequirement:
                    name = canonicalize_name(res.missing.split()[0])
                if name not in tried:
                    tried.add(name)
                    self.say(f"{t.name}: no wheel of {res.missing} for the target: from its sdist")
                    if self.build(t, name, res.missing, built_dir):
                        continue
                else:
                    self._problem(t, name, "", "unresolvable", f"{res.missing}: built, yet pip still finds no wheel")
                culprits = self._culprits(t, name, res.missing_from, lines, built_dir, tmp)
                if not culprits:
                    return []
                dropped |= culprits
        self._problem(t, "-", "", "unresolvable", f"gave up after {MAX_ROUNDS} rounds")
        return []

    def _culprits(
        self, t: HouseTarget, name: str, parent: str | None, lines: list[str], built_dir: Path, tmp: str
    ) -> set[str]:
        """The top-level requirements that pull in *name* (to drop them and resolve the rest)."""
        tops = {n for n in map(_name_of, lines) if n}
        if name in tops:
            return {name}
        if parent:
            p = canonicalize_name(re.split(r"[=<>!~\s\[;]", parent, maxsplit=1)[0])
            if p in tops:
                return {p}
        found = set()
        for line in lines:  # each top-level requirement alone: those that fail pull it in
            top = _name_of(line)
            if not top:
                continue
            alone = Path(tmp) / "alone.txt"
            alone.write_text("\n".join([x for x in lines if not _name_of(x)] + [line]) + "\n", encoding="utf-8")
            res = dry_run(alone, self.o.constraints, t.pip_args(), [built_dir], self.o.pip, self.log, self.markers(t))
            if res.missing is not None or res.error is not None:
                found.add(top)
        return found

    def build(self, t: HouseTarget, name: str, requirement: str, built_dir: Path) -> bool:
        """The wheel of *requirement* built from its sdist for *t* into *built_dir* (pip's
        find-links): from the cache (sdist sha256 + target), else built now."""
        try:
            sdist = fetch_sdist(
                requirement, name, self.o.constraints, self.o.pip, self.p.cache / "sdists", self.log, self.markers(t)
            )
        except PipError as e:
            self._problem(t, name, "", "unresolvable", f"{requirement}: {e}")
            return False
        digest = file_sha256(sdist)
        record = built_dir / f"{digest}.json"
        if record.is_file():
            wheel = built_dir / json.loads(record.read_text("utf-8"))["wheel"]
            if wheel.is_file():
                self.say(f"{t.name}: {sdist.name}: built before ({wheel.name})")
                return True
        self.say(f"{t.name}: building {sdist.name} ({self.ex.name})")
        libs = self.p.with_map.get(name, [])
        call = (
            (sdist.name, sdist.read_bytes(), t.arch, t.python_text, t.musl),
            {"sandbox": self.o.sandbox, "kit_build": self.o.kit_build, "with_libs": libs},
        )
        got = self.ex.run(build_task, [call])[0]
        outcome = got if isinstance(got, BuildOutcome) else BuildOutcome(False, error=f"{type(got).__name__}: {got}")
        for line in outcome.log:
            self.say(f"  {line}")
        if not outcome.ok:
            self._problem(t, name, "", "build-failed", f"{sdist.name}: build failed: {outcome.error}")
            return False
        self.summary.work["built"] += 1
        wheel = built_dir / outcome.wheel_name
        partial = wheel.with_name(f".{wheel.name}.partial-{os.getpid()}")
        partial.write_bytes(outcome.wheel)
        os.replace(partial, wheel)
        output._atomic_write(record, json.dumps({"sdist": sdist.name, "wheel": wheel.name}).encode())
        self.say(f"{t.name}: built {wheel.name} in kit {outcome.kit} on {outcome.where}")
        return True

    def _problem(self, t: HouseTarget, project: str, version: str, decision: str, why: str) -> None:
        self.summary.decisions.append(Decision(t.name, project, version, decision, why))
        self.summary.problems.append(f"{t.name}: {project if project != '-' else 'requirements'}: {why}")

    def choose_all(self, t: HouseTarget, chosen: list[Chosen]) -> dict[str, tuple[Chosen, Path, str, str | None]]:
        built_dir = self.p.cache / "built" / t.name
        remote = [c for c in chosen if not (c.local_path and c.local_path.parent.resolve() == built_dir.resolve())]
        before = {c.sha256 for c in remote if (self.p.cache / "downloads" / c.filename).is_file()}
        try:
            files = download(remote, t.pip_args(), self.o.pip, self.p.cache / "downloads", self.log)
        except PipError as e:
            self._problem(t, "-", "", "unresolvable", str(e))
            return {}
        self.summary.work["downloaded"] += len({c.sha256 for c in remote} - before)
        root = self._kit_root(t)
        taken: dict[str, tuple[Chosen, Path, str, str | None]] = {}
        for c in chosen:
            is_built = c not in remote
            path = c.local_path if is_built else files[c.sha256]
            assert path is not None
            try:  # remote input: a wheel the reader refuses is one line, not the end of the run
                choice = choose(path, t, self.p.cache / "repaired", root, BUILT if is_built else DOWNLOADED)
            except MuslwheelError as e:
                self._problem(t, c.name, c.version, "refused", f"{c.filename}: {e}")
                continue
            if choice.did_work:
                self.summary.work["repaired"] += 1
            if choice.path is None:
                self._problem(t, c.name, c.version, "refused", f"{c.filename}: {choice.why}")
                continue
            self.summary.decisions.append(
                Decision(t.name, c.name, c.version, choice.origin, choice.why, choice.path.name, choice.floor)
            )
            taken[c.name] = (c, choice.path, choice.origin, choice.floor)
        return taken

    def _kit_root(self, t: HouseTarget) -> Path | None:
        """The root repair grafts from: the target's kit, when one is built (never made here)."""
        kit = self._kit(t)
        return Path(kit.root) if kit is not None else None

    def _kit(self, t: HouseTarget) -> Any:
        """The built kit that would prove *t* (never made here), or None."""
        try:
            return kit_for(t.arch, t.python_text, t.musl, newest=True, make=False)
        except MuslwheelError:
            return None


def _dedupe_names(per_target: dict[HouseTarget, dict[str, tuple[Chosen, Path, str, str | None]]]) -> list[str]:
    """One file per name in DIR: where targets chose different bytes under one file name (a
    wheel repaired for one target, taken as is for another), the one with the lowest musl
    floor serves all of them (it is honest, and fits each target its floor fits)."""
    by_name: dict[str, list[tuple[HouseTarget, str]]] = {}
    for t, taken in per_target.items():
        for project, (_, path, _, _) in taken.items():
            by_name.setdefault(path.name, []).append((t, project))
    notes = []
    for fname, users in sorted(by_name.items()):
        variants = {per_target[t][p][1] for t, p in users}
        if len(variants) < 2:
            continue

        def floor_key(item: tuple[HouseTarget, str]) -> tuple[int, ...]:
            floor = per_target[item[0]][item[1]][3]
            return tuple(int(x) for x in (floor or "0").split("."))

        best_t, best_p = min(users, key=floor_key)
        best = per_target[best_t][best_p]
        for t, p in users:
            if per_target[t][p][1] != best[1]:
                c = per_target[t][p][0]
                per_target[t][p] = (c, best[1], best[2], best[3])
                notes.append(
                    f"{t.name}: {fname}: the {best[2]} one of {best_t.name} serves this target too (one file per name)"
                )
    return notes


def run(p: Plan, say: Say | None = None) -> HouseSummary:
    """Do the planned wheelhouse; problems are lines in the summary (exit 1), never a partial
    index."""
    say = say or (lambda _line: None)
    start = time.monotonic()
    house = _House(p, say)
    s = house.summary
    try:
        per_target: dict[HouseTarget, dict[str, tuple[Chosen, Path, str, str | None]]] = {}
        for t in p.targets:
            say(f"{t.name}: resolving with pip")
            per_target[t] = house.choose_all(t, house.resolve(t))
        s.notes += _dedupe_names(per_target)
        if p.options.prove:
            _prove(house, per_target)
        out = Path(p.options.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        old = output.previous_files(out)
        entries = []
        for t, taken in per_target.items():
            for project, (c, path, origin, _) in sorted(taken.items()):
                placed = output.place_wheel(path, out)
                entries.append(output.Entry(project, c.version, placed.name, file_sha256(placed), origin, t.name))
        s.entries = sorted(entries, key=lambda e: (e.target, e.name))
        output.write_index(out, s.entries)
        output.write_lock(out, output.lock_bytes(s.entries, [t.to_json() for t in p.targets]))
        for gone in old - {e.file for e in s.entries}:
            if "/" not in gone and gone.endswith(".whl"):
                (out / gone).unlink(missing_ok=True)
        s.out_dir = out
        s.seconds = time.monotonic() - start
        output.write_report(out, {k: v for k, v in s.to_json().items() if k not in ("seconds", "work")})
    finally:
        house.ex.close()
    s.seconds = time.monotonic() - start
    return s


def _proof_key(t: HouseTarget, files: list[tuple[str, str]], sandbox: bool) -> str:
    text = json.dumps([t.name, sorted(files), sandbox])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _prove(house: _House, per_target: dict[HouseTarget, dict[str, tuple[Chosen, Path, str, str | None]]]) -> None:
    """Every target's whole set in its kit, the targets' proofs as tasks side by side."""
    s, o = house.summary, house.o
    todo: list[tuple[HouseTarget, Path, list[Path]]] = []
    for t, taken in per_target.items():
        paths = sorted({path for _, path, _, _ in taken.values()}, key=lambda x: x.name)
        if not paths:
            continue
        key = _proof_key(t, [(x.name, file_sha256(x)) for x in paths], o.sandbox)
        record = house.p.cache / "proofs" / f"{key}.json"
        if record.is_file():
            cached = json.loads(record.read_text("utf-8"))
            s.proofs.append(cached)
            house.say(f"{t.name}: proven before in {cached.get('kit')}")
            continue
        todo.append((t, record, paths))
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (
            (t.arch, t.python_text, t.musl, [(x.name, x.read_bytes()) for x in paths]),
            {"sandbox": o.sandbox, "kit_build": o.kit_build},
        )
        for t, _, paths in todo
    ]
    for (t, record, _), got in zip(todo, house.ex.run(prove_task, calls) if calls else []):
        outcome = (
            got if isinstance(got, ProofOutcome) else ProofOutcome(False, True, error=f"{type(got).__name__}: {got}")
        )
        for line in outcome.log:
            house.say(f"  {t.name}: {line}")
        if not outcome.proven:
            result, why = "not proven", outcome.error
            s.notes.append(f"{t.name}: not proven: {outcome.error}")
        elif outcome.ok:
            result, why = "imports", f"{len(outcome.reports)} wheel(s) in kit {outcome.kit}"
            if outcome.kit_musl is not None and outcome.kit_musl != t.musl:
                s.notes.append(
                    f"{t.name}: proven in {outcome.kit}, whose musl {outcome.kit_musl} is older than the "
                    f"target's {t.musl}: no kit of musl {t.musl} is built{' (--no-kit-build)' if not o.kit_build else ''}"
                )
            s.work["proved"] += 1
        else:
            result, why = "does NOT import", outcome.error
            s.problems.append(f"{t.name}: import proof in {outcome.kit}: {outcome.error}")
        proof: dict[str, object] = {"target": t.name, "kit": outcome.kit or None, "result": result, "why": why}
        proof["wheels"] = [{"wheel": r.get("wheel"), "ok": r.get("ok"), "note": r.get("note")} for r in outcome.reports]
        s.proofs.append(proof)
        house.say(f"{t.name}: {result}: {why}")
        if outcome.proven and outcome.ok:
            record.parent.mkdir(parents=True, exist_ok=True)
            output._atomic_write(record, json.dumps(proof, sort_keys=True).encode())
