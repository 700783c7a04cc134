"""What the wheelhouse leaves in DIR: the wheels, a PEP 503 simple index, the lock, the report.

Written last and atomically: wheels first (each through a partial file), then the index in a
fresh directory that the ``simple`` symlink is swapped to in one rename, then the lock (a
partial file renamed), then the report. A reader sees the old index or the new one, never a
partial one. The lock is deterministic: sorted, no times, no paths of this machine, so two runs
over the same choices give identical bytes.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from ..cache import file_sha256

LOCK_NAME = "wheelhouse.lock.json"
REPORT_HTML = "report.html"
REPORT_JSON = "report.json"


@dataclass(frozen=True)
class Entry:
    """One line of the lock: a wheel chosen for a target."""

    name: str  #: canonical project name
    version: str
    file: str
    sha256: str
    origin: str  #: downloaded, repaired, built
    target: str

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "file": self.file,
            "sha256": self.sha256,
            "origin": self.origin,
            "target": self.target,
        }


def lock_bytes(entries: Sequence[Entry], targets: Sequence[Mapping[str, object]]) -> bytes:
    data = {
        "lock": 1,
        "targets": sorted(targets, key=lambda t: str(t["name"])),
        "wheels": [e.to_json() for e in sorted(entries, key=lambda e: (e.target, e.name, e.file))],
    }
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def _atomic_write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def place_wheel(src: Path, out_dir: Path) -> Path:
    """*src* in *out_dir* (copied through a partial file unless the same bytes are there)."""
    dest = out_dir / src.name
    if dest.is_file() and dest.stat().st_size == src.stat().st_size and file_sha256(dest) == file_sha256(src):
        return dest
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    shutil.copyfile(src, partial)
    os.replace(partial, dest)
    return dest


def _page(title: str, links: Sequence[tuple[str, str]]) -> str:
    body = "\n".join(f'    <a href="{html.escape(href)}">{html.escape(text)}</a><br/>' for href, text in links)
    return (
        '<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.0">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n{body}\n  </body>\n</html>\n"
    )


def write_index(out_dir: Path, entries: Sequence[Entry]) -> Path:
    """``out_dir/simple/``: PEP 503 pages for every project in *entries* (each file once, with
    its ``#sha256=``), made in a fresh directory and swapped in with one rename of a symlink."""
    files: dict[str, dict[str, str]] = {}
    for e in entries:
        files.setdefault(canonicalize_name(e.name), {})[e.file] = e.sha256
    pages = {"index.html": _page("Simple index", [(f"{name}/", name) for name in sorted(files)])}
    for name in sorted(files):
        links = [(f"../../{f}#sha256={sha}", f) for f, sha in sorted(files[name].items())]
        pages[f"{name}/index.html"] = _page(f"Links for {name}", links)
    digest = hashlib.sha256(json.dumps(pages, sort_keys=True).encode()).hexdigest()[:16]
    real = out_dir / f".simple-{digest}"
    if not real.is_dir():
        tmp = out_dir / f".simple-{digest}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        for rel, text in pages.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text, encoding="utf-8")
        os.replace(tmp, real)
    link = out_dir / "simple"
    if link.exists() and not link.is_symlink():
        raise OSError(f"{link} exists and is not muslwheel's index link; move it away")
    new_link = out_dir / f".simple.link-{os.getpid()}"
    new_link.unlink(missing_ok=True)
    new_link.symlink_to(real.name)
    os.replace(new_link, link)
    for old in out_dir.glob(".simple-*"):
        if old != real and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return link


def write_lock(out_dir: Path, data: bytes) -> Path:
    path = out_dir / LOCK_NAME
    _atomic_write(path, data)
    return path


def previous_files(out_dir: Path) -> set[str]:
    """The wheel files the lock already in *out_dir* names (to remove those no longer chosen)."""
    try:
        data = json.loads((out_dir / LOCK_NAME).read_text("utf-8"))
        return {str(w["file"]) for w in data.get("wheels", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def write_report(out_dir: Path, report: Mapping[str, object]) -> None:
    _atomic_write(out_dir / REPORT_JSON, (json.dumps(report, indent=2, sort_keys=True) + "\n").encode())
    _atomic_write(out_dir / REPORT_HTML, report_html(report).encode())


def report_html(report: Mapping[str, object]) -> str:
    def cell(v: object) -> str:
        return f"<td>{html.escape('' if v is None else str(v))}</td>"

    rows = []
    for d in report.get("decisions", []):  # type: ignore[attr-defined]
        rows.append(
            "<tr>"
            + "".join(cell(d.get(k)) for k in ("target", "project", "version", "decision", "file", "floor", "why"))
            + "</tr>"
        )
    proofs = []
    for p in report.get("proofs", []):  # type: ignore[attr-defined]
        proofs.append("<tr>" + "".join(cell(p.get(k)) for k in ("target", "kit", "result", "why")) + "</tr>")
    problems = "".join(f"<li>{html.escape(str(p))}</li>" for p in report.get("problems", []))  # type: ignore[attr-defined]
    head = "".join(f"<th>{h}</th>" for h in ("target", "project", "version", "decision", "file", "musl floor", "why"))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>muslwheel wheelhouse</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
        "table{border-collapse:collapse}</style></head><body>\n"
        f"<h1>Wheelhouse</h1>\n<p>{html.escape(str(report.get('summary', '')))}</p>\n"
        f"<h2>Problems</h2><ul>{problems or '<li>none</li>'}</ul>\n"
        f"<h2>Decisions</h2><table><tr>{head}</tr>\n" + "\n".join(rows) + "</table>\n"
        "<h2>Import proofs</h2><table><tr><th>target</th><th>kit</th><th>result</th><th>why</th></tr>\n"
        + "\n".join(proofs)
        + "</table>\n</body></html>\n"
    )
