"""Loader-only kits: musl from Debian's binary packages, or from its source with zig.

musl 1.2.3 comes from Debian's bookworm binary packages for the arches Debian builds it for
(:data:`muslwheel.arch.DEBIAN_MUSL_ARCHES`); any other release (and 1.2.3 elsewhere) is built
from its source with zig as the C compiler: Debian's upstream tarball (1.2.2 from bullseye, the
oldest 1.2 release it serves; the newer ones from bookworm to sid), or one the user brings
(``--musl-source``, e.g. 1.1.24 for ``musllinux_1_1``). A release older than an arch's port
(:func:`muslwheel.policy.arch_floor`, from musl's own history in ``data/musl_symbols.json``)
is refused before anything is downloaded.

Facts this relies on (zig 0.15): zig links its compiler_rt into a shared library with hidden
visibility, which would hide musl's own ``memcpy``, ``memset``, ``fmod`` … in ``libc.so``; so
compiler_rt is built as a separate object with default visibility (``build-obj -dynamic``),
given to musl as ``LIBCC`` with ``-rtlib=none``, and its names that musl does not define are made
local by a version script. ``-O2`` brings ``-Werror=date-time``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..arch import DEBIAN_MUSL_ARCHES, Arch
from ..cache import staged
from ..policy import arch_floor
from ..progress import Steps
from ..root import DEFAULT_DIRS
from ..versions import MuslVersion
from ..zig import target_args, write_wrappers, zig_environment, zig_executable, zig_lib_dir
from . import Kit, KitError, kit_name, list_kits, read_kit
from .store import (
    MUSL_RECIPES,
    current,
    kit_directory,
    kit_lock,
    run,
    source_tarball,
    took,
    work_dir,
    write_kit,
)

#: the musl release Debian ships as binary packages (bookworm)
DEBIAN_BINARY_MUSL = MuslVersion(1, 2, 3)
#: the newest musl Debian's archive has as source
NEWEST_MUSL = MuslVersion(1, 2, 6)
#: the oldest musl 1.2 release Debian's archive has as source (bullseye's ``musl_1.2.2.orig.tar.gz``)
OLDEST_MUSL = MuslVersion(1, 2, 2)


#: (arch, release) that zig does not build into a working loader: musl 1.2.2's s390x
#: ``__tls_get_offset`` calls the exported ``__tls_get_addr`` with a plain ``brasl``, which lld
#: refuses (GNU ld makes it a PLT call); made a PLT call by hand, the loader links and answers
#: ``--version`` but a program it loads never reaches ``main`` under qemu-s390x (1.2.6 works)
DOES_NOT_RUN = {("s390x", MuslVersion(1, 2, 2)): "lld refuses its __tls_get_offset; linked by hand, its loader hangs"}


def check_port(arch: Arch, musl: MuslVersion) -> None:
    """:class:`KitError` (one line) when musl *musl* has no port to *arch*, or one known not to
    work when built with zig."""
    why = DOES_NOT_RUN.get((arch.name, musl))
    if why is not None:
        raise KitError(f"musl {musl} built with zig for {arch.name} does not work ({why}): give another --musl")
    since = arch_floor(arch.name)  # the first release with the port (the audit's floor too)
    if musl < since:
        raise KitError(
            f"musl {musl} has no {arch.name} port (it arrived in musl {since}): give --musl {since} or later"
        )


def build_musl_kit(
    arch: Arch, musl: MuslVersion, *, musl_source: Path | None = None, jobs: int = 2, steps: Steps
) -> Kit:
    """The loader-only kit ``<arch>-musl<musl>``, built unless present."""
    check_port(arch, musl)
    name = kit_name(arch.name, musl, None)
    directory = kit_directory(arch, musl, None)
    if current(directory, MUSL_RECIPES):
        return read_kit(directory)
    with kit_lock(name):
        if current(directory, MUSL_RECIPES):
            return read_kit(directory)
        from_debian = musl_from_debian_packages(arch, musl, musl_source)
        what = f"{name}: musl {musl} " + ("from Debian's packages" if from_debian else "from source with zig")
        with steps.step("musl-deb" if from_debian else "musl-src", what):
            _build_musl_root(arch, musl, directory, musl_source, jobs, from_debian)
    return read_kit(directory)


def musl_root(kit: Kit) -> Kit:
    """The bare loader-only kit (the musl root) of *kit*'s arch and musl: *kit* itself when it is
    one, never the Alpine-like ``…-system`` kit, whose ``usr/lib`` a compile or a proof must not
    see (:class:`KitError` when that root is gone)."""
    if kit.python is None and kit.bare:
        return kit
    directory = kit_directory(kit.arch_info, kit.musl, None)
    if not current(directory, MUSL_RECIPES):
        raise KitError(f"kit {kit.name}: its musl root {directory.name} is not built")
    return read_kit(directory)


def musl_from_debian_packages(arch: Arch, musl: MuslVersion, musl_source: Path | None) -> bool:
    return musl == DEBIAN_BINARY_MUSL and arch.debian_arch is not None and musl_source is None


def base_musl(arch: Arch, musl: MuslVersion) -> MuslVersion:
    """The musl a kit's CPython is built against, so that one CPython tree per arch and minor
    runs on every musl kit of the arch: the oldest release of *musl*'s series (``1.2``) up to
    *musl* that the arch has, a loader-only kit already built (``1.2.2`` once it is) or Debian's
    1.2.3 where Debian ships musl for the arch; else *musl* itself. (A tree built against a
    newer musl could need a symbol an older one lacks, ``qsort_r`` before 1.2.3.)"""
    candidates = [
        k.musl
        for k in list_kits()
        if k.arch == arch.name
        and k.python is None
        and k.bare
        and k.musl.series == musl.series
        and k.musl <= musl
        and current(k.directory, MUSL_RECIPES)
    ]
    if arch.debian_arch is not None and musl > DEBIAN_BINARY_MUSL:
        candidates.append(DEBIAN_BINARY_MUSL)
    return min([musl, *candidates])


def _build_musl_root(
    arch: Arch, musl: MuslVersion, directory: Path, musl_source: Path | None, jobs: int, from_debian: bool
) -> None:
    began = time.monotonic()
    with staged(directory) as tmp:
        tmp.mkdir(parents=True)
        with work_dir() as work:
            packages: list[dict[str, object]] = []
            if from_debian:
                packages = _musl_from_debian(arch, tmp / "root", work)
                source = f"Debian bookworm musl {DEBIAN_BINARY_MUSL} binary packages"
            else:
                tarball = musl_source or source_tarball("musl", str(musl))
                _musl_from_source(arch, musl, tarball, tmp / "root", work, jobs)
                source = tarball.name
        _finish_musl_root(tmp / "root", arch)
        _verify_musl(tmp / "root", arch, musl)
        # debian_packages: which files of root/ came from which Debian source package (repair's SBOM)
        extra = {"debian_packages": packages} if packages else {}
        write_kit(tmp, arch, musl, None, {"musl_source": source, **extra, **took("musl", began)}, bare=True)


# --- Debian's packages -------------------------------------------------------------------------


def _downloads() -> Path:
    from ..debian import default_downloads

    d = default_downloads() / "debs"
    d.mkdir(parents=True, exist_ok=True)
    return d


_PRINTED_URI = re.compile(r"^'([^']+)' (\S+) ([0-9]+) SHA256:([0-9a-f]{64})$")


def _debian_binaries(arch: Arch, packages: list[str], dest: Path) -> list[Path]:
    """Debian's binary packages *packages* for *arch*, downloaded once (apt names the files and
    their SHA256; we fetch and verify them) and unpacked into *dest*."""
    from ..debian import SourceFile, fetch_verified

    darch = arch.debian_arch
    if darch is None:
        raise KitError(f"Debian ships no musl for {arch.name}")
    downloads = _downloads()

    def cached() -> list[list[Path]]:
        return [sorted(downloads.glob(f"{pkg}_{DEBIAN_BINARY_MUSL}-*_{darch}.deb")) for pkg in packages]

    found = cached()
    if not all(found):
        # One apt call names the packages of all Debian's musl arches (apt is slow to start;
        # kits of the other arches will want theirs next).
        wanted = [f"{p}:{a.debian_arch}" for a in DEBIAN_MUSL_ARCHES for p in packages]
        with tempfile.TemporaryDirectory() as empty:  # apt prints nothing for files already in cwd
            proc = subprocess.run(
                ["apt-get", "download", "--print-uris", *wanted], cwd=empty, capture_output=True, text=True
            )
        files = [m.groups() for m in map(_PRINTED_URI.match, proc.stdout.splitlines()) if m]
        for uri, name, size, sha in files:
            if name.endswith(f"_{darch}.deb") or not (downloads / name).exists():
                fetch_verified(SourceFile(uri, name, int(size), sha), downloads)
        found = cached()
        if not all(found):
            why = (proc.stderr.strip().splitlines() or ["apt named no files"])[-1]
            raise KitError(
                f"cannot download Debian's {', '.join(packages)} for {darch}: {why} "
                "(scripts/setup-system adds the architecture)"
            )
    out = [f[-1] for f in found]
    for deb in out:
        run(["dpkg-deb", "-x", str(deb), str(dest)])
    return out


def _musl_from_debian(arch: Arch, root: Path, work: Path) -> list[dict[str, object]]:
    """Debian's musl in *root*; the Debian source package and version its files came from."""
    multi = arch.debian_multiarch
    assert multi is not None  # musl_from_debian_packages() checked
    ext = work / "deb"
    debs = _debian_binaries(arch, ["musl", "musl-dev"], ext)
    (root / "lib").mkdir(parents=True)
    (root / "usr" / "lib").mkdir(parents=True)
    shutil.copy2(ext / "lib" / multi / "libc.so", root / "lib" / arch.loader_name)
    files = [f"lib/{arch.loader_name}"]
    for f in (ext / "usr" / "lib" / multi).iterdir():
        if f.suffix == ".o" or (f.suffix == ".a" and f.name != "libc.a"):
            shutil.copy2(f, root / "usr" / "lib" / f.name)
            files.append(f"usr/lib/{f.name}")
    shutil.copytree(ext / "usr" / "include" / multi, root / "usr" / "include")
    _kernel_headers(arch, root / "usr" / "include")
    version = debs[0].name.split("_")[1]  # musl_1.2.3-1_arm64.deb: both come from source musl
    return [{"source": "musl", "version": version, "files": sorted(files)}]


# --- musl's source, with zig -------------------------------------------------------------------


def _musl_from_source(arch: Arch, musl: MuslVersion, tarball: Path, root: Path, work: Path, jobs: int) -> None:
    zig = zig_executable()
    src = work / "musl"
    src.mkdir()
    run(["tar", "-xf", str(tarball), "-C", str(src), "--strip-components=1"])
    log = work / "musl.log"
    crt = work / "compiler_rt.o"
    run(
        [
            str(zig),
            "build-obj",
            *target_args(arch),
            "-OReleaseFast",
            "-fPIC",
            "-fstrip",
            "-ffunction-sections",  # so --gc-sections drops what musl does not call (i386: PC32 calls)
            "-dynamic",
            f"-femit-bin={crt}",
            str(zig_lib_dir() / "compiler_rt.zig"),
        ],
        env=dict(os.environ, **zig_environment()),
        log=log,
    )
    tools = write_wrappers(work / "bin", arch, libc_file=None).make_vars()
    env = dict(os.environ, **tools)
    env.pop("ZIG_LIBC", None)
    run(
        [
            "./configure",
            "--prefix=/usr",
            "--syslibdir=/lib",
            f"--target={arch.gnu_host}",
            "--disable-static",
            f"CC={tools['CC']}",
            "CFLAGS=-O2 -g0 -Wno-error=date-time",
            "LDFLAGS=-rtlib=none -Wl,--strip-all",
            f"LIBCC={crt}",
            f"AR={tools['AR']}",
            f"RANLIB={tools['RANLIB']}",
            "CROSS_COMPILE=",
        ],
        cwd=src,
        env=env,
        log=log,
    )
    # compiler_rt's own names (not musl's) stay out of libc.so's exports: link once to compile
    # musl's objects, read the names they define, link again with the others made local.
    # (That first link goes without compiler_rt and may fail: its weak default-visibility names
    # cannot be reached from non-PIC i386 code until the version script makes them local. Only
    # the objects it compiles are wanted.)
    run(["make", f"-j{jobs}", "-k", "LIBCC=", "lib/libc.so"], cwd=src, env=env, log=log, check=False)
    objects = sorted((src / "obj").rglob("*.lo"))
    if len(objects) < 1000:
        raise KitError(f"musl {musl} for {arch.name}: only {len(objects)} objects compiled (see the log above)")
    extra = sorted(_defined_globals([crt]) - _defined_globals(objects))
    script = work / "hide-compiler-rt.ver"
    script.write_text("{\n  local:\n" + "".join(f"    {n};\n" for n in extra) + "};\n" if extra else "{ };\n")
    (src / "lib" / "libc.so").unlink(missing_ok=True)
    run(
        ["make", f"-j{jobs}", f"LDFLAGS=-rtlib=none -Wl,--strip-all -Wl,--version-script={script}"],
        cwd=src,
        env=env,
        log=log,
    )
    stage = work / "musl-stage"
    run(["make", "install", f"DESTDIR={stage}"], cwd=src, env=env, log=log)
    (root / "lib").mkdir(parents=True)
    (root / "usr" / "lib").mkdir(parents=True)
    shutil.copy2(stage / "usr" / "lib" / "libc.so", root / "lib" / arch.loader_name)
    blank_comment(root / "lib" / arch.loader_name)
    for f in (stage / "usr" / "lib").iterdir():
        if f.suffix == ".o" or (f.suffix == ".a" and f.name != "libc.a"):
            shutil.copy2(f, root / "usr" / "lib" / f.name)
    shutil.copytree(stage / "usr" / "include", root / "usr" / "include")
    _kernel_headers(arch, root / "usr" / "include")


def _defined_globals(paths: list[Path]) -> set[str]:
    """Names of the global and weak symbols defined in object files or archives (readelf)."""
    names: set[str] = set()
    for start in range(0, len(paths), 400):
        chunk = [str(p) for p in paths[start : start + 400]]
        proc = subprocess.run(["readelf", "-Ws", *chunk], capture_output=True, text=True, errors="replace")
        if proc.returncode != 0:
            raise KitError(f"readelf cannot read {chunk[0]}…: {proc.stderr.strip()[:200]}")
        for line in proc.stdout.splitlines():
            # Num: Value Size Type Bind Vis [<other>: n] Ndx Name (ppc64 adds the bracket)
            f = line.split()
            if len(f) >= 8 and f[4] in ("GLOBAL", "WEAK") and f[-2] != "UND" and f[3] != "FILE":
                names.add(f[-1].split("@")[0])
    return names


# --- the root's layout -------------------------------------------------------------------------


def _kernel_headers(arch: Arch, include: Path) -> None:
    """Copy the Linux kernel headers zig carries for *arch* into *include*."""
    base = zig_lib_dir() / "libc" / "include"
    for sub in ("any-linux-any", arch.zig_kernel_headers):
        shutil.copytree(base / sub, include, dirs_exist_ok=True)


def _finish_musl_root(root: Path, arch: Arch) -> None:
    """Common layout: the loader as a file, Alpine's libc name beside it, the path file,
    ``usr/lib/libc.so`` pointing at the loader."""
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / f"ld-musl-{arch.ldso_arch}.path").write_text("".join(d + "\n" for d in DEFAULT_DIRS))
    lib = root / "lib"
    (lib / f"libc.musl-{arch.alpine_arch}.so.1").unlink(missing_ok=True)
    os.symlink(arch.loader_name, lib / f"libc.musl-{arch.alpine_arch}.so.1")
    libc = root / "usr" / "lib" / "libc.so"
    libc.unlink(missing_ok=True)
    os.symlink(f"../../lib/{arch.loader_name}", libc)
    (root / "usr" / "local" / "lib").mkdir(parents=True, exist_ok=True)


def _verify_musl(root: Path, arch: Arch, musl: MuslVersion) -> None:
    """The loader says it is musl *musl*, and libc.so exports what compiler_rt would have hidden."""
    from ..libc import musl_version_from_loader_bytes

    data = (root / "lib" / arch.loader_name).read_bytes()
    found = musl_version_from_loader_bytes(data)
    if not found or found[1] != musl:
        raise KitError(f"{arch.name}: the built loader is not musl {musl} (it says {found[1] if found else 'nothing'})")
    exported = dynamic_exports(root / "lib" / arch.loader_name)
    for name in ("memcpy", "memset", "fmod", "environ"):
        if name not in exported:
            raise KitError(f"{arch.name}: musl's libc.so does not export {name}")


def dynamic_exports(path: Path) -> set[str]:
    """The names a shared library exports (defined, non-local dynamic symbols)."""
    from ..elf import read_elf

    return set(read_elf(path).defined_names)


def blank_comment(path: Path) -> None:
    """Zero the ``.comment`` section of an ELF file in place ("zig 0.15.2", "Linker: LLD …"):
    a second version-like string beside musl's own would make its loader's version unreadable."""
    import struct

    with open(path, "r+b") as f:
        head = f.read(64)
        is64, order = head[4] == 2, "<" if head[5] == 1 else ">"
        if is64:
            (shoff,) = struct.unpack_from(order + "Q", head, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", head, 0x3A)
        else:
            (shoff,) = struct.unpack_from(order + "I", head, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", head, 0x2E)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        fmt = order + ("IIQQQQ" if is64 else "IIIIII")

        def section(i: int) -> tuple[int, int, int]:
            name, _type, _flags, _addr, offset, size = struct.unpack_from(fmt, table, i * shentsize)
            return name, offset, size

        _, str_off, str_size = section(shstrndx)
        f.seek(str_off)
        names = f.read(str_size)
        for i in range(shnum):
            name, offset, size = section(i)
            if names[name : names.index(b"\0", name)] == b".comment":
                f.seek(offset)
                f.write(b"\0" * size)
