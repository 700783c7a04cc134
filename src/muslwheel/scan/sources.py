"""Where scan finds wheels: a directory, a file of URLs, or a PEP 503/691 simple index.

A project page is asked for as PEP 691 JSON (``application/vnd.pypi.simple.v1+json``) with
HTML as the fallback; either way the result is a list of :class:`WheelRef`: URL, file name,
and the sha256 and size the index gives (PEP 691 ``hashes``, PEP 700 ``size``; a PEP 503
``#sha256=`` fragment). Wheels are then kept by platform (``musllinux`` by default), arch and
Python version, newest version of each project only unless asked for all.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import MuslwheelError
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
    all_versions: bool = False

    def accepts(self, name: WheelName) -> bool:
        platforms = name.platforms
        if self.platform == "musllinux":
            platforms = frozenset(p for p in platforms if p.startswith("musllinux_"))
        elif self.platform == "manylinux":
            platforms = frozenset(p for p in platforms if p.startswith("manylinux"))
        elif self.platform == "linux":
            platforms = frozenset(p for p in platforms if p.startswith(("musllinux_", "manylinux", "linux_")))
        if not platforms:
            return False
        if self.arches and not any(p.endswith(tuple(f"_{a}" for a in self.arches)) for p in platforms):
            return False
        return self.python is None or any(_python_accepts(t, self.python) for t in name.tags)


def _python_accepts(tag: Tag, python: tuple[int, int]) -> bool:
    major, minor = python
    interp, abi = tag.interpreter, tag.abi
    m = re.fullmatch(r"(cp|py)(\d)(\d*)", interp)
    if not m or int(m.group(2)) != major:
        return False
    wheel_minor = int(m.group(3)) if m.group(3) else None
    if m.group(1) == "py":
        return wheel_minor is None or wheel_minor <= minor
    if abi == "abi3":
        return wheel_minor is not None and wheel_minor <= minor
    return wheel_minor == minor and abi in (f"cp{major}{minor}", f"cp{major}{minor}m", "none")


def parse_python(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
    if not m:
        raise SourceError(f"--python {text!r}: expected X.Y such as 3.12")
    return int(m.group(1)), int(m.group(2))


def _ref(url: str, filename: str, sha256: str | None = None, size: int | None = None) -> WheelRef | None:
    try:
        name = parse_wheel_name(filename)
    except MuslwheelError:
        return None
    return WheelRef(url, name.filename, str(canonicalize_name(name.distribution)), name.version, sha256, size)


def from_directory(path: Path) -> list[WheelRef]:
    """Every ``*.whl`` under *path*, recursively, by absolute path, the largest first: the
    audit's cost grows with a wheel's size, and a big wheel started last would keep one
    worker busy while the others have nothing left to do."""
    out = []
    for p in sorted(path.rglob("*.whl")):
        if p.is_file():
            ref = _ref(str(p.resolve()), p.name, size=p.stat().st_size)
            if ref:
                out.append(ref)
    return sorted(out, key=lambda ref: -(ref.size or 0))  # stable: by name among equals


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


def parse_project_page(page_url: str, content_type: str, body: bytes) -> list[WheelRef]:
    """The wheels a PEP 691 JSON or PEP 503 HTML project page lists (yanked files left out)."""
    out = []
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
            if f.get("yanked"):
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
        return out
    if "html" not in content_type:
        raise SourceError(f"{page_url}: neither a PEP 691 nor a PEP 503 page (Content-Type {content_type!r})")
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    for attrs, text in parser.anchors:
        href = attrs.get("href")
        if not href or "data-yanked" in attrs:
            continue
        url, fragment = urldefrag(urljoin(page_url, href))
        sha = fragment[len("sha256=") :] if fragment.startswith("sha256=") else None
        ref = _ref(url, text or os.path.basename(urlsplit(url).path), sha)
        if ref:
            out.append(ref)
    return out


def project_page(client: Client, index_url: str, project: str) -> list[WheelRef]:
    """Fetch and parse one project's page of the simple index at *index_url*."""
    page_url = index_url.rstrip("/") + "/" + canonicalize_name(project) + "/"
    r = client.get(page_url, {"Accept": _ACCEPT}, limit=INDEX_PAGE_LIMIT)
    if r.status != 200:
        raise SourceError(f"{page_url}: HTTP {r.status}")
    return parse_project_page(page_url, r.headers.get("content-type", ""), r.body)


def select(refs: Iterable[WheelRef], filt: Filter) -> list[WheelRef]:
    """The refs *filt* accepts, and of each project only its newest version that has any."""
    kept = [r for r in refs if filt.accepts(parse_wheel_name(r.filename))]
    if filt.all_versions:
        return kept
    newest: dict[str, Version] = {}
    for r in kept:
        try:
            v = Version(r.version)
        except InvalidVersion:
            continue
        if r.project not in newest or v > newest[r.project]:
            newest[r.project] = v
    return [r for r in kept if _version_is(r.version, newest.get(r.project))]


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


def local_refs(sources: Sequence[str], filt: Filter) -> Iterator[WheelRef]:
    """The wheels of sources that are a directory or a file of URLs (filtered)."""
    for source in sources:
        path = Path(source)
        if path.is_dir():
            yield from select(from_directory(path), filt)
        elif path.is_file():
            yield from select(from_url_list(path), filt)
        else:
            raise SourceError(f"{source}: no such directory or file")
