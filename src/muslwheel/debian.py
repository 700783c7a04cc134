"""Debian's archive: source and binary packages, verified against its signed indexes, judged by the
files they need, not by apt's exit status.

Kits and the test world are built from Debian's source packages (musl, zlib, libffi, CPython).
``apt-get source`` is the wrong judge of such a download: it exits 100 when the security suite's
index names a ``.dsc`` that is not on the mirror yet, although the upstream tarball, the only file
a build needs, arrived. So this module asks apt for two things only, each with its own private
configuration under the download cache (the system's source lists are never touched, so no list
is ever configured twice):

* the signed ``Sources`` indexes of ``bullseye`` (musl 1.2.2's upstream tarball, the oldest 1.2
  release Debian serves), ``bookworm``, ``bookworm-updates``, ``bookworm-security``, ``trixie``
  and ``sid`` (``apt-get update``, judged by which index files exist afterwards), and
* for one version, the URI, size and SHA256 of each of its files
  (``apt-get source --print-uris``), a line per file, as apt prints it::

    'http://deb.debian.org/debian/pool/main/m/musl/musl_1.2.6.orig.tar.gz' musl_1.2.6.orig.tar.gz 1082499 SHA256:d585…

It then downloads the tarballs itself, verifies size and SHA256, and keeps them in the download
cache (``MUSLWHEEL_DOWNLOADS``, default ``~/.cache/muslwheel-downloads``), which outlives the build
cache: CI empties the build cache on every run and keeps this one. Candidate versions are tried
newest first; the first whose files all arrive wins, and its version is recorded. A failure names
apt's own message or the HTTP error of each version tried, on one line.

Binary packages (:func:`debian_binaries`: Debian's Rust for :mod:`muslwheel.builder.rust`, a newer
qemu-user for :mod:`muslwheel.qemu`) come the same way: apt names each ``.deb``'s URI, size and
SHA256 from a signed ``Packages`` index (the system's, or a private ``deb`` configuration of this
host's architecture for a suite the system does not list, trixie), and this module downloads and
verifies it into the download cache.

Command line, for the shell scripts (prints the upstream tarball's path)::

    python -m muslwheel.debian python3.11 --version-prefix 3.11 [--downloads DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .cache import downloads_dir, file_sha256
from .errors import MuslwheelError

#: The suites of the deb-src entries the private apt configuration holds, per archive.
#: bullseye for musl 1.2.2 (its ``musl_1.2.2.orig.tar.gz``); a package's newest version wins
#: wherever it is, so bullseye's older packages never replace bookworm's
SUITES = ("bullseye", "bookworm", "bookworm-updates", "trixie", "sid")
SECURITY_SUITES = ("bookworm-security",)
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def archives(
    suites: tuple[str, ...] = SUITES, security: tuple[str, ...] = SECURITY_SUITES
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(archive URI, suites): Debian's archive and its security archive, or a mirror of both
    (``MUSLWHEEL_DEBIAN_MIRROR=http://host/debian`` serves ``…/debian`` and ``…/debian-security``)."""
    mirror = os.environ.get("MUSLWHEEL_DEBIAN_MIRROR", DEFAULT_MIRROR).rstrip("/")
    return ((mirror, suites), (mirror + "-security", security))


#: The suites of the private ``deb`` configuration :func:`debian_binaries` reads when asked for
#: a suite the system's apt does not list (a bookworm host lists bookworm only): per suite, its
#: updates in the archive and its security suite.
BINARY_SUITES = {"trixie": (("trixie", "trixie-updates"), ("trixie-security",))}


KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
#: An index older than this is refreshed before it is used (the archive churns).
INDEX_MAX_AGE = 6 * 3600
USER_AGENT = "muslwheel (source download; https://peps.python.org/pep-0656/)"


class SourceError(MuslwheelError):
    """A source package could not be had; the message is one line with the real reason."""


@dataclass(frozen=True)
class SourceFile:
    uri: str
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class SourcePackage:
    package: str
    version: str  #: the Debian version whose files arrived
    orig: Path  #: the upstream tarball (``*.orig.tar.*``), or the whole tarball of a native package
    debian: Path | None  #: ``*.debian.tar.*`` (Debian's patches), None for a native package
    tried: tuple[str, ...] = ()  #: ``version: reason`` for each newer version that did not arrive


def default_downloads() -> Path:
    """The download cache: :func:`muslwheel.cache.downloads_dir`."""
    return downloads_dir()


# --- Debian version order (dpkg's algorithm, deb-version(7)) -----------------------------------


def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split(version: str) -> tuple[int, str, str]:
    epoch = 0
    if ":" in version:
        e, version = version.split(":", 1)
        epoch = int(e)
    upstream, _, revision = version.rpartition("-") if "-" in version else (version, "", "")
    return epoch, upstream, revision


def compare_versions(a: str, b: str) -> int:
    """Negative, zero or positive as Debian version *a* sorts before, with or after *b*."""
    ea, ua, ra = _split(a)
    eb, ub, rb = _split(b)
    if ea != eb:
        return ea - eb
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def upstream_version(version: str) -> str:
    """``1:1.3.dfsg+really1.3.1-1`` -> ``1.3.dfsg+really1.3.1``."""
    return _split(version)[1]


def matches_prefix(version: str, prefix: str | None) -> bool:
    """Whether the upstream part of *version* is *prefix* or starts with ``prefix.``/``prefix+``…
    (``3.11`` matches ``3.11.2-6`` but not ``3.110``)."""
    if prefix is None:
        return True
    up = upstream_version(version)
    return up == prefix or (up.startswith(prefix) and not up[len(prefix)].isdigit())


# --- apt, with a private configuration ------------------------------------------------------------


class _Apt:
    """apt with a private configuration under *root*: ``deb-src`` entries (source packages), or
    ``deb`` entries of this host's architecture only (binary packages, :func:`debian_binaries`)."""

    def __init__(self, root: Path, archives: Sequence[tuple[str, Sequence[str]]], kind: str = "deb-src") -> None:
        self.root = root
        self.archives = archives
        self.kind = kind
        self.index_part = "source_Sources" if kind == "deb-src" else f"binary-{_host_debian_arch()}_Packages"
        self.index_name = "Sources" if kind == "deb-src" else "Packages"
        self.lists = root / "lists"
        etc = root / "etc"
        for d in (
            self.lists / "partial",
            root / "cache" / "archives" / "partial",
            etc / "sources.list.d",
            etc / "preferences.d",
        ):
            d.mkdir(parents=True, exist_ok=True)
        (etc / "sources.list").write_text("")
        only = f"Architectures: {_host_debian_arch()}\n" if kind == "deb" else ""
        stanzas = [
            f"Types: {kind}\nURIs: {uri}\nSuites: {' '.join(suites)}\nComponents: main\n{only}Signed-By: {KEYRING}\n"
            for uri, suites in archives
        ]
        (etc / "sources.list.d" / "muslwheel.sources").write_text("\n".join(stanzas))
        self.options = [
            f"-oDir::Etc::SourceList={etc / 'sources.list'}",
            f"-oDir::Etc::SourceParts={etc / 'sources.list.d'}",
            f"-oDir::Etc::Preferences={etc / 'preferences'}",
            f"-oDir::Etc::PreferencesParts={etc / 'preferences.d'}",
            f"-oDir::State::Lists={self.lists}",
            f"-oDir::Cache={root / 'cache'}",
            "-oAPT::Get::List-Cleanup=0",
            "-oDebug::NoLocking=1",
            "-oAcquire::Languages=none",
        ]

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        if shutil.which(tool) is None:
            raise SourceError(f"{tool} not found: Debian sources need apt (or give a tarball instead)")
        return subprocess.run([tool, *self.options, *args], capture_output=True, text=True, check=False)

    def index_files(self) -> list[Path]:
        return [p for p in self.lists.glob(f"*_{self.index_part}*") if p.is_file()]

    def missing_suites(self) -> list[str]:
        have = {p.name for p in self.index_files()}
        missing = []
        for uri, suites in self.archives:
            host_path = re.sub(r"^\w+://", "", uri).rstrip("/").replace("/", "_")
            for suite in suites:
                if not any(n.startswith(f"{host_path}_dists_{suite}_main_{self.index_part}") for n in have):
                    missing.append(suite)
        return missing

    def update(self, max_age: float = INDEX_MAX_AGE) -> None:
        """Fetch the Sources indexes unless all are younger than *max_age*; judged by the files."""
        files = self.index_files()
        if files and not self.missing_suites() and time.time() - min(p.stat().st_mtime for p in files) < max_age:
            return
        proc = self.run("apt-get", "-q", "update")
        missing = self.missing_suites()
        if len(missing) == sum(len(s) for _, s in self.archives):
            raise SourceError(f"apt-get update fetched no {self.index_name} index: {_apt_message(proc)}")
        if missing:
            # The suites that did arrive can still serve; say what did not, once.
            print(
                f"muslwheel: no {self.index_name} index for {', '.join(missing)}: {_apt_message(proc)}",
                file=sys.stderr,
            )

    def versions(self, package: str) -> list[str]:
        proc = self.run("apt-cache", "showsrc", "--only-source", package)
        found = sorted(
            {m.group(1) for m in re.finditer(r"^Version: (\S+)$", proc.stdout, re.M)},
            key=_VersionKey,
            reverse=True,
        )
        return found

    def files(self, package: str, version: str) -> list[SourceFile]:
        proc = self.run("apt-get", "-qq", "source", "--print-uris", f"{package}={version}")
        out = []
        for m in re.finditer(r"^'([^']+)' (\S+) (\d+) SHA256:([0-9a-f]{64})$", proc.stdout, re.M):
            out.append(SourceFile(m.group(1), m.group(2), int(m.group(3)), m.group(4)))
        if not out:
            raise SourceError(f"apt-get source --print-uris {package}={version}: {_apt_message(proc)}")
        return out


def _host_debian_arch() -> str:
    """This host's Debian architecture (``amd64``): the binary packages a ``deb`` entry lists."""
    try:
        proc = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=False)
    except OSError:
        raise SourceError("dpkg not found: Debian's binary packages need apt and dpkg") from None
    arch = proc.stdout.strip()
    if proc.returncode != 0 or not arch:
        raise SourceError(f"dpkg --print-architecture: exit status {proc.returncode}")
    return arch


class _VersionKey:
    def __init__(self, v: str) -> None:
        self.v = v

    def __lt__(self, other: _VersionKey) -> bool:
        return compare_versions(self.v, other.v) < 0


def _apt_message(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln.strip() for ln in (proc.stderr + "\n" + proc.stdout).splitlines()]
    errors = [ln for ln in lines if ln.startswith(("E:", "Err:", "W:"))]
    chosen = errors or [ln for ln in lines if ln]
    text = " | ".join(chosen[:3]) or f"exit status {proc.returncode}, no message"
    return text[:600]


# --- downloads ----------------------------------------------------------------------------------

Fetcher = Callable[[str, Path], None]


def _urlopen_to(uri: str, dest: Path, timeout: float = 60.0) -> None:
    request = urllib.request.Request(uri, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)


def fetch_verified(f: SourceFile, files_dir: Path, fetch: Fetcher = _urlopen_to) -> Path:
    """*f* in *files_dir*, downloaded unless a copy with the right size and SHA256 is there.
    Raises SourceError with the HTTP error or the checksum mismatch."""
    files_dir.mkdir(parents=True, exist_ok=True)
    dest = files_dir / f.name
    if dest.is_file() and dest.stat().st_size == f.size and file_sha256(dest) == f.sha256:
        return dest
    partial = files_dir / f".{f.name}.{os.getpid()}.partial"
    try:
        fetch(f.uri, partial)
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{f.name}: HTTP {exc.code} {exc.reason} from {f.uri}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"{f.name}: {reason} ({f.uri})") from None
    try:
        size = partial.stat().st_size
        if size != f.size:
            raise SourceError(f"{f.name}: {size} bytes arrived, the index says {f.size} ({f.uri})")
        got = file_sha256(partial)
        if got != f.sha256:
            raise SourceError(f"{f.name}: SHA256 {got} does not match the index's {f.sha256} ({f.uri})")
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


def needed_files(files: Iterable[SourceFile]) -> tuple[SourceFile, SourceFile | None]:
    """The upstream tarball and Debian's tarball among a version's files (no .dsc, no signatures)."""
    tarballs = [f for f in files if re.search(r"\.tar\.(gz|xz|bz2|lzma|zst)$", f.name)]
    orig = [f for f in tarballs if ".orig.tar." in f.name and ".orig-" not in f.name]
    debian = [f for f in tarballs if ".debian.tar." in f.name]
    if orig:
        return orig[0], (debian[0] if debian else None)
    native = [f for f in tarballs if f not in debian]
    if native:
        return native[0], None
    raise SourceError(f"no source tarball among {', '.join(f.name for f in files)}")


def pick_version(
    package: str,
    candidates: Sequence[str],
    files_of: Callable[[str], list[SourceFile]],
    files_dir: Path,
    fetch: Fetcher = _urlopen_to,
    with_debian: bool = False,
) -> SourcePackage:
    """The first of *candidates* (newest first) whose needed tarballs arrive and verify: the
    upstream one, and Debian's own only *with_debian* (a build of upstream musl or CPython does
    not need it, and the archive sometimes lists one it no longer serves)."""
    tried: list[str] = []
    for version in candidates:
        try:
            orig_f, debian_f = needed_files(files_of(version))
            orig = fetch_verified(orig_f, files_dir, fetch)
            debian = fetch_verified(debian_f, files_dir, fetch) if debian_f and with_debian else None
        except SourceError as exc:
            tried.append(f"{version}: {exc}")
            continue
        return SourcePackage(package, version, orig, debian, tuple(tried))
    raise SourceError(f"no version of the Debian source {package} could be downloaded: " + "; ".join(tried))


def debian_source(
    package: str,
    *,
    version_prefix: str | None = None,
    downloads: Path | None = None,
    fetch: Fetcher = _urlopen_to,
    with_debian: bool = False,
) -> SourcePackage:
    """Download (once) the newest Debian source of *package* whose upstream version starts with
    *version_prefix*, from bullseye, bookworm, its updates and security suites, trixie or sid."""
    root = downloads or default_downloads()
    apt = _Apt(root / "apt", archives())
    apt.update()
    candidates = [v for v in apt.versions(package) if matches_prefix(v, version_prefix)]
    if not candidates:
        # The index may predate the version asked for: refresh once before giving up.
        apt.update(max_age=0)
        candidates = [v for v in apt.versions(package) if matches_prefix(v, version_prefix)]
    if not candidates:
        want = f" {version_prefix}" if version_prefix else ""
        raise SourceError(
            f"Debian has no source package {package}{want} in {', '.join(s for _, ss in archives() for s in ss)}"
        )
    return pick_version(package, candidates, lambda v: apt.files(package, v), root / "files", fetch, with_debian)


# --- binary packages ------------------------------------------------------------------------------

_PRINTED_DEB = re.compile(r"^'([^']+)' (\S+) ([0-9]+) SHA256:([0-9a-f]{64})$")


def debian_binaries(packages: Sequence[str], files_dir: Path | None = None, *, suite: str | None = None) -> list[Path]:
    """Debian's binary packages *packages* (``name``, ``name=version``, ``name:arch``), one
    ``.deb`` each, as a signed ``Packages`` index names them (URI, size, SHA256 from
    ``apt-get download --print-uris``), downloaded once and verified into *files_dir* (default
    ``<downloads>/debs``) by :func:`fetch_verified`. The index is the system's apt's, or, for a
    *suite* of :data:`BINARY_SUITES` (``trixie``, which a bookworm host does not list), a private
    ``deb`` configuration of this host's architecture under ``<downloads>/apt-<suite>``
    (the newest version in the suite, its updates and its security suite). A file already there
    with the index's size and SHA256 is not fetched again (so a warm cache works offline)."""
    import tempfile

    files_dir = files_dir or default_downloads() / "debs"
    if shutil.which("apt-get") is None:
        raise SourceError(f"apt-get not found: Debian's {', '.join(packages)} cannot be had here")
    cmd = ["apt-get", "download", "--print-uris", *packages]
    apt: _Apt | None = None
    if suite is not None:
        if suite not in BINARY_SUITES:
            raise SourceError(f"no private apt configuration for Debian's {suite} (known: {', '.join(BINARY_SUITES)})")
        apt = _Apt(default_downloads() / f"apt-{suite}", archives(*BINARY_SUITES[suite]), kind="deb")
        apt.update()
        cmd[1:1] = apt.options
    with tempfile.TemporaryDirectory() as empty:  # apt prints nothing for files already in cwd
        proc = subprocess.run(cmd, cwd=empty, capture_output=True, text=True)
    found = [m.groups() for m in map(_PRINTED_DEB.match, proc.stdout.splitlines()) if m]
    if proc.returncode != 0 or len(found) != len(packages):
        where = f" in {suite}" if suite else ""
        raise SourceError(f"apt names no .deb{where} for some of {', '.join(packages)}: {_apt_message(proc)}")
    return [fetch_verified(SourceFile(uri, name, int(size), sha), files_dir) for uri, name, size, sha in found]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m muslwheel.debian", description=__doc__.split("\n")[0])
    parser.add_argument("package")
    parser.add_argument("--version-prefix")
    parser.add_argument("--downloads", type=Path)
    parser.add_argument("--debian", action="store_true", help="also download Debian's tarball and print its path")
    args = parser.parse_args(argv)
    try:
        src = debian_source(
            args.package, version_prefix=args.version_prefix, downloads=args.downloads, with_debian=args.debian
        )
    except SourceError as exc:
        print(f"muslwheel: error: {exc}", file=sys.stderr)
        return 2
    for line in src.tried:
        print(f"muslwheel: skipped {args.package} {line}", file=sys.stderr)
    print(src.orig)
    if args.debian and src.debian:
        print(src.debian)
    return 0


if __name__ == "__main__":
    sys.exit(main())
