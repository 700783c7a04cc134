"""PyPI's upload window in scan and report (issue 32): from the index's PEP 700 upload times, the
report says per project whether its newest release can still take new files on PyPI (14 days from
its first upload) and when that ends, in every format; judged as of a time the test gives, never
the real date. An index without upload times says "unknown", and its report does not depend on
the date. Against Debian's nginx serving a PEP 691 JSON index and a PEP 503 HTML one."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import checkout_env, muslwheel_cmd, run
from servers import Nginx
from wheelmaker import make_wheel

from muslwheel.scan import scan
from muslwheel.scan.report import load, render
from muslwheel.scan.sources import PEP691_JSON, LeftOut, parse_project_page

#: the test's present: nothing here reads the real clock
NOW = datetime(2026, 3, 10, 12, 0, 0, tzinfo=timezone.utc)
TAG = "py3-none-musllinux_1_2_x86_64"


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.123456Z")  # PEP 700's form, with a fraction


class Index:
    """Pure musllinux wheels of three projects, served as a PEP 691 index with upload times
    relative to NOW (``/simple/``; ``timeless``'s page gives none) and as a PEP 503 HTML one."""

    #: project -> [(version, file kind, uploaded how long before NOW, or None: the page says nothing)]
    FILES = {
        # newest release 2.0, first uploaded 3 days ago (its sdist; the wheel came a day later): open
        "fresh": [
            ("1.0", "whl", timedelta(days=100)),
            ("2.0", "sdist", timedelta(days=3)),
            ("2.0", "whl", timedelta(days=2)),
        ],
        # newest release 3.0, first uploaded 20 days ago: closed 6 days ago
        "stale": [("3.0", "whl", timedelta(days=20)), ("2.9", "whl", timedelta(days=40))],
        "timeless": [("1.0", "whl", None)],
    }

    def __init__(self, tmp: Path) -> None:
        self.www = tmp / "www"
        files = self.www / "files"
        files.mkdir(parents=True)
        for project, entries in self.FILES.items():
            listed = []
            for version, kind, age in entries:
                if kind == "whl":
                    path = make_wheel(files, project, version, TAG, {f"{project}/__init__.py": f"v = {version!r}\n"})
                else:
                    path = files / f"{project}-{version}.tar.gz"
                    path.write_bytes(b"not really an sdist")
                entry = {
                    "filename": path.name,
                    "url": f"../../files/{path.name}",
                    "hashes": {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
                    "size": path.stat().st_size,
                }
                if age is not None:
                    entry["upload-time"] = stamp(NOW - age)
                listed.append(entry)
            for index in ("simple", "html-simple"):
                page = self.www / index / project
                page.mkdir(parents=True)
                links = "".join(f'<a href="../../files/{f["filename"]}">{f["filename"]}</a>\n' for f in listed)
                (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
                meta = {"api-version": "1.1"}
                (page / "index.json").write_text(json.dumps({"meta": meta, "name": project, "files": listed}))
        self.nginx = Nginx(self.www, tmp / "nginx")
        self.projects = list(self.FILES)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    i = Index(tmp_path_factory.mktemp("window"))
    yield i
    i.nginx.stop()


def scanned(index: Index, path: str, db: Path) -> Path:
    scan([index.nginx.url + path], db, projects=index.projects, workers=1)
    return db


def test_the_report_says_which_newest_releases_pypi_still_takes_files_for(index: Index, tmp_path: Path) -> None:
    db = scanned(index, "/simple/", tmp_path / "w.sqlite")
    data = load(db, NOW)
    windows = {p: w.to_json() for p, w in data.windows.items()}
    closes_fresh = (NOW - timedelta(days=3) + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    closes_stale = (NOW - timedelta(days=20) + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert windows == {
        "fresh": {
            "version": "2.0",
            "first_upload": stamp(NOW - timedelta(days=3))[:19] + "Z",
            "closes": closes_fresh,
            "open": True,
        },
        "stale": {
            "version": "3.0",
            "first_upload": stamp(NOW - timedelta(days=20))[:19] + "Z",
            "closes": closes_stale,
            "open": False,
        },
        "timeless": {"version": "1.0", "first_upload": None, "closes": None, "open": None},
    }
    md = render(data, "md")
    assert f"| fresh | 2.0 | {windows['fresh']['first_upload']} | {closes_fresh} | accepted |" in md
    assert f"| stale | 3.0 | {windows['stale']['first_upload']} | {closes_stale} | refused: needs a new release |" in md
    assert "| timeless | 1.0 | - | - | unknown |" in md
    assert (
        f"1 of 2 projects whose index gave upload times can still add files to their newest release on PyPI as of {NOW:%Y-%m-%dT%H:%M:%SZ}"
        in md
    )
    page = render(data, "html")
    assert (
        f"<td>fresh</td><td>2.0</td><td>{windows['fresh']['first_upload']}</td><td>{closes_fresh}</td><td>accepted</td>"
        in page
    )
    table = list(csv.DictReader(io.StringIO(render(data, "csv"))))
    by_project = {r["project"]: r["pypi_upload_window"] for r in table}
    assert by_project == {
        "fresh": f"open until {closes_fresh} (2.0)",
        "stale": f"closed since {closes_stale} (3.0)",
        "timeless": "unknown",
    }
    as_json = json.loads(render(data, "json"))
    assert as_json["upload_windows"] == {"as_of": f"{NOW:%Y-%m-%dT%H:%M:%SZ}", "projects": windows}

    # The clock moves on: twelve days later fresh's window has closed too; the CLI takes the time.
    later = run(
        [*muslwheel_cmd(), "report", db, "--json", "--as-of", f"{NOW + timedelta(days=12):%Y-%m-%d}"],
        env=checkout_env(),
    )
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["upload_windows"]["projects"]["fresh"]["open"] is False
    bad = run([*muslwheel_cmd(), "report", db, "--as-of", "next tuesday"], env=checkout_env())
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--as-of" in bad.stderr


def test_an_index_without_upload_times_says_unknown_and_its_report_does_not_depend_on_the_date(
    index: Index, tmp_path: Path
) -> None:
    db = scanned(index, "/html-simple/", tmp_path / "h.sqlite")
    now, much_later = load(db, NOW), load(db, NOW + timedelta(days=400))
    assert {w.text for w in now.windows.values()} == {"unknown"}
    for fmt in ("html", "md", "csv", "json"):
        assert render(now, fmt) == render(much_later, fmt), fmt
    md = render(now, "md")
    assert "upload window for each project" not in md and "as of" not in md
    assert {r["pypi_upload_window"] for r in csv.DictReader(io.StringIO(render(now, "csv")))} == {"unknown"}
    assert json.loads(render(now, "json"))["upload_windows"]["as_of"] is None


def test_a_release_s_first_upload_is_its_earliest_file_yanked_and_sdists_included() -> None:
    files = [
        {"filename": "p-2.0-py3-none-any.whl", "url": "a", "upload-time": "2026-03-05T10:00:00Z"},
        {"filename": "p-2.0.tar.gz", "url": "b", "upload-time": "2026-03-04T09:00:00.5Z", "yanked": True},
        {"filename": "p-2.0-py3-none-musllinux_1_2_x86_64.whl", "url": "c"},  # no time: the others count
        {"filename": "p-1.0-py3-none-any.whl", "url": "d", "upload-time": "not a time"},
        {"filename": "p-3.0-py3-none-any.whl", "url": "e", "upload-time": "2026-02-31T00:00:00Z"},
        {"filename": "README.txt", "url": "f", "upload-time": "2026-03-01T00:00:00Z"},
        # hostile: a version packaging cannot turn into numbers (ValueError), a name like no other
        {"filename": f"p-1.{'0' * 5000}-py3-none-any.whl", "url": "g", "upload-time": "2026-03-01T00:00:00Z"},
        {"filename": f"p-1.{'0' * 5000}.tar.gz", "url": "h", "upload-time": "2026-03-01T00:00:00Z"},
    ]
    releases: dict[str, str | None] = {}
    left_out = LeftOut()
    page = json.dumps({"files": files}).encode()
    refs = parse_project_page("https://i/simple/p/", PEP691_JSON, page, left_out, releases)
    assert releases == {"2.0": "2026-03-04T09:00:00Z", "1.0": None, "3.0": None}
    assert len(refs) == 4 and (left_out.yanked, left_out.bad_name) == (0, 1)
