"""pypa/packaging's musl test cases, reproduced on inputs our test world builds.

Sources (pypa/packaging at 053c8846, 2026-08-20, 26.4.dev0):
- ``tests/test_musllinux.py``: ``test_parse_musl_version`` (5 cases), ``test_get_musl_version``
  (5 cases) on the executables of ``tests/musllinux/`` (``build.sh``: hello-world built on
  Alpine 3.13 / Ubuntu, then cut to its first 1024 bytes);
- ``tests/test_tags.py``: ``TestManylinuxPlatform.test_linux_platforms_musllinux`` (8 cases), and
  ``TestCPythonTags.test_all_args``'s free-threaded cases (``cp313t``, ``cp315t``).

Their expected values are taken as facts. Where muslwheel answers differently on purpose, the
test says why. The running interpreter's full ``sys_tags()`` equality, for the oldest and the
newest packaging, is in ``tests/test_tags.py``.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from conftest import Toolchain, need, run_ok, write_c

from muslwheel.errors import DetectError
from muslwheel.libc import MuslVersion, detect_executable, parse_loader_output
from muslwheel.tags import parse_python_version, tags_for_target, target_of_detection

# tests/test_musllinux.py: the loader outputs its tests feed to _parse_musl_version.
MUSL_AMD64 = "musl libc (x86_64)\nVersion 1.2.2\n"
MUSL_I386 = "musl libc (i386)\nVersion 1.2.1\n"
MUSL_AARCH64 = "musl libc (aarch64)\nVersion 1.1.24\n"
MUSL_INVALID = "musl libc (invalid)\n"
MUSL_UNKNOWN = "musl libc (unknown)\nVersion unknown\n"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (MUSL_AMD64, (1, 2)),
        (MUSL_I386, (1, 2)),
        (MUSL_AARCH64, (1, 1)),
        (MUSL_INVALID, None),
        (MUSL_UNKNOWN, None),
    ],
    ids=["amd64-1.2.2", "i386-1.2.1", "aarch64-1.1.24", "invalid", "unknown"],
)
def test_parse_musl_version(output: str, expected: tuple[int, int] | None) -> None:
    """packaging tests/test_musllinux.py::test_parse_musl_version. packaging keeps major.minor;
    muslwheel keeps the patch release too (1.2.2), since its floors are per release."""
    found = parse_loader_output(output)
    assert (None if found is None else (found[1].major, found[1].minor)) == expected
    if found is not None:
        assert str(found[1]) == output.split("Version ")[1].strip()


HELLO_C = '#include <stdio.h>\nint main(void) { puts("Hello, world!"); return 0; }\n'  # their hello-world.c


def truncated_hello(toolchain: Toolchain, tmp: Path, name: str, arch: str | None) -> Path:
    """Like tests/musllinux/build.sh: a hello-world executable cut to its first 1024 bytes.
    *arch* None: the host's gcc against glibc."""
    src = write_c(tmp / "hello.c", HELLO_C)
    full = tmp / f"{name}-full"
    if arch is None:
        gcc = shutil.which("gcc")
        need(gcc, "gcc")
        run_ok([gcc, "-Os", "-o", full, src])
    else:
        toolchain.build(arch, full, [src], use_zig=arch != "x86_64")
    out = tmp / name
    out.write_bytes(full.read_bytes()[:1024])
    return out


@pytest.mark.parametrize(
    ("binary", "ld_musl"),
    [
        ("does-not-exist", None),
        ("glibc-x86_64", None),
        ("musl-x86_64", "/lib/ld-musl-x86_64.so.1"),
        ("musl-i386", "/lib/ld-musl-i386.so.1"),
        ("musl-aarch64", "/lib/ld-musl-aarch64.so.1"),
    ],
)
def test_get_musl_version(toolchain: Toolchain, tmp_path: Path, binary: str, ld_musl: str | None) -> None:
    """packaging tests/test_musllinux.py::test_get_musl_version: the loader each truncated
    executable names is the one whose version is asked; a glibc or missing executable has
    none. packaging runs that loader (mocked in its test); muslwheel reads its bytes and runs
    nothing, so the version is that of the loader installed here (Debian's 1.2.3)."""
    arch = {"glibc-x86_64": None, "musl-x86_64": "x86_64", "musl-i386": "i686", "musl-aarch64": "aarch64"}
    if binary == "does-not-exist":
        with pytest.raises(DetectError):
            detect_executable(tmp_path / binary, validate=False, allow_run=False)
        return
    exe = truncated_hello(toolchain, tmp_path, binary, arch[binary])
    found = detect_executable(exe, validate=False, allow_run=False)
    if ld_musl is None:
        assert (found.libc, found.musl_version) == ("glibc", None)
        return
    assert (found.libc, found.loader) == ("musl", ld_musl)
    if Path(ld_musl).exists():
        assert found.musl_version is not None and MuslVersion.parse(found.musl_version) >= MuslVersion(1, 1)


@pytest.mark.parametrize(
    ("native_arch", "cross32_arch", "musl_version"),
    [
        ("armv7l", "armv7l", (1, 1)),
        ("aarch64", "armv8l", (1, 1)),
        ("i386", "i386", (1, 2)),
        ("x86_64", "i686", (1, 2)),
    ],
)
@pytest.mark.parametrize("cross32", [True, False], ids=["cross", "native"])
def test_linux_platforms_musllinux(
    toolchain: Toolchain,
    tmp_path: Path,
    native_arch: str,
    cross32_arch: str,
    musl_version: tuple[int, int],
    cross32: bool,
) -> None:
    """packaging tests/test_tags.py::TestManylinuxPlatform::test_linux_platforms_musllinux:
    linux_ARCH first (packaging ≥ 26.3), then musllinux from the minor down, armv8l before
    armv7l. The interpreter here is a real executable of the arch; "cross" is a 32-bit one on
    a 64-bit kernel.

    Deliberate difference: packaging's "i386" case takes the arch from a patched
    ``sysconfig.get_platform()``; muslwheel takes it from the ELF header, and PEP 656 (and
    every musllinux wheel) calls EM_386 ``i686``, so i386 here yields ``*_i686`` tags."""
    target_arch = cross32_arch if cross32 else native_arch
    exe_arch = {"armv7l": "armv7l", "armv8l": "armv7l", "aarch64": "aarch64", "i386": "i686", "i686": "i686"}.get(
        target_arch, target_arch
    )
    exe = toolchain.build(exe_arch, tmp_path / "python", [write_c(tmp_path / "h.c", HELLO_C)], use_zig=True)
    kernel = native_arch
    detection = detect_executable(exe, allow_run=False)
    # the musl version packaging's test mocks, in place of this host's
    detection = dataclasses.replace(detection, musl_version="{}.{}.0".format(*musl_version))
    ours = target_of_detection(detection, kernel_machine=kernel).platform_tags(linux_first=True)

    theirs_arch = "i686" if target_arch == "i386" else target_arch  # the i386 difference above
    archs = {"armv8l": ["armv8l", "armv7l"]}.get(theirs_arch, [theirs_arch])
    expected = [f"linux_{arch}" for arch in archs]
    for arch in archs:
        expected.extend(f"musllinux_{musl_version[0]}_{minor}_{arch}" for minor in range(musl_version[1], -1, -1))
    assert ours == expected


# tests/test_tags.py: TestCPythonTags.test_all_args, the free-threaded cases (cp313t, cp315t):
# the interpreter's own ABI, abi3t (never abi3), none, then abi3t for every older minor to cp32.
PACKAGING_FREE_THREADED = {
    ("3.13t", ("plat1", "plat2")): [
        *(f"cp313-{abi}-{p}" for abi in ("cp313t", "abi3t", "none") for p in ("plat1", "plat2")),
        *(f"cp3{minor}-abi3t-{p}" for minor in range(12, 1, -1) for p in ("plat1", "plat2")),
    ],
    ("3.15t", ("platform",)): [
        "cp315-cp315t-platform",
        "cp315-abi3t-platform",
        "cp315-none-platform",
        *(f"cp3{minor}-abi3t-platform" for minor in range(14, 1, -1)),
    ],
}


@pytest.mark.parametrize(("python", "platforms"), list(PACKAGING_FREE_THREADED))
def test_free_threaded_cpython_tags(python: str, platforms: tuple[str, ...]) -> None:
    ours = [str(t) for t in tags_for_target(platforms, parse_python_version(python))]
    expected = PACKAGING_FREE_THREADED[(python, platforms)]
    assert ours[: len(expected)] == expected
    # What follows is compatible_tags: py3X-none-PLATFORM, then cp3X-none-any, py3X-none-any.
    assert all(t.split("-")[1] == "none" for t in ours[len(expected) :])
