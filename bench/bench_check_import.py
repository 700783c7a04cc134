#!/usr/bin/env python3
"""What `show` predicts, what `check --import` sees and what `repair` fixes, on real PyPI wheels.

    export MUSLWHEEL_CACHE=...   # kits: {arch}-musl1.2.3-py3.11 and {arch}-musl1.2.6-py3.11
    $MUSLWHEEL_CACHE/venv/bin/python bench/bench_check_import.py [--arch x86_64,aarch64,armv7l] \\
        [--limit N] [--wheels DIR] [--out bench/results/check_import.txt]

For each musllinux package of the bench set (bench/wheels.txt), the newest release's cp311
musllinux wheel for each arch (pip download with `muslwheel tags --target ARCH:1.2.3 --python
3.11 --pip-args`, into --wheels, a cache outside the repository, reused; the CPython kits are
3.11). For each wheel:

1. `muslwheel show --json`: its verdict and musl floor, and whether DT_RELR sets the floor;
2. `muslwheel check --import --json` with no --kit: the default kits (the wheel's arch and
   Python at its tag's musl floor, and the newest), which here must be musl 1.2.3 and 1.2.6;
   per module imported / crashed (signal) / loader error / binary error / Python error;
3. `muslwheel repair` (DT_RELR unpacked, the default; with ``--strip``, stripped first), then
   `check --import` of the repaired wheel in the musl 1.2.3 kit;
4. when a kit lacked libz.so.1 (a system library musllinux wheels may use, which Alpine's base
   image has and the kits do not), 2 and 3 again in the same kits with a libz.so.1 added (built
   here by zig from Debian's zlib source; the kits are not modified).

Bound: the bench set's 18 binary packages, one wheel each per arch (41 wheels: armv7l has 5),
took 890 s and 544 s in two runs with the machine at load ~12 (pyarrow under qemu-aarch64 alone 2-4 min); --limit N
takes the first N per arch, --only a few packages.

Writes a table and totals to --out with the command: how many wheels crash on 1.2.3, how many of
those `show` predicted (floor ≥ 1.2.4 through DT_RELR), how many repaired wheels import on 1.2.3,
and every disagreement between `show` and the real import, each with its reason.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_file import header, write  # noqa: E402

from muslwheel.kits import kits_dir  # noqa: E402

MUSLWHEEL = [sys.executable, "-m", "muslwheel"]
PYTHON = "3.11"
OLD, NEW = "1.2.3", "1.2.6"


def packages() -> list[str]:
    """The bench set's binary packages, each once (their newest cp311 release is fetched)."""
    seen: dict[str, None] = {}
    for line in (HERE / "wheels.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#") and not line.startswith("any "):
            name = line.split()[1].split("==")[0]
            seen.setdefault(name.lower().replace("-", "_"), None)
    return list(seen)


def fetch(arch: str, names: list[str], dest: Path) -> tuple[list[Path], list[str]]:
    """The newest cp311 musllinux wheel of each package for *arch* (reused when already in *dest*)."""
    dest.mkdir(parents=True, exist_ok=True)
    args = subprocess.run(
        [*MUSLWHEEL, "tags", "--target", f"{arch}:{OLD}", "--python", PYTHON, "--pip-args"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    wheels, missing = [], []
    for name in names:
        have = [p for p in dest.glob("*.whl") if p.name.lower().startswith(f"{name}-") and "musllinux" in p.name]
        if not have:
            pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), *args, name]
            proc = subprocess.run(pip, capture_output=True, text=True)
            have = [p for p in dest.glob("*.whl") if p.name.lower().startswith(f"{name}-") and "musllinux" in p.name]
            if proc.returncode != 0 or not have:
                missing.append(name)
                continue
        wheels.append(max(have, key=lambda p: p.stat().st_mtime))
    return wheels, missing


def muslwheel(*args: str, timeout: float = 1800) -> tuple[int, str, str]:
    proc = subprocess.run([*MUSLWHEEL, *args], capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


@dataclass
class Outcome:
    """One wheel in one kit: the worst module's result, and what it says."""

    kit: str
    result: str  #: imported, crashed, loader-error, binary-error, python-error, timeout, system-library, error
    detail: str = ""
    modules: dict[str, int] = field(default_factory=dict)  #: result -> count

    def cell(self) -> str:
        counts = ",".join(f"{n} {r}" for r, n in sorted(self.modules.items()))
        text = self.result if not self.detail else f"{self.result}: {self.detail}"
        return f"{text} [{counts}]" if counts else text


ORDER = ["crashed", "timeout", "loader-error", "binary-error", "system-library", "python-error", "imported"]


def outcomes(code: int, out: str, err: str) -> list[Outcome]:
    try:
        reports = json.loads(out)
    except ValueError:
        return [Outcome("?", "error", (err.strip().splitlines() or [f"exit {code}"])[-1][:160])]
    found = []
    for rep in reports:
        mods = rep["modules"]
        counts: dict[str, int] = {}
        for m in mods:
            counts[m["result"]] = counts.get(m["result"], 0) + 1
        worst = min(mods, key=lambda m: ORDER.index(m["result"]) if m["result"] in ORDER else 0)
        detail = f"{worst['module']}: {worst['detail']}" if worst["result"] != "imported" else ""
        found.append(Outcome(rep["kit"], worst["result"], detail[:140], counts))
    return found


@dataclass
class Row:
    arch: str
    wheel: str
    tag: str = ""
    floor: str = ""
    relr: bool = False  #: show's floor is DT_RELR's (1.2.4) and would be lower without it
    show: str = ""  #: show's one-line verdict
    kits: list[Outcome] = field(default_factory=list)
    repaired: str = ""  #: the repaired wheel's tag and floor, or why repair refused
    after: Outcome | None = None
    seconds: float = 0.0
    #: when a kit lacked libz.so.1: the first runs, before kits/after were rerun with a libz added
    without_libz: list[Outcome] = field(default_factory=list)
    default_kits: list[str] = field(default_factory=list)  #: the kits check --import chose itself

    def on(self, musl: str) -> Outcome | None:
        name = f"{self.arch}-musl{musl}-py{PYTHON}"
        return next((o for o in self.kits if o.kit in (name, name + ZLIB)), None)


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


ZLIB = "+libz"
ZLIB_SOURCES = (
    "adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast inflate inftrees trees uncompr zutil"
)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system
        shutil.copy2(src, dst)


def kits_with_libz(arch: str, kits: dict[str, dict[str, object]], work: Path) -> dict[str, Path]:
    """Each CPython kit of *arch* at 1.2.3 and 1.2.6 plus a libz.so.1 (Alpine's base image has
    one; musllinux wheels may use it), as a kit of its own in *work*: kit.json, and a copy of the
    kit's root (hard links where the file system allows) with a libz.so.1 built by zig from the
    Debian zlib source the test world uses in its lib/. A copy, not links to the kit's files: a
    root's absolute links are the root's own (its loader runs where the root is ``/``), so links
    out of it would lead nowhere. The kits themselves are not touched."""
    found = subprocess.run(
        [sys.executable, "-m", "muslwheel.debian", "zlib", "--version-prefix", "1.2.13"],
        capture_output=True,
        text=True,
        check=True,
    )
    src = work / f"zlib-{arch}"
    src.mkdir()
    subprocess.run(["tar", "-xf", found.stdout.strip(), "-C", str(src), "--strip-components=1"], check=True)
    out: dict[str, Path] = {}
    for musl in (OLD, NEW):
        kit = kits[f"{arch}-musl{musl}-py{PYTHON}"]
        root = Path(str(kit["root"]))
        directory = work / f"{kit['name']}{ZLIB}"
        directory.mkdir(parents=True)
        meta = json.loads((root.parent / "kit.json").read_text())
        meta["name"] = f"{kit['name']}{ZLIB}"
        (directory / "kit.json").write_text(json.dumps(meta))
        shutil.copytree(root, directory / "root", symlinks=True, copy_function=_link_or_copy)
        zig = [sys.executable, "-m", "ziglang", "cc", "-target", str(kit["zig_target"])]
        flags = ["-O2", "-fPIC", "-w", "-DHAVE_UNISTD_H", "-DHAVE_STDARG_H", "-shared", "-Wl,-soname,libz.so.1"]
        sources = [str(src / f"{name}.c") for name in ZLIB_SOURCES.split()]
        subprocess.run([*zig, *flags, "-o", str(directory / "root" / "lib" / "libz.so.1"), *sources], check=True)
        out[musl] = directory
    return out


def bench_wheel(arch: str, wheel: Path, work: Path, timeout: float, libz: dict[str, Path] | None = None) -> Row:
    row = Row(arch, wheel.name)
    start = time.monotonic()
    code, out, err = muslwheel("show", "--json", str(wheel))
    try:
        v = json.loads(out)
        row.tag, row.floor = v.get("tag") or "-", v.get("musl_min_version") or "-"
        without = v.get("musl_min_version_without_relr")
        row.relr = bool(without) and version_tuple(row.floor) >= (1, 2, 4) and version_tuple(without) < (1, 2, 4)
        row.show = "honest" if v.get("honest") else "NOT honest"
    except ValueError:
        row.show = "show failed: " + (err.strip().splitlines() or ["?"])[-1][:120]
    row.kits = outcomes(*muslwheel("check", "--import", "--json", "--timeout", str(timeout), str(wheel)))
    row.default_kits = sorted(o.kit for o in row.kits)
    old_kit = f"{arch}-musl{OLD}-py{PYTHON}"
    dest = work / wheel.stem
    dest.mkdir()
    code, out, err = muslwheel("repair", "--json", *REPAIR_ARGS, "-w", str(dest), str(wheel))
    if code != 0:
        row.repaired = "refused: " + (err.strip().splitlines() or [f"exit {code}"])[-1][:140]
    else:
        fixed = json.loads(out)["output"]
        code, out, err = muslwheel("show", "--json", fixed)
        try:
            v = json.loads(out)
            row.repaired = f"{v.get('tag')} floor {v.get('musl_min_version')}"
        except ValueError:
            row.repaired = "show failed"
        after = outcomes(*muslwheel("check", "--import", "--json", "--timeout", str(timeout), "--kit", old_kit, fixed))
        row.after = after[0] if after else None
    if libz and any(state(o) == "unproven" for o in [*row.kits, *([row.after] if row.after else [])]):
        # prove it with the libz.so.1 the kits lack
        row.without_libz = [*row.kits, *([row.after] if row.after else [])]
        kits = [a for m in (OLD, NEW) for a in ("--kit", str(libz[m]))]
        row.kits = outcomes(*muslwheel("check", "--import", "--json", "--timeout", str(timeout), *kits, str(wheel)))
        if row.after:
            after = outcomes(
                *muslwheel("check", "--import", "--json", "--timeout", str(timeout), "--kit", str(libz[OLD]), fixed)
            )
            row.after = after[0] if after else None
    row.seconds = time.monotonic() - start
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="x86_64,aarch64,armv7l")
    parser.add_argument("--limit", type=int, default=0, help="at most N wheels per arch (0: all)")
    parser.add_argument("--only", default="", help="only these packages, comma-separated (a quick look)")
    parser.add_argument("--skip", default="", help="packages not to run, comma-separated (named in the results)")
    parser.add_argument(
        "--wheels",
        type=Path,
        default=Path(os.environ.get("MUSLWHEEL_CACHE", Path.home() / ".cache/muslwheel")) / "bench-check-import",
        help="download cache (outside the repository; reused)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="check --import's timeout per process")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "check_import.txt")
    parser.add_argument("--strip", action="store_true", help="repair with --strip (step 3)")
    args = parser.parse_args()
    if args.strip:
        REPAIR_ARGS.append("--strip")

    kits = {str(k["name"]): k for k in json.loads(muslwheel("kit", "list", "--json")[1])}
    skip = {s.strip().lower() for s in args.skip.split(",") if s.strip()}
    only = {s.strip().lower() for s in args.only.split(",") if s.strip()}
    names = [n for n in packages() if n not in skip and (not only or n in only)]
    rows: list[Row] = []
    notes: list[str] = []
    started = time.monotonic()
    for arch in args.arch.split(","):
        want = [f"{arch}-musl{m}-py{PYTHON}" for m in (OLD, NEW)]
        if not set(want) <= set(kits):
            notes.append(f"{arch}: skipped, no kits {', '.join(k for k in want if k not in kits)}")
            continue
        wheels, missing = fetch(arch, names, args.wheels / arch)
        if missing:
            notes.append(f"{arch}: no cp{PYTHON.replace('.', '')} musllinux wheel of {', '.join(missing)}")
        if args.limit and len(wheels) > args.limit:
            notes.append(f"{arch}: bounded to {args.limit} of {len(wheels)} wheels (--limit)")
            wheels = wheels[: args.limit]
        with tempfile.TemporaryDirectory(prefix="muslwheel-bench-import-") as tmp:
            libz = kits_with_libz(arch, kits, Path(tmp))
            for wheel in wheels:
                row = bench_wheel(arch, wheel, Path(tmp), args.timeout, libz)
                print(f"{row.seconds:6.1f}s {wheel.name}", file=sys.stderr, flush=True)
                rows.append(row)
    if skip:
        notes.append(f"skipped by --skip: {', '.join(sorted(skip))}")
    notes.append(f"kits: {kits_dir()} (MUSLWHEEL_CACHE/kits); wheels: {args.wheels}")
    notes += no_kit_for_the_python(args.wheels / "cp312", ["ujson", "lxml"])  # cp312-cp312, not abi3
    return report(rows, notes, time.monotonic() - started, args.out)


def no_kit_for_the_python(dest: Path, names: list[str]) -> list[str]:
    """A wheel whose Python has no kit (cp312 when the kits have 3.11) must get one line, exit 2."""
    dest.mkdir(parents=True, exist_ok=True)
    args = subprocess.run(
        [*MUSLWHEEL, "tags", "--target", f"x86_64:{OLD}", "--python", "3.12", "--pip-args"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out = []
    for name in names:
        have = [p for p in dest.glob("*.whl") if p.name.lower().startswith(f"{name}-")]
        if not have:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), *args, name])
            have = [p for p in dest.glob("*.whl") if p.name.lower().startswith(f"{name}-")]
        if not have:
            out.append(f"cp312 {name}: no wheel to try")
            continue
        code, stdout, stderr = muslwheel("check", "--import", str(have[0]))
        lines = stderr.strip().splitlines()
        shape = "one line" if len(lines) == 1 and not stdout else f"{len(lines)} lines, stdout {len(stdout)} chars"
        out.append(f"cp312 wheel, no 3.12 kit: exit {code}, {shape}: {lines[-1] if lines else ''}")
    return out


BINARY = {"crashed", "loader-error", "binary-error", "timeout"}
#: extra arguments of step 3's repair (``--strip``: strip first, then patch, each rewrite's layout
#: checked; issue #32's proof that stripped wheels still load and import)
REPAIR_ARGS: list[str] = []


def state(o: Outcome | None) -> str:
    """A wheel in a kit: crashed, failed (another binary failure), unproven (a system library the
    kit lacks, nothing else failing), or ok (every module imported or failed in Python only)."""
    if o is None:
        return "missing"
    if o.modules.get("crashed"):
        return "crashed"
    if any(o.modules.get(r) for r in BINARY) or o.result == "error":
        return "failed"
    if o.modules.get("system-library"):
        return "unproven"
    return "ok"


def report(rows: list[Row], notes: list[str], took: float, out: Path) -> int:
    title = "check --import on real musllinux wheels: show's floor against musl 1.2.3 and 1.2.6, and repair"
    lines = header(title + (" --strip" if REPAIR_ARGS else ""))
    lines += [f"total time: {took:.0f} s", *(f"note: {n}" for n in notes), ""]
    crashed_old, predicted, fixed, unproven, disagreements = [], [], [], [], []
    python_errors: dict[str, list[str]] = {}
    for r in rows:
        old, new = r.on(OLD), r.on(NEW)
        lines.append(f"## {r.arch} {r.wheel} ({r.seconds:.0f} s)")
        lines.append(f"  show:          {r.show}, tag {r.tag}, floor {r.floor}{' (DT_RELR)' if r.relr else ''}")
        kits = r.default_kits
        default_ok = kits == sorted(f"{r.arch}-musl{m}-py{PYTHON}" for m in (OLD, NEW))
        lines.append(f"  default kits:  {', '.join(kits) or '-'}{'' if default_ok else '  <- NOT 1.2.3 and 1.2.6'}")
        for o in r.without_libz:
            lines.append(f"  {o.kit:26} {state(o)}: {o.cell()}")
        if r.without_libz:
            lines.append(f"  then again in the same kits with libz.so.1 added ({ZLIB}):")
        for o in r.kits:
            lines.append(f"  {o.kit:26} {state(o)}: {o.cell()}")
        lines.append(f"  repaired:      {r.repaired}")
        if r.after:
            lines.append(f"  {'repaired in ' + r.after.kit:26} {state(r.after)}: {r.after.cell()}")
        lines.append("")
        for o in [*r.kits, *([r.after] if r.after else [])]:
            if o.modules.get("python-error"):
                python_errors.setdefault(f"{r.arch} {r.wheel.split('-')[0]}", []).append(o.kit)
        if not default_ok:
            disagreements.append(f"{r.arch} {r.wheel}: default kits {kits}")
        if old is None:
            continue
        s_old, s_new, s_after = state(old), state(new), state(r.after)
        predicts_fail = version_tuple(r.floor or "0") > (1, 2, 3)
        if s_old == "crashed":
            crashed_old.append(r)
            if r.relr:
                predicted.append(r)
            if s_after in ("ok", "unproven"):
                fixed.append(r)
        if r.without_libz:
            unproven.append(
                f"{r.arch} {r.wheel}: proven with libz.so.1 added: on {OLD} {s_old}, on {NEW} {s_new}, "
                f"repaired on {OLD} {s_after}"
            )
        elif "unproven" in (s_old, s_new, s_after):
            unproven.append(f"{r.arch} {r.wheel}: on {OLD} {s_old}, on {NEW} {s_new}, repaired on {OLD} {s_after}")
        if s_old != "unproven" and (s_old in ("crashed", "failed")) != predicts_fail:
            disagreements.append(f"{r.arch} {r.wheel}: show's floor {r.floor}; on {OLD}: {s_old}: {old.cell()}")
        if s_new in ("crashed", "failed"):
            disagreements.append(f"{r.arch} {r.wheel}: on {NEW}: {s_new}: {new.cell() if new else ''}")
        if r.after and s_after in ("crashed", "failed"):
            disagreements.append(f"{r.arch} {r.wheel}: repaired, on {OLD}: {s_after}: {r.after.cell()}")
    n = len(rows)
    lines += [
        "## totals",
        f"wheels: {n} ({', '.join(f'{a}: {sum(r.arch == a for r in rows)}' for a in dict.fromkeys(r.arch for r in rows))})",
        f"crash (signal) at import on musl {OLD}: {len(crashed_old)}",
        f"  of those, show's floor is >= 1.2.4 through DT_RELR (predicted): {len(predicted)}",
        f"  of those, the repaired wheel imports on musl {OLD}: {len(fixed)}",
        f"no binary failure on musl {NEW}: {sum(state(r.on(NEW)) in ('ok', 'unproven') for r in rows)} of {n}",
        f"show's floor > {OLD} (fails there): {sum(version_tuple(r.floor or '0') > (1, 2, 3) for r in rows)} of {n}",
        f"repaired wheels with no binary failure on musl {OLD}: "
        f"{sum(r.after is not None and state(r.after) in ('ok', 'unproven') for r in rows)} of {n}",
        "",
        "## a system library the policy lets wheels use (libz.so.1) that the kits lack: rerun with one added",
        *(unproven or ["none"]),
        "",
        "## Python errors (a dependency check --import does not install, or a module the kit's CPython lacks:",
        "## typing_extensions, _cffi_backend, _ssl, tkinter); extensions are then loaded from their file",
        *(f"{k}: {', '.join(v)}" for k, v in python_errors.items()),
        "",
        "## where show's floor and the real import disagree, or the default kits are not 1.2.3 and 1.2.6",
        *(disagreements or ["none"]),
    ]
    write(lines, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
