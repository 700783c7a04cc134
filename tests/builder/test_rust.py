"""muslwheel build for Rust: a maturin project (``rustfixture.py``: raw FFI, no crates.io)
cross-built for x86_64 and aarch64 (every arch, 32-bit too: bench/bench_rust.py), each wheel repaired, honest by ``show``, and imported
and run in the kit's own CPython; its std's weak imports stay harmless; an offline build that
needs a crate says which one in one line; zig's linker rules (cargo-zigbuild's) hold; each of
the toolchain's three paths (an installed std, a std from the toolchain's rust-src, Debian's
toolchain) is taken where it applies, with real toolchains.

The Rust toolchain is whatever :mod:`muslwheel.builder.rust` finds (here: Debian's rustc-web,
downloaded once into the download cache, each target's std built once into the cache), so the
first run pays the std builds (see the report in docs/commands/build.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import WORLD, need
from rustfixture import TEST, write_rust_fixture

from muslwheel.zig import rust_linker_args

RUST_ARCHES = ["x86_64", "aarch64"]  # natively and under qemu


def test_linker_arguments_follow_cargo_zigbuilds_rules() -> None:
    """rustc's gcc-style link line becomes one zig links (rust-cross/cargo-zigbuild src/zig.rs)."""
    line = [
        "-m64",
        "/sysroot/lib/rustlib/x86_64-unknown-linux-musl/lib/self-contained/crt1.o",
        "/sysroot/lib/rustlib/x86_64-unknown-linux-musl/lib/self-contained/crti.o",
        "/tmp/x/rawffi.o",
        "-lgcc_s",
        "-lc",
        "-Wl,--no-undefined-version",
        "--target=x86_64-unknown-linux-musl",
        "-shared",
        "-o",
        "librawffi.so",
    ]
    assert rust_linker_args(line, "x86_64-unknown-linux-musl") == [
        "-m64",
        "/tmp/x/rawffi.o",
        "-lunwind",
        "-shared",
        "-o",
        "librawffi.so",
    ]
    i686 = rust_linker_args(["-m32", "-Wl,-melf_i386", "-march=i686", "-lc", "a.o"], "i686-unknown-linux-musl")
    assert i686 == ["-m32", "a.o"]
    arm = ["/d/libcompiler_builtins-0123.rlib", "/d/libstd-4567.rlib", "-march=armv7-a"]
    assert rust_linker_args(arm, "armv7-unknown-linux-musleabihf") == ["/d/libstd-4567.rlib"]
    # a glibc target keeps its C library and its crt objects
    assert rust_linker_args(["-lc", "crt1.o"], "x86_64-unknown-linux-gnu") == ["-lc", "crt1.o"]


#: what cargo 1.96 printed here for a crate it could not fetch (crates.io unreachable)
CARGO_OFFLINE = """    Updating crates.io index
error: failed to get `itoa` as a dependency of package `rawffi v1.0.0 (/tmp/x/rawffi)`

Caused by:
  failed to load source for dependency `itoa`

Caused by:
  [6] Couldn't resolve host name (Could not resolve host: index.crates.io)
"""


def test_a_crate_cargo_could_not_fetch_is_named_and_nothing_else_is() -> None:
    from muslwheel.builder.rust import cargo_failure

    assert (
        cargo_failure(CARGO_OFFLINE)
        == "cargo could not fetch the crate itoa (no network and not vendored in the sdist)"
    )
    # a compile error is not a fetch failure (orjson's LTO against a std without bitcode said this)
    assert cargo_failure("error: failed to get bitcode from object file for LTO (Can't find section .llvmbc)") is None
    assert cargo_failure("error[E0425]: cannot find value `x` in this scope") is None


@pytest.fixture(scope="module")
def rust_wheels() -> Path:
    wheels = WORLD / "rust-wheels"
    need(any(wheels.glob("maturin-*.whl")), f"maturin wheel for builds ({wheels})")
    return wheels


def _offline(rust_wheels: Path) -> dict[str, str]:
    links = f"{rust_wheels} {WORLD / 'build-wheels'}"
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": links, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _kit_targets(arches: list[str]) -> list[object]:
    from muslwheel import kits
    from muslwheel.builder.target import select_targets

    for arch in arches:
        need(kits.select_kits(arch=arch, with_python=True), f"a kit with a CPython for {arch}")
    return list(select_targets(arches, ["3.11"], None))


def _build(project: Path, out: Path, targets: list[object], env: dict[str, str], test: str | None) -> object:
    from muslwheel.builder import BuildOptions, build

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return build(BuildOptions(project, out, targets, jobs=2, test_command=test))  # type: ignore[arg-type]
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def rust_build(tmp_path_factory: pytest.TempPathFactory, rust_wheels: Path) -> object:
    tmp = tmp_path_factory.mktemp("rust")
    project = write_rust_fixture(tmp)
    return _build(project, tmp / "out", _kit_targets(RUST_ARCHES), _offline(rust_wheels), TEST)


def test_maturin_project_builds_repairs_and_runs_on_two_arches(rust_build: object) -> None:
    """x86_64 and aarch64: each wheel built by maturin with zig as Rust's linker,
    repaired to a musllinux tag, honest, loaded by the kit's musl and run in its CPython (a
    thread, a HashMap and a caught panic in Rust)."""
    from muslwheel.audit import audit_wheel

    summary = rust_build
    failures = {r.target.name: (r.stage, r.error, r.log_tail) for r in summary.results if not r.ok}  # type: ignore[attr-defined]
    assert not failures, failures
    for r in summary.results:  # type: ignore[attr-defined]
        arch = r.target.arch.name
        assert r.wheel.name.startswith("rawffi-1.0-cp311-cp311-musllinux_1_") and r.wheel.name.endswith(f"_{arch}.whl")
        assert any(n.startswith("rust: ") for n in r.notes), r.notes  # the toolchain path, said once
        assert "rawffi.rawffi" in r.imported
        assert not r.grafted  # Rust's std is static; only libc.so is needed
        verdict = audit_wheel(r.wheel)
        assert verdict.honest and verdict.arch == arch and not verdict.external_libs


def test_no_build_path_reaches_the_wheel(rust_build: object) -> None:
    """maturin's SBOM (PEP 770 ``.dist-info/sboms/``) names the project by its source directory,
    the target's random work directory, so two builds of one sdist differed in it: it is mapped
    to ``/muslwheel-build``, as ``--remap-path-prefix`` maps the binary's paths, and RECORD
    follows (repair verifies every member against it). orjson built twice gives the same bytes:
    bench/results/rust.txt, "same bytes"."""
    import zipfile

    from muslwheel.cache import cache_dir

    work = str(cache_dir() / "build" / "work").encode()
    for r in rust_build.results:  # type: ignore[attr-defined]
        assert r.ok, (r.target.name, r.error)
        with zipfile.ZipFile(r.wheel) as z:
            members = {n: z.read(n) for n in z.namelist()}
        assert [n for n, data in members.items() if work in data] == [], r.target.name
        sboms = [data for n, data in members.items() if "/sboms/" in n]
        assert sboms and all(b"path+file:///muslwheel-build/" in data for data in sboms), r.target.name


def test_rust_std_weak_imports_stay_harmless(rust_build: object) -> None:
    """Rust's std imports ``__cxa_thread_atexit_impl`` (glibc only), ``gettid`` (musl 1.2.2) and
    ``getrandom`` weakly and probes for them at run time: ``show`` must neither call them
    missing nor raise the wheel's musl floor for them (the wheel stays ``musllinux_1_1``, and
    it imported above on musl 1.2.3 where ``__cxa_thread_atexit_impl`` does not exist)."""
    import zipfile

    from muslwheel.audit import audit_wheel
    from muslwheel.elf import parse_elf

    summary = rust_build
    seen: set[str] = set()
    for r in summary.results:  # type: ignore[attr-defined]
        assert r.ok, (r.target.name, r.error)
        with zipfile.ZipFile(r.wheel) as z:
            so = next(n for n in z.namelist() if n.endswith(".so"))
            elf = parse_elf(z.read(so))
        weak = {s.name for s in elf.undefined if s.weak}
        seen |= weak & {"__cxa_thread_atexit_impl", "getrandom", "gettid"}
        verdict = audit_wheel(r.wheel)
        assert verdict.honest and verdict.tag is not None and verdict.tag.startswith("musllinux_1_1_"), verdict.tag
        said = " ".join(map(str, verdict.reasons))
        for name in weak:
            assert name not in said, (r.target.name, name, said)
    assert {"__cxa_thread_atexit_impl", "gettid"} <= seen, seen  # the std really imports them


def test_an_offline_crate_fetch_fails_in_one_line(tmp_path: Path, rust_wheels: Path) -> None:
    """A crate that is neither vendored nor reachable: the target fails saying which crate."""
    project = write_rust_fixture(tmp_path)
    cargo = project / "Cargo.toml"
    cargo.write_text(
        cargo.read_text().replace('pyo3-ffi = { path = "pyo3-ffi" }', 'pyo3-ffi = { path = "pyo3-ffi" }\nitoa = "1"')
    )
    env = {**_offline(rust_wheels), "CARGO_NET_OFFLINE": "true"}
    summary = _build(project, tmp_path / "out", _kit_targets(["x86_64"]), env, None)
    (r,) = summary.results  # type: ignore[attr-defined]
    assert not r.ok and r.stage == "build"
    assert "cargo could not fetch the crate itoa" in r.error and "\n" not in r.error
    assert not list((tmp_path / "out").iterdir())  # no partial output
    # this host's missing network, not the project's fault: `unavailable`, and build exits 2
    assert r.status == "unavailable" and summary.exit_status == 2  # type: ignore[attr-defined]


def test_setuptools_rust_project_builds_and_runs(tmp_path: Path, rust_wheels: Path) -> None:
    """The same crates behind setuptools-rust (``RustExtension``, the target from
    ``CARGO_BUILD_TARGET``): built, repaired, honest, run in the kit's CPython."""
    from muslwheel.audit import audit_wheel

    project = write_rust_fixture(tmp_path, backend="setuptools-rust")
    summary = _build(project, tmp_path / "out", _kit_targets(["x86_64"]), _offline(rust_wheels), TEST)
    (r,) = summary.results  # type: ignore[attr-defined]
    assert r.ok, (r.stage, r.error, r.log_tail)
    assert "rawffi" in r.imported and any(n.startswith("rust: ") for n in r.notes)
    assert audit_wheel(r.wheel).honest


def _toolchain_with_installed_std(debian: Path, std_sysroot: Path, triple: str, dest: Path) -> Path:
    """A toolchain laid out as rustup installs one with ``rustup target add <triple>`` and no
    ``rust-src``: Debian's compiler (hard links where the filesystem allows, else copies) with
    the target's std in ``lib/rustlib/<triple>/lib`` and no ``lib/rustlib/src``."""
    import shutil

    def copy(src: str, dst: str) -> object:
        try:
            os.link(src, dst)
            return dst
        except OSError:
            return shutil.copy2(src, dst)

    shutil.copytree(debian / "usr" / "bin", dest / "usr" / "bin", copy_function=copy, symlinks=True)
    lib = dest / "usr" / "lib"
    for part in (debian / "usr" / "lib").iterdir():
        if part.name != "rustlib":
            shutil.copytree(part, lib / part.name, copy_function=copy, symlinks=True)
    for part in (debian / "usr" / "lib" / "rustlib").iterdir():
        if part.name != "src":
            shutil.copytree(part, lib / "rustlib" / part.name, copy_function=copy, symlinks=True)
    shutil.copytree(std_sysroot / "lib" / "rustlib" / triple, lib / "rustlib" / triple, copy_function=copy)
    return dest / "usr" / "bin"


def test_each_toolchain_path_is_taken_where_it_applies_and_an_installed_std_builds(
    tmp_path: Path, rust_wheels: Path, rust_build: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """builder.rust's three paths, with real toolchains, each said in its one line: a rustc
    with the target's std installed uses it as is (rustup's ``target add``: here Debian's
    compiler with the std laid out where rustup puts it, and no rust-src); a rustc with its
    rust-src builds the std from it (Debian's own, given as $RUSTC); no rustc at all takes
    Debian's. The first is then a whole build: maturin, repair, import and the smoke test."""
    from muslwheel.arch import ARCHES
    from muslwheel.builder.rust import debian_rustc, rust_setup

    arch = ARCHES["x86_64"]
    triple = arch.rust_target
    debian = debian_rustc()  # the suite's Rust builds (rust_build) fetched and unpacked it
    prefix = debian.rustc.parent.parent.parent

    monkeypatch.delenv("RUSTC", raising=False)
    monkeypatch.delenv("CARGO", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-rust"))
    assert rust_setup(arch).how.startswith("rust: no rustc on PATH: Debian's rustc")

    monkeypatch.setenv("RUSTC", str(debian.rustc))
    monkeypatch.setenv("CARGO", str(debian.cargo))
    from_source = rust_setup(arch)
    assert from_source.how.endswith(f"has no std for {triple}: built from its rust-src"), from_source.how
    assert from_source.sysroot is not None

    bindir = _toolchain_with_installed_std(prefix, from_source.sysroot, triple, tmp_path / "rustup-like")
    monkeypatch.setenv("RUSTC", str(bindir / "rustc"))
    monkeypatch.setenv("CARGO", str(bindir / "cargo"))
    installed = rust_setup(arch)
    assert installed.sysroot is None and installed.how.endswith(f"its installed std for {triple}"), installed.how

    monkeypatch.undo()
    project = write_rust_fixture(tmp_path)
    env = {**_offline(rust_wheels), "RUSTC": str(bindir / "rustc"), "CARGO": str(bindir / "cargo")}
    summary = _build(project, tmp_path / "out", _kit_targets(["x86_64"]), env, TEST)
    (result,) = summary.results  # type: ignore[attr-defined]
    assert result.ok, (result.stage, result.error, result.log_tail)
    assert installed.how in result.notes and "rawffi.rawffi" in result.imported
