"""What the wheelhouse does with one binary wheel pip chose for a target: take it, repair it,
or refuse it, by ``show``'s verdict (:func:`muslwheel.audit.audit_wheel`) and
:func:`muslwheel.repair.repair_wheel`; nothing here judges a wheel itself.

- honest, floor at or below the target's musl (or pure): taken as downloaded;
- floor above the target's musl, or dishonest for what repair fixes (an external library, a
  tag; DT_RELR, which repair unpacks when the tag it writes promises a musl before 1.2.4):
  repaired for the target's ``musllinux_X_Y_ARCH``, then audited again: taken if it now fits;
- otherwise refused, with the verdict's reason (glibc-only, wrong arch, a floor no repair lowers).

Repairs are cached by the input's sha256 and the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..cache import file_sha256
from ..errors import MuslwheelError
from ..versions import MuslVersion
from ..vocabulary import MUSL_LIKE, Libc, Severity
from .target import HouseTarget

#: origins of a wheel in the lock
DOWNLOADED, REPAIRED, BUILT = "downloaded", "repaired", "built"


@dataclass
class Choice:
    """A wheel taken for a target (*path*), or refused (*path* None, *why* says why)."""

    path: Path | None
    origin: str  #: downloaded, repaired, built; refused
    why: str
    floor: str | None  #: the musl the taken wheel needs (show's floor); None: pure or static
    did_work: bool = False  #: a repair ran now (not from the cache)


class _Refused(Exception):
    def __init__(self, choice: Choice) -> None:
        self.choice = choice


def _fits(floor: MuslVersion | None, target: HouseTarget) -> bool:
    return floor is None or floor <= target.musl


def _text(floor: MuslVersion | None) -> str | None:
    """A floor as the wheelhouse's JSON has it (``1.2.3``)."""
    return str(floor) if floor is not None else None


def _first_error(verdict: object) -> str:
    for r in getattr(verdict, "reasons", []):
        if r.severity == Severity.ERROR:
            return f"{r.file}: {r.why}" if r.file else r.why
    return "dishonest tag"


def choose(path: Path, target: HouseTarget, repaired_dir: Path, root: Path | None, origin: str = DOWNLOADED) -> Choice:
    """Take, repair (into *repaired_dir*, a cache keyed by input hash and target) or refuse the
    wheel at *path* for *target*; *root* (the target's kit root) is where repair finds libraries
    to graft."""
    try:
        return _choose(path, target, repaired_dir, root, origin)
    except _Refused as r:
        return r.choice


def _choose(path: Path, target: HouseTarget, repaired_dir: Path, root: Path | None, origin: str) -> Choice:
    from ..audit import audit_wheel
    from ..cache import staged
    from ..repair import repair_wheel

    verdict = audit_wheel(path)
    if verdict.libc == Libc.NONE:
        return Choice(path, origin, "pure wheel", None)
    if verdict.libc not in MUSL_LIKE:
        return Choice(
            None, "refused", f"{verdict.libc} binaries: {_first_error(verdict)}", _text(verdict.musl_min_version)
        )
    if verdict.arch != target.arch:
        return Choice(
            None, "refused", f"arch {verdict.arch or 'unknown'}, not {target.arch}", _text(verdict.musl_min_version)
        )
    floor = verdict.musl_min_version
    if verdict.honest and _fits(floor, target):
        return Choice(path, origin, f"honest {verdict.tag or 'tag'}, needs musl {floor or 'any'}", _text(floor))
    problem = (
        f"needs musl {floor}, above the target's {target.musl}" if not _fits(floor, target) else _first_error(verdict)
    )
    key = f"{file_sha256(path)[:32]}-{target.name}"
    done = repaired_dir / key
    if done.is_dir():
        cached = sorted(done.glob("*.whl"))
        if cached:
            return Choice(
                cached[0], REPAIRED, f"{problem}: repaired (cached)", _text(audit_wheel(cached[0]).musl_min_version)
            )
    plat = f"musllinux_{target.musl.major}_{target.musl.minor}_{target.arch}"
    repaired_dir.mkdir(parents=True, exist_ok=True)
    refused: Choice | None = None
    with staged(done) as tmp:
        tmp.mkdir()
        try:
            result = repair_wheel(path, tmp, plat=plat, root=root, update_tags=True)
        except (MuslwheelError, OSError) as e:
            refused = Choice(None, "refused", f"{problem}; repair cannot fix it: {e}", _text(floor))
            result = None
        after = audit_wheel(result.output) if result and result.output else None
        if refused is None and (after is None or not after.honest or not _fits(after.musl_min_version, target)):
            still = after.musl_min_version if after else floor
            refused = Choice(None, "refused", f"{problem}; after repair it still needs musl {still}", _text(floor))
        if refused is not None:
            raise _Refused(refused)
    assert result is not None and result.output is not None and after is not None
    what = []
    if result.relr_unpacked:
        what.append(f"DT_RELR unpacked in {len(result.relr_unpacked)} file(s)")
    if result.grafted:
        what.append(f"grafted {', '.join(g.needed for g in result.grafted)}")
    final = done / result.output.name
    return Choice(
        final,
        REPAIRED,
        f"{problem}: repaired ({'; '.join(what) or 'retagged'})",
        _text(after.musl_min_version),
        did_work=True,
    )
