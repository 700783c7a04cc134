"""`kit build` from a tarball the user gives (hosts without apt), its refusals, and its progress.

The real build here is musl's: cheap (about a minute), and proven to come from the given tarball
by a function only that tarball has. CPython's `--cpython-source` is proven on the x86_64 CI kits
(``scripts/build-world`` builds them from a given tarball; ``tests/kits/test_kits_python.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pty
import select
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from conftest import kit_for, muslwheel_cmd, need, run, run_ok, write_c
from kitfixture import build_against

from muslwheel.debian import default_downloads
from muslwheel.elf import read_elf
from muslwheel.kits import read_kit
from muslwheel.kits.build import NEWEST_MUSL, StderrProgress, _Steps

MARKER_C = "int muslwheel_given_source(void) { return 656; }\n"
CALLER_C = r"""
#include <stdio.h>
int muslwheel_given_source(void);
int main(void) { printf("%d\n", muslwheel_given_source()); return 0; }
"""


def _tarball(path: Path, files: dict[str, str]) -> Path:
    """A gzip tarball of *files* (name -> text), as an upstream release is laid out."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


def _musl_tarball_with_marker(tmp: Path) -> Path:
    """Debian's musl source (from the download cache) with one more function in ``src/misc``."""
    name = json.loads((kit_for("x86_64", NEWEST_MUSL).directory / "kit.json").read_text())["musl_source"]
    original = default_downloads() / "files" / name
    need(original.is_file(), f"musl's source tarball in the download cache ({original})")
    given = tmp / "musl-given.tar.gz"
    with tarfile.open(original) as src, tarfile.open(given, "w:gz", compresslevel=1) as out:
        top = ""
        for member in src:
            top = top or member.name.split("/")[0]
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
        data = MARKER_C.encode()
        info = tarfile.TarInfo(f"{top}/src/misc/muslwheel_given.c")
        info.size = len(data)
        out.addfile(info, io.BytesIO(data))
    return given


def _run_on_a_terminal(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run *cmd* with stdout and stderr on a pseudo-terminal; its exit status and all it wrote."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


def test_a_musl_kit_is_built_from_the_given_tarball_with_live_progress_on_a_terminal(tmp_path: Path) -> None:
    given = _musl_tarball_with_marker(tmp_path)
    before = _digest(given)
    cache = tmp_path / "cache"
    env = dict(
        os.environ,
        MUSLWHEEL_CACHE=str(cache),
        # nothing may come from Debian's archive: an empty download cache and a mirror that refuses
        MUSLWHEEL_DOWNLOADS=str(tmp_path / "no-downloads"),
        MUSLWHEEL_DEBIAN_MIRROR="http://127.0.0.1:9/debian",
    )
    cmd = [*muslwheel_cmd(), "kit", "build", "--bare", "--arch", "x86_64", "--musl", NEWEST_MUSL, "--musl-source"]
    cmd.append(str(given))
    code, out = _run_on_a_terminal([str(c) for c in cmd], env, timeout=900)
    assert code == 0, out
    assert _digest(given) == before  # the input is never modified
    kit = read_kit(cache / "kits" / f"x86_64-musl{NEWEST_MUSL}")
    assert json.loads((kit.directory / "kit.json").read_text())["musl_source"] == "musl-given.tar.gz"
    # the loader is the given source's: it exports the function only that tarball has, and runs it
    assert "muslwheel_given_source" in read_elf(kit.loader).defined_names
    exe = build_against(kit, tmp_path / "caller", write_c(tmp_path / "caller.c", CALLER_C), "-dynamic")
    assert run_ok([*kit.loader_command(), exe]).stdout.split() == ["656"]
    # progress: the step's start with an estimate, a live line redrawn in place, the time it took
    assert "musl 1.2.6 from source with zig (about " in out and " left in all)" in out
    assert "\r\x1b[Kmuslwheel kit: " in out and " of about " in out
    assert f"x86_64-musl{NEWEST_MUSL}: musl {NEWEST_MUSL} from source with zig: done in " in out


def test_progress_off_a_terminal_is_plain_lines() -> None:
    stream = io.StringIO()
    progress = StderrProgress(stream)
    assert not progress.live
    steps = _Steps(progress, ["musl-deb", "cpython"])
    with steps.step("musl-deb", "x86_64-musl1.2.3: musl 1.2.3 from Debian's packages"):
        time.sleep(1.3)  # a terminal would have had a live line by now
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    assert len(lines) == 2
    assert lines[0].startswith("muslwheel kit: x86_64-musl1.2.3: musl 1.2.3 from Debian's packages (about ")
    assert "left in all)" in lines[0]  # the CPython step still to come is in the estimate
    assert lines[1].startswith("muslwheel kit: x86_64-musl1.2.3: musl 1.2.3 from Debian's packages: done in ")


MUSL_125 = {"musl-1.2.5/VERSION": "1.2.5\n", "musl-1.2.5/src/ldso/dynlink.c": ""}
ZLIB = {"zlib-1.2.13/zlib.h": "", "zlib-1.2.13/configure": ""}
PY312 = {"Python-3.12.1/Include/patchlevel.h": '#define PY_VERSION              "3.12.1"\n'}
PY314 = {"Python-3.14.2/Include/patchlevel.h": '#define PY_VERSION              "3.14.2"\n'}


@pytest.mark.parametrize(
    ("option", "content", "extra", "says"),
    [
        ("--musl-source", None, [], "no such source tarball"),
        ("--musl-source", "not a tarball\n", [], "not a tarball (tar, gzip, bzip2 or xz)"),
        ("--musl-source", ZLIB, [], "not musl's source (no VERSION in it)"),
        ("--musl-source", MUSL_125, [], "musl 1.2.5's source, not musl 1.2.6"),
        ("--cpython-source", None, ["--python", "3.11"], "no such source tarball"),
        ("--cpython-source", "not a tarball\n", ["--python", "3.11"], "not a tarball"),
        ("--cpython-source", MUSL_125, ["--python", "3.11"], "not CPython's source (no Include/patchlevel.h in it)"),
        ("--cpython-source", PY312, ["--python", "3.11"], "CPython 3.12.1's source, not CPython 3.11"),
        ("--cpython-source", PY312, [], "--cpython-source goes with --python X.Y"),
        # a free-threaded kit's source is its minor's: 3.14t takes a 3.14 tarball, not 3.12's
        ("--cpython-source", PY312, ["--python", "3.14t"], "CPython 3.12.1's source, not CPython 3.14"),
        ("--cpython-source", PY314, ["--python", "3.13t"], "CPython 3.14.2's source, not CPython 3.13"),
        ("--cpython-source", PY314, ["--python", "3.12t"], "--python 3.12t: kits have CPython 3.11, 3.13, 3.13t, "),
    ],
    ids=[
        "musl-missing",
        "musl-not-tar",
        "musl-wrong-package",
        "musl-wrong-version",
        "cpython-missing",
        "cpython-not-tar",
        "cpython-wrong-package",
        "cpython-wrong-minor",
        "cpython-without-python",
        "cpython-3.14t-wrong-minor",
        "cpython-3.13t-wrong-minor",
        "cpython-no-free-threaded-3.12",
    ],
)
def test_a_bad_source_tarball_is_refused_in_one_line_and_nothing_is_written(
    option: str, content: object, extra: list[str], says: str, tmp_path: Path
) -> None:
    given = tmp_path / "given" / "source.tar.gz"
    given.parent.mkdir()
    if isinstance(content, str):
        given.write_text(content)
    elif isinstance(content, dict):
        _tarball(given, content)
    before = _digest(given)
    cache = tmp_path / "cache"
    env = dict(os.environ, MUSLWHEEL_CACHE=str(cache), MUSLWHEEL_DEBIAN_MIRROR="http://127.0.0.1:9/debian")
    args = ["--arch", "aarch64", "--musl", NEWEST_MUSL, option, str(given), *extra]
    proc = run([*muslwheel_cmd(), "kit", "build", *args], env=env)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert says in proc.stderr
    assert proc.stdout == ""
    assert not cache.exists() or not any(cache.rglob("*"))  # nothing left in the cache
    assert _digest(given) == before


def test_a_kit_built_from_another_source_is_not_passed_off_as_built_from_the_given_one(tmp_path: Path) -> None:
    """`kit build --musl-source T` where the kit already exists, built from Debian's tarball: a user
    who asked for T must not get the old kit in silence. One line, exit 2, the kit untouched; the
    same request naming the tarball the kit was built from is a no-op (exit 0)."""
    built = kit_for("x86_64", NEWEST_MUSL)
    recorded = json.loads((built.directory / "kit.json").read_text())["musl_source"]
    cache = tmp_path / "cache"
    (cache / "kits").mkdir(parents=True)
    run_ok(["cp", "-al", str(built.directory), str(cache / "kits" / built.directory.name)])
    kit_json = cache / "kits" / built.directory.name / "kit.json"
    before = _digest(kit_json)
    env = dict(os.environ, MUSLWHEEL_CACHE=str(cache), MUSLWHEEL_DEBIAN_MIRROR="http://127.0.0.1:9/debian")
    args = [*muslwheel_cmd(), "kit", "build", "--bare", "--arch", "x86_64", "--musl", NEWEST_MUSL, "--musl-source"]

    other = _tarball(tmp_path / "musl-other.tar.gz", {f"musl-{NEWEST_MUSL}/VERSION": f"{NEWEST_MUSL}\n"})
    proc = run([*args, str(other)], env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"muslwheel: error: kit {built.directory.name} is already built from {recorded}, not musl-other.tar.gz: "
        f"remove {cache / 'kits' / built.directory.name} to build it from {other}"
    ], proc.stderr
    assert proc.stdout == ""
    assert _digest(kit_json) == before

    same = _tarball(tmp_path / recorded, {f"musl-{NEWEST_MUSL}/VERSION": f"{NEWEST_MUSL}\n"})
    proc = run([*args, str(same)], env=env)
    assert proc.returncode == 0, proc.stderr
    assert _digest(kit_json) == before


def test_a_cpython_debian_does_not_serve_fails_in_one_line_before_anything_is_built(tmp_path: Path) -> None:
    """`--python 3.15t` without `--cpython-source`: its source is looked for first, so a host
    that cannot get it (here: no Debian mirror answers; Debian's archive 404s python3.15 today)
    hears so in one line naming the way out, and no musl kit is built in the meantime."""
    cache, downloads = tmp_path / "cache", tmp_path / "downloads"
    env = dict(
        os.environ,
        MUSLWHEEL_CACHE=str(cache),
        MUSLWHEEL_DOWNLOADS=str(downloads),
        MUSLWHEEL_DEBIAN_MIRROR="http://127.0.0.1:9/debian",
    )
    args = ["kit", "build", "--arch", "aarch64", "--musl", NEWEST_MUSL, "--python", "3.15t"]
    proc = run([*muslwheel_cmd(), *args], env=env)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("muslwheel: error: CPython 3.15: ") and line.endswith(
        "(give its source as --cpython-source TARBALL)"
    )
    assert proc.stdout == "" and not cache.exists()


def test_a_kit_is_planned_from_the_cache_before_anything_is_fetched_or_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What building a kit takes is decided once, from the cache as it is: in an empty cache an
    aarch64 CPython kit of the newest musl needs that musl from source, Debian's 1.2.3 to build
    CPython against, the host CPython when this host has none, and the tree; the estimate is
    exactly those steps, and planning wrote nothing. A kit the world built plans nothing."""
    from muslwheel.hostpython import HostPythonError, find_build_python
    from muslwheel.kits.build import KitSpec, plan_kit
    from muslwheel.versions import CPython

    built = kit_for("x86_64", NEWEST_MUSL, "3.11")
    assert plan_kit(KitSpec(built.arch, built.musl, built.python), bare=built.bare).kinds == []

    cache = tmp_path / "cache"
    monkeypatch.setenv("MUSLWHEEL_CACHE", str(cache))
    monkeypatch.setenv("MUSLWHEEL_DEBIAN_MIRROR", "http://127.0.0.1:9/debian")
    try:
        find_build_python("3.13")
        host: list[str] = []
    except HostPythonError:
        host = ["build-python"]
    plan = plan_kit(KitSpec("aarch64", NEWEST_MUSL, CPython(13)))
    assert plan.name == f"aarch64-musl{NEWEST_MUSL}-py3.13"
    assert plan.kinds == ["musl-src", "musl-deb", *host, "system-libs", "cpython"]
    assert not cache.exists()
