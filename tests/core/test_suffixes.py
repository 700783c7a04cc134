"""Extension-module suffixes of CPython 3.9–3.15 (default and free-threaded) on musl.

The lists are CPython's ``_PyImport_DynLoadFiletab`` (``Python/dynload_shlib.c``): the 3.15
ones as a GIL-enabled 3.15.0rc2 prints ``importlib.machinery.EXTENSION_SUFFIXES``
(robotpy/crossenv#165), with the plain abi3 entries inside ``#ifndef Py_GIL_DISABLED``
(python/cpython#146636, PEP 803); a free-threaded 3.14 still lists ``.abi3.so``
(mesonbuild/meson#15637)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, muslwheel_cmd, run, write_c
from packaging.tags import parse_tag
from wheelmaker import make_wheel

from muslwheel.arch import get_arch
from muslwheel.suffixes import extension_suffixes, imports, is_module_suffix, suffix_problems
from muslwheel.versions import CPython

X86 = get_arch("x86_64")
T = "x86_64-linux-musl"


def test_315_gil_build_lists_what_cpython_3_15_prints_with_the_musl_triplet() -> None:
    assert extension_suffixes(CPython(15), X86) == (
        f".cpython-315-{T}.so",
        f".abi3-{T}.so",
        ".abi3.so",
        f".abi3t-{T}.so",
        ".abi3t.so",
        ".so",
    )


def test_315t_imports_abi3t_and_no_plain_abi3() -> None:
    assert extension_suffixes(CPython(15, True), X86) == (f".cpython-315t-{T}.so", f".abi3t-{T}.so", ".abi3t.so", ".so")
    assert not imports(CPython(15, True), X86, "_rust.abi3.so")
    assert imports(CPython(15, True), X86, "_rust.abi3t.so")
    assert imports(CPython(15), X86, "_rust.abi3t.so")


@pytest.mark.parametrize("minor", [13, 14])
def test_313t_and_314t_list_abi3_but_not_abi3t(minor: int) -> None:
    assert extension_suffixes(CPython(minor, True), X86) == (f".cpython-3{minor}t-{T}.so", ".abi3.so", ".so")
    assert not imports(CPython(minor, True), X86, "m.abi3t.so")


def test_before_3_11_musl_cpython_says_linux_gnu_and_no_free_threaded_build() -> None:
    assert extension_suffixes(CPython(10), X86)[0] == ".cpython-310-x86_64-linux-gnu.so"
    assert extension_suffixes(CPython(11), get_arch("armv7l"))[0] == ".cpython-311-arm-linux-musleabihf.so"
    with pytest.raises(ValueError):
        extension_suffixes(CPython(12, True), X86)


def test_every_suffix_of_every_build_is_a_module_suffix_and_a_library_name_is_not() -> None:
    for minor in range(9, 16):
        for ft in (False, True) if minor >= 13 else (False,):
            for suffix in extension_suffixes(CPython(minor, ft), X86)[:-1]:
                assert is_module_suffix("m" + suffix), suffix
    for name in ("libfoo.so", "libssl.so.3", "libabi3.so", "m.abi3.so.1", "m.abi3-foo.so"):
        assert not is_module_suffix(name), name


def tags(*text: str) -> list:  # type: ignore[type-arg]
    return [t for s in text for t in parse_tag(s)]


def test_abi3_module_in_a_cp315t_only_wheel_is_a_problem_abi3t_is_not() -> None:
    bad = suffix_problems(["pkg/_m.abi3.so"], tags("cp315-cp315t-musllinux_1_2_x86_64"), X86)
    assert [p.module for p in bad] == ["pkg._m"] and bad[0].pythons == (CPython(15, True),)
    assert "3.15t" in bad[0].message and ".abi3.so" in bad[0].message
    assert suffix_problems(["pkg/_m.abi3t.so"], tags("cp315-cp315t-musllinux_1_2_x86_64"), X86) == []


def test_abi3_abi3t_wheel_with_one_abi3t_module_agrees_and_with_abi3_does_not() -> None:
    both = tags("cp315-abi3.abi3t-musllinux_1_2_x86_64")
    assert suffix_problems(["c/_rust.abi3t.so"], both, X86) == []
    bad = suffix_problems(["c/_rust.abi3.so"], both, X86)
    assert bad and bad[0].pythons == (CPython(15, True),)


def test_abi3t_module_in_a_gil_only_wheel_is_judged_by_the_tags() -> None:
    # cp315-abi3: GIL 3.15 imports .abi3t.so, so no problem; cp314-abi3: 3.14 does not.
    assert suffix_problems(["p/_m.abi3t.so"], tags("cp315-abi3-musllinux_1_2_x86_64"), X86) == []
    bad = suffix_problems(["p/_m.abi3t.so"], tags("cp314-abi3-musllinux_1_2_x86_64"), X86)
    assert bad and bad[0].pythons == (CPython(14),)


def test_gnu_triplet_module_in_a_musl_wheel_says_glibc() -> None:
    bad = suffix_problems(["p/_m.cpython-312-x86_64-linux-gnu.so"], tags("cp312-cp312-musllinux_1_2_x86_64"), X86)
    assert bad and "-linux-gnu names a glibc CPython" in bad[0].message
    bad = suffix_problems(["p/_m.abi3t-x86_64-linux-gnu.so"], tags("cp315-cp315t-musllinux_1_2_x86_64"), X86)
    assert bad and "glibc" in bad[0].message


def test_one_file_per_version_in_a_multi_version_wheel_agrees() -> None:
    members = ["p/_m.cpython-311-x86_64-linux-musl.so", "p/_m.cpython-312-x86_64-linux-musl.so"]
    assert (
        suffix_problems(members, tags("cp311-cp311-musllinux_1_2_x86_64", "cp312-cp312-musllinux_1_2_x86_64"), X86)
        == []
    )
    bad = suffix_problems(
        members[:1], tags("cp311-cp311-musllinux_1_2_x86_64", "cp312-cp312-musllinux_1_2_x86_64"), X86
    )
    assert bad and bad[0].pythons == (CPython(12),)


def test_a_py3_none_wheel_judges_a_cpython_module_by_the_build_it_names() -> None:
    py3 = tags("py3-none-musllinux_1_2_x86_64")
    assert suffix_problems([f"p/_m.cpython-313t-{T}.so"], py3, X86) == []
    bad = suffix_problems(["p/_m.cpython-311-x86_64-linux-gnu.so"], py3, X86)
    assert bad and bad[0].pythons == (CPython(11),) and "glibc" in bad[0].message


def test_abi3t_tag_below_3_15_names_free_threaded_builds_that_import_no_abi3t_file() -> None:
    # packaging offers cp313-abi3t to a 3.13t, but CPython 3.13t/3.14t list no .abi3t suffix.
    bad = suffix_problems(["p/_m.abi3t.so"], tags("cp313-abi3t-musllinux_1_2_x86_64"), X86)
    assert bad and bad[0].pythons == (CPython(13, True), CPython(14, True))


def test_plain_so_pypy_and_py3_none_are_not_judged() -> None:
    assert suffix_problems(["p/_m.so"], tags("cp315-cp315t-musllinux_1_2_x86_64"), X86) == []
    assert suffix_problems(["p/_m.abi3.so"], tags("py3-none-musllinux_1_2_x86_64"), X86) == []
    assert (
        suffix_problems(
            ["p/_m.pypy311-pp73-x86_64-linux-musl.so"], tags("pp311-pypy311_pp73-musllinux_1_2_x86_64"), X86
        )
        == []
    )


NEW_FORMS = [
    (".abi3t.so", "cp315-abi3.abi3t-musllinux_1_2_x86_64"),
    (f".abi3t-{T}.so", "cp315-cp315t-musllinux_1_2_x86_64"),
    (f".abi3-{T}.so", "cp315-abi3-musllinux_1_2_x86_64"),
    (f".cpython-315t-{T}.so", "cp315-cp315t-musllinux_1_2_x86_64"),
    (f".cpython-313t-{T}.so", "cp313-cp313t-musllinux_1_2_x86_64"),
]


@pytest.mark.parametrize(("suffix", "tag"), NEW_FORMS)
def test_show_gives_each_new_suffix_the_extension_role(
    toolchain: Toolchain, tmp_path: Path, suffix: str, tag: str
) -> None:
    # A module that needs libhelper.so from the wheel: an extension's load resolves it.
    helper = toolchain.build(
        "x86_64", tmp_path / "libhelper.so", [write_c(tmp_path / "h.c", "int helper(void){return 1;}\n")], shared=True
    )
    code = "int helper(void);\nvoid *PyInit__m(void){return (void*)(long)helper();}\n"
    so = toolchain.build(
        "x86_64",
        tmp_path / "m.so",
        [write_c(tmp_path / "m.c", code)],
        shared=True,
        args=(f"-L{tmp_path}", "-lhelper", "-Wl,-rpath,$ORIGIN"),
    )
    dist = tmp_path / "dist"
    dist.mkdir()
    name = f"pkg/_m{suffix}"
    wheel = make_wheel(dist, "pkg", "1.0", tag, {name: so.read_bytes(), "pkg/libhelper.so": helper.read_bytes()})
    proc = run([*muslwheel_cmd(), "show", "--json", "-v", wheel], env=checkout_env())
    v = json.loads(proc.stdout)
    files = {f["path"]: f for f in v["files"]}
    assert files[name]["role"] == "extension", proc.stdout
    # Resolved as the import loads it: its DT_NEEDED found in the wheel through $ORIGIN, and the
    # helper loaded by the module (not given a load of its own, as a library would be).
    helper_res = next(r for r in files[name]["resolved"] if r["needed"] == "libhelper.so")
    assert (helper_res["kind"], helper_res["path"]) == ("wheel", "pkg/libhelper.so")
    assert files["pkg/libhelper.so"]["role"] == "library"
    assert name in files["pkg/libhelper.so"]["loaded_by"]
    # Its suffix agrees with the tag: no module-name reason, the claim holds.
    assert [r for r in v["reasons"] if r["kind"] == "module-name"] == [] and v["honest"], v["reasons"]


# --- The audit's suffix check, on modules the suite builds (show, the gate, repair) ----------------

MODULE_C = "void *PyInit__m(void){return 0;}\n"


@pytest.fixture(scope="module")
def module_so(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    tmp = tmp_path_factory.mktemp("suffix-module")
    return toolchain.build("x86_64", tmp / "m.so", [write_c(tmp / "m.c", MODULE_C)], shared=True).read_bytes()


def show_module(tmp: Path, so: bytes, member: str, tag: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    dist = tmp / "dist"
    dist.mkdir(exist_ok=True)
    wheel = make_wheel(dist, "pkg", "1.0", tag, {member: so})
    proc = run([*muslwheel_cmd(), "show", "--json", wheel], env=checkout_env())
    assert proc.returncode in (0, 1), proc.stderr
    v = json.loads(proc.stdout)
    assert v["exit_status"] == proc.returncode
    return proc.returncode, v


def suffix_reasons(v: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(r["severity"], r["file"]) for r in v["reasons"] if r["kind"] == "module-name"]


# (member, tag, severity): error when no CPython the tag names imports the module (the gate fails
# it whatever the claim: no repair renames a module); warning when only some do not.
MISMATCHES = [
    ("pkg/_m.abi3.so", "cp315-cp315t-musllinux_1_2_x86_64", "error"),  # 3.15t: .abi3t only
    ("pkg/_m.abi3.so", "cp315-cp315t-linux_x86_64", "error"),  # whatever the claim
    (f"pkg/_m.abi3t-{T.replace('musl', 'gnu')}.so", "cp315-cp315t-musllinux_1_2_x86_64", "error"),  # glibc's
    ("pkg/_m.cpython-312-x86_64-linux-gnu.so", "cp312-cp312-musllinux_1_2_x86_64", "error"),
    ("pkg/_m.abi3t.so", "cp313-cp313t-musllinux_1_2_x86_64", "error"),  # 3.13t imports no .abi3t
    # 3.13t still finds .abi3.so, but a GIL build's stable ABI fails to load or crashes there (PEP 803)
    ("pkg/_m.abi3.so", "cp313-cp313t-musllinux_1_2_x86_64", "error"),
    ("pkg/_m.abi3t.so", "cp314-abi3-musllinux_1_2_x86_64", "warning"),  # 3.15 does, 3.14 does not
    ("pkg/_m.abi3.so", "cp315-abi3.abi3t-musllinux_1_2_x86_64", "warning"),  # 3.15 does, 3.15t not
]


@pytest.mark.parametrize(("member", "tag", "severity"), MISMATCHES)
def test_a_module_suffix_the_tag_disagrees_with_is_reported_and_gated(
    module_so: bytes, tmp_path: Path, member: str, tag: str, severity: str
) -> None:
    status, v = show_module(tmp_path, module_so, member, tag)
    assert suffix_reasons(v) == [(severity, member)], v["reasons"]
    why = next(r["why"] for r in v["reasons"] if r["kind"] == "module-name")
    assert "pkg._m" in why and "python3.1" in why  # says which Python builds, as distros name them
    if severity == "error":
        assert status == 1  # a module no tagged CPython imports: no repair can fix it
        proc = run(
            [*muslwheel_cmd(), "repair", "-w", tmp_path / "out", tmp_path / "dist" / v["wheel"]], env=checkout_env()
        )
        assert proc.returncode != 0 and "cannot repair" in proc.stderr, proc.stderr
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    else:
        assert status == 0 and v["honest"]


@pytest.mark.parametrize(
    ("member", "tag"),
    [
        ("pkg/_m.abi3t.so", "cp315-abi3-musllinux_1_2_x86_64"),  # a GIL 3.15 imports .abi3t too
        (f"pkg/_m.abi3-{T}.so", "cp315-abi3-musllinux_1_2_x86_64"),
    ],
)
def test_a_module_suffix_every_tagged_cpython_imports_is_not_reported(
    module_so: bytes, tmp_path: Path, member: str, tag: str
) -> None:
    status, v = show_module(tmp_path, module_so, member, tag)
    assert (status, suffix_reasons(v), v["honest"]) == (0, [], True), v["reasons"]


def test_a_module_with_no_libc_of_its_own_named_with_glibcs_triplet_in_315s_form_is_glibc(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    # Linked with no libc at all: only its name says which libc's CPython it was built for.
    so = toolchain.build(
        "x86_64", tmp_path / "m.so", [write_c(tmp_path / "m.c", MODULE_C)], shared=True, args=("-nostdlib",)
    )
    member = "pkg/_m.abi3t-x86_64-linux-gnu.so"
    _, v = show_module(tmp_path, so.read_bytes(), member, "cp315-cp315t-linux_x86_64")
    f = next(f for f in v["files"] if f["path"] == member)
    assert f["needed"] == [] and f["libc"] == "glibc", f
    assert "-x86_64-linux-gnu.so" in f["glibc_evidence"][0] and "-linux-musl" in f["glibc_evidence"][0]


def test_a_free_threaded_313_or_314_finds_an_abi3_file_but_cannot_use_it() -> None:
    # The import system's list still has .abi3.so (above); the build's stable ABI is not theirs.
    bad = suffix_problems(["p/_m.abi3.so"], tags("cp314-cp314t-musllinux_1_2_x86_64"), X86)
    assert bad and bad[0].fatal and bad[0].pythons == (CPython(14, True),) and "PEP 803" in bad[0].message
    # A GIL-enabled build of any minor the abi3 tag names runs it.
    assert suffix_problems(["p/_m.abi3.so"], tags("cp39-abi3-musllinux_1_2_x86_64"), X86) == []
