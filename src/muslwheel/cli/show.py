"""``muslwheel show``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .common import MuslwheelError, Subparsers, error, print_json

if TYPE_CHECKING:
    from ..audit import Verdict


def _print_verdict(v: Verdict, verbose: bool) -> None:
    print(f"{v.wheel}")
    if v.libc == "none":
        print("  pure wheel: no ELF members, nothing for muslwheel to audit")
    else:
        print(f"  libc: {v.libc}    arch: {v.arch or 'unknown'}    needs musl >= {v.musl_min_version or '-'}")
        if v.tag:
            print(f"  best honest tag: {v.tag}")
        elif v.libc == "glibc":
            # A glibc wheel claiming nothing musl gets one line, the reason show gives for it.
            not_ours = next((r.why for r in v.reasons if r.kind == "glibc" and r.severity == "info"), None)
            print(f"  {not_ours or 'glibc binaries: no musllinux tag applies'}")
        else:
            print("  no musllinux tag can be claimed")
    verdict = "honest" if v.honest else "NOT honest"
    print(f"  claimed: {', '.join(v.claimed_tags)}: {verdict}")
    if v.pypi_note:
        print(f"  note: {v.pypi_note}")
    for r in v.reasons:
        if r.severity == "info" and (not verbose or r.kind == "glibc"):
            continue
        where = f"{r.file}: " if r.file else ""
        subject = r.symbol or r.library or r.feature
        print(f"  {r.severity}: {where}{subject + ': ' if subject and subject not in r.why else ''}{r.why}")
    for tag, why in v.stricter.items():
        print(f"  not {tag}: {why}")
    if v.external_libs:
        print(f"  external libraries: {', '.join(v.external_libs)}")
    if v.system_libs:
        print(f"  allowed system libraries: {', '.join(v.system_libs)}")
    if verbose:
        for f in v.files:
            print(
                f"  {f.path}: {f.libc} {f.arch or f.machine}, musl >= {f.musl_min_version or '-'}, needs {', '.join(f.needed) or 'nothing'}"
            )


def _print_sboms(path: str) -> None:
    """Each component of the wheel's SBOMs (PEP 770 ``.dist-info/sboms/``): name, version, purl."""
    from ..sbom import sbom_entries
    from ..wheelfile import WheelFile

    with WheelFile(path) as wheel:
        prefix = f"{wheel.dist_info}/sboms/"
        for m in sorted(m.filename for m in wheel.members if m.filename.startswith(prefix) and not m.is_dir()):
            for e in sbom_entries(m, wheel.read(m)):
                print(f"  sbom {m}: {' '.join(x for x in (e.name, e.version or '(version unknown)', e.purl) if x)}")


#: Wheels smaller than this in all are audited in this process: forking the pool would cost more.
_POOL_OVER = 4 << 20


def _audit_one(path: str) -> Verdict | MuslwheelError:
    from ..audit import audit_wheel

    try:
        return audit_wheel(path)
    except MuslwheelError as exc:
        return exc


def _audited(paths: list[str]) -> Iterator[tuple[str, Verdict | MuslwheelError]]:
    """Each wheel's verdict (or the error that refused it), in the order given, each as soon as
    it and those before it are done.

    Several wheels are audited by one process per core, forked once the audit is imported (on
    Linux; elsewhere, where fork is not safe, by threads). An audit is inflating and hashing
    outside the GIL and parsing inside it: threads would wait for each other's parsing at every
    hand-back of the GIL, processes do not (over the bench set, one process per core takes
    three quarters of the threads' time). The biggest wheels start first, as an audit's cost
    follows the wheel's size, so no core idles at the end while another reads the biggest
    wheel alone. Wheels of a few MiB in all are audited here, one by one (:data:`_POOL_OVER`)."""
    from ..cores import pool_worker, usable_cores

    def size(path: str) -> int:
        try:
            return os.stat(path).st_size
        except OSError:  # refused by the audit in its turn, in its own words
            return 0

    sizes = [size(p) for p in paths]
    workers = min(len(paths), usable_cores())
    if workers <= 1 or sum(sizes) < _POOL_OVER:
        yield from ((p, _audit_one(p)) for p in paths)
        return

    import concurrent.futures as cf  # not for one wheel: it imports logging

    pool: cf.Executor
    if sys.platform.startswith("linux"):
        import multiprocessing

        from .. import audit  # noqa: F401 - imported once here, not in every worker

        fork = multiprocessing.get_context("fork")
        pool = cf.ProcessPoolExecutor(workers, mp_context=fork, initializer=pool_worker, initargs=(os.getpid(), True))
    else:  # pragma: no cover - not Linux
        pool = cf.ThreadPoolExecutor(workers)
    try:
        futures: dict[int, cf.Future[Verdict | MuslwheelError]] = {}
        with contextlib.suppress(cf.BrokenExecutor):  # a worker already killed: the rest is not judged
            for i in sorted(range(len(paths)), key=sizes.__getitem__, reverse=True):
                futures[i] = pool.submit(_audit_one, paths[i])
        for i, path in enumerate(paths):
            try:
                if i not in futures:
                    raise cf.BrokenExecutor
                result = futures[i].result()
            except cf.BrokenExecutor:  # a worker killed (the OOM killer, a signal): its wheels and all after
                result = MuslwheelError(f"{path}: not judged: a process auditing these wheels was killed")
            yield path, result
    finally:
        # Interrupted, no other wheel starts; the one each worker is auditing ends first (a
        # worker interrupted too ends it at once). Waiting here, never at exit: concurrent.futures'
        # own exit handler can write to a pipe its manager thread is closing and print
        # "Exception ignored … Bad file descriptor" (CPython 3.11, seen here once in eight runs).
        pool.shutdown(wait=True, cancel_futures=True)


def run(args: argparse.Namespace) -> int:
    from ..gate import show_exit_status

    if args.distro:
        from ..distros import find, judge

        for spec in args.distro:
            find(spec)  # an unknown target is bad input, refused before any work
    verdicts = []
    status = 0
    for _path, v in _audited(args.wheels):
        if isinstance(v, MuslwheelError):
            if len(args.wheels) == 1:
                raise v
            error(v)
            status = 2
            continue
        if args.distro:
            judged = judge(v, args.distro)
            status = max(status, 0 if all(j["loads"] for j in judged) else 1)
            if args.json:
                verdicts.append({**v.to_json(), "distros": judged})
            else:
                print(v.wheel)
                for j in judged:
                    print(f"  {j['label']} (musl {j['musl']}): {'loads' if j['loads'] else 'does NOT load'}")
                    for p in j["problems"]:  # type: ignore[attr-defined]
                        print(f"    {p}")
            continue
        exit_status = show_exit_status(v, args.strict)
        verdicts.append({**v.to_json(), "exit_status": exit_status})
        status = max(status, exit_status)
        if not args.json:
            _print_verdict(v, args.verbose)
            if args.verbose:
                _print_sboms(_path)
    if args.json:
        print_json(verdicts if len(args.wheels) > 1 else verdicts[0])
    return status


def register(sub: Subparsers) -> None:
    p = sub.add_parser("show", help="audit wheels: the tag each can honestly claim, and why not a better one")
    p.add_argument("wheels", nargs="+", metavar="WHEEL")
    p.add_argument("-v", "--verbose", action="store_true", help="also the symbols behind the floor and each file")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 also when a wheel needs more than its tag's X.Y.0 (1.2.4 under musllinux_1_2), for CI gates",
    )
    p.add_argument(
        "--distro",
        action="append",
        metavar="DISTRO:RELEASE",
        help="judge the wheel against this distro release instead (alpine:3.17, void:64-bit; repeatable); "
        "exit 1 if one cannot load it",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output (schema: docs/json.md)")
    p.set_defaults(handler=run)
