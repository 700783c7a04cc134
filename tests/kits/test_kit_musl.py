"""Which musl a kit is asked for: a release (``1.2.3``: that one) or a series (``1.2``: the oldest
of it that is built), as one typed value (:class:`muslwheel.versions.MuslVersion` for a kit's own
musl, :class:`muslwheel.versions.MuslWanted` for ``--musl``), read once at the command line's edge.
On ``kit.json`` records only: no kit is built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import checkout_env, muslwheel_cmd, run

from muslwheel.kits import RECIPE, kit_name, list_kits, select_kits
from muslwheel.kits.choice import KitKey, pick
from muslwheel.versions import CPython, MuslVersion, MuslWanted

PY = CPython(11)


def _records(base: Path, *releases: str) -> Path:
    """A kits directory with a ``kit.json`` (current recipe) for an x86_64 CPython 3.11 kit of each release."""
    for release in releases:
        name = kit_name("x86_64", MuslVersion.parse(release), PY)
        (base / name).mkdir(parents=True)
        meta = {"name": name, "arch": "x86_64", "musl": release, "python": str(PY), "recipe": RECIPE}
        (base / name / "kit.json").write_text(json.dumps(meta))
    return base


def test_a_series_key_takes_the_oldest_kit_of_the_series_a_release_key_that_release_only(tmp_path: Path) -> None:
    kits = list_kits(_records(tmp_path / "kits", "1.1.24", "1.2.6", "1.2.3", "1.2.2"))
    assert [k.musl for k in kits] == [MuslVersion(1, 1, 24), MuslVersion(1, 2, 2), MuslVersion(1, 2, 3), (1, 2, 6)]

    def name(musl: str) -> str | None:
        kit = pick(KitKey("x86_64", PY, MuslWanted.parse(musl)), kits)
        return kit.name if kit else None

    assert name("1.2") == "x86_64-musl1.2.2-py3.11"  # the series: its oldest built
    assert name("1.1") == "x86_64-musl1.1.24-py3.11"
    assert name("1.2.3") == "x86_64-musl1.2.3-py3.11"  # a release: that one, not the older 1.2.2
    assert name("1.2.4") is None  # a release not built: none, not a neighbour
    assert name("1.3") is None
    assert pick(KitKey("x86_64", PY), kits) == kits[0]  # nothing asked: the oldest of all


def test_select_kits_takes_a_release_or_a_series(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSLWHEEL_CACHE", str(tmp_path))
    _records(tmp_path / "kits", "1.1.24", "1.2.2", "1.2.6")
    assert [str(k.musl) for k in select_kits(musl=MuslWanted.parse("1.2"))] == ["1.2.2", "1.2.6"]
    assert [k.name for k in select_kits(musl=MuslVersion(1, 2, 6))] == ["x86_64-musl1.2.6-py3.11"]
    assert select_kits(musl=MuslVersion(1, 2, 0)) == []  # 1.2.0 is a release, not the series


@pytest.mark.parametrize(
    ("command", "musl", "line"),
    [
        ("build", "1.x.y", "--musl '1.x.y': give a musl release such as 1.2.3 or a series such as 1.2"),
        ("build", "1.2.3.4", "--musl '1.2.3.4': give a musl release such as 1.2.3 or a series such as 1.2"),
        ("lib", "1.x.y", "--musl '1.x.y': give a musl release such as 1.2.3 or a series such as 1.2"),
        ("kit", "1.x.y", "--musl '1.x.y': give a musl release such as 1.2.3 or 1.2.6"),
        ("kit", "1.2", "--musl '1.2': give a musl release such as 1.2.3 or 1.2.6"),
    ],
    ids=["build", "build-four-numbers", "lib", "kit", "kit-series"],
)
def test_a_musl_that_is_not_a_version_is_one_line_and_nothing_is_made(
    command: str, musl: str, line: str, tmp_path: Path
) -> None:
    (tmp_path / "project").mkdir()
    args = {
        "build": ["build", tmp_path / "project", "-w", tmp_path / "out", "--arch", "x86_64", "--python", "3.11"],
        "lib": ["lib", "build", "zlib", "--arch", "x86_64"],
        "kit": ["kit", "build", "--arch", "x86_64", "--python", "3.11"],
    }[command]
    env = {**checkout_env(), "MUSLWHEEL_CACHE": str(tmp_path / "cache")}
    proc = run([*muslwheel_cmd(), *args, "--musl", musl], env=env)
    assert (proc.returncode, proc.stderr) == (2, f"muslwheel: error: {line}\n")
    assert not (tmp_path / "cache" / "kits").exists() and not (tmp_path / "out").exists()


def test_build_with_a_series_and_no_kit_names_the_series(tmp_path: Path) -> None:
    env = {**checkout_env(), "MUSLWHEEL_CACHE": str(tmp_path / "cache")}
    args = ["build", tmp_path, "-w", tmp_path / "out", "--arch", "x86_64", "--python", "3.11", "--no-kit-build"]
    proc = run([*muslwheel_cmd(), *args, "--musl", "1.2"], env=env)
    assert proc.returncode == 2
    assert (
        proc.stderr.startswith("muslwheel: error: no kit for x86_64 py3.11 musl 1.2 (") and proc.stderr.count("\n") == 1
    )
