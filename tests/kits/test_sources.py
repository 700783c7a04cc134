"""Debian source downloads (muslwheel.debian): judged by the files, verified, with the real reason.

Issue #9: `apt-get source` exited 100 over a `.dsc` the security suite listed but did not serve,
although the tarball the build needs had arrived; the script then blamed deb-src. These tests
hold the replacement to what a user relies on: the newest version whose files arrive is taken,
every file is checked against the index's size and SHA256, a cached file is reused, and a failure
says the server's or apt's own words on one line.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

from muslwheel.debian import (
    SourceError,
    SourceFile,
    compare_versions,
    matches_prefix,
    needed_files,
    pick_version,
)

# Real version strings from Debian's archive (zlib, musl, python3.11, libffi) and dpkg's own
# corner cases: tilde before anything, epochs, revisions.
VERSIONS = [
    "1:1.2.13.dfsg-1",
    "1:1.3.dfsg+really1.3.1-1",
    "1:1.3.dfsg+really1.3.1-1+deb13u1",
    "1:1.3.dfsg+really1.3.2-4",
    "1.2.3-1",
    "1.2.5-3",
    "1.2.5-3.1~deb13u1",
    "1.2.6-2",
    "3.11.2-6+deb12u8",
    "3.11.2-6+deb12u9",
    "3.11.2-6+deb12u10",
    "3.4.4-1",
    "3.4.8-2",
    "1.0~rc1-1",
    "1.0-1",
    "1.0a-1",
    "1.0+b1",
    "2:0.1",
]


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is the oracle for Debian version order")
def test_version_order_agrees_with_dpkg() -> None:
    import functools

    ordered = sorted(VERSIONS, key=functools.cmp_to_key(compare_versions))
    # dpkg's order is total, so agreeing on every adjacent pair of our order is agreeing on all.
    for a, b in zip(ordered, ordered[1:]):
        op = "eq" if compare_versions(a, b) == 0 else "lt"
        assert subprocess.run(["dpkg", "--compare-versions", a, op, b], check=False).returncode == 0, (
            f"dpkg: not {a} {op} {b}"
        )
    # dpkg: a letter sorts before "+", "~" before anything, even the end of the string.
    assert ordered.index("1.0~rc1-1") < ordered.index("1.0-1") < ordered.index("1.0a-1") < ordered.index("1.0+b1")
    assert ordered.index("3.11.2-6+deb12u9") < ordered.index("3.11.2-6+deb12u10")
    assert ordered[-1] == "2:0.1"


def test_version_prefix_matches_whole_components() -> None:
    assert matches_prefix("3.11.2-6+deb12u9", "3.11")
    assert matches_prefix("1:1.2.13.dfsg-1", "1.2.13")
    assert not matches_prefix("3.110.1-1", "3.11")
    assert not matches_prefix("1.2.5-3", "1.2.6")
    assert matches_prefix("1.2.6-2", None)


def test_needed_files_are_the_tarballs_not_the_dsc() -> None:
    files = [
        SourceFile("u", "musl_1.2.6-2.dsc", 1, "0" * 64),
        SourceFile("u", "musl_1.2.6.orig.tar.gz", 1, "0" * 64),
        SourceFile("u", "musl_1.2.6.orig.tar.gz.asc", 1, "0" * 64),
        SourceFile("u", "musl_1.2.6-2.debian.tar.xz", 1, "0" * 64),
    ]
    orig, debian = needed_files(files)
    assert orig.name == "musl_1.2.6.orig.tar.gz"
    assert debian is not None and debian.name == "musl_1.2.6-2.debian.tar.xz"


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving *tmp_path*/pool."""
    pool = tmp_path / "pool"
    pool.mkdir()
    _Handler.requests = []
    handler = lambda *a, **kw: _Handler(*a, directory=str(pool), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pool
    finally:
        server.shutdown()
        server.server_close()


def _entry(base: str, pool: Path, name: str, data: bytes, *, serve: bool = True, lie: bool = False) -> SourceFile:
    if serve:
        (pool / name).write_bytes(data)
    digest = hashlib.sha256(data + (b"x" if lie else b"")).hexdigest()
    return SourceFile(f"{base}/{name}", name, len(data), digest)


def test_newest_version_whose_files_arrive_is_taken(archive: tuple[str, Path], tmp_path: Path) -> None:
    base, pool = archive
    index = {
        # The security suite's newest revision: its tarball is listed but not served (a 404).
        "3.11.2-6+deb12u9": [
            _entry(base, pool, "py_3.11.2-6+deb12u9.debian.tar.xz", b"d9", serve=False),
            _entry(base, pool, "py_3.11.2.orig.tar.gz", b"orig"),
        ],
        "3.11.2-6+deb12u8": [
            _entry(base, pool, "py_3.11.2-6+deb12u8.debian.tar.xz", b"d8"),
            _entry(base, pool, "py_3.11.2.orig.tar.gz", b"orig"),
        ],
    }
    files = tmp_path / "files"
    got = pick_version("py", list(index), index.__getitem__, files, with_debian=True)
    assert got.version == "3.11.2-6+deb12u8"
    assert got.orig.read_bytes() == b"orig"
    assert got.debian is not None and got.debian.read_bytes() == b"d8"
    assert len(got.tried) == 1 and "HTTP 404" in got.tried[0] and "deb12u9" in got.tried[0]
    # Without Debian's tarball the newest version serves: only the upstream tarball is needed.
    assert pick_version("py", list(index), index.__getitem__, files).version == "3.11.2-6+deb12u9"
    assert sorted(os.listdir(files)) == sorted(["py_3.11.2.orig.tar.gz", "py_3.11.2-6+deb12u8.debian.tar.xz"])


def test_a_verified_file_is_not_downloaded_twice(archive: tuple[str, Path], tmp_path: Path) -> None:
    base, pool = archive
    index = {"1.2.6-2": [_entry(base, pool, "musl_1.2.6.orig.tar.gz", b"musl" * 1000)]}
    files = tmp_path / "files"
    pick_version("musl", list(index), index.__getitem__, files)
    pick_version("musl", list(index), index.__getitem__, files)
    assert _Handler.requests.count("/musl_1.2.6.orig.tar.gz") == 1
    # A cached copy that no longer matches the index is fetched again, not trusted.
    (files / "musl_1.2.6.orig.tar.gz").write_bytes(b"tampered")
    got = pick_version("musl", list(index), index.__getitem__, files)
    assert got.orig.read_bytes() == b"musl" * 1000
    assert _Handler.requests.count("/musl_1.2.6.orig.tar.gz") == 2


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(archive: tuple[str, Path], tmp_path: Path) -> None:
    base, pool = archive
    index = {"1.0-1": [_entry(base, pool, "pkg_1.0.orig.tar.gz", b"payload", lie=True)]}
    files = tmp_path / "files"
    with pytest.raises(SourceError, match=r"pkg_1.0.orig.tar.gz: SHA256 [0-9a-f]{64} does not match the index's"):
        pick_version("pkg", list(index), index.__getitem__, files)
    assert list(files.iterdir()) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt")
def test_a_broken_source_download_fails_with_the_real_reason_on_one_line(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["MUSLWHEEL_DEBIAN_MIRROR"] = f"http://127.0.0.1:{_closed_port()}/debian"
    env["PYTHONPATH"] = str(REPO / "src")
    proc = subprocess.run(
        [sys.executable, "-m", "muslwheel.debian", "musl", "--downloads", str(tmp_path / "dl")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    # apt's own words: which URL, and that nothing listened there.
    assert lines[0].startswith("muslwheel: error: apt-get update fetched no Sources index:")
    assert "127.0.0.1" in lines[0] and ("refused" in lines[0].lower() or "could not connect" in lines[0].lower())
    assert not (tmp_path / "dl" / "files").exists() or not any((tmp_path / "dl" / "files").iterdir())
