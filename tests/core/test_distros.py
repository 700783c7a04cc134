"""Distros: users think "Alpine 3.17"; every version warning and `show --distro` speak that way."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, run, run_ok, write_c
from wheelmaker import make_wheel

from muslwheel import distros
from muslwheel.elf import read_elf
from muslwheel.libc import MuslVersion

# The musl of each Alpine branch, as the issue states it and pkgs.alpinelinux.org shows it.
ALPINE = {
    "3.12": "1.1.24",
    "3.13": "1.2.2",
    "3.14": "1.2.2",
    "3.15": "1.2.2",
    "3.16": "1.2.3",
    "3.17": "1.2.3",
    "3.18": "1.2.4",
    "3.19": "1.2.4",
    "3.20": "1.2.5",
    "3.21": "1.2.5",
    "3.22": "1.2.5",
    "3.23": "1.2.5",
    "3.24": "1.2.6",
}


def test_alpine_branches_and_every_release_cites_a_source() -> None:
    found = {r.release: str(r.musl) for r in distros.releases() if r.distro == "alpine"}
    assert {k: v for k, v in found.items() if k != "edge"} == ALPINE
    assert "edge" in found
    for r in distros.releases():
        assert r.sources and all(s.startswith("https://") for s in r.sources), r.key
    void = {r.release: str(r.musl) for r in distros.releases() if r.distro == "void"}
    assert void == {"32-bit": "1.1.24", "64-bit": "1.2.5"}
    assert {r.release for r in distros.releases() if r.distro == "openwrt"} >= {"21.02", "22.03", "23.05", "24.10"}


def test_supported_follows_the_end_of_life_date() -> None:
    r = distros.find("alpine:3.17")
    assert r.supported(date(2024, 11, 21)) and not r.supported(date(2024, 11, 22))
    assert distros.find("void:64-bit").supported(date(2100, 1, 1))  # rolling


def test_fails_on_names_the_releases_below_the_floor_supported_first() -> None:
    floor, claim = MuslVersion(1, 2, 4), MuslVersion(1, 2, 0)
    expected = [r for r in distros.releases() if claim <= r.musl < floor]
    text = distros.fails_on(floor, claim, today=date(2026, 11, 26))
    assert text == "Alpine 3.13–3.17, OpenWrt 22.03 (end of life)"
    assert "Alpine 3.12" not in text  # musl 1.1.24 is below the claim, not this warning's business
    assert {r.label for r in expected} >= {"Alpine 3.13", "Alpine 3.17", "OpenWrt 22.03"}
    # On 2024-06-01, 3.17 was supported and 3.16 had just ended: supported ones come first.
    then = distros.fails_on(floor, claim, today=date(2024, 6, 1))
    assert then == "Alpine 3.17 (supported); Alpine 3.13–3.16, OpenWrt 22.03 (end of life)"
    assert distros.fails_on(MuslVersion(1, 1, 0)) == ""


def test_unknown_targets_are_refused_with_what_is_known() -> None:
    with pytest.raises(distros.DistroError, match="3.12, 3.13"):
        distros.find("alpine:2.99")
    with pytest.raises(distros.DistroError, match="alpine"):
        distros.find("gentoo")


def test_cli_distros_lists_alpine_3_24_with_musl_1_2_6() -> None:
    out = run_ok([*muslwheel_cmd(), "distros"], env=checkout_env()).stdout
    line = next(x for x in out.splitlines() if x.split()[:2] == ["Alpine", "3.24"])
    assert line.split()[2] == "1.2.6"
    data = json.loads(run_ok([*muslwheel_cmd(), "distros", "--json"], env=checkout_env()).stdout)
    entry = next(d for d in data if d["distro"] == "alpine" and d["release"] == "3.24")
    assert entry["musl"] == "1.2.6" and entry["sources"]


@pytest.fixture
def relr_wheel(toolchain: Toolchain, tmp_path: Path) -> Path:
    src = write_c(
        tmp_path / "relr.c", 'static const char *t[] = {"a", "b", "c"};\nconst char *get(int i) { return t[i]; }\n'
    )
    so = toolchain.build("x86_64", tmp_path / "librelr.so", [src], shared=True, args=["-Wl,-z,pack-relative-relocs"])
    assert read_elf(so).has_relr
    (tmp_path / "dist").mkdir()
    return make_wheel(
        tmp_path / "dist", "relr", "1.0", "py3-none-musllinux_1_2_x86_64", {"relr/librelr.so": so.read_bytes()}
    )


def test_show_names_the_alpine_releases_a_dt_relr_wheel_fails_on(relr_wheel: Path) -> None:
    proc = run([*muslwheel_cmd(), "show", relr_wheel], env=checkout_env())
    assert proc.returncode == 0, proc.stderr
    warning = next(x for x in proc.stdout.splitlines() if "warning" in x and "DT_RELR" in x)
    assert "fails on musl 1.2.0–1.2.3" in warning and "Alpine 3.13–3.17" in warning and "OpenWrt 22.03" in warning


def test_show_distro_judges_against_named_releases(relr_wheel: Path) -> None:
    bad = run([*muslwheel_cmd(), "show", "--distro", "alpine:3.17", relr_wheel], env=checkout_env())
    assert bad.returncode == 1, bad.stderr
    assert "Alpine 3.17 (musl 1.2.3): does NOT load" in bad.stdout and "needs musl 1.2.4" in bad.stdout
    good = run([*muslwheel_cmd(), "show", "--distro", "alpine:3.22", relr_wheel], env=checkout_env())
    assert good.returncode == 0 and "Alpine 3.22 (musl 1.2.5): loads" in good.stdout
    both = run(
        [*muslwheel_cmd(), "show", "--json", "--distro", "alpine:3.22", "--distro", "openwrt:22.03", relr_wheel],
        env=checkout_env(),
    )
    assert both.returncode == 1
    judged = {d["target"]: d["loads"] for d in json.loads(both.stdout)["distros"]}
    assert judged == {"alpine:3.22": True, "openwrt:22.03": False}


def test_show_distro_refuses_an_unknown_release_before_any_work(relr_wheel: Path) -> None:
    proc = run([*muslwheel_cmd(), "show", "--distro", "alpine:9.9", relr_wheel], env=checkout_env())
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "alpine" in proc.stderr


def test_the_library_judges_an_audited_wheel_against_releases(relr_wheel: Path) -> None:
    from muslwheel.audit import audit_wheel

    v = audit_wheel(relr_wheel)
    judged = distros.judge(v, ["alpine:3.17", "alpine:3.22"])
    assert [(j["target"], j["musl"], j["loads"]) for j in judged] == [
        ("alpine:3.17", "1.2.3", False),
        ("alpine:3.22", "1.2.5", True),
    ]
    assert judged[0]["problems"] == ["needs musl 1.2.4; Alpine 3.17 has 1.2.3"]
    with pytest.raises(distros.DistroError):
        distros.judge(v, ["alpine:9.9"])


def test_a_glibc_wheel_and_a_verdicts_errors_are_problems_on_every_release(tmp_path: Path) -> None:
    from muslwheel.audit import Reason, Verdict

    v = Verdict(
        wheel="g-1.0-py3-none-linux_x86_64.whl",
        libc="glibc",
        arch="x86_64",
        tag=None,
        musl_min_version=None,
        external_libs=[],
        system_libs=[],
        reasons=[
            Reason("glibc-symbol", "strong import", file="g/_g.so"),
            Reason("tag", "a tag's error is repair's to fix"),
            Reason("x86-isa", "a warning", severity="warning"),
        ],
        files=[],
        claimed_tags=["linux_x86_64"],
        honest=True,
    )
    assert distros.wheel_problems(v, distros.find("alpine:3.22")) == ["a glibc wheel", "g/_g.so: strong import"]


def test_a_release_for_one_word_size_refuses_the_other() -> None:
    void32 = next(r for r in distros.releases() if r.word_size == 32)
    assert distros.load_problem(void32, floor=None, arch_is_32bit=False) == f"{void32.label} is for 32-bit arches only"
    assert distros.load_problem(void32, floor=None, arch_is_32bit=True) is None


def test_status_names_rolling_supported_and_end_of_life() -> None:
    assert distros.find("void:64-bit").status() == "rolling"
    r = distros.find("alpine:3.17")
    assert r.status(date(2024, 11, 21)) == "supported" and r.status(date(2024, 11, 22)) == "end of life"
