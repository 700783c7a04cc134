"""Building kits: musl (Debian's binaries or its source built with zig), then a cross CPython.

Steps, each cached in ``<cache>/kits`` and skipped when present:

- ``<arch>-musl<ver>`` (loader-only kit): musl's loader, ``libc.so``, startup files and headers,
  plus the kernel's headers from zig. musl 1.2.3 comes from Debian's bookworm binary packages
  for the six arches Debian builds it for; any other release (and 1.2.3 on riscv64) is built from
  its source with zig as the C compiler.
- ``cpython/<arch>-py<X.Y>``: CPython cross-compiled with zig against the oldest musl kit of its
  arch (so it runs on every later release), with static zlib and libffi, installed stripped and
  without its tests.
- ``<arch>-musl<ver>-py<X.Y>``: the musl kit's root and the CPython tree, hard-linked together.

Build trees live in a temporary directory outside the cache and are removed afterwards.

Facts this relies on (zig 0.15): zig links its compiler_rt into a shared library with hidden
visibility, which would hide musl's own ``memcpy``, ``memset``, ``fmod`` … in ``libc.so``; so
compiler_rt is built as a separate object with default visibility (``build-obj -dynamic``),
given to musl as ``LIBCC`` with ``-rtlib=none``, and its names that musl does not define are made
local by a version script. zig's stand-in ``libc.so`` puts data symbols at one address, so all
compiling and linking goes against the kit's real musl (``ZIG_LIBC``). ``-O2`` brings
``-Werror=date-time``; zig links statically unless given ``-dynamic``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, TextIO

from . import GNU_HOSTS, ZIG_TARGETS, Kit, KitError, find_build_python, host_python_dir, kit_name, kits_dir, read_kit

#: musl releases Debian ships as binary packages (bookworm), and the arches it builds them for
DEBIAN_BINARY_MUSL = "1.2.3"
DEBIAN_ARCH = {
    "x86_64": "amd64",
    "i686": "i386",
    "aarch64": "arm64",
    "armv7l": "armhf",
    "ppc64le": "ppc64el",
    "s390x": "s390x",
}
#: Debian's multiarch directory names for musl
DEBIAN_MULTIARCH = {
    "x86_64": "x86_64-linux-musl",
    "i686": "i386-linux-musl",
    "aarch64": "aarch64-linux-musl",
    "armv7l": "arm-linux-musleabihf",
    "ppc64le": "powerpc64le-linux-musl",
    "s390x": "s390x-linux-musl",
}
#: zig's directory of Linux kernel headers for each arch (under lib/libc/include)
ZIG_KERNEL_HEADERS = {
    "x86_64": "x86-linux-any",
    "i686": "x86-linux-any",
    "aarch64": "aarch64-linux-any",
    "armv7l": "arm-linux-any",
    "ppc64le": "powerpc-linux-any",
    "s390x": "s390x-linux-any",
    "riscv64": "riscv-linux-any",
    "loongarch64": "loongarch-linux-any",
}
#: the newest musl Debian's archive has as source, and where
NEWEST_MUSL = "1.2.6"
#: CPython minor -> the Debian source package and where it lives
CPYTHON_SOURCES = {"3.11": "python3.11", "3.13": "python3.13", "3.14": "python3.14"}
#: rough cold times (seconds, a busy 2-core machine) for the progress estimate, until this cache
#: has measured its own (``<kits>/times.json``: the last time each kind of step took)
ESTIMATE = {"musl-deb": 30, "musl-src": 180, "cpython": 600, "build-python": 300}

#: bumped whenever a kit built before would differ: a kit of another recipe is rebuilt
RECIPE = 1

Progress = Callable[[str], None]


class StderrProgress:
    """``kit build``'s progress on stderr: a plain line when each step starts (with its estimate
    and the estimate left in all) and when it ends (with the time it took); on a terminal, between
    those, one live line redrawn each second with the time spent and the estimate left."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._lock = threading.Lock()
        self._showing = False

    def __call__(self, message: str) -> None:
        with self._lock:
            self._clear()
            self.stream.write(f"muslwheel kit: {message}\n")
            self.stream.flush()

    def redraw(self, message: str) -> None:
        """Replace the live line (terminals only)."""
        with self._lock:
            self.stream.write(f"\r\033[Kmuslwheel kit: {message}")
            self.stream.flush()
            self._showing = True

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        if self._showing:
            self.stream.write("\r\033[K")
            self._showing = False


_stderr = StderrProgress()


def _duration(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def _times_file() -> Path:
    return kits_dir() / "times.json"


def _measured() -> dict[str, float]:
    try:
        data = json.loads(_times_file().read_text())
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


class _Steps:
    """The steps a build still has to take, each kind with its estimate (what it took last time
    in this cache, else :data:`ESTIMATE`), reported through *progress*."""

    def __init__(self, progress: Progress, plan: list[str]) -> None:
        self.progress = progress
        self.plan = list(plan)
        self.measured = _measured()

    def estimate(self, kind: str) -> float:
        return self.measured.get(kind, ESTIMATE[kind])

    def left(self) -> float:
        return sum(self.estimate(k) for k in self.plan)

    @contextlib.contextmanager
    def step(self, kind: str, what: str) -> Iterator[None]:
        if kind in self.plan:
            self.plan.remove(kind)
        estimate, after = self.estimate(kind), self.left()
        self.progress(f"{what} (about {_duration(estimate)}; about {_duration(estimate + after)} left in all)")
        began = time.monotonic()
        stop = threading.Event()
        ticker = None
        if getattr(self.progress, "live", False):

            def tick() -> None:
                while not stop.wait(1.0):
                    spent = time.monotonic() - began
                    left = max(0.0, estimate - spent) + after
                    self.progress.redraw(  # type: ignore[attr-defined]
                        f"{what}: {_duration(spent)} of about {_duration(estimate)}, about {_duration(left)} left"
                    )

            ticker = threading.Thread(target=tick, daemon=True)
            ticker.start()
        try:
            yield
        finally:
            stop.set()
            if ticker is not None:
                ticker.join()
                self.progress.clear()  # type: ignore[attr-defined]
        took = time.monotonic() - began
        self.progress(f"{what}: done in {_duration(took)}")
        self.measured[kind] = took
        with contextlib.suppress(OSError):
            _write_json(_times_file(), {**_measured(), kind: round(took, 1)})


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


# --- tools -------------------------------------------------------------------------------------


def zig_executable() -> Path:
    """zig from the ``ziglang`` wheel (``pip install ziglang``)."""
    try:
        import ziglang
    except ImportError:
        raise KitError("building kits needs zig: pip install 'ziglang>=0.15.1,<0.16'") from None
    path = Path(ziglang.__file__).parent / "zig"
    if not path.exists():
        raise KitError(f"the ziglang wheel has no zig executable at {path}")
    return path


def _run(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    check: bool = True,
) -> None:
    """Run *cmd*; on failure raise KitError with the last lines of its output (unless not *check*)."""
    if log is None:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, errors="replace")
        out, code = proc.stdout + proc.stderr, proc.returncode
    else:
        with open(log, "a") as f:
            f.write(f"\n$ {' '.join(cmd)}\n")
            f.flush()
            code = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
        out = log.read_text(errors="replace")
    if code != 0 and check:
        tail = "\n".join(out.strip().splitlines()[-25:])
        raise KitError(f"{' '.join(cmd[:3])} … failed (exit {code}):\n{tail}")


def _wrappers(bindir: Path, arch: str, *, libc_file: Path | None, extra_cflags: str = "") -> dict[str, str]:
    """Write cc/c++/ar/ranlib/strip wrapper scripts for zig targeting *arch*; return make vars."""
    zig = zig_executable()
    target = ZIG_TARGETS[arch]
    bindir.mkdir(parents=True, exist_ok=True)
    env_line = f'export ZIG_LIBC="{libc_file}"\n' if libc_file else "unset ZIG_LIBC\n"
    tools = {
        "cc": f'exec "{zig}" cc -target {target} {extra_cflags} "$@"',
        "c++": f'exec "{zig}" c++ -target {target} {extra_cflags} "$@"',
        "ar": f'exec "{zig}" ar "$@"',
        "ranlib": f'exec "{zig}" ranlib "$@"',
        "objcopy": f'exec "{zig}" objcopy "$@"',
        "readelf": f'exec "{shutil.which("readelf") or "readelf"}" "$@"',  # binutils' reads every arch
    }
    for name, body in tools.items():
        path = bindir / name
        path.write_text(f"#!/bin/sh\n{env_line}{body}\n")
        path.chmod(0o755)
    return {
        "CC": str(bindir / "cc"),
        "CXX": str(bindir / "c++"),
        "AR": str(bindir / "ar"),
        "RANLIB": str(bindir / "ranlib"),
    }


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


# --- sources -----------------------------------------------------------------------------------


def _downloads() -> Path:
    from .sources import default_downloads

    d = default_downloads() / "debs"
    d.mkdir(parents=True, exist_ok=True)
    return d


def source_tarball(package: str, version_prefix: str) -> Path:
    """The upstream tarball of Debian source *package* whose version starts *version_prefix*
    (downloaded once, verified, into the download cache)."""
    from .sources import debian_source

    return debian_source(package, version_prefix=version_prefix).orig


_PRINTED_URI = re.compile(r"^'([^']+)' (\S+) ([0-9]+) SHA256:([0-9a-f]{64})$")


def _debian_binaries(arch: str, packages: list[str], dest: Path) -> list[Path]:
    """Debian's binary packages *packages* for *arch*, downloaded once (apt names the files and
    their SHA256; we fetch and verify them) and unpacked into *dest*."""
    from .sources import SourceFile, fetch_verified

    darch = DEBIAN_ARCH[arch]
    downloads = _downloads()

    def cached() -> list[list[Path]]:
        return [sorted(downloads.glob(f"{pkg}_{DEBIAN_BINARY_MUSL}-*_{darch}.deb")) for pkg in packages]

    found = cached()
    if not all(found):
        # One apt call names the packages of all six arches (apt is slow to start; kits of the
        # other arches will want theirs next).
        wanted = [f"{p}:{a}" for a in DEBIAN_ARCH.values() for p in packages]
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
        _run(["dpkg-deb", "-x", str(deb), str(dest)])
    return out


# --- musl --------------------------------------------------------------------------------------


def _kernel_headers(arch: str, include: Path) -> None:
    """Copy the Linux kernel headers zig carries for *arch* into *include*."""
    base = zig_executable().parent / "lib" / "libc" / "include"
    for sub in ("any-linux-any", ZIG_KERNEL_HEADERS[arch]):
        shutil.copytree(base / sub, include, dirs_exist_ok=True)


def _finish_musl_root(root: Path, arch: str, musl: str) -> None:
    """Common layout: the loader as a file, Alpine's libc name beside it, the path file,
    ``usr/lib/libc.so`` pointing at the loader."""
    from ..arch import get_arch

    a = get_arch(arch)
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / f"ld-musl-{a.ldso_arch}.path").write_text("/lib\n/usr/local/lib\n/usr/lib\n")
    lib = root / "lib"
    (lib / f"libc.musl-{a.alpine_arch}.so.1").unlink(missing_ok=True)
    os.symlink(a.loader_name, lib / f"libc.musl-{a.alpine_arch}.so.1")
    libc = root / "usr" / "lib" / "libc.so"
    libc.unlink(missing_ok=True)
    os.symlink(f"../../lib/{a.loader_name}", libc)
    (root / "usr" / "local" / "lib").mkdir(parents=True, exist_ok=True)


def _musl_from_debian(arch: str, root: Path, work: Path) -> None:
    from ..arch import get_arch

    a = get_arch(arch)
    multi = DEBIAN_MULTIARCH[arch]
    ext = work / "deb"
    _debian_binaries(arch, ["musl", "musl-dev"], ext)
    (root / "lib").mkdir(parents=True)
    (root / "usr" / "lib").mkdir(parents=True)
    shutil.copy2(ext / "lib" / multi / "libc.so", root / "lib" / a.loader_name)
    for f in (ext / "usr" / "lib" / multi).iterdir():
        if f.suffix == ".o" or (f.suffix == ".a" and f.name != "libc.a"):
            shutil.copy2(f, root / "usr" / "lib" / f.name)
    shutil.copytree(ext / "usr" / "include" / multi, root / "usr" / "include")
    _kernel_headers(arch, root / "usr" / "include")


def _musl_from_source(arch: str, musl: str, tarball: Path, root: Path, work: Path, jobs: int) -> None:
    zig = zig_executable()
    src = work / "musl"
    src.mkdir()
    _run(["tar", "-xf", str(tarball), "-C", str(src), "--strip-components=1"])
    log = work / "musl.log"
    crt = work / "compiler_rt.o"
    _run(
        [
            str(zig),
            "build-obj",
            "-target",
            ZIG_TARGETS[arch],
            "-OReleaseFast",
            "-fPIC",
            "-fstrip",
            "-ffunction-sections",  # so --gc-sections drops what musl does not call (i386: PC32 calls)
            "-dynamic",
            f"-femit-bin={crt}",
            str(zig.parent / "lib" / "compiler_rt.zig"),
        ],
        log=log,
    )
    tools = _wrappers(work / "bin", arch, libc_file=None)
    env = dict(os.environ, **tools)
    env.pop("ZIG_LIBC", None)
    _run(
        [
            "./configure",
            "--prefix=/usr",
            "--syslibdir=/lib",
            f"--target={GNU_HOSTS[arch]}",
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
    _run(["make", f"-j{jobs}", "-k", "LIBCC=", "lib/libc.so"], cwd=src, env=env, log=log, check=False)
    objects = sorted((src / "obj").rglob("*.lo"))
    if len(objects) < 1000:
        raise KitError(f"musl {musl} for {arch}: only {len(objects)} objects compiled (see the log above)")
    extra = sorted(_defined_globals([crt]) - _defined_globals(objects))
    script = work / "hide-compiler-rt.ver"
    script.write_text("{\n  local:\n" + "".join(f"    {n};\n" for n in extra) + "};\n" if extra else "{ };\n")
    (src / "lib" / "libc.so").unlink(missing_ok=True)
    _run(
        ["make", f"-j{jobs}", f"LDFLAGS=-rtlib=none -Wl,--strip-all -Wl,--version-script={script}"],
        cwd=src,
        env=env,
        log=log,
    )
    stage = work / "musl-stage"
    _run(["make", "install", f"DESTDIR={stage}"], cwd=src, env=env, log=log)
    from ..arch import get_arch

    a = get_arch(arch)
    (root / "lib").mkdir(parents=True)
    (root / "usr" / "lib").mkdir(parents=True)
    shutil.copy2(stage / "usr" / "lib" / "libc.so", root / "lib" / a.loader_name)
    blank_comment(root / "lib" / a.loader_name)
    for f in (stage / "usr" / "lib").iterdir():
        if f.suffix == ".o" or (f.suffix == ".a" and f.name != "libc.a"):
            shutil.copy2(f, root / "usr" / "lib" / f.name)
    shutil.copytree(stage / "usr" / "include", root / "usr" / "include")
    _kernel_headers(arch, root / "usr" / "include")


def _took(what: str, began: float) -> dict[str, float]:
    """How long a build took and how loaded the machine was at its end (it is often shared)."""
    return {f"{what}_seconds": round(time.monotonic() - began, 1), f"{what}_load": round(os.getloadavg()[0], 2)}


def _write_kit(directory: Path, arch: str, musl: str, python: str | None, extra: dict[str, object]) -> None:
    meta: dict[str, object] = {"name": kit_name(arch, musl, python), "arch": arch, "musl": musl, "python": python}
    meta["recipe"] = RECIPE
    meta.update(extra)
    (directory / "kit.json").write_text(json.dumps(meta, indent=2) + "\n")


def _current(directory: Path) -> bool:
    """Whether *directory* holds a complete kit of this recipe."""
    try:
        return bool(json.loads((directory / "kit.json").read_text()).get("recipe") == RECIPE)
    except (OSError, ValueError, AttributeError):
        return False


def _install(tmp: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


@contextlib.contextmanager
def _staged(final: Path) -> Iterator[Path]:
    """``<final>.tmp`` (removed if left over, not created) to build *final* in: on success it
    replaces *final* in one rename; on any failure or interrupt it is removed, so a half-built
    kit, tree or host Python never stands where a built one would."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
        _install(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One builder per kit (or CPython tree) at a time; a second waits, then finds it built."""
    import fcntl

    locks = kits_dir() / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / name, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def _work_dir() -> Iterator[Path]:
    """A build tree outside the cache, removed afterwards (``MUSLWHEEL_KIT_KEEP=1`` keeps it)."""
    path = Path(tempfile.mkdtemp(prefix="muslwheel-kit-"))
    try:
        yield path
    finally:
        if os.environ.get("MUSLWHEEL_KIT_KEEP") == "1":
            _stderr(f"build tree kept in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def build_musl_kit(
    arch: str,
    musl: str,
    *,
    musl_source: Path | None = None,
    jobs: int = 2,
    steps: _Steps,
) -> Kit:
    """The loader-only kit ``<arch>-musl<musl>``, built unless present."""
    from ..arch import get_arch

    get_arch(arch)
    name = kit_name(arch, musl, None)
    directory = kits_dir() / name
    if _current(directory):
        return read_kit(directory)
    with _locked(name):
        if _current(directory):
            return read_kit(directory)
        _build_musl_kit(arch, musl, name, directory, musl_source, jobs, steps)
    return read_kit(directory)


def _build_musl_kit(
    arch: str, musl: str, name: str, directory: Path, musl_source: Path | None, jobs: int, steps: _Steps
) -> None:
    from_debian = _musl_from_debian_packages(arch, musl, musl_source)
    what = f"{name}: musl {musl} " + ("from Debian's packages" if from_debian else "from source with zig")
    with steps.step("musl-deb" if from_debian else "musl-src", what):
        _build_musl_root(arch, musl, directory, musl_source, jobs, from_debian)


def _musl_from_debian_packages(arch: str, musl: str, musl_source: Path | None) -> bool:
    return musl == DEBIAN_BINARY_MUSL and arch in DEBIAN_ARCH and musl_source is None


def _build_musl_root(
    arch: str, musl: str, directory: Path, musl_source: Path | None, jobs: int, from_debian: bool
) -> None:
    began = time.monotonic()
    with _staged(directory) as tmp:
        tmp.mkdir(parents=True)
        with _work_dir() as work:
            if from_debian:
                _musl_from_debian(arch, tmp / "root", work)
                source = f"Debian bookworm musl {DEBIAN_BINARY_MUSL} binary packages"
            else:
                tarball = musl_source or source_tarball("musl", musl)
                _musl_from_source(arch, musl, tarball, tmp / "root", work, jobs)
                source = tarball.name
        _finish_musl_root(tmp / "root", arch, musl)
        _verify_musl(tmp / "root", arch, musl)
        _write_kit(tmp, arch, musl, None, {"musl_source": source, **_took("musl", began)})


def _verify_musl(root: Path, arch: str, musl: str) -> None:
    """The loader says it is musl *musl*, and libc.so exports what compiler_rt would have hidden."""
    from ..arch import get_arch
    from ..libc import musl_version_from_loader_bytes

    a = get_arch(arch)
    data = (root / "lib" / a.loader_name).read_bytes()
    found = musl_version_from_loader_bytes(data)
    if not found or str(found[1]) != musl:
        raise KitError(f"{arch}: the built loader is not musl {musl} (it says {found[1] if found else 'nothing'})")
    exported = dynamic_exports(root / "lib" / a.loader_name)
    for name in ("memcpy", "memset", "fmod", "environ"):
        if name not in exported:
            raise KitError(f"{arch}: musl's libc.so does not export {name}")


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


def build_kit(
    arch: str,
    musl: str,
    python: str | None = None,
    *,
    musl_source: Path | None = None,
    cpython_source: Path | None = None,
    jobs: int = 2,
    progress: Progress = _stderr,
) -> Kit:
    """Build the kit (arch, musl, python) and what it needs, unless present; return it."""
    from ..arch import get_arch

    get_arch(arch)
    if not re.fullmatch(r"1\.[0-9]+\.[0-9]+", musl):
        raise KitError(f"--musl {musl!r}: give a musl release such as 1.2.3 or {NEWEST_MUSL}")
    if python is not None and python not in CPYTHON_SOURCES:
        raise KitError(f"--python {python}: kits have CPython {', '.join(CPYTHON_SOURCES)}")
    if cpython_source is not None and python is None:
        raise KitError("--cpython-source goes with --python X.Y")
    if musl_source is not None:
        check_source_tarball(musl_source, "musl", musl)
    if cpython_source is not None and python is not None:
        check_source_tarball(cpython_source, "cpython", python)
    # a kit already built from another source is not silently kept as if built from this one
    if musl_source is not None:
        _refuse_other_source(kits_dir() / kit_name(arch, musl, None), "musl_source", musl_source)
    if cpython_source is not None and python is not None:
        _refuse_other_source(kits_dir() / kit_name(arch, musl, python), "cpython_source", cpython_source)
    steps = _Steps(progress, _plan(arch, musl, python, musl_source))
    musl_kit = build_musl_kit(arch, musl, musl_source=musl_source, jobs=jobs, steps=steps)
    if python is None:
        return musl_kit
    return build_python_kit(musl_kit, python, cpython_source=cpython_source, jobs=jobs, steps=steps)


def _refuse_other_source(directory: Path, key: str, given: Path) -> None:
    """:class:`KitError` when the kit in *directory* is built, but not from the tarball *given*
    (its ``kit.json`` names the source it was built from under *key*)."""
    if not _current(directory):
        return
    recorded = _meta(read_kit(directory), key)
    if recorded != given.name:
        raise KitError(
            f"kit {directory.name} is already built from {recorded or 'another source'}, not {given.name}: "
            f"remove {directory} to build it from {given}"
        )


#: what identifies a source tree: (file whose text names the version, pattern of the version)
_LANDMARKS = {
    "musl": ("VERSION", re.compile(r"^([0-9][^\s]*)")),
    "cpython": ("Include/patchlevel.h", re.compile(r'#define PY_VERSION\s+"([^"]+)"', re.M)),
}


def check_source_tarball(path: Path, what: str, version: str) -> str:
    """The version of the *what* (``musl`` or ``cpython``) source tree in tarball *path*, checked
    against *version* (musl: equal; CPython: same minor) before anything is built or written;
    :class:`KitError` naming the file otherwise."""
    import tarfile

    label = {"musl": "musl", "cpython": "CPython"}[what]
    if not path.is_file():
        raise KitError(f"{path}: no such source tarball")
    landmark, pattern = _LANDMARKS[what]
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                parts = member.name.split("/", 1)
                if len(parts) == 2 and parts[1] == landmark and member.isfile():
                    f = tar.extractfile(member)
                    text = f.read(65536).decode("utf-8", "replace") if f else ""
                    break
            else:
                raise KitError(f"{path}: not {label}'s source (no {landmark} in it)")
    except tarfile.ReadError:
        raise KitError(f"{path}: not a tarball (tar, gzip, bzip2 or xz)") from None
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:
        raise KitError(f"{path}: not a readable source tarball ({' '.join(str(e).split())})") from None
    m = pattern.search(text)
    found = m.group(1) if m else "an unknown version"
    ok = found == version if what == "musl" else found.startswith(version + ".") or found == version
    if not ok:
        raise KitError(f"{path}: {label} {found}'s source, not {label} {version}")
    return found


def _base_musl(arch: str, musl: str) -> str:
    """The musl a kit's CPython is built against: the oldest of the arch (Debian's 1.2.3 where
    Debian has it and *musl* is newer), so that it runs on every musl kit of the arch."""
    if arch in DEBIAN_ARCH and _version_key(DEBIAN_BINARY_MUSL) < _version_key(musl):
        return DEBIAN_BINARY_MUSL
    return musl


def _plan(arch: str, musl: str, python: str | None, musl_source: Path | None) -> list[str]:
    """The kinds of step building this kit still needs, for the estimate."""
    plan = []
    if not _current(kits_dir() / kit_name(arch, musl, None)):
        plan.append("musl-deb" if _musl_from_debian_packages(arch, musl, musl_source) else "musl-src")
    if python is None or _current(kits_dir() / kit_name(arch, musl, python)):
        return plan
    base = _base_musl(arch, musl)
    if base != musl and not _current(kits_dir() / kit_name(arch, base, None)):
        plan.append("musl-deb")
    if not _current(_cpython_tree_dir(arch, python, base)):
        with contextlib.suppress(KitError):
            find_build_python(python)
            return [*plan, "cpython"]
        plan += ["build-python", "cpython"]
    return plan


def build_python_kit(
    musl_kit: Kit,
    python: str,
    *,
    cpython_source: Path | None = None,
    jobs: int = 2,
    steps: _Steps,
) -> Kit:
    """The kit ``<arch>-musl<ver>-py<X.Y>``: *musl_kit*'s root with a CPython built against the
    oldest musl kit of the arch (Debian's 1.2.3 where it exists), so it runs on both."""
    name = kit_name(musl_kit.arch, musl_kit.musl, python)
    directory = kits_dir() / name
    if _current(directory):
        return read_kit(directory)
    with _locked(name):
        if not _current(directory):
            _build_python_kit(musl_kit, python, directory, cpython_source, jobs, steps)
    return read_kit(directory)


def _build_python_kit(
    musl_kit: Kit, python: str, directory: Path, cpython_source: Path | None, jobs: int, steps: _Steps
) -> None:
    base = musl_kit
    if _base_musl(musl_kit.arch, musl_kit.musl) != musl_kit.musl:
        base = build_musl_kit(musl_kit.arch, _base_musl(musl_kit.arch, musl_kit.musl), jobs=jobs, steps=steps)
    tree = build_cpython_tree(base, python, cpython_source=cpython_source, jobs=jobs, steps=steps)
    with _staged(directory) as tmp:
        (tmp / "root").mkdir(parents=True)
        # hard links: the kits of one arch share one copy of musl's headers and of CPython
        _run(["cp", "-al", f"{musl_kit.root}/.", str(tmp / "root")])
        _run(["cp", "-al", f"{tree}/.", str(tmp / "root")])
        meta = json.loads((tree / ".." / "tree.json").read_text())
        _write_kit(tmp, musl_kit.arch, musl_kit.musl, python, {**meta, "musl_source": _meta(musl_kit, "musl_source")})
    _smoke(read_kit(directory), tree.parent)


def _meta(kit: Kit, key: str) -> object:
    return json.loads((kit.directory / "kit.json").read_text()).get(key)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _smoke(kit: Kit, tree: Path) -> None:
    """The kit's CPython starts and imports what a typical extension's import needs; if not, the
    kit and its CPython *tree* go (a tree missing a module must not pass as built)."""
    code = (
        "import sys, zlib, ctypes, json, struct, math, sysconfig, importlib.machinery as m; "
        "print(sys.version_info[0], sys.version_info[1], m.EXTENSION_SUFFIXES[0])"
    )
    proc = subprocess.run([*kit.python_command(), "-c", code], capture_output=True, text=True, timeout=300)
    want = f"{kit.python.replace('.', ' ') if kit.python else ''} {kit.ext_suffix}"
    if proc.returncode != 0 or not proc.stdout.startswith(want):
        shutil.rmtree(kit.directory, ignore_errors=True)
        shutil.rmtree(tree, ignore_errors=True)
        raise KitError(
            f"{kit.name}: the built CPython does not work: {(proc.stderr.strip().splitlines() or [proc.stdout])[-1]}"
        )


#: where configure's checks cannot run the target's programs
CONFIG_SITE = "ac_cv_file__dev_ptmx=yes\nac_cv_file__dev_ptc=no\n"
#: what a slim kit leaves out of CPython's installation
SLIM_DROP = (
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "lib2to3/tests",
    "unittest/test",
    "ctypes/test",
    "distutils/tests",
)


def build_cpython_tree(
    base: Kit,
    python: str,
    *,
    cpython_source: Path | None = None,
    jobs: int = 2,
    steps: _Steps,
) -> Path:
    """CPython *python* cross-built for *base*'s arch against *base*'s musl, installed (stripped,
    without tests) into ``<kits>/cpython/<arch>-py<X.Y>-musl<ver>/usr``; returns that tree."""
    out = _cpython_tree_dir(base.arch, python, base.musl)
    if _current(out):
        return out / "tree"
    with _locked(f"cpython-{out.name}"):
        if not _current(out):
            _build_cpython_tree(base, python, out, cpython_source, jobs, steps)
    return out / "tree"


def _cpython_tree_dir(arch: str, python: str, musl: str) -> Path:
    return kits_dir() / "cpython" / f"{arch}-py{python}-musl{musl}"


def build_host_python(python: str, *, cpython_source: Path | None = None, jobs: int = 2, steps: _Steps) -> Path:
    """The host CPython *python* a cross build runs (``--with-build-python``): one already on
    this host (:func:`find_build_python`), else built from the same Debian source as the kits'
    (or *cpython_source*) with the host's C compiler into ``<kits>/build-python/X.Y``."""
    with contextlib.suppress(KitError):
        return find_build_python(python)
    with _locked(f"build-python-{python}"):
        with contextlib.suppress(KitError):
            return find_build_python(python)
        with steps.step("build-python", f"host CPython {python} to cross-build with"):
            _build_host_python(python, host_python_dir(python), cpython_source, jobs)
    return find_build_python(python)


def _build_host_python(python: str, out: Path, cpython_source: Path | None, jobs: int) -> None:
    began = time.monotonic()
    with _staged(out) as tmp:
        with _work_dir() as work:
            tarball = cpython_source or source_tarball(CPYTHON_SOURCES[python], python)
            src = work / "cpython"
            src.mkdir()
            _run(["tar", "-xf", str(tarball), "-C", str(src), "--strip-components=1"])
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "CONFIG_SITE")}
            log = work / "build-python.log"
            # prefix = its final place (sysconfig records it); installed with DESTDIR, then moved
            _run(
                ["./configure", f"--prefix={out}", "--without-ensurepip", "--disable-test-modules", "OPT=-O2 -g0"],
                cwd=src,
                env=env,
                log=log,
            )
            _run(["make", f"-j{jobs}"], cwd=src, env=env, log=log)
            stage = work / "stage"
            _run(["make", "install", f"DESTDIR={stage}", "COMPILEALL_OPTS=-j0"], cwd=src, env=env, log=log)
            installed = stage / str(out).lstrip("/")
            _slim(installed, python)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(installed), str(tmp))  # the build tree may be on another filesystem
            version = _cpython_version(src)
        (tmp / "build-python.json").write_text(
            json.dumps({"cpython_source": tarball.name, "cpython_version": version, **_took("build", began)})
        )
        executable = tmp / "bin" / f"python{python}"
        proc = subprocess.run(
            [str(executable), "-c", "import zlib, sys; print(sys.version.split()[0])"], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise KitError(
                f"the host CPython {python} built does not work: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
            )


def _build_cpython_tree(
    base: Kit, python: str, out: Path, cpython_source: Path | None, jobs: int, steps: _Steps
) -> None:
    build_python = build_host_python(python, cpython_source=cpython_source, jobs=jobs, steps=steps)
    with steps.step("cpython", f"CPython {python} for {base.arch} against musl {base.musl}"):
        _cross_build_cpython(base, python, out, cpython_source, jobs, build_python)


def _cross_build_cpython(
    base: Kit, python: str, out: Path, cpython_source: Path | None, jobs: int, build_python: Path
) -> None:
    began = time.monotonic()
    with _staged(out) as tmp:
        tmp.mkdir(parents=True)
        with _work_dir() as work:
            tarball = cpython_source or source_tarball(CPYTHON_SOURCES[python], python)
            deps = work / "deps"
            tools = _wrappers(work / "bin", base.arch, libc_file=base.zig_libc_file())
            stub = work / "bin" / "dpkg-architecture"  # setup.py would add the host's multiarch dirs
            stub.write_text("#!/bin/sh\nexit 1\n")
            stub.chmod(0o755)
            env = dict(os.environ, **tools, PATH=f"{work / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
            env.pop("PYTHONPATH", None)
            env.pop("PYTHONHOME", None)
            log = work / "cpython.log"
            _build_zlib(work, deps, env, log, jobs)
            _build_libffi(work, base.arch, deps, env, log, jobs)
            src = work / "cpython"
            src.mkdir()
            _run(["tar", "-xf", str(tarball), "-C", str(src), "--strip-components=1"])
            _patch_cpython(src)
            (work / "config.site").write_text(CONFIG_SITE)
            env["CONFIG_SITE"] = str(work / "config.site")
            _run(
                [
                    "./configure",
                    f"--host={GNU_HOSTS[base.arch]}",
                    f"--build={_build_triplet()}",
                    "--prefix=/usr",
                    f"--with-build-python={build_python}",
                    "--without-ensurepip",
                    "--disable-test-modules",
                    "--with-pkg-config=no",
                    "--enable-ipv6",
                    f"CC={tools['CC']}",
                    f"CXX={tools['CXX']}",
                    f"AR={tools['AR']}",
                    f"RANLIB={tools['RANLIB']}",
                    f"READELF={work / 'bin' / 'readelf'}",
                    "OPT=-DNDEBUG -O2 -fwrapv -g0",
                    "CFLAGS_NODIST=-Wno-error=date-time",
                    f"CPPFLAGS=-I{deps}/include",
                    f"LDFLAGS=-dynamic -L{deps}/lib",
                    "LDFLAGS_NODIST=-Wl,--strip-all",
                ],
                cwd=src,
                env=env,
                log=log,
            )
            _run(["make", f"-j{jobs}"], cwd=src, env=env, log=log)
            _no_failed_modules(log)
            stage = work / "stage"
            _run(["make", "install", f"DESTDIR={stage}", "COMPILEALL_OPTS=-j0"], cwd=src, env=env, log=log)
            _slim(stage / "usr", python)
            shutil.move(str(stage), str(tmp / "tree"))  # the build tree may be on another filesystem
            version = _cpython_version(src)
        (tmp / "tree.json").write_text(
            json.dumps(
                {
                    "cpython_source": tarball.name,
                    "cpython_version": version,
                    "built_against_musl": base.musl,
                    **_took("cpython_build", began),
                }
            )
        )
        (tmp / "kit.json").write_text(json.dumps({"recipe": RECIPE}))


def _no_failed_modules(log: Path) -> None:
    """CPython's build reports a module that compiled but would not link under "Failed to build
    these modules:" and carries on; a kit must not lack one (i686's _ctypes once did)."""
    lines = log.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith("Failed to build these modules:"):
            why = next((x.strip() for x in lines if x.startswith("ld.lld: error:")), "")
            raise KitError(
                f"CPython's build failed to build {' '.join(lines[i + 1].split())}" + (f": {why}" if why else "")
            )


def _build_triplet() -> str:
    import platform

    machine = platform.machine()
    return f"{machine}-pc-linux-gnu" if machine in ("x86_64", "i686") else f"{machine}-unknown-linux-gnu"


def _cpython_version(src: Path) -> str:
    text = (src / "Include" / "patchlevel.h").read_text()
    m = re.search(r'#define PY_VERSION\s+"([^"]+)"', text)
    return m.group(1) if m else "unknown"


def _patch_cpython(src: Path) -> None:
    """Make configure see musl when cross-compiling.

    3.11's configure turns the ``linux-gnu`` triplet into ``linux-musl`` only when the *build*
    machine is musl; ask the host instead. 3.12+ preprocess ``Misc/platform_triplet.c``, which
    recognises musl by ``__DEFINED_va_list`` from musl's ``<stdarg.h>``, but clang (zig) brings
    its own ``<stdarg.h>``: include ``<stdio.h>`` too, which pulls in musl's ``bits/alltypes.h``.
    """
    setup = src / "setup.py"  # 3.11: it would add the include dirs `cc -E -v` names, the host's
    if setup.exists():
        text = setup.read_text().replace("            self.add_cross_compiling_paths()", "            pass")
        setup.write_text(text)
    configure = src / "configure"
    text = configure.read_text()
    text = text.replace('  case "$build_os" in\n  linux-musl*)', '  case "$host_os" in\n  linux-musl*)')
    # 3.11 predates LoongArch: teach its triplet test the name 3.12 gives it.
    if "loongarch64-linux-gnu" not in text:
        riscv = "#  elif __riscv_xlen == 64\n        riscv64-linux-gnu\n#  else\n#   error unknown platform triplet\n#  endif\n"
        text = text.replace(
            riscv,
            riscv + "# elif defined(__loongarch__) && defined(__loongarch_lp64)\n        loongarch64-linux-gnu\n",
            1,
        )
    configure.write_text(text)
    triplet = src / "Misc" / "platform_triplet.c"
    if triplet.exists():
        t = triplet.read_text()
        if not re.search(r"^#\s*include <stdio\.h>", t, flags=re.M):
            # 3.12: "#include <stdarg.h>", 3.13: "#  include <stdarg.h>"
            t, n = re.subn(r"^(#\s*)include <stdarg\.h>$", r"\g<0>\n\1include <stdio.h>", t, count=1, flags=re.M)
            if n != 1:
                raise KitError(
                    f"{triplet}: no <stdarg.h> include to add <stdio.h> beside (a CPython this recipe does not know)"
                )
            triplet.write_text(t)


def _slim(usr: Path, python: str) -> None:
    lib = usr / "lib" / f"python{python}"
    for sub in SLIM_DROP:
        shutil.rmtree(lib / sub, ignore_errors=True)
    for static in lib.glob("config-*/libpython*.a"):
        static.unlink()
    shutil.rmtree(usr / "share", ignore_errors=True)
    for pyc in lib.rglob("*.opt-[12].pyc"):
        pyc.unlink()


def _build_zlib(work: Path, deps: Path, env: dict[str, str], log: Path, jobs: int) -> None:
    src = work / "zlib"
    src.mkdir()
    _run(["tar", "-xf", str(source_tarball("zlib", "1.2.13")), "-C", str(src), "--strip-components=1"])
    zenv = dict(env, CFLAGS="-O2 -fPIC -g0", LDFLAGS="-dynamic")
    _run(["./configure", "--static", f"--prefix={deps}"], cwd=src, env=zenv, log=log)
    _run(["make", f"-j{jobs}", "libz.a"], cwd=src, env=zenv, log=log)
    (deps / "include").mkdir(parents=True, exist_ok=True)
    (deps / "lib").mkdir(parents=True, exist_ok=True)
    for h in ("zlib.h", "zconf.h"):
        shutil.copy2(src / h, deps / "include" / h)
    shutil.copy2(src / "libz.a", deps / "lib" / "libz.a")


def _build_libffi(work: Path, arch: str, deps: Path, env: dict[str, str], log: Path, jobs: int) -> None:
    src = work / "libffi"
    src.mkdir()
    _run(["tar", "-xf", str(source_tarball("libffi", "3.4.4")), "-C", str(src), "--strip-components=1"])
    fenv = dict(env, CFLAGS="-O2 -fPIC -g0", LDFLAGS="-dynamic")
    _run(
        [
            "./configure",
            f"--host={GNU_HOSTS[arch]}",
            f"--build={_build_triplet()}",
            f"--prefix={deps}",
            "--disable-shared",
            "--enable-static",
            "--with-pic",
            "--disable-docs",
            "--disable-multi-os-directory",
            "--disable-exec-static-tramp",
            # its test runs `cc -Werror -S`, which zig fails ("argument unused: -c"); without
            # hidden visibility i386's sysv.S calls a preemptible pc thunk, which a shared
            # _ctypes cannot link ("R_386_PC32 cannot be used against __x86.get_pc_thunk.bx")
            "libffi_cv_hidden_visibility_attribute=yes",
        ],
        cwd=src,
        env=fenv,
        log=log,
    )
    _run(["make", f"-j{jobs}"], cwd=src, env=fenv, log=log)
    _run(["make", "install"], cwd=src, env=fenv, log=log)
