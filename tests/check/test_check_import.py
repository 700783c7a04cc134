"""check --import in the kits' musl CPython: a fixture extension imports and computes on every
arch CI builds a CPython for; DT_RELR crashes on musl 1.2.3 and imports on the newest; each kind of
import failure is named."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import PY_KIT_IDS, PY_KITS, WORLD, kit_for, muslwheel_cmd, need, run, run_ok, write_c
from kitfixture import build_against, build_extension, import_results, relr_wheel
from wheelmaker import make_wheel

from muslwheel.kits import select_kits
from muslwheel.kits.build import DEBIAN_BINARY_MUSL, NEWEST_MUSL
from muslwheel.kits.musl import OLDEST_MUSL

# --- CPython kits and check --import ------------------------------------------------------------

#: the CPython minor of the kits CI builds (conftest.PY_KITS: six arches)
PY = "3.11"


@pytest.mark.parametrize(("arch", "musl"), PY_KITS, ids=PY_KIT_IDS)
def test_an_extension_built_for_a_kit_imports_and_computes(arch: str, musl: str, tmp_path: Path) -> None:
    kit = kit_for(arch, musl, PY)
    build_extension(kit, tmp_path, "kitprobe")
    code = "import kitprobe, sys; print(kitprobe.fib(50), sys.platform, sys.implementation.cache_tag)"
    proc = run_ok([*kit.python_command(), "-c", code], env={"PYTHONPATH": str(tmp_path)})
    assert proc.stdout.split() == ["12586269025", "linux", "cpython-311"]


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_check_import_shows_the_relr_crash_on_musl_1_2_3_and_the_import_on_the_newest(
    arch: str, tmp_path: Path
) -> None:
    new = kit_for(arch, NEWEST_MUSL, PY)
    old = min(
        (k for k in select_kits(arch=arch, python=PY) if k.musl.series == (1, 2)),
        key=lambda k: k.musl,
    )
    assert old.musl in (OLDEST_MUSL, DEBIAN_BINARY_MUSL)  # both before DT_RELR (1.2.4)
    wheel = relr_wheel(new, tmp_path, "relrpkg", "from ._ext import fib, word\n")
    # named, not the default choice (test_check_import_choice.py): a musl 1.2.2 kit, when built, is
    # the oldest of the 1.2 series
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", old.name, "--kit", new.name, wheel])
    assert proc.returncode == 1, proc.stderr
    results = import_results(proc.stdout)
    assert results[(old.name, "relrpkg._ext")] == ("crashed", "SIGSEGV")
    assert results[(new.name, "relrpkg._ext")][0] == "imported"
    assert results[(new.name, "relrpkg")][0] == "imported"
    text = run([*muslwheel_cmd(), "check", "--import", "--kit", new.name, wheel])
    assert text.returncode == 0 and "relrpkg._ext" in text.stdout


def test_check_import_names_each_kind_of_failure(tmp_path: Path) -> None:
    kit = kit_for("x86_64", NEWEST_MUSL, PY)
    good = build_extension(kit, tmp_path, "good")
    no_init = build_extension(kit, tmp_path, "noinit", "-DNO_INIT")
    other_python = build_extension(kit, tmp_path, "other", suffix=".cpython-312-x86_64-linux-musl.so")
    write_c(tmp_path / "missing.c", "int missing_thing(void) { return 1; }\n")
    run_ok(
        [
            sys.executable,
            "-m",
            "ziglang",
            "cc",
            "-target",
            kit.zig_target,
            "-shared",
            "-fPIC",
            "-Wl,-soname,libmissing.so",
            "-o",
            tmp_path / "libmissing.so",
            tmp_path / "missing.c",
        ]
    )
    needs = build_extension(kit, tmp_path, "needs", f"-L{tmp_path}", "-Wl,--no-as-needed", "-lmissing")
    files = {
        f"pkg/{good.name}": good.read_bytes(),
        f"pkg/{no_init.name}": no_init.read_bytes(),
        f"pkg/{other_python.name}": other_python.read_bytes(),
        f"pkg/{needs.name}": needs.read_bytes(),
        "pkg/__init__.py": "",
        "broken/__init__.py": "import not_installed_dependency\n",
    }
    wheel = make_wheel(tmp_path, "pkg", "1.0", "cp311-cp311-musllinux_1_2_x86_64", files)
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 1, proc.stderr
    results = {m: r for (_, m), r in import_results(proc.stdout).items()}
    assert results["pkg.good"][0] == "imported"
    assert results["pkg.noinit"][0] == "binary-error" and "PyInit_noinit" in results["pkg.noinit"][1]
    assert results["pkg.other"][0] == "binary-error"  # a 3.12 suffix: 3.11 does not import it
    assert results["pkg.needs"] == ("loader-error", results["pkg.needs"][1])
    assert "libmissing.so" in results["pkg.needs"][1]
    assert results["broken"][0] == "python-error" and "not_installed_dependency" in results["broken"][1]
    # a Python error alone is the wheel's dependencies, not its binaries: exit 0
    (tmp_path / "ok").mkdir()
    ok = make_wheel(
        tmp_path / "ok",
        "pkg",
        "1.0",
        "cp311-cp311-musllinux_1_2_x86_64",
        {f"pkg/{good.name}": good.read_bytes(), "pkg/__init__.py": "", "broken/__init__.py": "import nope\n"},
    )
    assert run([*muslwheel_cmd(), "check", "--import", "--kit", kit.root, ok]).returncode == 0


def test_a_plain_library_beside_a_module_is_a_library_everywhere(tmp_path: Path) -> None:
    """pyarrow ships ``pyarrow/libarrow_python.so`` beside its extension modules: a library (no
    ``PyInit_libarrow_python``). show calls it a library, check --import does not import it, and
    neither does build's import step, on a kit target and on an installed CPython's target (which
    counted every ``.so`` outside ``.libs`` as a module, and failed importing it)."""
    from muslwheel.audit import AuditedWheel
    from muslwheel.builder.run import BuildOptions, TargetResult, check_and_import
    from muslwheel.builder.target import target_from_kit, target_from_prefix

    prefix = WORLD / "cpython"
    need((prefix / "bin" / "python3.11").exists(), f"musl CPython ({prefix})")
    kit = kit_for("x86_64", DEBIAN_BINARY_MUSL, PY)
    ext = build_extension(kit, tmp_path, "_ext")
    lib = build_against(
        kit,
        tmp_path / "libfoo_python.so",
        write_c(tmp_path / "foo.c", "int foo_python(void) { return 7; }\n"),
        "-shared",
        "-fPIC",
    )
    files = {"pkg/__init__.py": "", f"pkg/{ext.name}": ext.read_bytes(), "pkg/libfoo_python.so": lib.read_bytes()}
    wheel = make_wheel(tmp_path, "pkg", "1.0", "cp311-cp311-musllinux_1_2_x86_64", files)
    shown = json.loads(run_ok([*muslwheel_cmd(), "show", "--json", "-v", wheel]).stdout)
    assert {f["path"]: f["role"] for f in shown["files"]} == {
        f"pkg/{ext.name}": "extension",
        "pkg/libfoo_python.so": "library",
    }
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [m for (_, m) in import_results(proc.stdout)] == ["pkg._ext", "pkg"]
    for target in (target_from_kit(kit), target_from_prefix(prefix)):
        result = TargetResult(target, wheel=wheel, audited=AuditedWheel.read(wheel))
        check_and_import(result, BuildOptions(tmp_path, tmp_path / "out", [target]))
        assert (result.stage, result.imported, result.notes) == ("import", ["pkg._ext", "pkg"], []), target.name
