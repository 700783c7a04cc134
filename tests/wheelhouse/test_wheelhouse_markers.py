"""The wheelhouse resolves for the target, not this host: environment markers of the requirements
and of every ``Requires-Dist`` pip follows are evaluated with the target's arch and CPython; and a
target's proof runs in a kit of the target's own musl release when one is built or can be made.
pip resolves from pure wheels the test makes (``--no-index --find-links``): nothing reaches PyPI,
no kit runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import checkout_env, muslwheel_cmd, run
from wheelmaker import make_wheel

from muslwheel.kits import Kit
from muslwheel.versions import CPython, MuslVersion
from muslwheel.wheelhouse import tasks


def wheelhouse(*args: object) -> subprocess.CompletedProcess[str]:
    return run([*muslwheel_cmd(), "wheelhouse", *map(str, args)], env=checkout_env())


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pure wheels whose choice depends on markers only: a top-level requirement for aarch64,
    and ``base``, which requires one wheel per arch and one from Python 3.12 on."""
    links = tmp_path_factory.mktemp("markers") / "links"
    links.mkdir()
    for name in ("armonly", "armdep", "x86dep", "newpydep", "oldpydep"):
        make_wheel(links, name, "1.0", "py3-none-any", {f"{name}/__init__.py": ""}, root_is_purelib=True)
    make_wheel(
        links,
        "base",
        "1.0",
        "py3-none-any",
        {"base/__init__.py": ""},
        root_is_purelib=True,
        requires=[
            "armdep; platform_machine == 'aarch64'",
            'x86dep; platform_machine == "x86_64" and sys_platform == "linux"',
            "newpydep; python_version >= '3.12'",
            "oldpydep; python_full_version < '3.12'",
        ],
    )
    return links


def chosen(links: Path, tmp: Path, target: str, python: str) -> tuple[set[str], dict[str, Any]]:
    req = tmp / "requirements.txt"
    req.write_text("base\narmonly; platform_machine == 'aarch64'\n")
    out, cache = tmp / f"out-{target}-{python}", tmp / "cache"
    proc = wheelhouse(
        "-r", req, "--target", target, "--python", python, "-w", out, "--cache-dir", cache,
        "--no-index", "--find-links", links, "--no-pip-config", "--no-prove", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    return {w["name"] for w in report["lock"]}, report


def test_markers_of_requirements_and_their_dependencies_are_the_targets(links: Path, tmp_path: Path) -> None:
    arm, report = chosen(links, tmp_path, "aarch64:1.2.3", "3.11")
    assert arm == {"base", "armonly", "armdep", "oldpydep"}
    [env] = report["markers"].values()
    assert env["platform_machine"] == "aarch64" and env["python_version"] == "3.11"
    x86, _ = chosen(links, tmp_path, "x86_64:1.2.3", "3.11")
    assert x86 == {"base", "x86dep", "oldpydep"}


def test_python_version_markers_are_the_targets(links: Path, tmp_path: Path) -> None:
    arm, _ = chosen(links, tmp_path, "aarch64:1.2.3", "3.13")
    assert arm == {"base", "armonly", "armdep", "newpydep"}
    x86, _ = chosen(links, tmp_path, "x86_64:1.2.3", "3.13")
    assert x86 == {"base", "x86dep", "newpydep"}


def _kit(arch: str, musl: str | MuslVersion) -> Kit:
    release = musl if isinstance(musl, MuslVersion) else MuslVersion.parse(musl)
    return Kit(f"{arch}-musl{release}-py3.11", arch, release, CPython(11), Path("/nonexistent") / str(release) / "root")


def test_a_target_is_proven_in_a_kit_of_its_own_musl_made_when_only_an_older_one_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import muslwheel.kits
    import muslwheel.kits.ondemand

    built = [_kit("aarch64", "1.2.2")]
    made: list[str] = []

    def make_kit(spec: Any, **_: Any) -> Kit:
        made.append(spec.name)
        return _kit(spec.arch, spec.musl)

    monkeypatch.setattr(muslwheel.kits, "list_kits", lambda: list(built))
    monkeypatch.setattr(muslwheel.kits.ondemand, "make_kit", make_kit)
    # the proof of a musl 1.2.3 target: a 1.2.3 kit, made (not the 1.2.2 one that is built)
    assert tasks.kit_for("aarch64", "3.11", MuslVersion(1, 2, 3), newest=True, make=True).musl == (1, 2, 3)
    assert made == ["aarch64-musl1.2.3-py3.11"]
    # built already: taken, nothing made
    built.append(_kit("aarch64", "1.2.3"))
    built.append(_kit("aarch64", "1.2.6"))
    assert tasks.kit_for("aarch64", "3.11", MuslVersion(1, 2, 3), newest=True, make=True).musl == (1, 2, 3)
    assert made == ["aarch64-musl1.2.3-py3.11"]
    # --no-kit-build with only an older kit: that one; a build takes the oldest at or below
    del built[1:]
    assert tasks.kit_for("aarch64", "3.11", MuslVersion(1, 2, 3), newest=True, make=False).musl == (1, 2, 2)
    assert tasks.kit_for("aarch64", "3.11", MuslVersion(1, 2, 3), newest=False, make=True).musl == (1, 2, 2)
    assert made == ["aarch64-musl1.2.3-py3.11"]


def test_a_release_target_takes_its_python_from_the_distros_table() -> None:
    from muslwheel.distros import find
    from muslwheel.wheelhouse import parse_targets

    assert find("alpine:3.17").python == "3.10"  # Alpine 3.17's python3
    [t] = parse_targets(["alpine:3.17/aarch64"])
    assert (t.python_text, str(t.musl), t.arch) == ("3.10", "1.2.3", "aarch64")
    assert t.marker_environment()["python_full_version"] == "3.10.0"
