"""repair never writes a wheel that show calls dishonest: on real wheels, on every wheel the
test session made, and on wheels hypothesis assembles from real musl and glibc binaries."""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import (
    REPO,
    WORLD,
    Toolchain,
    checkout_env,
    muslwheel_cmd,
    need,
    repair_grafts_nothing_then_check,
    run,
    run_ok,
    write_c,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wheelmaker import MADE, make_wheel

from muslwheel.audit import audit_wheel
from muslwheel.errors import MuslwheelError
from muslwheel.repair import repair_wheel


@pytest.mark.parametrize("name", ["numpy", "scipy"])
def test_real_numpy_and_scipy_are_honest_need_no_graft_and_load_with_musls_loader(
    real_wheels: dict[str, Path], tmp_path: Path, name: str
) -> None:
    """numpy 2.4.6 and scipy 1.17.1 (musllinux_1_2_x86_64): <pkg>.libs/libstdc++ has no RPATH
    and needs libgcc_s, its sibling, which musl finds through the extension that loads it."""
    wheel = real_wheels[name]
    shown = run([*muslwheel_cmd(), "show", "--json", wheel], env=checkout_env())
    v = json.loads(shown.stdout)
    assert shown.returncode == 0 and v["honest"] and v["tag"] == "musllinux_1_2_x86_64", v["reasons"]
    assert v["external_libs"] == [] and not [r for r in v["reasons"] if r["severity"] == "error"]
    (warning,) = [r for r in v["reasons"] if r["severity"] == "warning" and r["kind"] != "thread-stack"]
    assert "DT_RELR" in warning["why"] and "fails on musl 1.2.0–1.2.3" in warning["why"]
    # and a warning, not an error: their OpenBLAS starts its threads on musl's 128 KiB default stack
    assert any(r["kind"] == "thread-stack" and "openblas" in r["file"] for r in v["reasons"])
    std = next(f for f in v["files"] if f["path"] == f"{name}.libs/libstdc++-5d72f927.so.6.0.33")
    assert std["role"] == "library" and std["loaded_by"] and std["external_libs"] == []
    assert {r["needed"]: r.get("path") for r in std["resolved"]}["libgcc_s-0cd532bd.so.1"] == (
        f"{name}.libs/libgcc_s-0cd532bd.so.1"
    )
    # musl's real loader (Debian's 1.2.3) resolves every library of every extension module;
    # what it cannot see, DT_RELR (1.2.4), check reports from the audit.
    _, c = repair_grafts_nothing_then_check(wheel, tmp_path / "out")
    assert c["method"] == "loader" and [p["kind"] for p in c["problems"]] == ["musl-version"], c["problems"]


def _repair_and_judge(wheel: Path, out: Path, **options: object) -> str:
    """ "refused", "written", or a description of a broken invariant."""
    try:
        result = repair_wheel(wheel, out, **options)  # type: ignore[arg-type]
    except MuslwheelError:
        return "refused"
    if result.output is None or not result.output.exists():
        return "refused"
    try:
        after = audit_wheel(result.output)
    except MuslwheelError as exc:
        return f"{wheel.name}: repair wrote {result.output.name}, which show cannot read: {exc}"
    finally:
        if result.output.resolve() != wheel.resolve():
            result.output.unlink()
    if not after.honest:
        errors = [r.why for r in after.reasons if r.severity == "error"]
        return f"{wheel.name}: repair wrote {result.output.name}, which show calls dishonest: {errors}"
    return "written"


def test_repair_never_writes_a_wheel_show_calls_dishonest_over_every_fixture(tmp_path: Path) -> None:
    """Every wheel this session's tests made (run last; see conftest), the world's real wheels,
    and bench/'s real wheels when bench/setup (or bench_freethreaded.py --fetch) has fetched them."""
    corpus = [w for w in dict.fromkeys(MADE) if w.exists() and w.stat().st_size < 64 << 20]
    corpus += sorted((REPO / "bench" / "wheels").glob("*.whl"))
    corpus += sorted((REPO / "bench" / "wheels").glob("*/*.whl"))  # bench_freethreaded's cp31Xt, abi3t
    corpus += sorted((WORLD / "real-wheels").glob("*.whl"))
    need(corpus, "wheels to repair: run the whole suite, or the world's real-wheels piece")
    outcomes: dict[str, int] = {}
    broken = []
    for wheel in corpus:
        with tempfile.TemporaryDirectory(dir=tmp_path) as out:
            outcome = _repair_and_judge(wheel, Path(out))
        if outcome not in ("refused", "written"):
            broken.append(outcome)
            outcome = "broken"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(f"invariant: {len(corpus)} wheels: {outcomes}")
    assert broken == []
    assert outcomes.get("written", 0) > 0


# --- The same, on wheels hypothesis assembles -------------------------------------------------

EXT = ".cpython-311-x86_64-linux-musl.so"
BLOCKS_C = {
    # name: (code, extra link arguments relative to the externals directory, compiler)
    "plain": ("int plain(void){return 1;}\n", [], "musl"),
    "qsort": (
        "#define _GNU_SOURCE\n#include <stdlib.h>\nstatic int c(const void*a,const void*b,void*u){return 0;}\n"
        "void s(int*v,size_t n){qsort_r(v,n,sizeof*v,c,0);}\n",
        [],
        "musl",
    ),
    "relr": (
        'static const char *t[] = {"a","b","c"};\nconst char *get(int i){return t[i];}\n',
        ["-Wl,-z,pack-relative-relocs"],
        "musl",
    ),
    "usesa": (
        "int a(int);\nint usea(int x){return a(x);}\n",
        ["-L{ext}", "-l:liba.so.1", "-Wl,-rpath,$ORIGIN/../pkg.libs"],
        "musl",
    ),
    "python": (
        "int Py_IsInitialized(void);\nint up(void){return Py_IsInitialized();}\n",
        ["{ext}/libpython3.11.so.1.0"],
        "musl",
    ),
    "zinternal": (
        "void *zcalloc(void*,unsigned,unsigned);\nvoid *z(void){return zcalloc(0,1,1);}\n",
        ["-L{ext}", "-l:libz.so.1"],
        "musl",
    ),
    "glibc": ('#include <stdio.h>\nvoid hi(void){puts("hi");}\n', [], "gcc"),
    "aarch64": ("int f(int x){return x;}\n", [], "aarch64"),
}
EXTERNALS_C = {
    "libb.so.1": ("int b(int x){return x+1;}\n", []),
    "liba.so.1": ("int b(int);\nint a(int x){return b(x)*2;}\n", ["-L{ext}", "-l:libb.so.1"]),
    "libpython3.11.so.1.0": ("int Py_IsInitialized(void){return 1;}\n", []),
    "libz.so.1": ("void *zcalloc(void*o,unsigned n,unsigned s){return 0;}\n", []),
}


@pytest.fixture(scope="module")
def blocks(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], Path]:
    """Real binaries to assemble wheels from, and a directory of external libraries (liba
    needs libb, which it finds only beside itself)."""
    work = tmp_path_factory.mktemp("blocks")
    ext = work / "externals"
    ext.mkdir()
    for name, (code, args) in EXTERNALS_C.items():
        toolchain.build(
            "x86_64",
            ext / name,
            [write_c(work / f"{name}.c", code)],
            shared=True,
            args=[a.format(ext=ext) for a in args],
        )
    out = {}
    gcc = shutil.which("gcc")
    need(gcc, "gcc")
    for name, (code, args, compiler) in BLOCKS_C.items():
        src = write_c(work / f"{name}.c", code)
        so = work / f"{name}.so"
        if compiler == "gcc":
            run_ok([gcc, "-shared", "-fPIC", "-o", so, src])
        else:
            arch = "aarch64" if compiler == "aarch64" else "x86_64"
            toolchain.build(
                arch, so, [src], shared=True, args=[a.format(ext=ext) for a in args], use_zig=arch != "x86_64"
            )
        out[name] = so.read_bytes()
    for name in ("liba.so.1", "libb.so.1"):
        out[name] = (ext / name).read_bytes()
    return out, ext


PLACES = [
    "pkg/{n}" + EXT,
    "pkg/_{n}.so",
    "pkg.libs/lib{n}.so",
    "pkg/sub/{n}" + EXT,
    # issue 22's suffixes, which the interpreter-ABI tags below agree or disagree with
    "pkg/{n}.abi3.so",
    "pkg/{n}.abi3t.so",
    "pkg/{n}.cpython-315t-x86_64-linux-musl.so",
]
#: the interpreter and ABI parts of the wheel's tags
ABIS = ["cp311-cp311", "cp315-cp315t", "cp313-cp313t", "cp315-abi3.abi3t", "cp314-abi3"]
TAGS = [
    "musllinux_1_1_x86_64",
    "musllinux_1_2_x86_64",
    "linux_x86_64",
    "manylinux_2_17_x86_64",
    "linux_aarch64",
    "musllinux_1_2_aarch64",
]

wheel_shapes = st.fixed_dictionaries(
    {
        "members": st.dictionaries(
            st.sampled_from([*BLOCKS_C, "liba.so.1", "libb.so.1"]), st.sampled_from(PLACES), min_size=1, max_size=4
        ),
        "tags": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True),
        "abi": st.sampled_from(ABIS),
        "plat": st.sampled_from([None, "musllinux_1_1_x86_64", "musllinux_1_2_x86_64", "musllinux_1_2_aarch64"]),
        "externals": st.booleans(),
        "update_tags": st.booleans(),
        "exclude": st.sampled_from([(), ("liba.so.1",), ("libb.so.1",)]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=wheel_shapes)
def test_repair_never_writes_a_dishonest_wheel_property(
    blocks: tuple[dict[str, bytes], Path], tmp_path: Path, shape: dict[str, object]
) -> None:
    data, ext = blocks
    members = shape["members"]
    assert isinstance(members, dict)
    files = {}
    for block, place in members.items():
        path = f"pkg.libs/{block}" if block.startswith("lib") else place.format(n=block)
        files[path] = data[block]
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        dist = Path(tmp) / "dist"
        dist.mkdir()
        abi = shape["abi"]
        tags = [f"{i}-{a}-{t}" for i, a in [abi.split("-")] for t in shape["tags"]]  # type: ignore[attr-defined,union-attr]
        wheel = make_wheel(dist, "pkg", "1.0", tags, files)
        MADE.remove(wheel)  # gone after this example; the fixture sweep must not look for it
        out = Path(tmp) / "out"
        out.mkdir()
        outcome = _repair_and_judge(
            wheel,
            out,
            plat=shape["plat"],
            ldpaths=[str(ext)] if shape["externals"] else [str(dist)],
            update_tags=shape["update_tags"],
            exclude=shape["exclude"],
        )
        assert outcome in ("refused", "written"), outcome


def test_the_property_writes_wheels_too(blocks: tuple[dict[str, bytes], Path], tmp_path: Path) -> None:
    """Not vacuous: a shape that needs grafting (liba, then libb beside it) is written, honest."""
    data, ext = blocks
    wheel = make_wheel(tmp_path, "pkg", "1.0", "cp311-cp311-linux_x86_64", {"pkg/usesa" + EXT: data["usesa"]})
    out = tmp_path / "out"
    out.mkdir()
    assert _repair_and_judge(wheel, out, ldpaths=[str(ext)]) == "written"
    result = repair_wheel(wheel, out, ldpaths=[str(ext)])
    assert result.output is not None
    with zipfile.ZipFile(result.output) as zf:
        assert sorted(n.split("-")[0] for n in zf.namelist() if n.startswith("pkg.libs/")) == [
            "pkg.libs/liba",
            "pkg.libs/libb",
        ]
