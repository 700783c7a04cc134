"""The wheelhouse's units of work that may run elsewhere: a project's build from its sdist for a
target, and a target's import proof. Each is a plain function of bytes, names and versions
(picklable: Dask ships it to a worker that has only ``pip install 'muslwheel[build]'``) returning a result
with its log lines, run here by :class:`Local` or on a dask.distributed cluster by :class:`Dask`
(as :mod:`muslwheel.scan.runner` does: a task whose worker is lost is rescheduled by the
scheduler, and retried on an error; the others are untouched).

Kits are chosen (and made, when allowed) where the task runs, through :mod:`muslwheel.kits`:
for a build, the oldest built kit of the target's arch and CPython whose musl is at or below
the target's (a wheel built against older musl runs on newer); for a proof, the newest such kit
(closest to what the target runs).
"""

from __future__ import annotations

import importlib
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from ..errors import MuslwheelError
from ..versions import MuslVersion

R = TypeVar("R")


@dataclass
class BuildOutcome:
    ok: bool
    wheel_name: str = ""
    wheel: bytes = b""
    error: str = ""
    log: list[str] = field(default_factory=list)
    where: str = ""  #: the host (worker) it ran on
    kit: str = ""


@dataclass
class ProofOutcome:
    ok: bool
    proven: bool  #: a kit ran the imports (False: none could; *error* says why)
    kit: str = ""
    #: the musl release of *kit* (older than the target's when none of its own could be had)
    kit_musl: MuslVersion | None = None
    reports: list[dict[str, object]] = field(default_factory=list)
    error: str = ""
    log: list[str] = field(default_factory=list)
    where: str = ""


def kit_for(arch: str, python: str, musl: MuslVersion, *, newest: bool, make: bool) -> Any:
    """The kit of *arch* and CPython *python* for a target of musl *musl*.

    For a proof (*newest*): the kit of the target's own musl release (:func:`muslwheel.kits.choice.pick`
    with the release), made on demand when none is built and *make* (and kits can make that
    release); else the newest built kit with an older musl (the proof says so). For a build: the
    oldest built kit with a musl at or below *musl*, else one made. :class:`~muslwheel.errors.MuslwheelError`
    (one line) when there is none."""
    from .. import kits as kits_module
    from ..arch import get_arch
    from ..kits.choice import KitKey, pick
    from ..kits.cpython import kit_pythons
    from ..kits.musl import DEBIAN_BINARY_MUSL, NEWEST_MUSL
    from ..kits.ondemand import KitSpec, make_kit
    from ..versions import CPython, MuslWanted

    py = CPython.parse(python)
    built = [k for k in kits_module.list_kits() if k.python is not None]
    unmade = ""
    if newest:
        exact = pick(KitKey(arch, py, MuslWanted.exactly(musl)), built)
        if exact is not None:
            return exact
        if make and python in map(str, kit_pythons()):
            try:
                return make_kit(KitSpec(arch, musl, py), reason=f"no kit of {arch} py{python} musl {musl}")
            except MuslwheelError as e:  # a release kits cannot make: the newest older kit proves it
                unmade = f" (a kit of musl {musl} cannot be made: {e})"
    found = [k for k in built if k.arch == arch and k.python == py and k.musl <= musl]
    if found:
        return (max if newest else min)(found, key=lambda k: k.musl)
    if python not in map(str, kit_pythons()):
        raise MuslwheelError(f"no kit for {arch} py{python}: kits have CPython {', '.join(map(str, kit_pythons()))}")
    if not make:
        raise MuslwheelError(f"no kit for {arch} py{python} with musl <= {musl} (--no-kit-build)")
    a = get_arch(arch)
    releases = [r for r in ([DEBIAN_BINARY_MUSL] if a.debian_arch else []) + [NEWEST_MUSL] if r <= musl]
    if newest:  # the target's own release was tried above
        releases = [r for r in releases if r < musl]
    if not releases:
        raise MuslwheelError(f"no kit for {arch} py{python} with musl <= {musl}, and none is made on demand{unmade}")
    release = (max if newest else min)(releases)
    return make_kit(KitSpec(arch, release, py), reason=f"no kit for {arch} py{python} musl <= {musl}")


def build_task(
    sdist_name: str,
    sdist: bytes,
    arch: str,
    python: str,
    musl: MuslVersion,
    *,
    sandbox: bool = True,
    kit_build: bool = True,
    with_libs: Sequence[str] = (),
) -> BuildOutcome:
    """Build *sdist* for the target with :func:`muslwheel.builder.build` (cross-built with zig,
    repaired, checked, imported), in a throwaway directory; the wheel comes back as bytes."""
    from ..builder import BuildOptions, build
    from ..builder.target import target_from_kit

    where = socket.gethostname()
    try:
        kit = kit_for(arch, python, musl, newest=False, make=kit_build)
    except MuslwheelError as e:
        return BuildOutcome(False, error=str(e), where=where)
    with tempfile.TemporaryDirectory(prefix="muslwheel-wheelhouse-build-") as tmp:
        src = Path(tmp) / Path(sdist_name).name
        src.write_bytes(sdist)
        out = Path(tmp) / "out"
        try:
            summary = build(
                BuildOptions(
                    source=src,
                    out_dir=out,
                    targets=[target_from_kit(kit)],
                    jobs=1,
                    sandbox=sandbox,
                    with_libs=tuple(with_libs),
                )
            )
        except MuslwheelError as e:
            return BuildOutcome(False, error=str(e), where=where, kit=kit.name)
        result = summary.results[0]
        if not result.ok or result.wheel is None:
            return BuildOutcome(
                False, error=f"{result.stage}: {result.error}", log=result.log_tail, where=where, kit=kit.name
            )
        return BuildOutcome(True, result.wheel.name, result.wheel.read_bytes(), where=where, kit=kit.name)


def prove_task(
    arch: str,
    python: str,
    musl: MuslVersion,
    files: Sequence[tuple[str, bytes]],
    *,
    sandbox: bool = True,
    kit_build: bool = True,
) -> ProofOutcome:
    """Import every top-level package and extension module of *files* (name, bytes) in the
    target's kit, in the sandbox (:func:`muslwheel.check_import.check_imports`)."""
    from ..check_import import check_imports

    where = socket.gethostname()
    try:
        kit = kit_for(arch, python, musl, newest=True, make=kit_build)
    except MuslwheelError as e:
        return ProofOutcome(True, False, error=str(e), where=where)
    with tempfile.TemporaryDirectory(prefix="muslwheel-wheelhouse-proof-") as tmp:
        paths = []
        for name, data in files:
            path = Path(tmp) / Path(name).name
            path.write_bytes(data)
            paths.append(path)
        try:
            reports = check_imports(paths, [kit.name], sandbox=sandbox, kit_build=False, **_no_fetching())
        except MuslwheelError as e:
            return ProofOutcome(False, True, kit.name, kit.musl, error=str(e), where=where)
    log = [f"{r.wheel}: {r.summary()}" for r in reports]
    bad = [r for r in reports if not r.ok]
    error = ""
    if bad:
        m = next(m for m in bad[0].modules if m.binary_failure)
        error = f"{bad[0].wheel}: {m.module}: {m.result}: {m.detail}"
    return ProofOutcome(not bad, True, kit.name, kit.musl, [r.to_json() for r in reports], error, log, where)


def _no_fetching() -> dict[str, Any]:
    """check_imports' options for a complete set: the wheels given together in one site with
    their dependencies (:mod:`muslwheel.proofdeps`), nothing fetched (the set is the wheelhouse)."""
    from ..proofdeps import DepsOptions

    return {"deps": DepsOptions(resolve=False)}


class Local:
    """Runs tasks here, one after another (each uses the cores it needs)."""

    name = "local"

    def run(self, fn: Callable[..., R], calls: Sequence[tuple[tuple[Any, ...], dict[str, Any]]]) -> list[R]:
        return [fn(*args, **kwargs) for args, kwargs in calls]

    def close(self) -> None:
        pass


class Dask:
    """Runs tasks on the dask.distributed cluster at *address*; results in the order asked.

    A worker lost mid-task: the scheduler runs the task again elsewhere (its
    ``allowed-failures``); a task that raises is retried *retries* times, then its error is
    returned in its place (the caller turns it into one line)."""

    name = "dask"

    def __init__(self, address: str, retries: int = 2) -> None:
        try:  # untyped, imported only here (as scan's runner does)
            self._distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise MuslwheelError("--dask needs dask.distributed: pip install 'muslwheel[dask]'") from None
        try:
            self._client = self._distributed.Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise MuslwheelError(f"--dask {address}: cannot connect ({exc})") from None
        self.retries = retries
        self.address = address

    def run(self, fn: Callable[..., R], calls: Sequence[tuple[tuple[Any, ...], dict[str, Any]]]) -> list[Any]:
        futures = [self._client.submit(fn, *args, pure=False, retries=self.retries, **kwargs) for args, kwargs in calls]
        out: list[Any] = []
        for fut in futures:
            try:
                out.append(fut.result())
            except Exception as exc:  # lost more often than the scheduler allows, or raised every time
                out.append(exc)
        return out

    def close(self) -> None:
        self._client.close()


def executor(address: str | None) -> Local | Dask:
    return Dask(address) if address else Local()
