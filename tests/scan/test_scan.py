"""scan and report, against real web servers on 127.0.0.1: Debian's nginx (ranges, no ranges, a
PEP 691/503 index) and a server that misbehaves on purpose."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, run, write_c
from hostile import hostile_wheels
from servers import BadServer, Nginx
from wheelmaker import make_wheel

from muslwheel.audit import Verdict, audit_wheel
from muslwheel.errors import MuslwheelError
from muslwheel.scan import Filter, LeftOut, ScanSummary
from muslwheel.scan import scan as scan_api
from muslwheel.scan.console import print_summary
from muslwheel.scan.http import HttpOptions, HttpRangeSource
from muslwheel.scan.sources import PEP691_JSON, parse_project_page

EXT = ".cpython-311-x86_64-linux-musl.so"
QSORT_R = "#define _GNU_SOURCE\n#include <stdlib.h>\nstatic int c(const void*a,const void*b,void*u){return 0;}\nvoid s(int*v,size_t n){qsort_r(v,n,sizeof*v,c,0);}\n"
PLAIN = "#include <string.h>\nint f(const char*s){return (int)strlen(s);}\n"
VERDICT = ("libc", "arch", "tag", "musl_floor", "honest", "reasons")


class World:
    """Fixture wheels (built here with musl-gcc) served by nginx, with a simple index."""

    def __init__(self, tmp: Path, toolchain: Toolchain) -> None:
        build = tmp / "build"
        build.mkdir()
        sort_so = toolchain.build("x86_64", build / "_sort.so", [write_c(build / "s.c", QSORT_R)], shared=True)
        plain_so = toolchain.build("x86_64", build / "_plain.so", [write_c(build / "p.c", PLAIN)], shared=True)
        self.plain_so = plain_so
        self.www = tmp / "www"
        self.files = self.www / "ranges"
        self.files.mkdir(parents=True)
        w = self.files
        # A wheel whose tag promises less than it needs, an honest one, one that is mostly data
        # (range reads skip it), a pure one, and an older version of a project (not the newest).
        self.wheels = [
            make_wheel(
                w, "sorter", "1.0", "cp311-cp311-musllinux_1_1_x86_64", {f"sorter/_sort{EXT}": sort_so.read_bytes()}
            ),
            make_wheel(
                w, "plain", "2.0", "cp311-cp311-musllinux_1_1_x86_64", {f"plain/_p{EXT}": plain_so.read_bytes()}
            ),
            make_wheel(
                w,
                "bulky",
                "1.0",
                "cp311-cp311-musllinux_1_2_x86_64",
                {f"bulky/_p{EXT}": plain_so.read_bytes(), "bulky/model.bin": os.urandom(3 << 20)},
            ),
            make_wheel(w, "purist", "1.0", "py3-none-musllinux_1_2_x86_64", {"purist/__init__.py": "x = 1\n"}),
        ]
        self.plain_old = make_wheel(
            w, "plain", "1.0", "cp311-cp311-musllinux_1_1_x86_64", {f"plain/_p{EXT}": plain_so.read_bytes()}
        )
        make_wheel(w, "plain", "2.0", "cp311-cp311-manylinux_2_17_x86_64", {"plain/x.py": "x = 1\n"})
        (self.www / "norange").symlink_to(self.files)
        self.projects = ["sorter", "plain", "bulky", "purist"]
        for index in ("simple", "html-simple"):
            for project in self.projects:
                page = self.www / index / project
                page.mkdir(parents=True)
                files = sorted(w.glob(f"{project}-*.whl"))
                links = "".join(
                    f'<a href="../../ranges/{f.name}#sha256={hashlib.sha256(f.read_bytes()).hexdigest()}">{f.name}</a>\n'
                    for f in files
                )
                (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
                if index == "simple":
                    data = {
                        "meta": {"api-version": "1.1"},
                        "name": project,
                        "files": [
                            {
                                "filename": f.name,
                                "url": f"../../ranges/{f.name}",
                                "hashes": {"sha256": hashlib.sha256(f.read_bytes()).hexdigest()},
                                "size": f.stat().st_size,
                            }
                            for f in files
                        ],
                    }
                    (page / "index.json").write_text(json.dumps(data))
        self.nginx = Nginx(self.www, tmp / "nginx")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("scan"), Toolchain())
    yield w
    w.nginx.stop()


def scan(*args: object, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return run([*muslwheel_cmd(), "scan", *args], env=checkout_env(), timeout=timeout)


def rows(db: Path) -> dict[str, dict[str, object]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return {r["filename"]: dict(r) for r in con.execute("SELECT * FROM wheels")}
    finally:
        con.close()


def show(wheel: Path) -> dict[str, object]:
    proc = run([*muslwheel_cmd(), "show", "--json", wheel], env=checkout_env())
    assert proc.returncode in (0, 1), proc.stderr
    v = json.loads(proc.stdout)
    return {
        "libc": v["libc"],
        "arch": v["arch"],
        "tag": v["tag"],
        "musl_floor": v["musl_min_version"],
        "honest": int(v["honest"]),
        "reasons": json.dumps(v["reasons"]),
    }


def test_index_scan_reads_by_range_and_gives_show_s_verdict(world: World, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    before = len(world.nginx.log())
    proc = scan(world.nginx.url + "/simple/", "--db", db, *[f"--project={p}" for p in world.projects], "--json")
    assert proc.returncode == 1, proc.stderr  # sorter's tag is dishonest
    summary = json.loads(proc.stdout)
    assert (summary["wheels"], summary["audited"], summary["errors"], summary["dishonest"]) == (4, 4, 0, 1)
    got = rows(db)
    # Newest version only, musllinux only: plain 1.0 and the manylinux wheel are not scanned.
    assert sorted(got) == sorted(w.name for w in world.wheels)
    for wheel in world.wheels:
        row = got[wheel.name]
        assert {k: row[k] for k in VERDICT} == show(wheel), wheel.name
        assert row["method"] == "range" and row["size"] == wheel.stat().st_size
        assert row["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert got[world.wheels[0].name]["musl_floor"] == "1.2.3" and got[world.wheels[0].name]["honest"] == 0
    bulky = got[world.wheels[2].name]
    assert bulky["bytes_read"] < bulky["size"] / 20  # the 3 MiB data member is never fetched
    log = world.nginx.log()[before:]
    wheel_requests = [e for e in log if e[1].endswith(".whl")]
    assert wheel_requests and all(status == 206 and rng.startswith("bytes=") for status, _, rng, _, _ in wheel_requests)
    assert all(ua.startswith("muslwheel/") for *_, ua in log)
    assert {e[1] for e in log if "simple" in e[1]} == {f"/simple/{p}/" for p in world.projects}

    # A rerun skips everything: same URL and hash.
    before = len(world.nginx.log())
    proc = scan(world.nginx.url + "/simple/", "--db", db, *[f"--project={p}" for p in world.projects], "--json")
    again = json.loads(proc.stdout)
    assert (again["skipped"], again["audited"]) == (4, 0)
    assert not [e for e in world.nginx.log()[before:] if e[1].endswith(".whl")]


def test_html_index_and_whole_downloads_where_ranges_are_refused(world: World, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    proc = scan(world.nginx.url + "/html-simple/", "--db", db, *[f"--project={p}" for p in world.projects], "-q")
    assert proc.returncode == 1, proc.stderr
    assert {r["method"] for r in rows(db).values()} == {"range"}

    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{world.nginx.url}/norange/{w.name}\n" for w in world.wheels))
    db2 = tmp_path / "full.sqlite"
    before = len(world.nginx.log())
    proc = scan(urls, "--db", db2, "-q")
    assert proc.returncode == 1, proc.stderr
    got = rows(db2)
    for wheel in world.wheels:
        row = got[wheel.name]
        assert row["method"] == "full" and row["bytes_read"] == row["size"] == wheel.stat().st_size
        assert {k: row[k] for k in VERDICT} == show(wheel)
    served = [e for e in world.nginx.log()[before:] if e[1].endswith(".whl")]
    assert len(served) == len(world.wheels) and all(e[0] == 200 for e in served)


def outcome(audit: Callable[[], Verdict]) -> tuple[str, object]:
    try:
        return "verdict", audit().to_json()
    except MuslwheelError as exc:
        return type(exc).__name__, str(exc)


def test_a_remote_wheel_is_read_exactly_as_the_same_file_on_disk_even_when_hostile(world: World) -> None:
    hostile = world.www / "hostile"  # outside the directory the other tests scan
    hostile.mkdir(exist_ok=True)
    cases = {name: path for name, (path, _) in hostile_wheels(hostile, world.plain_so.read_bytes()).items()}
    cases.update({w.name: w for w in world.wheels})
    options = HttpOptions(rate=0, retries=0)
    for name, path in cases.items():
        url = f"{world.nginx.url}/{path.relative_to(world.www)}"
        local = outcome(lambda p=path: audit_wheel(p))  # type: ignore[misc]
        remote = outcome(lambda u=url, p=path: audit_wheel(HttpRangeSource(u, p.name, options)))  # type: ignore[misc]
        assert remote == local, name
    assert sum(1 for v in map(lambda p: outcome(lambda: audit_wheel(p)), cases.values()) if v[0] != "verdict") >= 5


def test_local_directory_scan_matches_show(world: World, tmp_path: Path) -> None:
    db = tmp_path / "local.sqlite"
    proc = scan(world.files, "--db", db, "--workers", "2", "-q")
    assert proc.returncode == 1, proc.stderr
    got = rows(db)
    # A directory keeps every version it holds (plain 1.0 beside 2.0); only the manylinux wheel is left out.
    assert sorted(got) == sorted([*(w.name for w in world.wheels), world.plain_old.name])
    for wheel in [*world.wheels, world.plain_old]:
        assert got[wheel.name]["method"] == "local"
        assert {k: got[wheel.name][k] for k in VERDICT} == show(wheel)


def lib_scan(sources: list[object], db: Path, **kwargs: object) -> ScanSummary:
    """The library's scan, in this process (one audit process)."""
    return scan_api([str(s) for s in sources], db, workers=1, **kwargs)  # type: ignore[arg-type]


def printed(summary: ScanSummary, db: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    print_summary(summary, db, out, err)
    return out.getvalue()


def test_listed_sources_keep_every_version_an_index_its_newest_and_the_summary_says_what_was_left_out(
    world: World, tmp_path: Path
) -> None:
    everything = sorted(world.files.glob("*.whl"))  # 4 newest musllinux, plain 1.0, plain 2.0 manylinux
    assert len(everything) == 6
    musllinux = sorted(w.name for w in [*world.wheels, world.plain_old])
    newest = sorted(w.name for w in world.wheels)
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{world.nginx.url}/ranges/{w.name}\n" for w in everything))

    # A URL list, a directory, wheel files: every wheel listed is scanned, both versions of plain.
    for i, sources in enumerate([[urls], [world.files], everything]):
        db = tmp_path / f"listed{i}.sqlite"
        summary = lib_scan(sources, db)
        assert sorted(rows(db)) == musllinux, sources
        assert (summary.wheels, summary.left_out) == (5, LeftOut(platform=1)), sources
        assert summary.left_out_why == {"platform": "not musllinux (--platform)"}
        assert (
            printed(summary, db).splitlines()[1] == f"{db}: left out 1 of 6 wheels listed: 1 not musllinux (--platform)"
        )

    # An index: each project's newest; the older plain is counted as left out, and said.
    index = [world.nginx.url + "/simple/"]
    db = tmp_path / "index.sqlite"
    summary = lib_scan(index, db, projects=world.projects)
    assert sorted(rows(db)) == newest
    assert summary.left_out == LeftOut(platform=1, older=1) and summary.left_out.total == 2
    assert printed(summary, db).splitlines()[1] == (
        f"{db}: left out 2 of 6 wheels listed: 1 not musllinux (--platform); "
        "1 older versions (an index keeps each project's newest; --all-versions keeps every one)"
    )

    # --all-versions for an index, --newest for a listed source.
    db = tmp_path / "all.sqlite"
    summary = lib_scan(index, db, projects=world.projects, all_versions=True)
    assert sorted(rows(db)) == musllinux and summary.left_out == LeftOut(platform=1)
    db = tmp_path / "newest.sqlite"
    summary = lib_scan([urls], db, newest=True)
    assert sorted(rows(db)) == newest and summary.left_out == LeftOut(platform=1, older=1)
    assert summary.left_out_why["older"] == "older versions (--newest: each project's newest only)"
    # --newest over several listed sources: the newest over all of them.
    db = tmp_path / "two.sqlite"
    summary = lib_scan([world.plain_old, world.files / world.wheels[1].name], db, newest=True)
    assert sorted(rows(db)) == [world.wheels[1].name] and summary.left_out == LeftOut(older=1)

    # The other filters count what they leave out too, each wheel by the first that drops it.
    db = tmp_path / "arch.sqlite"
    summary = lib_scan([world.files], db, filt=Filter(arches=("aarch64",)))
    assert not rows(db) and summary.left_out == LeftOut(platform=1, arch=5)
    assert summary.left_out_why["arch"] == "not for aarch64 (--arch)"
    db = tmp_path / "python.sqlite"
    summary = lib_scan([world.files], db, filt=Filter(python=(3, 12)))
    assert sorted(rows(db)) == [world.wheels[3].name]  # only the py3 wheel; the cp311 ones cannot install
    assert summary.left_out == LeftOut(platform=1, python=4)
    assert "4 not installable by CPython 3.12 (--python)" in printed(summary, db)

    # Nothing left out: the summary says so.
    db = tmp_path / "one.sqlite"
    summary = lib_scan([world.plain_old], db)
    assert printed(summary, db).splitlines()[1] == f"{db}: left out no wheel the sources listed"

    with pytest.raises(MuslwheelError, match="--newest and --all-versions"):
        lib_scan([urls], tmp_path / "both.sqlite", newest=True, all_versions=True)
    assert not (tmp_path / "both.sqlite").exists()


def test_index_pages_count_yanked_and_misnamed_wheels() -> None:
    wheel = "plain-1.0-cp311-cp311-musllinux_1_1_x86_64.whl"
    files = [
        {"filename": wheel, "url": wheel, "hashes": {}},
        {"filename": "plain-0.9-py3-none-any.whl", "url": "old.whl", "hashes": {}, "yanked": "broken"},
        {"filename": "plain-1.0.tar.gz", "url": "plain-1.0.tar.gz", "hashes": {}},  # not a wheel: not counted
        {"filename": "not-a-wheel.whl", "url": "x.whl", "hashes": {}},
    ]
    page = "https://example.invalid/simple/plain/"
    left_out = LeftOut()
    refs = parse_project_page(page, PEP691_JSON, json.dumps({"files": files}).encode(), left_out)
    assert [r.filename for r in refs] == [wheel] and left_out == LeftOut(yanked=1, bad_name=1)
    html = "".join(
        f'<a href="{f["url"]}"{" data-yanked" if f.get("yanked") else ""}>{f["filename"]}</a>\n' for f in files
    )
    left_out = LeftOut()
    refs = parse_project_page(page, "text/html", html.encode(), left_out)
    assert [r.filename for r in refs] == [wheel] and left_out == LeftOut(yanked=1, bad_name=1)
    assert set(left_out.why(Filter())) == {"yanked", "bad_name"}


def test_cli_json_carries_what_the_filters_left_out(world: World, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{world.nginx.url}/ranges/{w.name}\n" for w in sorted(world.files.glob("*.whl"))))
    proc = scan(urls, "--db", tmp_path / "j.sqlite", "--json")
    assert proc.returncode == 1, proc.stderr  # sorter is not honest
    summary = json.loads(proc.stdout)
    assert summary["wheels"] == 5 and summary["left_out"]["platform"] == 1 and summary["left_out"]["older"] == 0
    assert summary["left_out_why"] == {"platform": "not musllinux (--platform)"}
    proc = scan(
        world.nginx.url + "/simple/",
        "--db",
        tmp_path / "i.sqlite",
        "--json",
        "--all-versions",
        *[f"--project={p}" for p in world.projects],
    )
    summary = json.loads(proc.stdout)
    assert summary["wheels"] == 5 and summary["left_out"]["older"] == 0, proc.stderr
    # --python reads a CPython as `tags --python` does: cp312 is 3.12
    proc = scan(world.files, "--db", tmp_path / "p.sqlite", "--json", "--python", "cp312")
    summary = json.loads(proc.stdout)
    assert (summary["wheels"], summary["left_out"]["python"]) == (1, 4), proc.stderr


def test_cli_newest_and_the_printed_summary(world: World, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{world.nginx.url}/ranges/{w.name}\n" for w in sorted(world.files.glob("*.whl"))))
    db = tmp_path / "n.sqlite"
    proc = scan(urls, "--db", db, "--newest", "-q")
    assert proc.returncode == 1, proc.stderr
    assert sorted(rows(db)) == sorted(w.name for w in world.wheels)
    assert proc.stdout.splitlines()[1] == (
        f"{db}: left out 2 of 6 wheels listed: 1 not musllinux (--platform); "
        "1 older versions (--newest: each project's newest only)"
    )
    proc = scan(urls, "--db", tmp_path / "x.sqlite", "--newest", "--all-versions")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "contradict" in proc.stderr
    assert not (tmp_path / "x.sqlite").exists()


def test_misbehaving_server_leaves_recorded_errors_and_a_rerun_retries_them(world: World, tmp_path: Path) -> None:
    bad = BadServer(world.files, stall=4.0)
    try:
        good = world.wheels[1].name
        modes = ["drop", "500", "429", "badrange", "stall", "short"]
        urls = tmp_path / "urls.txt"
        urls.write_text("".join(f"{bad.url}/{m}/{good}\n" for m in modes) + f"{bad.url}/good/{world.wheels[0].name}\n")
        db = tmp_path / "bad.sqlite"
        args = ("--db", db, "--retries", "2", "--backoff", "0.05", "--timeout", "1", "--json")
        proc = scan(urls, *args, timeout=120)
        assert proc.returncode == 1, proc.stderr
        summary = json.loads(proc.stdout)
        assert (summary["audited"], summary["errors"]) == (7, 6)
        con = sqlite3.connect(db)
        errors = dict(con.execute("SELECT url, error FROM wheels"))
        con.close()
        for mode in modes:
            assert errors[f"{bad.url}/{mode}/{good}"], mode
        assert errors[f"{bad.url}/good/{world.wheels[0].name}"] is None
        assert "HTTP 500 (after 3 attempts)" in errors[f"{bad.url}/500/{good}"]
        assert "the server sent bytes 0-99" in errors[f"{bad.url}/badrange/{good}"]
        # Retries are bounded: three attempts for the one request that kept failing.
        assert bad.hits[f"/500/{good}"] == 3

        bad.mode_override = "good"  # the server heals; the failed wheels are tried again
        proc = scan(urls, *args, timeout=120)
        summary = json.loads(proc.stdout)
        assert (summary["skipped"], summary["audited"], summary["errors"]) == (1, 6, 0), proc.stderr
        got = rows(db)
        assert len(got) == 2 and all(r["error"] is None for r in got.values())
        con = sqlite3.connect(db)
        assert con.execute("SELECT COUNT(*) FROM wheels").fetchone()[0] == 7
        con.close()
    finally:
        bad.stop()


def test_lying_and_stalling_index(world: World, tmp_path: Path) -> None:
    bad = BadServer(world.www, stall=4.0)
    try:
        # An index page that stalls, one that is not JSON, and a size that does not match the file.
        lie = world.www / "lies" / "sorter"
        lie.mkdir(parents=True, exist_ok=True)
        wheel = world.wheels[0]
        (lie / "index.json").write_text(
            json.dumps(
                {
                    "meta": {"api-version": "1.0"},
                    "files": [
                        {"filename": wheel.name, "url": f"/good/ranges/{wheel.name}", "hashes": {}, "size": 12345}
                    ],
                }
            )
        )
        garbage = world.www / "lies" / "garbage"
        garbage.mkdir(exist_ok=True)
        (garbage / "index.json").write_text('{"files": 7}')
        db = tmp_path / "lies.sqlite"
        common = ("--db", db, "--timeout", "1", "--retries", "0")
        proc = scan(f"{bad.url}/good/lies/", "--project", "sorter", "--project", "garbage", *common, timeout=120)
        assert proc.returncode == 1
        con = sqlite3.connect(db)
        (error,) = con.execute("SELECT error FROM wheels").fetchone()
        pages = dict(con.execute("SELECT page, error FROM pages"))
        con.close()
        assert "the index says 12345 bytes" in error
        assert "no 'files' list" in pages[f"{bad.url}/good/lies/garbage"]
        # Fetching the page itself with a server that stalls: a recorded page error, not a hang.
        proc = scan(f"{bad.url}/stall/lies/", "--project", "sorter", *common, timeout=120)
        assert proc.returncode == 1
        con = sqlite3.connect(db)
        assert "ReadTimeout" in con.execute("SELECT error FROM pages WHERE page LIKE '%/stall/%'").fetchone()[0]
        con.close()
    finally:
        bad.stop()


def test_kill_9_mid_scan_loses_nothing_and_duplicates_nothing(
    world: World, tmp_path: Path, toolchain: Toolchain
) -> None:
    many = tmp_path / "many"
    many.mkdir()
    so = (world.files / world.wheels[1].name).read_bytes()  # any bytes; the wheels only need to differ
    wheels = [
        make_wheel(
            many,
            f"proj{i:02d}",
            "1.0",
            "py3-none-musllinux_1_2_x86_64",
            {f"proj{i:02d}/__init__.py": f"i = {i}\n", "blob.dat": so},
        )
        for i in range(30)
    ]
    link = world.www / "many"
    if not link.exists():
        link.symlink_to(many)
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{world.nginx.url}/many/{w.name}\n" for w in wheels))
    db = tmp_path / "kill.sqlite"
    cmd = [*muslwheel_cmd(), "scan", str(urls), "--db", str(db), "--rate", "8", "--workers", "1", "-q"]
    proc = subprocess.Popen(
        cmd, env=checkout_env(), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and done < 5:
        time.sleep(0.1)
        if db.exists():
            try:
                con = sqlite3.connect(db, timeout=5)
                done = con.execute("SELECT COUNT(*) FROM wheels").fetchone()[0]
                con.close()
            except sqlite3.OperationalError:
                pass
    os.kill(proc.pid, signal.SIGKILL)  # the scan itself, not its audit processes
    proc.wait()
    assert 5 <= done < 30, done
    # Its audit processes notice and exit by themselves.
    deadline = time.monotonic() + 10
    while session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_members(proc.pid) == []
    con = sqlite3.connect(db)
    survived = con.execute("SELECT COUNT(*) FROM wheels").fetchone()[0]
    con.close()
    assert survived < 30
    result = run([*cmd[:-1], "--json"], env=checkout_env())
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["skipped"] == survived and summary["audited"] == 30 - survived
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT url) FROM wheels WHERE error IS NULL").fetchone() == (30, 30)
    con.close()


def session_members(sid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid and (entry / "stat").read_text().split(") ")[-1][0] != "Z":
                    out.append(int(entry.name))
            except (ProcessLookupError, FileNotFoundError, PermissionError):
                pass
    return out


def test_max_bytes_budget_is_never_exceeded(world: World, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{world.nginx.url}/norange/{w.name}\n" for w in world.wheels))
    db = tmp_path / "budget.sqlite"
    budget = world.wheels[0].stat().st_size + world.wheels[1].stat().st_size + 100
    proc = scan(urls, "--db", db, "--max-bytes", str(budget), "--downloads", "1", "--json")
    summary = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert summary["bytes_read"] <= budget and summary["left"] >= 1 and summary["audited"] >= 2


def test_same_database_from_dask_local_cluster(world: World, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    urls = tmp_path / "urls.txt"
    local_db, dask_db = tmp_path / "local.sqlite", tmp_path / "dask.sqlite"
    urls.write_text("".join(f"{world.nginx.url}/ranges/{w.name}\n" for w in world.wheels))
    assert scan(urls, "--db", local_db, "-q").returncode == 1
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        proc = scan(urls, "--db", dask_db, "--dask", cluster.scheduler_address, "--json")
        assert proc.returncode == 1, proc.stderr
        workers = len(cluster.workers)
    assert workers == 2
    keep = [c for c in rows(local_db)[world.wheels[0].name] if c not in ("scanned_at", "fetch_seconds", "cpu_seconds")]
    a = {k: {c: r[c] for c in keep} for k, r in rows(local_db).items()}
    b = {k: {c: r[c] for c in keep} for k, r in rows(dask_db).items()}
    assert a == b and len(a) == len(world.wheels)


def test_report_formats(world: World, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    scan(world.files, "--db", db, "-q")
    out = tmp_path / "report.html"
    proc = run([*muslwheel_cmd(), "report", db, "-o", out], env=checkout_env())
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert "<svg" in page and 'src="http' not in page and "<script" not in page
    # The same scan, the same page: the chart carries no date and no random ids.
    again = tmp_path / "again.html"
    assert run([*muslwheel_cmd(), "report", db, "-o", again], env=checkout_env()).returncode == 0
    assert again.read_bytes() == out.read_bytes()
    assert "qsort_r in the extension modules" in page and "sorter" in page
    md = run([*muslwheel_cmd(), "report", db, "--format", "md"], env=checkout_env()).stdout
    assert "| musllinux_1_1 |" in md and "musl 1.1.0 up to 1.2.3" in md
    data = json.loads(run([*muslwheel_cmd(), "report", db, "--json"], env=checkout_env()).stdout)
    assert data["totals"]["dishonest"] == 1 and list(data["by_project"]) == ["sorter"]
    # qsort_r (musl 1.2.3) under musllinux_1_1: the distros whose musl is 1.1.x to 1.2.2.
    (sorter,) = data["by_project"]["sorter"]
    assert "Alpine 3.12" in sorter["distros"] and "3.15" in sorter["distros"] and "3.16" not in sorter["distros"]
    assert data["claimed_vs_floor"]["musllinux_1_1"]["1.2.3"] == 1
    assert "plain" in data["could_claim_older"] or "bulky" in data["could_claim_older"]
    csv_text = run([*muslwheel_cmd(), "report", db, "--format", "csv"], env=checkout_env()).stdout
    assert len(csv_text.strip().splitlines()) == 1 + len(world.wheels) + 1  # a directory keeps plain 1.0 too


def test_ca_bundle_and_proxy_settings_are_honoured(world: World, tmp_path: Path) -> None:
    wheel = world.wheels[0].name
    urls = tmp_path / "tls.txt"
    urls.write_text(f"{world.nginx.tls_url}/ranges/{wheel}\n")
    env = {
        k: v for k, v in checkout_env().items() if k not in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    }

    def tls_scan(db: Path, **extra: str) -> str | None:
        run([*muslwheel_cmd(), "scan", urls, "--db", db, "-q", "--retries", "0"], env={**env, **extra})
        con = sqlite3.connect(db)
        try:
            return con.execute("SELECT error FROM wheels").fetchone()[0]  # type: ignore[no-any-return]
        finally:
            con.close()

    # A self-signed certificate is refused, then trusted through either variable pip honours.
    assert "CERTIFICATE_VERIFY_FAILED" in (tls_scan(tmp_path / "a.sqlite") or "")
    assert tls_scan(tmp_path / "b.sqlite", SSL_CERT_FILE=str(world.nginx.cert)) is None
    assert tls_scan(tmp_path / "c.sqlite", REQUESTS_CA_BUNDLE=str(world.nginx.cert)) is None

    # HTTP_PROXY: every request goes through the proxy, unless NO_PROXY names the host.
    plain = tmp_path / "plain.txt"
    plain.write_text(f"{world.nginx.url}/ranges/{wheel}\n")
    before = len(world.nginx.log("proxy.log"))
    proc = run(
        [*muslwheel_cmd(), "scan", plain, "--db", tmp_path / "p.sqlite", "-q"],
        env={**env, "HTTP_PROXY": world.nginx.proxy_url, "NO_PROXY": ""},
    )
    assert proc.returncode == 1, proc.stderr  # sorter is dishonest: audited through the proxy
    through = world.nginx.log("proxy.log")[before:]
    assert through and all(e[1].endswith(wheel) and e[0] == 206 for e in through)
    before = len(through) + before
    run(
        [*muslwheel_cmd(), "scan", plain, "--db", tmp_path / "q.sqlite", "-q"],
        env={**env, "HTTP_PROXY": world.nginx.proxy_url, "NO_PROXY": "127.0.0.1"},
    )
    assert len(world.nginx.log("proxy.log")) == before


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = scan(tmp_path / "nowhere", "--db", tmp_path / "x.sqlite")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no such directory or file" in proc.stderr
    assert not (tmp_path / "x.sqlite").exists()
    notdb = tmp_path / "notdb.sqlite"
    notdb.write_bytes(b"hello, not a database" * 100)
    before = notdb.read_bytes()
    out = tmp_path / "out.html"
    proc = run([*muslwheel_cmd(), "report", notdb, "-o", out], env=checkout_env())
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert notdb.read_bytes() == before and not out.exists()
    proc = scan("https://127.0.0.1:1/simple/", "--db", tmp_path / "y.sqlite")
    assert proc.returncode == 2 and "needs project names" in proc.stderr
    proc = scan(tmp_path, "--db", tmp_path / "z.sqlite", "--workers", "0")
    assert proc.returncode == 2 and "--workers: 0 is less than 1" in proc.stderr
    assert not (tmp_path / "z.sqlite").exists()
    proc = scan(tmp_path, "--db", tmp_path / "t.sqlite", "--python", "3.13t")  # the filter knows no free-threaded
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "default (GIL) builds only" in proc.stderr
    assert not (tmp_path / "t.sqlite").exists()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))


@pytest.mark.parametrize(
    ("python", "tag", "kept"),
    [
        ((3, 13), "cp312-abi3", True),  # abi3 of an older minor
        ((3, 12), "cp313-abi3", False),  # abi3 of a newer minor
        ((3, 13), "cp313-cp313t", False),  # a free-threaded build's wheel: not for a GIL 3.13
        ((3, 12), "py3-none", True),
        ((3, 12), "py2.py3-none", True),
        ((3, 12), "cp312-cp312m", False),  # pymalloc's "m" left the ABI tag in 3.8
        ((3, 12), "py3-abi3", False),  # no interpreter installs a py3 wheel with an ABI
    ],
)
def test_scans_python_filter_keeps_the_wheels_pip_would_install(python: tuple[int, int], tag: str, kept: bool) -> None:
    """--python keeps exactly the wheels whose tags are among that CPython's, as pip reads them
    (packaging.tags.cpython_tags and compatible_tags, through muslwheel.tags.tags_for_target);
    the last two were kept by scan's own reading of tags before."""
    from muslwheel.scan.sources import Filter
    from muslwheel.wheelfile import parse_wheel_name

    name = parse_wheel_name(f"x-1.0-{tag}-musllinux_1_2_x86_64.whl")
    assert (Filter(python=python).rejects(name) is None) is kept
