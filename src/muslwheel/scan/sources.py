"""Where scan finds wheels: a directory, a file of URLs, or a PEP 503/691 simple index.

A project page is asked for as PEP 691 JSON (``application/vnd.pypi.simple.v1+json``) with
HTML as the fallback; either way the result is a list of :class:`WheelRef`: URL, file name,
and the sha256 and size the index gives (PEP 691 ``hashes``, PEP 700 ``size``; a PEP 503
``#sha256=`` fragment). Wheels are then kept by platform (``musllinux`` by default), arch and
Python version; of an index, only each project's newest version unless asked for all, while a
source the user listed wheel by wheel (a directory, a file of URLs, wheel files) keeps every
version unless asked for the newest. Each wheel a filter leaves out is counted, by why, in a
:class:`LeftOut`.

A PEP 691 page also says when each file was uploaded (PEP 700 ``upload-time``): each release's
first upload, which PyPI's 14-day window for new files counts from (:mod:`muslwheel.scan.report`),
is collected per version, wheels and sdists alike, yanked ones too. PEP 503 HTML has no times.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_sdist_filename
from packaging.version import InvalidVersion, Version

from ..errors import MuslwheelError, TargetError
from ..tags import parse_python_version, tags_for_target
from ..wheelfile import WheelName, parse_wheel_name
from .http import Client

INDEX_PAGE_LIMIT = 64 << 20  #: bytes; a project page larger than this is refused
PEP691_JSON = "application/vnd.pypi.simple.v1+json"
_ACCEPT = f"{PEP691_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
PLATFORMS = ("musllinux", "manylinux", "linux", "any")


class SourceError(MuslwheelError):
    """A source that cannot be read at all (bad path, unusable index page)."""


@dataclass(frozen=True)
class WheelRef:
    """One wheel to scan: a URL (or an absolute path) and what the source says about it."""

    url: str
    filename: str
    project: str
    version: str
    sha256: str | None = None
    size: int | None = None

    @property
    def is_remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Filter:
    platform: str = "musllinux"  #: musllinux, manylinux, linux (either), or any
    arches: tuple[str, ...] = ()  #: empty: all
    python: tuple[int, int] | None = None  #: CPython X.Y that must be able to install the wheel
    all_versions: bool = False  #: every version, whatever the source (--all-versions)
    newest: bool = False  #: each project's newest version only, whatever the source (--newest)

    def __post_init__(self) -> None:
        if self.all_versions and self.newest:
            raise SourceError("--newest and --all-versions contradict each other: give one")

    def newest_only(self, index: bool) -> bool:
        """Whether a source keeps only each project's newest version: by default an index does
        (its pages list every release) and a source that lists wheels one by one does not."""
        return self.newest or (index and not self.all_versions)

    def rejects(self, name: WheelName) -> str | None:
        """Why this wheel is left out (a :class:`LeftOut` field), or None if it is kept."""
        platforms = name.platforms
        if self.platform == "musllinux":
            platforms = frozenset(p for p in platforms if p.startswith("musllinux_"))
        elif self.platform == "manylinux":
            platforms = frozenset(p for p in platforms if p.startswith("manylinux"))
        elif self.platform == "linux":
            platforms = frozenset(p for p in platforms if p.startswith(("musllinux_", "manylinux", "linux_")))
        if not platforms:
            return "platform"
        if self.arches and not any(p.endswith(tuple(f"_{a}" for a in self.arches)) for p in platforms):
            return "arch"
        if self.python is not None and not any(_python_accepts(t, self.python) for t in name.tags):
            return "python"
        return None

    def accepts(self, name: WheelName) -> bool:
        return self.rejects(name) is None


@dataclass
class LeftOut:
    """The wheels the sources listed that were not scanned, by why; each counted once, by the
    first filter that left it out (platform, then arch, then Python, then version)."""

    platform: int = 0  #: no platform tag of the --platform kind
    arch: int = 0  #: not for an --arch
    python: int = 0  #: CPython --python X.Y cannot install it
    older: int = 0  #: not its project's newest version (newest only)
    yanked: int = 0  #: yanked on its index page (PEP 592)
    bad_name: int = 0  #: a ``.whl`` whose file name is not a wheel name

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def add(self, other: LeftOut) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def why(self, filt: Filter) -> dict[str, str]:
        """For each count above zero, the words saying why (and which option changes it)."""
        python = ".".join(map(str, filt.python)) if filt.python else ""
        older = (
            "older versions (--newest: each project's newest only)"
            if filt.newest
            else "older versions (an index keeps each project's newest; --all-versions keeps every one)"
        )
        words = {
            "platform": f"not {filt.platform} (--platform)",
            "arch": f"not for {', '.join(filt.arches)} (--arch)",
            "python": f"not installable by CPython {python} (--python)",
            "older": older,
            "yanked": "yanked on the index",
            "bad_name": "not a valid wheel file name",
        }
        return {f.name: words[f.name] for f in fields(self) if getattr(self, f.name)}


@functools.cache
def _accepted(python: tuple[int, int]) -> frozenset[tuple[str, str]]:
    """The (interpreter, ABI) pairs of the tags CPython *python* installs (pip's, from
    :func:`~muslwheel.tags.tags_for_target`; the platform is the arch filter's)."""
    return frozenset((t.interpreter, t.abi) for t in tags_for_target(["any"], python))


def _python_accepts(tag: Tag, python: tuple[int, int]) -> bool:
    return (tag.interpreter, tag.abi) in _accepted(python)


def parse_python(text: str) -> tuple[int, int]:
    """``--python``: a CPython as ``tags --python`` reads it (:func:`~muslwheel.tags.parse_python_version`:
    ``3.12``, ``312``, ``cp312``), of the default build: the filter does not choose
    free-threaded wheels."""
    try:
        version = parse_python_version(text)
    except TargetError:
        raise SourceError(f"--python {text!r}: expected X.Y such as 3.12") from None
    if version.free_threaded:
        raise SourceError(f"--python {text!r}: scan selects wheels for default (GIL) builds only; give X.Y")
    return version.major, version.minor


def _ref(url: str, filename: str, sha256: str | None = None, size: int | None = None) -> WheelRef | None:
    try:
        name = parse_wheel_name(filename)
    except (MuslwheelError, ValueError):  # ValueError: packaging's, on a 5000-digit version
        return None
    return WheelRef(url, name.filename, str(canonicalize_name(name.distribution)), name.version, sha256, size)


def from_directory(path: Path, left_out: LeftOut | None = None) -> list[WheelRef]:
    """Every ``*.whl`` under *path*, recursively, by absolute path, the largest first: the
    audit's cost grows with a wheel's size, and a big wheel started last would keep one
    worker busy while the others have nothing left to do. A ``.whl`` whose name is not a
    wheel name is counted in *left_out*."""
    out = []
    for p in sorted(path.rglob("*.whl")):
        if p.is_file():
            ref = _ref(str(p.resolve()), p.name, size=p.stat().st_size)
            if ref:
                out.append(ref)
            elif left_out is not None:
                left_out.bad_name += 1
    return sorted(out, key=lambda ref: -(ref.size or 0))  # stable: by name among equals


def from_wheel(source: str) -> WheelRef:
    """A source that is one wheel: a ``.whl`` file or a wheel's URL."""
    if source.startswith(("http://", "https://")):
        url, fragment = urldefrag(source)
        sha = fragment[len("sha256=") :] if fragment.startswith("sha256=") else None
        ref = _ref(url, os.path.basename(urlsplit(url).path), sha)
    else:
        path = Path(source)
        if not path.is_file():
            raise SourceError(f"{source}: no such directory or file")
        ref = _ref(str(path.resolve()), path.name, size=path.stat().st_size)
    if ref is None:
        raise SourceError(f"{source}: {os.path.basename(urlsplit(source).path)!r} is not a wheel file name")
    return ref


def is_wheel_source(source: str) -> bool:
    """A source naming one wheel (by path or URL) rather than a directory, a URL list or an index."""
    path = urlsplit(source).path if source.startswith(("http://", "https://")) else source
    return path.endswith(".whl")


def from_url_list(path: Path) -> list[WheelRef]:
    """A text file of wheel URLs (or paths), one a line; ``#`` starts a comment; a URL's
    ``#sha256=`` fragment is its expected hash."""
    out = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read ({exc})") from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        url, fragment = urldefrag(line)
        sha = fragment[len("sha256=") :] if fragment.startswith("sha256=") else None
        if not url.startswith(("http://", "https://")):
            local = Path(url)
            if not local.is_absolute():
                local = (path.parent / local).resolve()
            if not local.is_file():
                raise SourceError(f"{path}:{number}: {url}: no such file")
            url = str(local)
        ref = _ref(url, os.path.basename(urlsplit(url).path), sha)
        if ref is None:
            raise SourceError(f"{path}:{number}: {os.path.basename(url)!r} is not a wheel file name")
        out.append(ref)
    return out


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


UPLOAD_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  #: how an upload time is kept: UTC, whole seconds
#: PEP 700's ``upload-time``: ISO 8601 in UTC, ``Z`` or a zero offset, with or without a fraction
_UPLOAD_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|[+-]00:?00)")


def parse_upload_time(value: object) -> str | None:
    """PEP 700's ``upload-time`` (``2026-12-01T10:00:00.123456Z``) as ``2026-12-01T10:00:00Z``
    (whole seconds, UTC); None when absent or not such a time (an index's word, never an error)."""
    if not isinstance(value, str) or not (m := _UPLOAD_TIME.fullmatch(value)):
        return None
    text = "{}-{}-{}T{}:{}:{}Z".format(*m.groups())
    try:
        datetime.strptime(text, UPLOAD_TIME_FORMAT)  # a real date and time (no 2026-02-31)
    except ValueError:
        return None
    return text


def release_of(filename: str) -> str | None:
    """The version a wheel's or sdist's file name says (normalised), or None for another file."""
    try:
        if filename.endswith(".whl"):
            return str(Version(parse_wheel_name(filename).version))
        return str(parse_sdist_filename(filename)[1])
    except (MuslwheelError, ValueError):  # InvalidSdistFilename, InvalidVersion, a 5000-digit number
        return None


def _first_upload(releases: dict[str, str | None], filename: str, when: str | None) -> None:
    """Count *filename*'s upload time towards its release's first upload in *releases*."""
    version = release_of(filename)
    if version is None:
        return
    known = releases.get(version)
    releases[version] = min(known, when) if known and when else (known or when)


def parse_project_page(
    page_url: str,
    content_type: str,
    body: bytes,
    left_out: LeftOut | None = None,
    releases: dict[str, str | None] | None = None,
) -> list[WheelRef]:
    """The wheels a PEP 691 JSON or PEP 503 HTML project page lists; yanked wheels and ``.whl``
    files whose name is not a wheel name are left out (and counted in *left_out*). *releases*,
    if given, gets each version the page lists (any wheel or sdist, yanked too) -> its first
    upload time (:func:`parse_upload_time`; None: the page gives none)."""
    out = []
    counts = left_out if left_out is not None else LeftOut()
    firsts: dict[str, str | None] = releases if releases is not None else {}
    if content_type.split(";")[0].strip() == PEP691_JSON or ("json" in content_type and body.lstrip()[:1] == b"{"):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SourceError(f"{page_url}: not JSON ({exc})") from None
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, list):
            raise SourceError(f"{page_url}: not a PEP 691 project page (no 'files' list)")
        for f in files:
            if not isinstance(f, dict) or not isinstance(f.get("filename"), str) or not isinstance(f.get("url"), str):
                raise SourceError(f"{page_url}: a file entry without filename and url")
            _first_upload(firsts, f["filename"], parse_upload_time(f.get("upload-time")))
            if f.get("yanked"):
                counts.yanked += f["filename"].endswith(".whl")
                continue
            hashes = f.get("hashes")
            sha = hashes.get("sha256") if isinstance(hashes, dict) else None
            size = f.get("size")
            if not isinstance(sha, str):
                sha = None
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                size = None
            url, _ = urldefrag(urljoin(page_url, f["url"]))
            ref = _ref(url, f["filename"], sha, size)
            if ref:
                out.append(ref)
            else:
                counts.bad_name += f["filename"].endswith(".whl")
        return out
    if "html" not in content_type:
        raise SourceError(f"{page_url}: neither a PEP 691 nor a PEP 503 page (Content-Type {content_type!r})")
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    for attrs, text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urldefrag(urljoin(page_url, href))
        filename = text or os.path.basename(urlsplit(url).path)
        _first_upload(firsts, filename, None)
        if "data-yanked" in attrs:
            counts.yanked += filename.endswith(".whl")
            continue
        sha = fragment[len("sha256=") :] if fragment.startswith("sha256=") else None
        ref = _ref(url, filename, sha)
        if ref:
            out.append(ref)
        else:
            counts.bad_name += filename.endswith(".whl")
    return out


def project_page(
    client: Client,
    index_url: str,
    project: str,
    left_out: LeftOut | None = None,
    releases: dict[str, str | None] | None = None,
) -> list[WheelRef]:
    """Fetch and parse one project's page of the simple index at *index_url* (*left_out*,
    *releases*: as :func:`parse_project_page` fills them)."""
    page_url = index_url.rstrip("/") + "/" + canonicalize_name(project) + "/"
    r = client.get(page_url, {"Accept": _ACCEPT}, limit=INDEX_PAGE_LIMIT)
    if r.status != 200:
        raise SourceError(f"{page_url}: HTTP {r.status}")
    return parse_project_page(page_url, r.headers.get("content-type", ""), r.body, left_out, releases)


def select(
    refs: Iterable[WheelRef], filt: Filter, *, newest: bool | None = None, left_out: LeftOut | None = None
) -> list[WheelRef]:
    """The refs *filt* accepts and, when *newest* (default: as for an index), of each project
    only its newest version that has any; each ref left out is counted in *left_out*."""
    if newest is None:
        newest = filt.newest_only(index=True)
    counts = left_out if left_out is not None else LeftOut()
    kept = []
    for r in refs:
        why = filt.rejects(parse_wheel_name(r.filename))
        if why is None:
            kept.append(r)
        else:
            setattr(counts, why, getattr(counts, why) + 1)
    if not newest:
        return kept
    latest: dict[str, Version] = {}
    for r in kept:
        try:
            v = Version(r.version)
        except InvalidVersion:
            continue
        if r.project not in latest or v > latest[r.project]:
            latest[r.project] = v
    out = [r for r in kept if _version_is(r.version, latest.get(r.project))]
    counts.older += len(kept) - len(out)
    return out


def _version_is(text: str, version: Version | None) -> bool:
    try:
        return version is not None and Version(text) == version
    except InvalidVersion:
        return False


def read_projects_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read ({exc})") from None
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def local_refs(sources: Sequence[str], filt: Filter, left_out: LeftOut | None = None) -> list[WheelRef]:
    """The wheels of sources the user listed: directories, files of URLs, wheel files or wheels'
    URLs, filtered; every version unless ``filt.newest`` (then the newest over all of them)."""
    refs: list[WheelRef] = []
    for source in sources:
        path = Path(source)
        if is_wheel_source(source):
            refs.append(from_wheel(source))
        elif path.is_dir():
            refs += from_directory(path, left_out)
        elif path.is_file():
            refs += from_url_list(path)
        else:
            raise SourceError(f"{source}: no such directory or file")
    return select(refs, filt, newest=filt.newest_only(index=False), left_out=left_out)
