"""find_library: the file musl's real loader opens, found without running anything.

The test root is a small musl system the suite assembles: Debian's musl loader, a path file,
real zlib (the world's, linked shared), versioned libraries with and without a -dev link, one
library outside the default directories. musl's loader, run inside the root with chroot, is
the referee.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import WORLD, Toolchain, checkout_env, loader_for, muslwheel_cmd, need, run, run_ok, write_c

import muslwheel
from muslwheel.findlib import FindLibraryError, locate

LIB = "int {name}_v{v}(void) {{ return {v}; }}\n"


def _lib(toolchain: Toolchain, arch: str, tmp: Path, dest: Path, soname: str, v: int = 1) -> Path:
    stem = soname.split(".so")[0][3:]
    src = write_c(tmp / f"{stem}{v}.c", LIB.format(name=stem, v=v))
    dest.parent.mkdir(parents=True, exist_ok=True)
    cmd = [*toolchain.compiler(arch, use_zig=arch != "x86_64"), "-shared", "-fPIC", f"-Wl,-soname,{soname}"]
    run_ok([*cmd, "-o", dest, src])
    return dest


def make_root(toolchain: Toolchain, arch: str, tmp: Path) -> Path:
    """A musl root: libz (zlib) and libfoo.so.2.3.1 (SONAME libfoo.so.2, with the -dev link
    libfoo.so) in /usr/lib; libqux.so.1 and libqux.so.2 in /usr/lib, no -dev link; libbar.so.1
    only in /opt/lib, which the path file adds."""
    root = tmp / f"root-{arch}"
    build = tmp / f"build-{arch}"
    build.mkdir()
    usr = root / "usr" / "lib"
    usr.mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "lib").mkdir()
    ldso = {"x86_64": "x86_64", "aarch64": "aarch64"}[arch]
    (root / "etc" / f"ld-musl-{ldso}.path").write_text("/lib\n/usr/lib:/opt/lib\n")
    if arch == "x86_64":
        libz_a = WORLD / "zlib" / "lib" / "libz.a"
        need(libz_a.exists(), f"the world's zlib ({libz_a})")
        run_ok(
            [
                *toolchain.compiler(arch),
                "-shared",
                "-Wl,-soname,libz.so.1",
                "-o",
                usr / "libz.so.1.3",
                "-Wl,--whole-archive",
                libz_a,
                "-Wl,--no-whole-archive",
            ]
        )
    else:
        _lib(toolchain, arch, build, usr / "libz.so.1.3", "libz.so.1")
    os.symlink("libz.so.1.3", usr / "libz.so.1")
    _lib(toolchain, arch, build, usr / "libfoo.so.2.3.1", "libfoo.so.2", 2)
    os.symlink("libfoo.so.2.3.1", usr / "libfoo.so.2")
    os.symlink("libfoo.so.2", usr / "libfoo.so")
    _lib(toolchain, arch, build, usr / "libqux.so.1", "libqux.so.1", 1)
    _lib(toolchain, arch, build, usr / "libqux.so.2", "libqux.so.2", 2)
    _lib(toolchain, arch, build, root / "opt" / "lib" / "libbar.so.1", "libbar.so.1")
    return root


NAMES = {"z": "libz.so.1", "foo": "libfoo.so.2", "qux": "libqux.so.2", "bar": "libbar.so.1"}


@pytest.fixture(scope="module")
def x86_root(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("findlib")
    root = make_root(toolchain, "x86_64", tmp)
    loader = loader_for("x86_64")
    shutil.copy(os.path.realpath(loader), root / "lib" / "ld-musl-x86_64.so.1")
    # A program that needs every library by the SONAME find_library picks.
    main = write_c(tmp / "main.c", "int main(void) { return 0; }\n")
    needed = [f"-l:{soname}" for soname in NAMES.values()]
    run_ok(
        [
            *toolchain.compiler("x86_64"),
            "-o",
            root / "main",
            main,
            f"-L{root / 'usr' / 'lib'}",
            f"-L{root / 'opt' / 'lib'}",
            "-Wl,--no-as-needed",
            *needed,
            "-lm",
        ]
    )
    return root


def loader_listing(root: Path) -> dict[str, str]:
    """``name => path`` as musl's loader prints it for /main inside *root* (chroot, as root)."""
    need(os.geteuid() == 0 and shutil.which("chroot"), "root and chroot, to run musl's loader inside a root")
    out = run_ok(["chroot", root, "/lib/ld-musl-x86_64.so.1", "--list", "/main"]).stdout
    pairs = [line.strip().split(" => ") for line in out.splitlines() if " => " in line]
    return {name: target.split(" (")[0] for name, target in pairs}


def test_find_library_agrees_with_musls_loader_for_every_library_of_the_root(x86_root: Path) -> None:
    listing = loader_listing(x86_root)
    for name, soname in NAMES.items():
        found = locate(name, x86_root)
        assert found is not None, name
        assert found.soname == soname
        assert found.path == listing[soname], (name, found, listing)
        assert Path(found.host_path).is_file()
    assert set(listing) >= set(NAMES.values())


def test_c_and_m_are_musl_itself_as_the_loader_says(x86_root: Path) -> None:
    listing = loader_listing(x86_root)
    assert muslwheel.find_library("c", x86_root) == listing["libc.so"] == "/lib/ld-musl-x86_64.so.1"
    assert muslwheel.find_library("m", x86_root) == "/lib/ld-musl-x86_64.so.1"


def test_versioned_soname_and_newest_version(x86_root: Path) -> None:
    # libfoo: the -dev link names libfoo.so.2.3.1, whose SONAME is what a program asks for.
    assert muslwheel.find_library("foo", x86_root) == "/usr/lib/libfoo.so.2"
    # libqux: no -dev link; the newest version wins.
    assert muslwheel.find_library("qux", x86_root) == "/usr/lib/libqux.so.2"
    # libbar is only in a directory the path file adds.
    assert muslwheel.find_library("bar", x86_root) == "/opt/lib/libbar.so.1"
    assert muslwheel.find_library("z", x86_root) == "/usr/lib/libz.so.1"
    assert muslwheel.find_library("nonexistent", x86_root) is None


def test_without_the_path_file_musl_defaults_apply(x86_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(x86_root, root, symlinks=True)
    (root / "etc" / "ld-musl-x86_64.path").unlink()
    assert muslwheel.find_library("bar", root) is None  # /opt/lib is no default directory
    assert muslwheel.find_library("z", root) == "/usr/lib/libz.so.1"
    need(os.geteuid() == 0 and shutil.which("chroot"), "root and chroot, to run musl's loader inside a root")
    proc = run(["chroot", root, "/lib/ld-musl-x86_64.so.1", "--list", "/main"])
    assert proc.returncode != 0 and "libbar.so.1" in proc.stderr


def test_a_foreign_root_is_read_without_running_anything(toolchain: Toolchain, tmp_path: Path) -> None:
    root = make_root(toolchain, "aarch64", tmp_path)
    # The loader only has to exist: nothing in this root is run.
    (root / "lib" / "ld-musl-aarch64.so.1").write_bytes(b"")
    assert muslwheel.find_library("c", root) == "/lib/ld-musl-aarch64.so.1"
    assert muslwheel.find_library("foo", root) == "/usr/lib/libfoo.so.2"
    assert muslwheel.find_library("qux", root) == "/usr/lib/libqux.so.2"
    assert muslwheel.find_library("bar", root) == "/opt/lib/libbar.so.1"
    # An x86_64 library in this aarch64 root is not a candidate.
    x86 = _lib(toolchain, "x86_64", tmp_path, tmp_path / "x" / "libqux.so.2", "libqux.so.2", 2)
    shutil.copy(x86, root / "usr" / "lib" / "libqux.so.2")
    assert muslwheel.find_library("qux", root) == "/usr/lib/libqux.so.1"


def test_cli_find_library(x86_root: Path) -> None:
    ok = run_ok([*muslwheel_cmd(), "find-library", "foo", "--root", x86_root], env=checkout_env())
    assert ok.stdout == "/usr/lib/libfoo.so.2\n"
    missing = run([*muslwheel_cmd(), "find-library", "nonexistent", "--root", x86_root], env=checkout_env())
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "/opt/lib" in missing.stderr


def test_a_root_without_musl_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FindLibraryError):
        locate("z", tmp_path)
    proc = run([*muslwheel_cmd(), "find-library", "z", "--root", tmp_path], env=checkout_env())
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
