"""tags: what a target installs, best first, and pip arguments that fetch exactly that."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import checkout_env, muslwheel_cmd, need, run, run_ok
from packaging import tags as ptags
from wheelmaker import make_wheel

from muslwheel.tags import parse_python_version, parse_target, pip_download_args, tags_for_target

SYS_TAGS_VS_OURS = """
import json
from packaging import tags
from muslwheel.libc import detect_interpreter
from muslwheel.tags import interpreter_tags
print(json.dumps([[str(t) for t in tags.sys_tags()], [str(t) for t in interpreter_tags(detect_interpreter())]]))
"""


@pytest.mark.parametrize("version", ["24.1", "22.0", "26.4"])
def test_musl_cpython_tags_equal_packaging_sys_tags(musl_python: Path, world_wheels: Path, version: str) -> None:
    """Element by element, for the oldest packaging muslwheel accepts (22.0, pyproject.toml),
    the newest (26.4; since 26.3 ``linux_x86_64`` comes first), and the world's own."""
    found = [
        *world_wheels.glob(f"packaging-{version}-*.whl"),
        *world_wheels.glob(f"packaging-range/packaging-{version}-*.whl"),
    ]
    need(found, f"packaging {version} wheel in {world_wheels}")
    env = checkout_env([found[0]])
    theirs, ours = json.loads(run_ok([musl_python, "-c", SYS_TAGS_VS_OURS], env=env).stdout)
    assert ours == theirs
    assert len(ours) > 100
    first = "cp311-cp311-linux_x86_64" if version >= "26.3" else "cp311-cp311-musllinux_1_2_x86_64"
    assert ours[0] == first
    cli = run_ok([*muslwheel_cmd(musl_python), "tags", "--json"], env=env).stdout
    assert json.loads(cli) == theirs


def test_host_interpreter_tags_equal_packaging_sys_tags() -> None:
    proc = run_ok([*muslwheel_cmd(), "tags", "--json"], env=checkout_env())
    assert json.loads(proc.stdout) == [str(t) for t in ptags.sys_tags()]


def test_target_platforms_go_from_newest_minor_down_then_linux() -> None:
    assert parse_target("musllinux_1_2_aarch64").platform_tags() == [
        "musllinux_1_2_aarch64",
        "musllinux_1_1_aarch64",
        "musllinux_1_0_aarch64",
        "linux_aarch64",
    ]
    assert parse_target("musllinux_1_2_aarch64").platform_tags(linux_first=True)[:2] == [
        "linux_aarch64",
        "musllinux_1_2_aarch64",
    ]
    assert parse_target("s390x:1.1.24").platform_tags()[0] == "musllinux_1_1_s390x"


def test_target_tags_with_python_are_packagings_order() -> None:
    tags = [str(t) for t in tags_for_target(parse_target("aarch64:1.2.3").platform_tags(), (3, 12))]
    assert tags[:2] == ["cp312-cp312-musllinux_1_2_aarch64", "cp312-cp312-musllinux_1_1_aarch64"]
    assert "cp312-abi3-musllinux_1_2_aarch64" in tags and "cp32-abi3-musllinux_1_0_aarch64" in tags
    assert tags[-1] == "py30-none-any"
    assert not any("x86_64" in t or "manylinux" in t or "musllinux_1_3" in t for t in tags)


CANDIDATES = {
    # distribution name: (its only wheel's tag, installable on CPython 3.11 / musl 1.2 / aarch64?)
    "m12-a64": ("cp311-cp311-musllinux_1_2_aarch64", True),
    "m11-a64": ("cp311-cp311-musllinux_1_1_aarch64", True),
    "abi3-a64": ("cp38-abi3-musllinux_1_2_aarch64", True),
    "pure": ("py3-none-any", True),
    "m13-a64": ("cp311-cp311-musllinux_1_3_aarch64", False),
    "m12-x64": ("cp311-cp311-musllinux_1_2_x86_64", False),
    "many-a64": ("cp311-cp311-manylinux_2_17_aarch64", False),
    "m12-a64-py312": ("cp312-cp312-musllinux_1_2_aarch64", False),
}


def test_pip_download_with_pip_args_fetches_exactly_what_the_target_installs(tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    for name, (tag, _) in CANDIDATES.items():
        make_wheel(links, name, "1.0", tag, {f"{name.replace('-', '_')}.py": ""})
    out = run_ok(
        [*muslwheel_cmd(), "tags", "--target", "musllinux_1_2_aarch64", "--python", "3.11", "--pip-args", "--json"],
        env=checkout_env(),
    ).stdout
    args = json.loads(out)
    assert args == pip_download_args(parse_target("musllinux_1_2_aarch64").platform_tags(), (3, 11))
    got = {}
    for name in CANDIDATES:
        dest = tmp_path / f"dl-{name}"
        proc = run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-index",
                "--find-links",
                links,
                "--disable-pip-version-check",
                "-d",
                dest,
                *args,
                name,
            ]
        )
        got[name] = proc.returncode == 0 and any(dest.glob("*.whl"))
    assert got == {name: ok for name, (_, ok) in CANDIDATES.items()}


@pytest.mark.parametrize("bad", ["3", "python3.x", "3.11.2.1"])
def test_bad_python_version_is_one_line_error(bad: str) -> None:
    proc = run([*muslwheel_cmd(), "tags", "--target", "musllinux_1_2_x86_64", "--python", bad], env=checkout_env())
    assert proc.returncode == 2 and proc.stderr.startswith("muslwheel: error: bad Python version")


def _packaging_abis(minor: int, free_threaded: bool, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """packaging's own ABI list for a CPython 3.*minor* release build: ``tags._cpython_abis``,
    with the config vars such a build has (``Py_GIL_DISABLED`` = 1 on a free-threaded one)."""
    config = {"Py_GIL_DISABLED": int(free_threaded), "Py_DEBUG": 0, "WITH_PYMALLOC": 0}
    monkeypatch.setattr(ptags, "_get_config_var", lambda name, warn=False: config.get(name))
    monkeypatch.delattr(sys, "gettotalrefcount", raising=False)
    return list(ptags._cpython_abis((3, minor)))


@pytest.mark.parametrize("python", ["3.13t", "3.14t", "3.15t", "3.14", "3.15"])
def test_free_threaded_and_new_targets_get_exactly_packagings_tags(
    python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """packaging's answer: ``cpython_tags`` with the ABIs ``_cpython_abis`` derives for such a
    build (as ``sys_tags`` does on it), then ``compatible_tags``; packaging 26.4 knows abi3t
    (``_abi3t_applies``: offered to any free-threaded CPython, down to cp32, per PEP 803)."""
    version = parse_python_version(python)
    platforms = parse_target("musllinux_1_2_x86_64").platform_tags()
    abis = _packaging_abis(version.minor, version.free_threaded, monkeypatch)
    assert abis == [version.abi]
    expected = list(ptags.cpython_tags((3, version.minor), abis=abis, platforms=platforms))
    expected += ptags.compatible_tags((3, version.minor), interpreter=f"cp3{version.minor}", platforms=platforms)
    got = tags_for_target(platforms, version)
    assert [str(t) for t in got] == [str(t) for t in expected]
    stable = {t.abi for t in got} - {version.abi, "none"}
    assert stable == ({"abi3t"} if version.free_threaded else {"abi3"})
    assert str(got[0]) == f"cp3{version.minor}-{version.abi}-musllinux_1_2_x86_64"


FREE_CANDIDATES = {
    # distribution name: (its only wheel's tags, installable on a free-threaded CPython 3.15?)
    "ft315": (["cp315-cp315t-musllinux_1_2_x86_64"], True),
    "both315": (["cp315-abi3-musllinux_1_2_x86_64", "cp315-abi3t-musllinux_1_2_x86_64"], True),
    "ft313": (["cp313-cp313t-musllinux_1_2_x86_64"], False),
    "gil315": (["cp315-cp315-musllinux_1_2_x86_64"], False),
    "abi3only": (["cp39-abi3-musllinux_1_2_x86_64"], False),
    "pure": (["py3-none-any"], True),
}


def test_pip_args_for_a_free_threaded_target_fetch_exactly_its_wheels(tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    for name, (tags, _) in FREE_CANDIDATES.items():
        make_wheel(links, name, "1.0", tags, {f"{name}.py": ""})
    out = run_ok(
        [*muslwheel_cmd(), "tags", "--target", "musllinux_1_2_x86_64", "--python", "3.15t", "--pip-args", "--json"],
        env=checkout_env(),
    ).stdout
    args = json.loads(out)
    assert args[-6:] == ["--abi", "cp315t", "--abi", "abi3t", "--abi", "none"]
    got = {}
    for name in FREE_CANDIDATES:
        dest = tmp_path / f"dl-{name}"
        cmd = [sys.executable, "-m", "pip", "download", "--no-index", "--find-links", links]
        proc = run([*cmd, "--disable-pip-version-check", "-d", dest, *args, name])
        got[name] = proc.returncode == 0 and any(dest.glob("*.whl"))
    assert got == {name: ok for name, (_, ok) in FREE_CANDIDATES.items()}


def test_free_threaded_before_3_13_is_a_one_line_error() -> None:
    proc = run([*muslwheel_cmd(), "tags", "--target", "musllinux_1_2_x86_64", "--python", "3.12t"], env=checkout_env())
    assert proc.returncode == 2 and "free-threaded builds start at 3.13" in proc.stderr


def test_free_threaded_tags_refuse_a_packaging_without_abi3t(monkeypatch: pytest.MonkeyPatch) -> None:
    import packaging

    from muslwheel.errors import TargetError
    from muslwheel.tags import packaging_knows_abi3t

    assert packaging_knows_abi3t("26.1") and not packaging_knows_abi3t("26.0")
    monkeypatch.setattr(packaging, "__version__", "24.1")
    with pytest.raises(TargetError, match="need packaging >= 26.1"):
        tags_for_target(["musllinux_1_2_x86_64"], parse_python_version("3.13t"))
    assert tags_for_target(["musllinux_1_2_x86_64"], parse_python_version("3.13"))
