"""detect: libc, musl version and architecture, read from ELF bytes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import (
    ALL_ARCHES,
    LOADERS,
    Toolchain,
    checkout_env,
    loader_for,
    muslwheel_cmd,
    need,
    run,
    run_ok,
    runner_for,
    write_c,
)
from worldfixture import unpack_debian_musl

from muslwheel.libc import (
    MuslVersion,
    detect_executable,
    detect_root,
    musl_version_from_loader_bytes,
    parse_loader_output,
    resolve_in_root,
)

HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


def test_parse_loader_output_reads_what_musl_prints() -> None:
    text = "musl libc (aarch64)\nVersion 1.2.3\nDynamic Program Loader\nUsage: ld [options]\n"
    assert parse_loader_output(text) == ("aarch64", MuslVersion(1, 2, 3))
    assert parse_loader_output("musl libc (x86_64)\nVersion 1.2.5-git-g1234\n") == ("x86_64", MuslVersion(1, 2, 5))
    for version, expected in DISTRO_VERSIONS.items():
        assert parse_loader_output(f"musl libc (x86_64)\nVersion {version}\n") == ("x86_64", expected)
    assert parse_loader_output("ld.so (GNU libc)\nVersion 2.36\n") is None
    assert parse_loader_output("") is None


@pytest.mark.parametrize("arch", list(LOADERS))
def test_version_is_read_from_every_debian_loader_and_agrees_with_running_it(arch: str) -> None:
    loader = loader_for(arch)
    from_bytes = musl_version_from_loader_bytes(loader.read_bytes())
    assert from_bytes is not None, f"no version found in {loader}"
    runner = runner_for(arch)
    printed = run([*runner, loader]).stderr
    assert parse_loader_output(printed) == from_bytes


#: Loader version strings as distros write them, and the version each means.
DISTRO_VERSIONS = {
    "1.2.4_git20230717": MuslVersion(1, 2, 4),  # Alpine 3.19 (uv's parse_musl_ld_output test)
    "1.2.3-r0": MuslVersion(1, 2, 3),
    "1.2.4-git-5-g1a2b3c4": MuslVersion(1, 2, 4),  # a git build, by musl's tools/version.sh
    "1.2.5": MuslVersion(1, 2, 5),
}


def with_version(loader: bytes, version: str) -> bytes:
    """The loader's bytes with its version string rewritten in place: the following rodata
    bytes are overwritten, the file's layout is unchanged, and the loader still prints it."""
    at = loader.find(b"1.2.3\x00")
    assert at > 0 and loader.find(b"1.2.3\x00", at + 1) == -1
    new = version.encode() + b"\x00"
    return loader[:at] + new + loader[at + len(new) :]


@pytest.mark.parametrize("arch", list(LOADERS))
@pytest.mark.parametrize("version", list(DISTRO_VERSIONS))
def test_distro_version_strings_are_read_from_the_bytes_of_every_arch_and_agree_with_running_it(
    arch: str, version: str, tmp_path: Path
) -> None:
    loader = loader_for(arch).resolve()
    patched = tmp_path / loader.name
    patched.write_bytes(with_version(loader.read_bytes(), version))
    patched.chmod(0o755)
    found = musl_version_from_loader_bytes(patched.read_bytes())
    assert found is not None and found[1] == DISTRO_VERSIONS[version]
    printed = run([*runner_for(arch), patched]).stderr
    assert f"Version {version}\n" in printed
    assert parse_loader_output(printed) == found


def test_alpine_319_root_is_detected_and_tagged(tmp_path: Path) -> None:
    root = unpack_debian_musl("amd64", tmp_path / "root")
    real = resolve_in_root(root, "/lib/ld-musl-x86_64.so.1")
    real.write_bytes(with_version(real.read_bytes(), "1.2.4_git20230717"))
    found = detect_root(root)
    assert (found.arch, found.musl_version) == ("x86_64", "1.2.4")
    tags = run_ok([*muslwheel_cmd(), "tags", "--root", root], env=checkout_env()).stdout.split()
    assert tags[:2] == ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64"]


def test_loader_bytes_with_two_candidate_versions_are_not_guessed() -> None:
    data = b"musl libc (x86_64)\nVersion %s\n\x00\x001.2.3\x00\x001.2.4\x00"
    assert musl_version_from_loader_bytes(data) is None
    assert musl_version_from_loader_bytes(data.replace(b"1.2.4", b"1.2.3")) == ("x86_64", MuslVersion(1, 2, 3))


def test_musl_cpython_detects_itself_as_musl_x86_64(musl_python: Path, world_wheels: Path) -> None:
    packaging_whl = next(world_wheels.glob("packaging-*.whl"))
    proc = run_ok([*muslwheel_cmd(musl_python), "detect", "--json"], env=checkout_env([packaging_whl]))
    found = json.loads(proc.stdout)
    assert (found["libc"], found["musl_version"], found["arch"]) == ("musl", "1.2.3", "x86_64")
    assert found["how"]["musl_version"].startswith("read from the bytes of the loader")


@pytest.mark.parametrize("arch", ALL_ARCHES)
def test_each_arch_is_named_from_the_elf_header(toolchain: Toolchain, tmp_path: Path, arch: str) -> None:
    exe = toolchain.build(arch, tmp_path / "hello", [write_c(tmp_path / "hello.c", HELLO_C)], use_zig=True)
    found = detect_executable(exe)
    assert found.arch == arch
    assert found.libc == "musl"
    if arch in LOADERS:
        assert found.musl_version == "1.2.3"  # Debian's musl, read from that arch's loader


def test_32bit_interpreters_on_64bit_kernels_get_32bit_tags(toolchain: Toolchain, tmp_path: Path) -> None:
    from muslwheel.tags import target_of_detection

    i686 = toolchain.build("i686", tmp_path / "i686", [write_c(tmp_path / "h.c", HELLO_C)])
    arm = toolchain.build("armv7l", tmp_path / "arm", [tmp_path / "h.c"])
    assert os.uname().machine == "x86_64"  # this host: the i686 stand-in runs on a 64-bit kernel
    d = detect_executable(i686)
    assert target_of_detection(d, kernel_machine="x86_64").platform_tags()[:3] == [
        "musllinux_1_2_i686",
        "musllinux_1_1_i686",
        "musllinux_1_0_i686",
    ]
    d = detect_executable(arm)
    # On an aarch64 kernel, packaging also offers armv8l before armv7l.
    assert target_of_detection(d, kernel_machine="aarch64").platform_tags() == [
        "musllinux_1_2_armv8l",
        "musllinux_1_1_armv8l",
        "musllinux_1_0_armv8l",
        "musllinux_1_2_armv7l",
        "musllinux_1_1_armv7l",
        "musllinux_1_0_armv7l",
        "linux_armv8l",
        "linux_armv7l",
    ]
    # The stand-ins really are what the header says: they run under their emulator.
    assert run_ok([*runner_for("i686"), i686]).stdout == "hello\n"
    assert run_ok([*runner_for("armv7l"), arm]).stdout == "hello\n"


def test_static_executable_is_reported_static(toolchain: Toolchain, tmp_path: Path) -> None:
    need(toolchain.zig, "zig")
    assert toolchain.zig is not None
    exe = tmp_path / "static"
    run_ok(
        [
            *toolchain.zig,
            "cc",
            "-O2",
            "-target",
            "aarch64-linux-musl",
            "-static",
            "-o",
            exe,
            write_c(tmp_path / "h.c", HELLO_C),
        ]
    )
    found = detect_executable(exe)
    assert found.libc == "static" and found.arch == "aarch64"
    assert any("PEP 656" in n for n in found.notes)


NO_PROCESS_HOOK = """
import sys
def hook(event, args):
    if event in ("subprocess.Popen", "os.posix_spawn", "os.exec", "os.fork", "os.system", "os.spawn"):
        raise SystemExit(f"process started: {event}")
sys.addaudithook(hook)
from muslwheel.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_detect_root_of_another_arch_reads_bytes_and_starts_no_process(tmp_path: Path) -> None:
    root = unpack_debian_musl("arm64", tmp_path / "root")
    found = detect_root(root)
    assert (found.libc, found.arch, found.musl_version) == ("musl", "aarch64", "1.2.3")
    proc = run_ok([sys.executable, "-c", NO_PROCESS_HOOK, "detect", "--root", root, "--json"], env=checkout_env())
    assert json.loads(proc.stdout)["arch"] == "aarch64"
    # The tags of that root come out the same way.
    proc = run_ok([sys.executable, "-c", NO_PROCESS_HOOK, "tags", "--root", root], env=checkout_env())
    assert proc.stdout.split()[:3] == ["musllinux_1_2_aarch64", "musllinux_1_1_aarch64", "musllinux_1_0_aarch64"]


def test_detect_root_prefers_its_python_and_resolves_links_inside_the_root(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    root = unpack_debian_musl("armhf", tmp_path / "root")
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    exe = toolchain.build("armv7l", root / "usr/bin/python3.11", [write_c(tmp_path / "h.c", HELLO_C)])
    os.symlink("python3.11", root / "usr/bin/python3")
    # An absolute link, as Alpine has, must resolve inside the root, not on the host.
    os.symlink("/lib/arm-linux-musleabihf/libc.so", root / "lib/libc.musl-armv7.so.1")
    assert resolve_in_root(root, "/lib/libc.musl-armv7.so.1") == root / "lib/arm-linux-musleabihf/libc.so"
    found = detect_root(root)
    assert found.executable == str(exe)
    assert (found.arch, found.musl_version) == ("armv7l", "1.2.3")
    assert "the root's Python /usr/bin/python3" in found.how["executable"]


def test_root_with_several_loaders_needs_arch(tmp_path: Path) -> None:
    root = unpack_debian_musl("arm64", tmp_path / "root")
    unpack_debian_musl("s390x", root)
    proc = run([*muslwheel_cmd(), "detect", "--root", root], env=checkout_env())
    assert proc.returncode == 2 and "--arch" in proc.stderr
    proc = run_ok([*muslwheel_cmd(), "detect", "--root", root, "--arch", "s390x", "--json"], env=checkout_env())
    assert json.loads(proc.stdout)["endianness"] == "big"


@pytest.mark.parametrize(
    "make, expect",
    [
        (lambda p: p.write_text("#!/bin/sh\necho not elf\n"), "not an ELF file"),
        (lambda p: p.write_bytes(Path(sys.executable).resolve().read_bytes()[:40]), "outside the file"),
        (lambda p: p.write_bytes(b""), "not an ELF file"),
    ],
    ids=["script", "truncated-elf", "empty"],
)
def test_bad_executable_gives_one_line_and_status_2(tmp_path: Path, make, expect: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "bad"
    make(target)
    before = target.read_bytes()
    proc = run([*muslwheel_cmd(), "detect", "--executable", target], env=checkout_env())
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and expect in proc.stderr and str(target) in proc.stderr
    assert target.read_bytes() == before


def test_root_without_loader_and_unknown_arch_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for args in (
        ["detect", "--root", tmp_path / "empty"],
        ["tags", "--target", "musllinux_1_2_mips64"],
        ["tags", "--target", "sparc:1.2.3"],
        ["detect", "--root", tmp_path / "nope"],
    ):
        proc = run([*muslwheel_cmd(), *args], env=checkout_env())
        assert proc.returncode == 2, args
        assert proc.stderr.startswith("muslwheel: error: ") and proc.stderr.count("\n") == 1, proc.stderr


def test_musl_cpython_of_the_world_is_not_free_threaded(musl_python: Path) -> None:
    found = detect_executable(musl_python)
    assert found.free_threaded is False
    assert "Py_Initialize" in found.how["free_threaded"]


# Stand-ins for a CPython: the symbols a real build exports (``-rdynamic``, as CPython links
# its binary with ``-Xlinker -export-dynamic``); a free-threaded one defines _Py_DecRefShared.
FT_PYTHON_C = "void Py_Initialize(void){}\nvoid _Py_DecRefShared(void *o){}\nint main(void){return 0;}\n"
GIL_PYTHON_C = "void Py_Initialize(void){}\nint main(void){return 0;}\n"


@pytest.mark.parametrize(("code", "free"), [(FT_PYTHON_C, True), (GIL_PYTHON_C, False)])
def test_free_threaded_is_read_from_the_exported_symbols(
    toolchain: Toolchain, tmp_path: Path, code: str, free: bool
) -> None:
    exe = toolchain.build("x86_64", tmp_path / "python3", [write_c(tmp_path / "p.c", code)], args=("-rdynamic",))
    found = detect_executable(exe)
    assert (found.libc, found.free_threaded) == ("musl", free)
    proc = run_ok([*muslwheel_cmd(), "detect", "--executable", exe, "--json"], env=checkout_env())
    assert json.loads(proc.stdout)["free_threaded"] is free


def test_free_threaded_is_read_from_the_libpython_it_needs(toolchain: Toolchain, tmp_path: Path) -> None:
    from conftest import stub_library

    lib = stub_library(toolchain, tmp_path, "x86_64", "libpython3.13t.so.1.0", "void Py_Initialize(void){}\n")
    main = write_c(tmp_path / "m.c", "void Py_Initialize(void);\nint main(void){Py_Initialize();return 0;}\n")
    exe = toolchain.build("x86_64", tmp_path / "python3", [main], args=(str(lib),))
    found = detect_executable(exe)
    assert found.free_threaded is True and found.how["free_threaded"] == "DT_NEEDED libpython3.13t.so.1.0"


def test_static_free_threaded_python_in_a_root_gets_no_musllinux_tags(toolchain: Toolchain, tmp_path: Path) -> None:
    """python-build-standalone's musl builds are static: no PT_INTERP, no PT_DYNAMIC. Such a
    Python loads no extension module, so the root has no musllinux tags."""
    need(toolchain.zig, "zig")
    assert toolchain.zig is not None
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    exe = root / "usr/bin/python3.13t"
    src = write_c(tmp_path / "h.c", HELLO_C)
    run_ok([*toolchain.zig, "cc", "-O2", "-target", "x86_64-linux-musl", "-static", "-o", exe, src])
    os.symlink("python3.13t", root / "usr/bin/python3")
    found = detect_root(root)
    assert (found.libc, found.free_threaded) == ("static", True)
    assert found.how["free_threaded"] == "its file name python3.13t"
    proc = run([*muslwheel_cmd(), "tags", "--root", root], env=checkout_env())
    assert proc.returncode != 0 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "static" in proc.stderr
