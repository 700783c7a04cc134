"""The Rust toolchain of a musl target: a compiler, cargo, and the target's standard library.

``muslwheel build`` builds maturin and setuptools-rust projects with it. Three paths, tried in
this order, and the one taken is said in one line (:attr:`RustSetup.how`):

1. **installed**: the ``rustc`` on ``PATH`` (or ``$RUSTC``) has the target's std
   (``<sysroot>/lib/rustlib/<triple>/lib``, what ``rustup target add`` installs): used as is.
2. **built from its source**: that ``rustc`` has no std for the target but its source
   (``<sysroot>/lib/rustlib/src/rust/library``, rustup's ``rust-src``): the std is built once
   with ``cargo -Zbuild-std=std,panic_abort,panic_unwind`` (so ``panic=unwind``, PyO3's default,
   and ``panic=abort`` both link) and kept as a sysroot in the cache.
3. **Debian's**: no ``rustc`` with either (this machine's rustup has no ``rust-src``; no std
   exists at all for Tier 3 targets such as ``s390x-unknown-linux-musl``): Debian's
   ``rustc-web``, ``cargo-web`` and ``rust-web-src`` (:data:`DEBIAN_PACKAGES`, bookworm-security,
   with the libraries they need that bookworm does not install), downloaded as kits download
   Debian's files (:func:`muslwheel.debian.debian_binaries`: URI, size and SHA256 from
   apt's signed index; kept in the download cache), unpacked with ``dpkg-deb -x`` into
   ``<cache>/rust/debian-<version>`` (nothing is installed system-wide; ``patchelf`` points
   the programs at their own libraries), then path 2 with that compiler.

The std is built offline from the crates the source vendors (``library/vendor``) into
``<cache>/rust/std/<rustc version>-<commit>/<triple>``: per target and toolchain version,
under a lock, staged then renamed (:mod:`muslwheel.cache`). A crate build gets it through
``--sysroot`` given by a ``rustc`` wrapper only to compilations for the target (build scripts
and proc macros use the compiler's own host std), so a front end's own ``RUSTFLAGS``
(setuptools-rust sets one for musl) cannot drop it.

:func:`rust_environment` is what cargo, maturin and setuptools-rust need for a target: the
target (``CARGO_BUILD_TARGET``), zig as linker (:func:`muslwheel.zig.write_rust_linker`,
cargo-zigbuild's argument rules), ``-C target-feature=-crt-static`` (an extension is a
``cdylib`` loaded by a dynamic musl CPython), the target CPython's config for PyO3
(``PYO3_CROSS_LIB_DIR``, ``PYO3_CROSS_PYTHON_VERSION``), ``CARGO_HOME`` in the cache, the
target dir in the work directory, and ``--remap-path-prefix`` so no build path reaches a
binary (with ``SOURCE_DATE_EPOCH`` from the cross environment, two builds are identical; the
same paths are mapped out of maturin's SBOM afterwards, :func:`normalise_sboms`).
Offline, each failure is one line: no Rust toolchain, a std that cannot be built, a crate
cargo could not fetch (:func:`cargo_failure`).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..arch import Arch, get_arch
from ..cache import cache_dir, locked, staged
from ..cores import usable_cores
from ..versions import CPython
from ..zig import BUILD_PATH, write_rust_linker
from .target import BuildError, TargetUnavailable

#: Debian's Rust for path 3: the compiler, its libraries, cargo and the std's source, and what
#: they need that a bookworm system does not have (``apt-cache depends`` of the three, checked
#: against bookworm's base: libllvm22 comes with the compiler from bookworm-security; cargo's
#: libgit2 wants http-parser and mbedtls).
DEBIAN_PACKAGES = (
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "libstd-rust-web-1.96",
    "libstd-rust-web-dev",
    "libllvm22",
    "libgit2-1.5",
    "libhttp-parser2.9",
    "libmbedtls14",
    "libmbedcrypto7",
    "libmbedx509-1",
)
DEBIAN_RUST = "1.96.0"
#: where crate sources and downloads of every Rust build go (shared; cargo locks it itself)
CARGO_HOME = "cargo-home"


class RustError(TargetUnavailable):
    """No Rust toolchain for a target, or a std that cannot be built."""


@dataclass(frozen=True)
class Rustc:
    """One Rust compiler and its cargo."""

    rustc: Path
    cargo: Path
    release: str  #: ``1.96.0``
    commit: str  #: the compiler's commit hash (``unknown`` if it does not say)
    sysroot: Path

    @property
    def library(self) -> Path:
        """The std's source, as rustup's ``rust-src`` and Debian's ``rust-web-src`` lay it out."""
        return self.sysroot / "lib" / "rustlib" / "src" / "rust" / "library"

    def has_std(self, triple: str) -> bool:
        return (self.sysroot / "lib" / "rustlib" / triple / "lib").is_dir()

    def has_source(self) -> bool:
        return (self.library / "std" / "Cargo.toml").is_file() and (self.library / "Cargo.lock").is_file()


@dataclass(frozen=True)
class RustSetup:
    """The toolchain of one target: the compiler, the std's sysroot (None: its own), and why."""

    rustc: Rustc
    triple: str
    sysroot: Path | None
    how: str  #: one line: which path was taken and why


def _probe(rustc: Path, cargo: Path | None) -> Rustc | None:
    try:
        vv = subprocess.run([str(rustc), "-vV"], capture_output=True, text=True, timeout=120)
        root = subprocess.run([str(rustc), "--print", "sysroot"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if vv.returncode != 0 or root.returncode != 0:
        return None
    release = re.search(r"^release: (\S+)$", vv.stdout, re.M)
    commit = re.search(r"^commit-hash: (\S+)$", vv.stdout, re.M)
    cargo = cargo or rustc.with_name("cargo")
    if release is None or not cargo.exists():
        return None
    return Rustc(rustc, cargo, release.group(1), commit.group(1) if commit else "unknown", Path(root.stdout.strip()))


def path_rustc() -> Rustc | None:
    """The ``rustc`` a user would run (``$RUSTC``, else ``rustc`` on ``PATH``), with its cargo."""
    given = os.environ.get("RUSTC") or shutil.which("rustc")
    if not given:
        return None
    cargo = os.environ.get("CARGO") or shutil.which("cargo")
    return _probe(Path(given), Path(cargo) if cargo else None)


def rust_cache() -> Path:
    return cache_dir() / "rust"


def debian_rustc(say: list[str] | None = None) -> Rustc:
    """Debian's Rust :data:`DEBIAN_RUST` in the cache, downloaded and unpacked if missing."""
    from ..debian import SourceError, debian_binaries

    prefix = rust_cache() / f"debian-{DEBIAN_RUST}"
    with locked(prefix.with_name(prefix.name + ".lock")):
        if not (prefix / ".complete").exists():
            try:
                debs = debian_binaries(DEBIAN_PACKAGES)
            except SourceError as exc:
                raise RustError(f"no Rust toolchain: Debian's Rust {DEBIAN_RUST} could not be had ({exc})") from None
            with staged(prefix) as tmp:
                tmp.mkdir(parents=True)
                for deb in debs:
                    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True, capture_output=True)
                _trim_and_relink(tmp)
                (tmp / ".complete").write_text("\n".join(d.name for d in debs) + "\n")
            if say is not None:
                say.append(f"unpacked Debian's Rust {DEBIAN_RUST} into {prefix}")
    found = _probe(prefix / "usr" / "bin" / "rustc", prefix / "usr" / "bin" / "cargo")
    if found is None:
        raise RustError(f"no Rust toolchain: Debian's rustc in {prefix} does not run here")
    return found


def _trim_and_relink(prefix: Path) -> None:
    """Drop what a build never reads (the compiler's own source, docs) and point the programs
    and libraries at the prefix's library directory (``$ORIGIN``-relative RUNPATH)."""
    from ..repair import patchelf_command

    for src in (prefix / "usr" / "src").glob("rustc-*"):
        for part in ("compiler", "src", "tests"):
            shutil.rmtree(src / part, ignore_errors=True)
    shutil.rmtree(prefix / "usr" / "share" / "doc", ignore_errors=True)
    libdirs = [d for d in (prefix / "usr" / "lib").glob("*-linux-*") if d.is_dir()]
    if len(libdirs) != 1:
        raise RustError(f"Debian's Rust in {prefix}: expected one multiarch library directory, found {len(libdirs)}")
    libdir = libdirs[0]
    patchelf = patchelf_command()
    for exe in ("rustc", "cargo", "rustdoc"):
        path = prefix / "usr" / "bin" / exe
        if path.exists():
            rel = os.path.relpath(libdir, path.parent)
            subprocess.run([*patchelf, "--set-rpath", f"$ORIGIN/{rel}", str(path)], check=True, capture_output=True)
    for lib in libdir.glob("*.so*"):
        if lib.is_file() and not lib.is_symlink():
            subprocess.run([*patchelf, "--set-rpath", "$ORIGIN", str(lib)], check=True, capture_output=True)


def std_dir(rustc: Rustc, triple: str) -> Path:
    return rust_cache() / "std" / f"{rustc.release}-{rustc.commit[:12]}-r{STD_RECIPE}" / triple


#: the crate whose ``-Zbuild-std`` build makes the sysroot; ``panic_abort`` must be compiled
#: with ``panic=abort`` (as the std's own workspace says, which ``-Zbuild-std`` does not read),
#: or a ``panic = "abort"`` crate (orjson) cannot link against it
_STD_MANIFEST = """cargo-features = ["profile-rustflags"]

[package]
name = "muslwheel-std"
version = "0.0.0"
edition = "2021"

[lib]
path = "lib.rs"

[profile.release.package.panic_abort]
rustflags = ["-Cpanic=abort"]
"""
#: bumped when the std's recipe changes, so a sysroot of an older recipe is rebuilt
STD_RECIPE = 3


def build_std(rustc: Rustc, triple: str, log: Path | None = None) -> Path:
    """A sysroot holding *triple*'s std built from *rustc*'s own source (cached)."""
    final = std_dir(rustc, triple)
    with locked(final.with_name(final.name + ".lock")):
        if (final / ".complete").exists():
            return final
        if not rustc.has_source():
            raise RustError(f"the Rust std for {triple} cannot be built: rustc {rustc.release} has no source")
        with staged(final) as tmp, tempfile.TemporaryDirectory(prefix="std-", dir=rust_cache()) as work_s:
            work = Path(work_s)
            (work / "crate").mkdir()
            (work / "crate" / "Cargo.toml").write_text(_STD_MANIFEST)
            (work / "crate" / "lib.rs").write_text("#![no_std]\n")
            vendor = rustc.library / "vendor"
            cmd = [
                str(rustc.cargo),
                "build",
                "--offline",
                "--release",
                "-j",
                str(min(2, usable_cores())),
                "-Zbuild-std=std,panic_abort,panic_unwind",
                "--target",
                triple,
                "--config",
                "source.crates-io.replace-with='muslwheel-vendored'",
                "--config",
                f"source.muslwheel-vendored.directory={str(vendor)!r}",
            ]
            env = {
                **os.environ,
                "RUSTC": str(rustc.rustc),
                "RUSTC_BOOTSTRAP": "1",
                "CARGO_HOME": str(rust_cache() / CARGO_HOME),
                "CARGO_TARGET_DIR": str(work / "target"),
                # the std's crates are unstable to the crates that use the sysroot, as rustc's own
                # are: `extern crate libc` finds the registry's libc, not the std's
                # and carry LLVM bitcode, as rustup's do, for crates built with `lto` (orjson)
                "CARGO_ENCODED_RUSTFLAGS": "\x1f".join(
                    [
                        "-Zforce-unstable-if-unmarked",
                        "-Cembed-bitcode=yes",
                        f"--remap-path-prefix={rustc.library}=/rustc/library",
                    ]
                ),
            }
            for key in ("RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_BUILD_RUSTFLAGS"):
                env.pop(key, None)
            proc = subprocess.run(
                cmd, cwd=work / "crate", env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
            )
            if log is not None:
                with open(log, "a") as f:
                    f.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
            if proc.returncode != 0:
                lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error")] or proc.stderr.splitlines()
                why = lines[0] if lines else f"exit {proc.returncode}"
                raise RustError(f"the Rust std for {triple} cannot be built with rustc {rustc.release}: {why}")
            deps = work / "target" / triple / "release" / "deps"
            lib = tmp / "lib" / "rustlib" / triple / "lib"
            lib.mkdir(parents=True)
            for rlib in deps.glob("*.rlib"):
                if not rlib.name.startswith("libmuslwheel_std-"):
                    shutil.copy2(rlib, lib / rlib.name)
            (tmp / ".complete").write_text(f"rustc {rustc.release} {rustc.commit}\n")
    return final


def rust_setup(arch: Arch, log: Path | None = None) -> RustSetup:
    """The Rust toolchain for *arch*'s musl target, by the three paths of the module."""
    triple = arch.rust_target
    found = path_rustc()
    if found is not None and found.has_std(triple):
        return RustSetup(
            found, triple, None, f"rust: rustc {found.release} ({found.rustc}): its installed std for {triple}"
        )
    if found is not None and found.has_source():
        sysroot = build_std(found, triple, log)
        return RustSetup(
            found, triple, sysroot, f"rust: rustc {found.release} has no std for {triple}: built from its rust-src"
        )
    why = (
        f"rustc {found.release} ({found.rustc}) has no std for {triple} and no rust-src"
        if found is not None
        else "no rustc on PATH"
    )
    debian = debian_rustc()
    sysroot = build_std(debian, triple, log)
    return RustSetup(
        debian, triple, sysroot, f"rust: {why}: Debian's rustc {debian.release}, std for {triple} built from its source"
    )


def _env_name(triple: str) -> str:
    return triple.upper().replace("-", "_")


def rust_environment(
    setup: RustSetup,
    *,
    cc: Path,
    cxx: Path,
    ar: Path,
    work: Path,
    sysconfig_dir: Path,
    python: CPython,
    base: dict[str, str],
) -> dict[str, str]:
    """*base* plus what cargo and its Python front ends need to build for the setup's target."""
    triple = setup.triple
    rustc = setup.rustc
    linker = write_rust_linker(cc, triple)
    cxx_filtered = write_rust_linker(cxx, triple, "rust-c++")
    cargo_home = rust_cache() / CARGO_HOME
    flags = ["-C", "target-feature=-crt-static"]
    if setup.sysroot is not None:
        flags.append(f"--sysroot={setup.sysroot}")
    flags += [
        f"--remap-path-prefix={work}={BUILD_PATH}",
        f"--remap-path-prefix={cargo_home}=/cargo",
        f"--remap-path-prefix={rustc.library}=/rustc/library",
    ]
    # the target's flags go on rustc's command line through a wrapper, not in rustflags: a
    # front end's own RUSTFLAGS (setuptools-rust sets one for musl) replaces every rustflags
    # setting cargo has, and the std's sysroot must not be lost with them
    bindir = work / "rust-bin"
    bindir.mkdir(parents=True, exist_ok=True)
    wrapper = bindir / "rustc"
    target_flags = " ".join(shlex.quote(f) for f in flags)
    real = shlex.quote(str(rustc.rustc))
    wrapper.write_text(
        "#!/bin/sh\n"
        "# rustc, with the musl target's flags when it compiles for that target (muslwheel build)\n"
        f'case " $* " in *" --target {triple} "*|*" --target={triple} "*) exec {real} {target_flags} "$@" ;; esac\n'
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    env = dict(base)
    name = _env_name(triple)
    low = triple.replace("-", "_")
    env.update(
        {
            "PATH": os.pathsep.join([str(bindir), str(rustc.cargo.parent), base.get("PATH", os.defpath)]),
            "RUSTC": str(wrapper),
            "CARGO": str(rustc.cargo),
            "CARGO_HOME": str(cargo_home),
            "CARGO_TARGET_DIR": str(work / "cargo-target"),
            "CARGO_BUILD_TARGET": triple,
            f"CARGO_TARGET_{name}_LINKER": str(linker),
            f"CC_{low}": str(linker),
            f"CXX_{low}": str(cxx_filtered),
            f"AR_{low}": str(ar),
            "PYO3_CROSS_LIB_DIR": str(sysconfig_dir),
            "PYO3_CROSS_PYTHON_VERSION": str(python),
            "PYO3_CROSS_PYTHON_IMPLEMENTATION": "CPython",
        }
    )
    # build scripts and proc macros run here: the host's compilers, not the target's
    for var, prog in (("HOST_CC", "cc"), ("HOST_CXX", "c++")):
        found = shutil.which(prog)
        if found and var not in base:
            env[var] = found
    return env


def normalise_sboms(wheel: Path, work: Path) -> list[str]:
    """Map the build's paths out of the wheel's SBOMs (PEP 770 ``.dist-info/sboms/``), in place.

    maturin writes a CycloneDX SBOM of the crate graph whose ``bom-ref`` of the project is
    ``path+file://<its source directory>``: the target's random work directory, so two builds
    of one sdist differed in that file (and RECORD). It becomes :data:`~muslwheel.zig.BUILD_PATH`
    and ``CARGO_HOME`` ``/cargo``, as ``--remap-path-prefix`` maps them in the binary; RECORD's
    lines of the changed files are rewritten. Returns the changed members."""
    import hashlib
    import zipfile

    from ..wheelfile import record_digest

    pairs = [(str(work).encode(), BUILD_PATH.encode()), (str(rust_cache() / CARGO_HOME).encode(), b"/cargo")]
    with zipfile.ZipFile(wheel) as z:
        infos = z.infolist()
        data = {i.filename: z.read(i) for i in infos}
    changed = []
    for name, blob in data.items():
        if "/sboms/" in name and name.split("/", 1)[0].endswith(".dist-info"):
            new = blob
            for old, replacement in pairs:
                new = new.replace(old, replacement)
            if new != blob:
                data[name] = new
                changed.append(name)
    if not changed:
        return []
    record = next((n for n in data if n.endswith(".dist-info/RECORD") and n.count("/") == 1), None)
    if record is not None:
        lines = []
        for line in data[record].decode().splitlines():
            path = line.rsplit(",", 2)[0]
            if path in changed:
                line = f"{path},{record_digest(hashlib.sha256(data[path]).digest())},{len(data[path])}"
            lines.append(line)
        data[record] = ("\n".join(lines) + "\n").encode()
    partial = wheel.with_name(wheel.name + ".partial")
    with zipfile.ZipFile(partial, "w") as out:
        for info in infos:
            out.writestr(info, data[info.filename], compress_type=info.compress_type)
    os.replace(partial, wheel)
    return changed


_CRATE_FAILURES = (
    re.compile(r"failed to get `([\w-]+)` as a dependency"),
    re.compile(r"failed to download `([\w-]+)`"),
    re.compile(r"failed to load source for dependency `([\w-]+)`"),
    re.compile(r"no matching package named `([\w-]+)` found"),
    re.compile(r"failed to select a version for the requirement `([\w-]+)"),
)


def cargo_failure(log_text: str) -> str | None:
    """The crate cargo could not fetch, from a failed build's log, as one line; None if the
    failure was something else."""
    for pattern in _CRATE_FAILURES:
        m = pattern.search(log_text)
        if m:
            offline = "offline" in log_text or "spurious network error" in log_text or "Couldn't resolve" in log_text
            where = " (no network and not vendored in the sdist)" if offline else ""
            return f"cargo could not fetch the crate {m.group(1)}{where}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m muslwheel.builder.rust ARCH…``: prepare the Rust toolchain of each arch."""
    args = list(sys.argv[1:] if argv is None else argv)
    status = 0
    for name in args:
        try:
            print(rust_setup(get_arch(name)).how)
        except BuildError as exc:
            print(f"muslwheel: error: {exc}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
