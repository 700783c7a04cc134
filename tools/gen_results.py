#!/usr/bin/env python3
"""Write docs/results.md from bench/results/*.txt.

Every benchmark writes a text file that starts with its title and date, the exact command that
made it and the machine (``bench/results_file.py``). This script quotes them: a headline table
(numbers picked out of the files by the patterns below), the per-target build matrix (composed
from the rows of the build files), and per file its header and its summary lines. The numbers
on the page come from the files only; what is said about them (why a number is what it is, what
earlier runs gave) is kept here, in NOTES, beside the file it is about.

    python tools/gen_results.py           # write docs/results.md
    python tools/gen_results.py --check   # exit 1 if docs/results.md is not what it would write

A pattern that no longer matches its file is an error, naming both: the file changed shape and
this script has to follow.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
OUT = REPO / "docs" / "results.md"
sys.path.insert(0, str(REPO / "src"))

from muslwheel.arch import ARCHES  # noqa: E402  (the arch order of the build matrix)


class ResultsError(Exception):
    pass


@dataclass(frozen=True)
class ResultFile:
    name: str
    title: str
    date: str
    command: str
    machine: str
    body: tuple[str, ...]

    def find(self, pattern: str) -> re.Match[str]:
        for line in self.body:
            m = re.search(pattern, line)
            if m:
                return m
        raise ResultsError(f"bench/results/{self.name}: no line matches {pattern!r}")


def read_result(path: Path) -> ResultFile:
    lines = path.read_text(encoding="utf-8").splitlines()
    m = re.fullmatch(r"# (.*), (\d{4}-\d{2}-\d{2})", lines[0]) if lines else None
    if not m or len(lines) < 3 or not lines[1].startswith("command: ") or not lines[2].startswith("machine: "):
        raise ResultsError(f"bench/results/{path.name}: not a results file (title, command, machine)")
    return ResultFile(
        path.name,
        m.group(1),
        m.group(2),
        lines[1].removeprefix("command: "),
        lines[2].removeprefix("machine: "),
        tuple(lines[3:]),
    )


# --- the headline table ------------------------------------------------------------------------

#: (what, file, [patterns with named groups], cell template over the groups)
HEADLINES: list[tuple[str, str, list[str], str]] = [
    (
        "`show` on PyPI's free-threaded and abi3t musllinux wheels, against a hand judgment",
        "freethreaded.txt",
        [r"^(?P<n>\d+) wheels of (?P<p>\d+) projects", r"^show agrees with the hand judgment on (?P<a>\d+) of"],
        "{a} of {n} wheels of {p} projects as judged by hand",
    ),
    (
        "`show`, the bench set's wheels, one process per wheel",
        "show.txt",
        [
            r"wheels: (?P<n>\d+) \(",
            r"^A auditwheel .*: (?P<a>[\d.]+)$",
            r"^B muslwheel .*: (?P<b>[\d.]+)$",
            r"^A/B = (?P<r>[\d.]+x)",
        ],
        "auditwheel 6.8.2 {a} s, muslwheel {b} s ({r}), {n} wheels",
    ),
    (
        "`show`, the same wheels in one `muslwheel show` command",
        "show.txt",
        [r"^E .*: (?P<e>[\d.]+)$", r"^A/E = (?P<r>[\d.]+x)"],
        "{e} s ({r}; auditwheel takes one wheel per process)",
    ),
    (
        "`show` in-process vs merely decompressing the ELF members",
        "show.txt",
        [r"^C/D = (?P<r>[\d.]+)"],
        "{r}× the decompression time",
    ),
    (
        "ELF reading, the bench set's ELF members in memory",
        "elf.txt",
        [r"^muslwheel\.elf: (?P<m>[\d.]+)", r"^pyelftools [\d.]+: (?P<p>[\d.]+)"],
        "muslwheel.elf {m} s, pyelftools {p} s",
    ),
    (
        "`repair`, the bench set's largest musllinux wheel (nothing to graft)",
        "repair.txt",
        [r"^1\. (?P<w>[\w.]+)-\d", r"auditwheel (?P<a>[\d.]+)  muslwheel (?P<m>[\d.]+)  ratio (?P<r>[\d.]+x)"],
        "{w}: auditwheel {a} s, muslwheel {m} s ({r})",
    ),
    (
        "`repair`, synthetic 201 MB wheel, 10 libraries grafted",
        "repair.txt",
        [
            r"^2\. synthetic",
            r"^   auditwheel (?P<a>[\d.]+)  muslwheel (?P<m>[\d.]+)  ratio (?P<r>[\d.]+x) \(goal >= 5x\)",
            r"largest member 50 MB; ratio (?P<rss>[\d.]+)",
        ],
        "auditwheel {a} s, muslwheel {m} s ({r}), peak RSS {rss}× the largest member",
    ),
    (
        "`repair`, pyarrow 26 (58.6 MB, nothing to graft)",
        "repair_many.txt",
        [r"auditwheel (?P<a>[\d.]+)  muslwheel (?P<m>[\d.]+)  ratio (?P<r>[\d.]+x)"],
        "auditwheel {a} s, muslwheel {m} s ({r})",
    ),
    (
        "`repair`, 100 libraries × 20,000 exported symbols",
        "repair_many.txt",
        [r"N=100: auditwheel (?P<a>[\d.]+) .*muslwheel (?P<m>[\d.]+)  ratio (?P<r>[\d.]+x)"],
        "auditwheel {a} s, muslwheel {m} s ({r})",
    ),
    (
        "`repair`, DT_RELR unpacked (the default) vs `--keep-relr`",
        "repair_relr.txt",
        [r"CPU: .*ratio (?P<cpu>[\d.]+x)", r"wall: .*ratio (?P<wall>[\d.]+x)"],
        "{cpu} the CPU time, {wall} the wall time (goal ≤ 1.5×)",
    ),
    (
        "musl detection of the running interpreter",
        "detect.txt",
        [
            r"^muslwheel detect_executable: (?P<m>[\d.]+ ms), (?P<mp>\d+) processes",
            r"^packaging _get_musl_version: (?P<p>[\d.]+ ms), (?P<pp>\d+) processes",
        ],
        "muslwheel {m}, {mp} processes; packaging {p}, {pp} process",
    ),
    (
        "`check --import`, the bench set's musllinux wheels in the kits",
        "check_import.txt",
        [
            r"^wheels: (?P<n>\d+)",
            r"^crash \(signal\) at import on musl 1\.2\.3: (?P<c>\d+)",
            r"^no binary failure on musl 1\.2\.6: (?P<ok>\d+ of \d+)",
            r"^repaired wheels with no binary failure on musl 1\.2\.3: (?P<rep>\d+ of \d+)",
        ],
        "{n} wheels: {c} crash on musl 1.2.3; no binary failure on 1.2.6 for {ok}, and after `repair` on 1.2.3 for {rep}",
    ),
    (
        "`repair --strip` then `check --import`, the bench set's musllinux wheels (x86_64, aarch64, armv7l)",
        "check_import_strip.txt",
        [
            r"^wheels: (?P<n>\d+)",
            r"^repaired wheels with no binary failure on musl 1\.2\.3: (?P<rep>\d+ of \d+)",
        ],
        "{n} wheels stripped first, then patched (each rewrite's layout checked): no binary failure on musl 1.2.3 for {rep}",
    ),
    (
        "`check --import` with a wheel's dependencies: pandas 2.2.3, x86_64 musl 1.2.6 kit",
        "check_import_deps.txt",
        [
            r"^pandas alone \(--no-deps\): (?P<bc>[a-z-]+), (?P<b>\d+ of \d+)",
            r"^pandas, its dependencies from the wheelhouse: (?P<ac>[a-z-]+), (?P<a>\d+ of \d+)",
        ],
        "alone: {bc}, {b} modules imported; with numpy, dateutil, pytz, tzdata, six installed by the proof: {ac}, {a}",
    ),
    (
        "kits like Alpine's base: real wheels in a bare and an Alpine-like kit (x86_64, aarch64, i686)",
        "kits_system.txt",
        [
            r"^totals: (?P<n>\d+) wheels; every module imported \(class 'imported'\) in the bare kit: "
            r"(?P<b>\d+), in the Alpine-like kit: (?P<a>\d+)"
        ],
        "{n} wheels, every module imported: {b} in the bare kit, {a} in the Alpine-like kit",
    ),
    (
        "kits: the bench set's musllinux wheels imported in every kit",
        "kits.txt",
        [r"^summary: FAILED (?P<f>\d+), imported (?P<i>\d+)", r"^all kits \(hard links once\) +(?P<mb>[\d.]+)"],
        "{i} imported, {f} failed; all kits {mb} MB",
    ),
    (
        "`scan` of PyPI, newest musllinux wheels for CPython 3.12",
        "scan.txt",
        [
            r"^real run: (?P<s>[\d.]+) s wall",
            r"^projects with such wheels: (?P<p>\d+); wheels: (?P<w>\d+)",
            r"^bytes read: .*\((?P<pct>[\d.]+%)\)",
            r"^  (?P<bad>\d+ wheels of \d+ projects) claim a tag that promises less",
        ],
        "{w} wheels of {p} projects in {s} s, {pct} of their bytes read; {bad} promise less than they need",
    ),
    (
        "`scan` local pool, 1 → 2 audit workers",
        "scan.txt",
        [r"scaling 1 -> 2 workers: (?P<r>[\d.]+x) \(goal (?P<g>[^)]*)\)"],
        "{r} (goal {g})",
    ),
    (
        "`build`, markupsafe for 16 targets in one command, `-j 2`",
        "build-speed-16.txt",
        [r"16/16 targets ok; all targets together: (?P<cold>[\d.]+) s, (?P<warm>[\d.]+) s wall"],
        "{cold} s cold (zig cache and build venvs empty), {warm} s warm",
    ),
    (
        "`build`, a target's cost against the native build (markupsafe, 16 targets, quiet machine)",
        "build-cost-16.txt",
        [r"build / native, wall: max (?P<w>[\d.]+)", r"build / native, CPU: max (?P<c>[\d.]+)"],
        "at most {c}× the CPU time, {w}× the wall time",
    ),
]


def headline_table(files: dict[str, ResultFile]) -> list[str]:
    out = ["| what | measured | file |", "| --- | --- | --- |"]
    for what, name, patterns, template in HEADLINES:
        groups: dict[str, str] = {}
        for pattern in patterns:
            groups.update({k: v for k, v in files[name].find(pattern).groupdict().items() if v is not None})
        out.append(f"| {what} | {template.format(**groups)} | [`{name}`](#{anchor(name)}) ({files[name].date}) |")
    return out


# --- the build matrix --------------------------------------------------------------------------

#: the files of full `bench/bench_build.py` runs (every project), in the order they were run; a
#: later file's row replaces an earlier failed one (the cell names the file that proved it)
MATRIX_FILES = [
    "build.txt",
    "build-ppc64le-s390x.txt",
    "build-cffi-i686-armv7l.txt",
    "build-3.13.txt",
    "build-3.13-more.txt",
]
_ROW = re.compile(r"^\| (?P<arch>[a-z0-9_]+) \| (?P<python>3\.\d+) \| (?P<package>[^|]+?) \| (?P<result>[^|]+?) \|")


@dataclass(frozen=True)
class Cell:
    ok: bool
    text: str
    file: str


def _summaries(f: ResultFile) -> dict[tuple[str, str, str], str]:
    """The file's own arch × package table: (arch, python, package) -> ``ok 17 s`` (its rounding)."""
    found: dict[tuple[str, str, str], str] = {}
    columns: list[str] = []
    for line in f.body:
        parts = [p.strip() for p in line.strip().strip("|").split("|")] if line.startswith("| ") else []
        if parts[:1] == ["arch"]:
            columns = [c.split()[0] for c in parts[1:]] if parts[1:2] != ["python"] else []
        elif columns and parts and not parts[0].startswith("-"):
            for package, cell in zip(columns, parts[1:]):
                for entry in cell.split("<br>"):
                    m = re.fullmatch(r"(3\.\d+): (.*)", entry.strip())
                    if m:
                        found[(parts[0], m.group(1), package)] = m.group(2)
        elif not parts:
            columns = []
    return found


def _cell(line: str, name: str, summaries: dict[tuple[str, str, str], str]) -> tuple[str, str, str, Cell]:
    parts = [p.strip() for p in line.strip().strip("|").split("|")]
    arch, python, package, result, tag, honest = parts[:6]
    package = package.split()[0]
    ok = result == "built+imported" and honest == "yes"
    text = summaries.get((arch, python, package))
    if text is None:
        raise ResultsError(f"bench/results/{name}: {arch} {python} {package} is not in the file's arch table")
    policy = re.search(r"musllinux_(\d+_\d+)_", tag)
    if ok and policy:
        text += f", {policy.group(1)}"
    return arch, python, package, Cell(ok, text, name)


def build_matrix(files: dict[str, ResultFile]) -> tuple[list[str], int, int]:
    """Markdown tables, one per CPython minor, and (cells ok, cells)."""
    cells: dict[tuple[str, str, str], Cell] = {}
    packages: list[str] = []
    for name in MATRIX_FILES:
        summaries = _summaries(files[name])
        for line in files[name].body:
            if not _ROW.match(line):
                continue
            arch, python, package, cell = _cell(line, name, summaries)
            if package not in packages:
                packages.append(package)
            old = cells.get((arch, python, package))
            if old is None:
                cells[(arch, python, package)] = cell
            elif not old.ok:  # a later run proved what an earlier one failed: say which
                cells[(arch, python, package)] = Cell(cell.ok, f"{cell.text} ({name}; {old.file}: {old.text})", name)
    if not cells:
        raise ResultsError("no build rows in " + ", ".join(MATRIX_FILES))
    out: list[str] = []
    for python in sorted({p for _, p, _ in cells}):
        out += ["", f"CPython {python}:", ""]
        out.append("| arch | " + " | ".join(packages) + " |")
        out.append("| --- " * (len(packages) + 1) + "|")
        for arch in ARCHES:
            row = [cells.get((arch, python, p)) for p in packages]
            if any(row):
                out.append(f"| {arch} | " + " | ".join(c.text if c else "-" for c in row) + " |")
    return out, sum(c.ok for c in cells.values()), len(cells)


# --- per file ----------------------------------------------------------------------------------

#: per file: None quotes the whole body; else the patterns of the lines to quote (each must match
#: but those starting ``?``, which quote a line only where the run had one)
QUOTE: dict[str, list[str] | None] = {
    "show.txt": None,
    "elf.txt": None,
    "bounds.txt": None,
    "detect.txt": None,
    "repair.txt": None,
    "repair_many.txt": None,
    "repair_relr.txt": None,
    "relr.txt": None,
    "check_import.txt": [
        r"^total time",
        r"^wheels: ",
        r"^crash ",
        r"^no binary failure",
        r"^show's floor",
        r"^repaired wheels",
        r"proven with libz",
    ],
    "check_import_strip.txt": [
        r"^total time",
        r"^wheels: ",
        r"^crash ",
        r"^repaired wheels",
        r"proven with libz",
    ],
    "check_import_deps.txt": [r"^\$ muslwheel", r"^class: ", r"^  dependency ", r"^  \S+: crashed", r"^pandas"],
    "kits.txt": [
        r"^kits in ",
        r"^at the start: ",
        r"^host CPython",
        r"^all kits \(hard links once\)",
        r"^summary: ",
        r"^at the end: ",
    ],
    "kits-3.13t.txt": [r"^host CPython", r"py3\.13t .*CPython 3\.13"],
    "kits_system.txt": [r"^## ", r"^  \S+: (cold|\d)", r"^\S+: \d+ wheels", r"^  not fully", r"^totals: "],
    "scan.txt": None,
    "freethreaded.txt": [
        r"^\d+ wheels of \d+ projects",
        r"^show agrees with the hand judgment",
        r"?^check --import in ",
    ],
    "rust.txt": None,
    "libs.txt": [r"^library ", r"^\S+ +\S+ +\d", r"^cold build time", r"^sdist ", r"^\S+==\S+ "],
    "wheelhouse.txt": None,
}
_BUILD_SUMMARY = [r"^targets \(", r"?^no kit ", r"targets ok; all targets together", r"?^build / native, "]

#: (heading, files, prose kept by people: what the numbers mean, what earlier runs gave)
SECTIONS: list[tuple[str, list[str], str]] = [
    (
        "show, ELF reading, crafted input",
        ["show.txt", "elf.txt", "bounds.txt"],
        """`bench/setup` installs auditwheel 6.8.2 and muslwheel side by side and fetches the pinned
real wheels (`bench/wheels.txt`); `bench/bench_show.py` compares them in one run. auditwheel
`show` takes one wheel per process; muslwheel `show` takes many. Per process, `show` is bounded
by CPython itself: starting the interpreter and importing `packaging`, `dataclasses` and
`argparse` costs about 65 ms before any work, against auditwheel's ~380 ms per wheel.

Every crafted input of the test suite is refused in under 0.11 s at the interpreter's baseline
memory. Fuzzing: 1,000,000 ELF and 1,000,000 wheel inputs, no exception but muslwheel's own
(`fuzz/results.txt`).""",
    ),
    (
        "repair",
        ["repair.txt", "repair_many.txt", "repair_relr.txt", "relr.txt"],
        """`repair_relr.txt` was measured on a busy machine (2026-11-26). `relr.txt`: the 8 DT_RELR
wheels of the bench set and 4 cp311 builds, `repair`, `check` on musl 1.2.3, import in the musl
CPython 3.11: all load after (none before); the 5 importable crash before, import after.""",
    ),
    ("detect", ["detect.txt"], ""),
    (
        "free-threaded and abi3t wheels from PyPI",
        ["freethreaded.txt"],
        """The newest `cp313t`, `cp314t`, `cp315t` and `abi3t` musllinux x86_64 wheels of nine projects
on PyPI, and the `cp313t` ones for aarch64 and armv7l where they exist (`bench/wheels-freethreaded.txt`, which also holds the judgment made by hand for each
wheel from `unzip -l`, `readelf -d` and musl's release notes), through `muslwheel show --json`
one process per wheel (`bench/bench_freethreaded.py`): every extension module called one, by
its `.cpython-31Xt-<triplet>.so`, `.abi3t.so` or `.abi3t-x86_64-linux-musl.so` suffix;
no suffix reason; the DT_RELR of the vendored GCC runtime libraries is the only warning. Of the
15 projects asked for (pip download, 2026-12-06), four ship `cp313t` musllinux wheels
(markupsafe 3.0.3 and numpy 2.4.6 are their last), seven `cp314t`/`cp315t`, one `abi3t`
(cryptography); orjson, zstandard and pydantic-core none of them. The `cp313t` ones, 9 wheels
of 4 projects, all import in the free-threaded CPython 3.13 kits of their arch (musl 1.2.6;
x86_64 natively, aarch64 and armv7l under qemu-user); that run used `h/audit` merged with the
free-threaded kits' (`h/ftkits` a9791e9, whose kit choice reads `3.13t`).""",
    ),
    (
        "native libraries (`lib build`, `build --with`)",
        ["libs.txt"],
        """`bench/bench_libs.py`: each recipe × arch built here with zig from Debian's verified source
and proven by its own small program under the target (qemu-user for a foreign arch); the
versions, the cold build time (with the machine's load then) and the prefix's size.""",
    ),
    (
        "check --import and the kits",
        [
            "check_import.txt",
            "check_import_strip.txt",
            "check_import_deps.txt",
            "kits.txt",
            "kits-3.13t.txt",
            "kits_system.txt",
        ],
        """Kits (2026-11-26, busy machine): 42 kits, 8 arches × musl 1.2.3 (6 arches) / 1.2.6 × CPython
3.11.2 and 3.13.15, each CPython kit running zlib, ctypes (call and callback) and a zig-built C
extension, natively or under qemu-user; the bench set's musllinux wheels imported in them. Of
122 wheel × kit imports, 110 imported and 12 crashed (SIGSEGV), all on musl 1.2.3 and all
importing on 1.2.6 (DT_RELR: numpy 2.5.5 cp313 on x86_64 and aarch64; cryptography, psycopg2,
pyarrow, pyzmq, ujson x86_64); a CPython cross-build took 4–11 min at load 5–15, 898 MB for all
kits. `kits-3.13t.txt` (2026-12-06, load 10–15, a cache of its own: `MUSLWHEEL_CACHE`): the
free-threaded CPython 3.13.15 kits of the suite (x86_64, aarch64, armv7l), each running without
the GIL after zlib, ctypes and a zig-built C extension; their cross-builds took 22–29 min and
the host CPython 3.13 10 min at that load; no wheels (this machine's index lacks the bench set's
pinned releases).""",
    ),
    (
        "scan",
        ["scan.txt"],
        """The PyPI run (2026-11-26, idle machine): 923 wheels in 454 s in two runs, bound by the 15
requests/s limit (4,000 index pages, then the range requests), 1.02 wheels/s per core; 93.4% of
the wheel bytes were read (they are mostly ELF); 269 wheels of 120 projects promise less than
they need.

Local pool, 225 of those wheels on disk, 1 → 2 audit workers, best of 5 (idle machine): 1.93×
(1.85× and 1.87× in two other runs that day; 1.71–1.92× in earlier runs at load 2–12; goal ≥
1.7×).

Audit CPU against the time its bytes take at 100 MB/s (goal < 1×): 0.88× over the 923 wheels of
the PyPI run (38.6 s CPU against 43.6 s; 0.95× against the 4076 MB read; 0.83× and 0.89× in an
earlier run of that change), audited beside its 8 download threads; 0.91× over the 225 wheels
on disk (9.21 s against 10.11 s; 0.90× and 0.93× in two other runs). Before that change: 1.09×
and 1.00×. Wheel by wheel it is below for 476 of the 923 (538 in the earlier run). Of the 76 of
the 225 on disk that were above in one run, 47 are wheels under 1 MB, where ~0.4 ms of fixed
work outweighs their 0.2–10 ms; the other 29 have ELF members that inflate to more than about
3× the wheel's size (median 3.3×; 2.6× for the bigger wheels below), and inflating and hashing
those bytes is most of the audit. Below the measured fetch time for all 923.""",
    ),
    (
        "build: every project, every arch",
        MATRIX_FILES,
        """`muslwheel build` over the seven pinned real sdists and the test suite's fixture
(`bench/bench_build.py`; 2026-11-26, 2 cores at load 7-14 from other work): each built with zig
for every arch's musl CPython kit, repaired, checked by musl's loader, imported with `check
--import` and smoke-tested with one call in the target's own CPython (under qemu-user for the
foreign arches); cffi with libffi 3.4.4 and pyyaml with libyaml 0.2.5 built by `--before-build`
from Debian's sources and grafted. Every wheel is honest by `show`. The matrix above gives the
time per target, end to end, and the wheel's tag.

cffi on i686 and armv7l: libffi's shared build there needed lld's `--undefined-version`; the
first run (`build.txt`) failed at before-build, `build-cffi-i686-armv7l.txt` is the run after
the fix. zstandard gets `musllinux_1_2` everywhere, kiwisolver and cffi on the 32-bit i686 and
armv7l, and loongarch64, whose musl floor is 1.2.5, always. frozenlist compiles as C++ and was
the first C++ build of each target in that zig cache, so its time includes zig building libc++
for the target once; kiwisolver, built after it, shows a warm C++ build. CPython 3.13 was
measured later, on a quieter machine (`build-3.13.txt`, then `build-3.13-more.txt` for the
other six arches); frozenlist's times there again include libc++.""",
    ),
    (
        "build: Rust",
        ["rust.txt"],
        """`bench/bench_rust.py`: orjson 3.13.0, an sdist that vendors its crates (`.cargo/config.toml`
replaces crates-io with `include/cargo`), built by maturin offline for all eight arches ×
CPython 3.11 and 3.13 (one kit each; the eight 3.13 kits were built for it, 89-161 s each, as
the `kit` lines say) with the Rust toolchain `muslwheel build` chose (Debian's rustc 1.96: this
machine's rustup 1.95 has neither a musl std nor rust-src), repaired, honest by `show`,
imported and smoke-tested (an `orjson.dumps` / `loads` round trip) in the kit's CPython. Run 1
(`--cold-rust`) starts from an empty Rust cache: Debian's toolchain unpacked from the download
cache and each target's std built (the two minors of an arch share it; the second waits for
it), all inside its times; run 2 is warm, and every wheel of it is byte-identical to run 1's
(maturin's SBOM named the random work directory before `builder.rust.normalise_sboms` mapped it
out). Every run compiles orjson's crates from nothing (`lto = "fat"`, one codegen unit: mostly
LLVM); "native" is `maturin build --release` for this host with the same toolchain, alone on
the machine, while the targets ran two at a time (`-j 2`) on its two cores, so the warm ratios
(0.98-1.45) include sharing them. loongarch64 imports under Debian trixie's qemu-user 10.0
(the `runner` line): Rust enables LSX for that target by default, and bookworm's
qemu-loongarch64 7.2, which ran the first run of this bench (2026-12-06, 3.11 only), crashed
the import with SIGILL; the wheel is unchanged, the runner is (`muslwheel.qemu`).""",
    ),
    (
        "wheelhouse: a requirements file to a proven wheelhouse",
        ["wheelhouse.txt"],
        """`bench/bench_wheelhouse.py`: `muslwheel wheelhouse` over 34 PyPI projects
(`bench/wheelhouse-requirements.txt`: pure ones, musllinux ones, ones whose only wheel is
musllinux_1_2 with DT_RELR, and three with no musllinux wheel at all) for Alpine 3.17 on
aarch64 (musl 1.2.3) and the newest Alpine on x86_64, CPython 3.11 (the kits' minor; Alpine
3.17's own python3 is 3.10). Cold: an empty wheelhouse cache and no pip HTTP cache; warm: the
same inputs again, where only pip's resolution runs. Then `pip install --no-index` from the
wheelhouse and an import of every top-level module in the target's kit, and the x86_64 run
again on a two-worker Dask LocalCluster, whose lock must be byte-identical. The machine was
shared (load from seven other sessions).""",
    ),
    (
        "build: speed and cost",
        ["build-speed-16.txt", "build-speed.txt", "build-speed-3.11-3.13.txt", "build-cost-16.txt", "build-cost.txt"],
        """Speed: markupsafe for all 16 targets (8 arches × CPython 3.11 and 3.13) in one `muslwheel build
-j 2`: 62.8 s with zig's cache and the build venvs empty, 17.7 s warm, against the 4 min 42 s
one emulated arch took in cibuildwheel#598; 16 of 16 honest, and the warm run's wheels
byte-identical to the cold run's. Earlier runs under heavier load: 8 targets (3.11) 85.8 s cold
/ 25.4 s warm (`build-speed.txt`), 12 targets 49.5 s / 26.3 s (`build-speed-3.11-3.13.txt`).

The cost rule, one target at a time (`--jobs 1`, best of 2 runs against best of 2 native
rounds, interleaved; both sides time the same two PEP 517 hooks, `get_requires` and
`build_wheel`, in the same prepared build venv, the target's with zig, the native one for this
host with its gcc): for markupsafe's 16 targets (`build-cost-16.txt`, a quiet machine) a
target's build costs 0.86-1.08× the CPU seconds and 0.86-1.06× the wall time of the native build
(0.51 s); under load 7-14 (`build-cost.txt`, the 8 arches × 3.11) markupsafe 0.92-1.08× CPU and
0.78-1.07× wall, msgpack 0.18-0.25× CPU (the host Python's `-O3 -g` against the kits' `-O2`).
One zig call: `_speedups.c` 0.235 s against gcc's 0.282 s; an empty file 0.052 s against
0.032 s. The 2.3× measured before compared the target's two hooks with the native
`build_wheel` alone, and each target started a pyenv shim twice and `python -m venv` (prepare:
0.44 s, now 0.04 s). End to end a foreign target adds 0.75-1.03 s (quiet) for `check --import`
and the smoke test under qemu-user, which a native build does not do. With two targets sharing
the two cores (`-j 2`), the wall ratios in `build.txt` and the speed files are higher
(markupsafe 1.2-2.9×): the native build ran alone.""",
    ),
]


def anchor(name: str) -> str:
    """GitHub's anchor for the heading ``bench/results/NAME``."""
    return re.sub(r"[^a-z0-9 _-]", "", f"bench/results/{name}".lower()).replace(" ", "-")


def file_block(f: ResultFile) -> list[str]:
    patterns = QUOTE.get(f.name, _BUILD_SUMMARY)
    if patterns is None:
        quoted = list(f.body)
    else:
        for pattern in patterns:
            if not pattern.startswith("?"):
                f.find(pattern)
        quoted = [line for line in f.body if any(re.search(p.lstrip("?"), line) for p in patterns)]
    out = [
        f"### bench/results/{f.name}",
        "",
        f"{f.title} ({f.date}; [the whole file](../bench/results/{f.name})). Machine: {f.machine}.",
        "",
        "```sh",
        f.command,
        "```",
        "",
        "```text",
        *(line.rstrip() for line in quoted),
        "```",
    ]
    return out


def render(results: Path = RESULTS) -> str:
    paths = sorted(results.glob("*.txt"))
    files = {p.name: read_result(p) for p in paths}
    placed = [n for _, names, _ in SECTIONS for n in names]
    unplaced = sorted(set(files) - set(placed))
    missing = sorted(set(placed) - set(files))
    if unplaced or missing:
        raise ResultsError(
            f"tools/gen_results.py: place every file of bench/results in SECTIONS (unplaced: {unplaced}, missing: {missing})"
        )
    matrix, ok, total = build_matrix(files)
    out = [
        "# Measured results",
        "",
        "<!-- Generated by tools/gen_results.py from bench/results/*.txt: do not edit by hand. -->",
        "",
        "Every number below is quoted from a file in `bench/results/`, which starts with the date, the",
        "exact command that made it and the machine; rerun that command to measure again, then",
        "`python tools/gen_results.py` to rewrite this page (a test checks that it is up to date). How",
        "the benchmarks are set up: [development.md](development.md#benchmarks-and-fuzzing).",
        "",
        "## Headlines",
        "",
        *headline_table(files),
        "",
        "## The build matrix",
        "",
        f"Each cell is one target built, repaired, honest by `show`, imported and smoke-tested in the"
        f" target's own CPython: {ok} of {total} ok. The time is the target's, end to end; `1_1` /"
        " `1_2` is the wheel's musllinux tag. A cell naming a file is a later run that proved what an earlier one failed.",
        *matrix,
    ]
    for heading, names, prose in SECTIONS:
        out += ["", f"## {heading}", ""]
        if prose:
            out += [prose, ""]
        for name in names:
            out += [*file_block(files[name]), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the results files (default: bench/results)")
    parser.add_argument("-o", "--output", type=Path, default=OUT, help="the page (default: docs/results.md)")
    args = parser.parse_args(argv)
    try:
        text = render(args.results)
    except ResultsError as e:
        print(f"gen_results: {e}", file=sys.stderr)
        return 2
    out: Path = args.output
    if args.check:
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            print(f"gen_results: {out} is out of date: run python tools/gen_results.py", file=sys.stderr)
            return 1
        return 0
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
