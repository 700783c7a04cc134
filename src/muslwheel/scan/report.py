"""The report over a scan database: what people need to read out of thousands of rows.

Totals; a chart of the tag each wheel claims against the musl it really needs; the wheels whose
tag promises less than they need, grouped by project and by reason (``DT_RELR in libstdc++``,
``qsort_r in the extension modules``), with the musl releases each leaves out; the projects that
could claim an older tag; errors. HTML (self-contained: the chart is inline SVG drawn by
matplotlib, from the optional ``report`` extra, imported only here), Markdown, CSV (one line per
wheel) or JSON.

And, per project, PyPI's upload window (information, never a verdict): PyPI refuses new files for
a release created more than 14 days ago, so a project whose newest release is older cannot add
musllinux wheels to it and needs a new release. The release's creation is its first file's
upload time, from the index (PEP 700, :mod:`muslwheel.scan.sources`); without it, "unknown".
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from ..distros import fails_on
from ..errors import MuslwheelError
from ..libc import MuslVersion
from ..policy import musllinux_platform, pypi_note, pypi_uploadable
from ..suffixes import is_module_suffix
from ..vocabulary import MUSL_LIKE, Kind, Libc, Severity
from .sources import UPLOAD_TIME_FORMAT
from .store import COLUMNS, Store

_LIB = re.compile(r"^(lib[^/]*?)(-[0-9a-f]{8})?\.so(\.[\d.]+)?$")


#: PyPI refuses a new file for a release created longer ago than this: "Uploading new files to
#: releases older than 14 days is not allowed." (pypi/warehouse#19727, forklift/legacy.py, which
#: compares ``Release.created``; PyPI's blog, 2026-07-23, "Releases now reject new files after 14
#: days", pypi/warehouse#20301).
PYPI_UPLOAD_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class UploadWindow:
    """Whether a project's newest release can still take new files on PyPI."""

    project: str
    version: str | None  #: its newest release the index lists (None: no index page says)
    first_upload: str | None  #: that release's first upload (UTC), None when unknown
    closes: str | None  #: when PyPI stops taking its files: first upload + 14 days
    open: bool | None  #: as of the report's time; None when unknown

    @property
    def text(self) -> str:
        """``open until 2026-12-20T10:00:00Z (2.0)``, ``closed since …``, or ``unknown``."""
        if self.open is None:
            return "unknown"
        return f"{'open until' if self.open else 'closed since'} {self.closes} ({self.version})"

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "first_upload": self.first_upload, "closes": self.closes, "open": self.open}


def upload_windows(
    releases: Iterable[dict[str, Any]], projects: Iterable[str], now: datetime
) -> dict[str, UploadWindow]:
    """Each of *projects*' upload window as of *now* (aware), from the ``releases`` rows of a scan
    database: its newest version (PEP 440, over every index page read for it) and that version's
    earliest first upload."""
    listed: dict[str, dict[Version, list[str | None]]] = {}
    for r in releases:
        try:
            version = Version(r["version"])
        except InvalidVersion:
            continue
        listed.setdefault(r["project"], {}).setdefault(version, []).append(r["first_upload"])
    out = {}
    for project in sorted(set(projects)):
        versions = listed.get(project)
        if not versions:
            out[project] = UploadWindow(project, None, None, None, None)
            continue
        newest = max(versions)
        known = [t for t in versions[newest] if t]
        if not known:
            out[project] = UploadWindow(project, str(newest), None, None, None)
            continue
        first = min(known)
        closes = datetime.strptime(first, UPLOAD_TIME_FORMAT).replace(tzinfo=timezone.utc) + PYPI_UPLOAD_WINDOW
        out[project] = UploadWindow(project, str(newest), first, closes.strftime(UPLOAD_TIME_FORMAT), now <= closes)
    return out


@dataclass
class Data:
    db: str
    rows: list[dict[str, Any]]
    pages: list[dict[str, Any]]
    totals: dict[str, Any] = field(default_factory=dict)
    matrix: dict[str, dict[str, int]] = field(default_factory=dict)  #: claimed policy -> floor -> wheels
    by_reason: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    by_project: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    could_claim_older: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: musl wheels of an arch PyPI does not take (information, not an error), by arch
    not_on_pypi: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: project -> PyPI's upload window of its newest release, as of :attr:`as_of`
    windows: dict[str, UploadWindow] = field(default_factory=dict)
    as_of: str = ""  #: the time the windows are judged at (UTC)

    @property
    def windows_known(self) -> list[UploadWindow]:
        return [w for w in self.windows.values() if w.open is not None]

    def window(self, project: str) -> str:
        w = self.windows.get(project)
        return w.text if w else "unknown"


def _claimed_policy(claimed: list[str]) -> tuple[int, int] | None:
    versions = [(m[0], m[1]) for p in claimed if (m := musllinux_platform(p))]
    return min(versions) if versions else None


def _where(path: str | None) -> str:
    """``foo.libs/libstdc++-1a2b3c4d.so.6.0.32`` -> ``libstdc++``; extension modules together."""
    if not path:
        return "the wheel"
    base = path.rsplit("/", 1)[-1]
    if is_module_suffix(base):
        return "the extension modules"
    m = _LIB.match(base)
    return m.group(1) if m else base


def _reason_keys(row: dict[str, Any], claim: tuple[int, int] | None) -> list[str]:
    """Why a dishonest wheel is dishonest, as short keys to group by."""
    keys: list[str] = []
    reasons = json.loads(row["reasons"] or "[]")
    for r in reasons:
        if r.get("severity") != Severity.ERROR:
            continue
        if r["kind"] == Kind.TAG and r.get("musl"):
            keys += _floor_keys(row)
        elif r["kind"] == Kind.LIBRARY:
            keys.append(f"external library {r.get('library')}")
        elif r["kind"] == Kind.GLIBC:
            keys.append("glibc binaries under a musllinux tag")
        elif r["kind"] == Kind.TAG:
            keys.append(re.sub(r"^musllinux_\d+_\d+_\w+: ", "", r["why"]))
        else:
            keys.append(r["kind"])
    return sorted(set(keys)) or ["other"]


def _excluded(claim: tuple[int, int] | None, floor: str | None) -> str:
    """The musl releases the claim admits but the wheel fails on: "musl 1.2.0–1.2.2"."""
    if claim is None or not floor:
        return ""
    f = MuslVersion.parse(floor)
    if (f.major, f.minor) == claim:
        return f"musl {claim[0]}.{claim[1]}.0–{f.major}.{f.minor}.{f.patch - 1}" if f.patch else ""
    return f"musl {claim[0]}.{claim[1]}.0 up to {floor} (not included)"


def load(path: Path, now: datetime | None = None) -> Data:
    """Read a scan database and work out everything the report shows; PyPI's upload windows are
    judged as of *now* (aware; default: the present)."""
    if not path.is_file():
        raise MuslwheelError(f"{path}: no such file")
    with Store(path, create=False) as store:
        rows = list(store.rows())
        pages = store.pages()
        releases = store.releases()
    data = Data(str(path), rows, pages)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    data.as_of = now.strftime(UPLOAD_TIME_FORMAT)
    data.windows = upload_windows(releases, (r["project"] for r in rows), now)
    ok = [r for r in rows if not r["error"]]
    for r in ok:
        claim = _claimed_policy(json.loads(r["claimed"]))
        r["claim"] = f"musllinux_{claim[0]}_{claim[1]}" if claim else "other"
        r["pypi_uploadable"] = pypi_uploadable(r["arch"]) if r["libc"] in MUSL_LIKE else None
        if r["pypi_uploadable"] is False:
            data.not_on_pypi.setdefault(r["arch"], []).append(r)
        bucket = r["musl_floor"] or ("pure" if r["libc"] == Libc.NONE else _NO_FLOOR)
        data.matrix.setdefault(r["claim"], Counter())[bucket] += 1
        floor = MuslVersion.parse(r["musl_floor"]) if r["musl_floor"] else None
        # Promises less than it needs: dishonest by the policy, or needing a later patch release
        # than the tag's X.Y.0 (musllinux_1_2 with DT_RELR: fails on musl 1.2.0 to 1.2.3).
        short = r["honest"] == 0 or (claim is not None and floor is not None and floor > MuslVersion(*claim, 0))
        if short:
            r["severity"] = "dishonest" if r["honest"] == 0 else "needs a later patch release"
            r["why"] = _reason_keys(r, claim) if r["honest"] == 0 else _floor_keys(r)
            r["excluded"] = _excluded(claim, r["musl_floor"])
            r["distros"] = fails_on(floor, MuslVersion(*claim, 0)) if floor and claim else ""
            for key in r["why"]:
                data.by_reason.setdefault(key, []).append(r)
            data.by_project.setdefault(r["project"], []).append(r)
        elif claim and r["tag"] and (m := musllinux_platform(r["tag"])) and (m[0], m[1]) < claim:
            data.could_claim_older.setdefault(r["project"], []).append(r)
    short_rows = [r for v in data.by_project.values() for r in v]
    data.totals = {
        "wheels": len(rows),
        "projects": len({r["project"] for r in rows}),
        "audited": len(ok),
        "errors": len(rows) - len(ok),
        "honest": sum(1 for r in ok if r["honest"] == 1),
        "dishonest": sum(1 for r in ok if r["honest"] == 0),
        "promise_less": len(short_rows),
        "promise_less_projects": len(data.by_project),
        "pure": sum(1 for r in ok if r["libc"] == Libc.NONE),
        "bytes_read": sum(r["bytes_read"] or 0 for r in rows if r["method"] != "local"),
        "remote_size": sum(r["size"] or 0 for r in rows if r["method"] != "local"),
        "range_reads": sum(1 for r in rows if r["method"] == "range"),
        "full_downloads": sum(1 for r in rows if r["method"] == "full"),
        "local": sum(1 for r in rows if r["method"] == "local"),
        "index_pages_failed": sum(1 for p in pages if p["error"]),
        "not_uploadable_to_pypi": sum(len(v) for v in data.not_on_pypi.values()),
    }
    data.by_reason = dict(sorted(data.by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0])))
    data.matrix = {k: dict(v) for k, v in sorted(data.matrix.items())}
    data.errors = [r for r in rows if r["error"]] + [
        {"filename": p["page"], "error": p["error"]} for p in pages if p["error"]
    ]
    return data


def _floor_keys(row: dict[str, Any]) -> list[str]:
    """``DT_RELR in libstdc++``, ``qsort_r in the extension modules``; when many symbols set the
    floor together (every symbol, on an arch musl gained in that release), one key for them."""
    floor = json.loads(row["floor_reasons"] or "[]")
    features = {f"{f['feature']} in {_where(f.get('file'))}" for f in floor if f.get("feature")}
    symbols = sorted({f["symbol"] for f in floor if f.get("symbol")})
    if len(symbols) > 3:
        return [*sorted(features), f"most symbols: first exported on {row['arch']} by musl {row['musl_floor']}"]
    where = {f"{f['symbol']} in {_where(f.get('file'))}" for f in floor if f.get("symbol")}
    return sorted(features | where) or ["other"]


#: The bucket of a wheel with ELF members but no musl floor (glibc binaries among them).
_NO_FLOOR = "no musl floor"


def _floor_order(bucket: str) -> tuple[int, ...]:
    if bucket[0].isdigit():
        return (1, *map(int, bucket.split(".")))
    return (0,) if bucket == "pure" else (2,)


def headline(data: Data) -> list[str]:
    t = data.totals
    out = [
        f"{t['wheels']} wheels of {t['projects']} projects; {t['audited']} audited, {t['errors']} could not be",
        f"{t['promise_less']} wheels of {t['promise_less_projects']} projects claim a tag that promises less than they"
        f" need ({100 * t['promise_less'] / max(t['audited'], 1):.1f}% of those audited): {t['dishonest']} dishonest by"
        f" the policy, {t['promise_less'] - t['dishonest']} needing a later patch release than the tag's X.Y.0",
        f"{t['honest']} honest by the policy ({t['pure']} pure: no ELF members)",
    ]
    if t["remote_size"]:
        out.append(
            f"read {t['bytes_read'] / 1e6:.1f} MB of {t['remote_size'] / 1e6:.1f} MB of remote wheels"
            f" ({100 * t['bytes_read'] / t['remote_size']:.1f}%): {t['range_reads']} by range requests,"
            f" {t['full_downloads']} whole"
        )
    if data.could_claim_older:
        n = sum(len(v) for v in data.could_claim_older.values())
        out.append(f"{n} wheels of {len(data.could_claim_older)} projects could claim an older musllinux tag")
    for arch, rows in sorted(data.not_on_pypi.items()):
        out.append(f"{len(rows)} wheels for {arch}: {pypi_note(arch)}")
    known = data.windows_known
    if known:
        still = sum(1 for w in known if w.open)
        out.append(
            f"{still} of {len(known)} projects whose index gave upload times can still add files to their newest"
            f" release on PyPI as of {data.as_of} (PyPI refuses new files for releases older than 14 days);"
            f" {len(data.windows) - len(known)} unknown"
        )
    return out


def _window_rows(data: Data) -> list[tuple[str, str, str, str, str]]:
    """(project, newest release, first upload, window closes, new files) of every project, when
    the index gave any upload time (else no table: the column says "unknown")."""
    if not data.windows_known:
        return []
    return [
        (w.project, w.version or "-", w.first_upload or "-", w.closes or "-", _new_files(w))
        for w in data.windows.values()
    ]


def _new_files(w: UploadWindow) -> str:
    return "unknown" if w.open is None else "accepted" if w.open else "refused: needs a new release"


#: The mark beside a wheel PyPI will not take, in the report's tables.
NOT_ON_PYPI = "not on PyPI"


def _mark(r: dict[str, Any]) -> str:
    return f" ({NOT_ON_PYPI})" if r.get("pypi_uploadable") is False else ""


def _distros(rows: list[dict[str, Any]]) -> str:
    """The distro releases the wheels of one group fail on (one description per distinct set)."""
    return " / ".join(sorted({r["distros"] for r in rows if r.get("distros")}))


def _older(rows: list[dict[str, Any]]) -> str:
    moves = Counter(f"{r['claim']} → {_policy_of(r['tag'])}" for r in rows)
    return "; ".join(f"{n} wheels {move}" for move, n in sorted(moves.items()))


def _policy_of(tag: str) -> str:
    m = musllinux_platform(tag)
    return f"musllinux_{m[0]}_{m[1]}" if m else tag


def _md(data: Data) -> str:
    out = [f"# muslwheel scan report: {data.db}", ""]
    out += [f"- {line}" for line in headline(data)]
    out += ["", "## Claimed tag against the musl release really needed", ""]
    floors = sorted({b for v in data.matrix.values() for b in v}, key=_floor_order)
    out.append("| claimed | " + " | ".join(floors) + " |")
    out.append("| --- |" + " --- |" * len(floors))
    for claim, counts in data.matrix.items():
        out.append(f"| {claim} | " + " | ".join(str(counts.get(f, 0)) for f in floors) + " |")
    out += ["", "## Wheels that promise less than they need, by reason", ""]
    for key, rows in data.by_reason.items():
        projects = sorted({r["project"] for r in rows})
        out.append(
            f"- **{key}**: {len(rows)} wheels of {len(projects)} projects ({', '.join(projects[:12])}{' …' if len(projects) > 12 else ''})"
            + (f"; fails on {_distros(rows)}" if _distros(rows) else "")
        )
    out += [
        "",
        "## By project",
        "",
        "| project | wheel | claims | needs musl | fails on | distros it fails on | verdict | why | PyPI upload window |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for project, rows in sorted(data.by_project.items()):
        for r in rows:
            out.append(
                f"| {project} | {r['filename']}{_mark(r)} | {r['claim']} | {r['musl_floor'] or '-'} | {r['excluded'] or '-'}"
                f" | {r['distros'] or '-'} | {r['severity']} | {'; '.join(r['why'])} | {data.window(project)} |"
            )
    windows = _window_rows(data)
    if windows:
        out += ["", f"## PyPI's upload window for each project's newest release (as of {data.as_of})", ""]
        out += [
            "| project | newest release | first upload | window closes | new files |",
            "| --- | --- | --- | --- | --- |",
        ]
        out += ["| " + " | ".join(w) + " |" for w in windows]
    out += ["", "## Projects that could claim an older tag", ""]
    for project, rows in sorted(data.could_claim_older.items()):
        out.append(f"- {project}: {_older(rows)}")
    if data.not_on_pypi:
        out += ["", f"## Wheels PyPI does not accept ({NOT_ON_PYPI})", ""]
        out += [f"- {r['filename']}: {pypi_note(r['arch'])}" for v in data.not_on_pypi.values() for r in v]
    if data.errors:
        out += ["", "## Not audited", ""]
        out += [f"- {e['filename']}: {e['error']}" for e in data.errors]
    return "\n".join(out) + "\n"


def _chart_svg(data: Data) -> str | None:
    """The claimed-tag-vs-floor chart as inline SVG, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    claims = list(data.matrix)
    floors = sorted({b for v in data.matrix.values() for b in v}, key=_floor_order)
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.5 * max(len(claims), 1)))
    left = [0] * len(claims)
    cmap = plt.get_cmap("viridis")
    for i, floor in enumerate(floors):
        counts = [data.matrix[c].get(floor, 0) for c in claims]
        colour = "#bbbbbb" if floor in ("pure", _NO_FLOOR) else cmap(i / max(len(floors) - 1, 1))
        ax.barh(claims, counts, left=left, label=f"needs musl {floor}" if floor[0].isdigit() else floor, color=colour)
        left = [a + b for a, b in zip(left, counts)]
    ax.set_xlabel("wheels")
    ax.set_title("Claimed musllinux tag against the musl release each wheel really needs")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", ncol=1 + len(floors) // 8)
    fig.tight_layout()
    buf = io.StringIO()
    # The same scan gives the same bytes: no date, and clip-path ids hashed from a fixed salt
    # (matplotlib's default salt is random per process).
    with matplotlib.rc_context({"svg.hashsalt": "muslwheel"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def _html(data: Data) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>muslwheel scan report: {e(data.db)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:72em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:90%}th{background:#eee}"
        ".bad{color:#a00}.num{text-align:right}</style></head><body>",
        f"<h1>muslwheel scan report</h1><p>{e(data.db)}</p><ul>",
        *[f"<li>{e(line)}</li>" for line in headline(data)],
        "</ul><h2>Claimed tag against the musl release really needed</h2>",
    ]
    svg = _chart_svg(data)
    if svg:
        parts.append(f"<div>{svg}</div>")
    else:
        parts.append("<p>(install muslwheel[report] for the chart)</p>")
    floors = sorted({b for v in data.matrix.values() for b in v}, key=_floor_order)
    parts.append("<table><tr><th>claimed</th>" + "".join(f"<th>{e(f)}</th>" for f in floors) + "</tr>")
    for claim, counts in data.matrix.items():
        cells = "".join(f"<td class='num'>{counts.get(f, 0)}</td>" for f in floors)
        parts.append(f"<tr><td>{e(claim)}</td>{cells}</tr>")
    parts.append("</table><h2>Wheels that promise less than they need, by reason</h2><table>")
    parts.append("<tr><th>reason</th><th>wheels</th><th>projects</th><th>distros these wheels fail on</th></tr>")
    for key, rows in data.by_reason.items():
        projects = sorted({r["project"] for r in rows})
        parts.append(
            f"<tr><td>{e(key)}</td><td class='num'>{len(rows)}</td><td>{e(', '.join(projects))}</td>"
            f"<td>{e(_distros(rows))}</td></tr>"
        )
    parts.append("</table><h2>By project</h2><table>")
    parts.append(
        "<tr><th>project</th><th>wheel</th><th>claims</th><th>needs musl</th><th>fails on</th>"
        "<th>distros it fails on</th><th>verdict</th><th>why</th><th>PyPI upload window</th></tr>"
    )
    for project, rows in sorted(data.by_project.items()):
        for r in rows:
            parts.append(
                f"<tr><td>{e(project)}</td><td>{e(r['filename'])}{e(_mark(r))}</td><td>{e(r['claim'])}</td>"
                f"<td class='bad'>{e(r['musl_floor'] or '-')}</td><td>{e(r['excluded'] or '-')}</td>"
                f"<td>{e(r['distros'] or '-')}</td><td>{e(r['severity'])}</td><td>{e('; '.join(r['why']))}</td>"
                f"<td>{e(data.window(project))}</td></tr>"
            )
    windows = _window_rows(data)
    if windows:
        parts.append(f"</table><h2>PyPI's upload window for each project's newest release (as of {e(data.as_of)})</h2>")
        parts.append(
            "<table><tr><th>project</th><th>newest release</th><th>first upload</th><th>window closes</th>"
            "<th>new files</th></tr>"
        )
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in w) + "</tr>" for w in windows]
    parts.append("</table><h2>Projects that could claim an older tag</h2><ul>")
    for project, rows in sorted(data.could_claim_older.items()):
        parts.append(f"<li>{e(project)}: {e(_older(rows))}</li>")
    parts.append("</ul>")
    if data.not_on_pypi:
        parts.append(f"<h2>Wheels PyPI does not accept ({NOT_ON_PYPI})</h2><table>")
        parts.append("<tr><th>wheel</th><th>arch</th><th>note</th></tr>")
        for arch, rows in sorted(data.not_on_pypi.items()):
            for r in rows:
                parts.append(
                    f"<tr><td>{e(r['filename'])}</td><td>{e(arch)}</td><td>{e(pypi_note(arch) or '')}</td></tr>"
                )
        parts.append("</table>")
    if data.errors:
        parts.append("<h2>Not audited</h2><ul>")
        parts += [f"<li>{e(str(x['filename']))}: {e(str(x['error']))}</li>" for x in data.errors]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _csv(data: Data) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*COLUMNS, "pypi_upload_window"])
    for r in data.rows:
        writer.writerow([*(r[c] for c in COLUMNS), data.window(r["project"])])
    return buf.getvalue()


def _json(data: Data) -> str:
    def brief(r: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "project",
            "filename",
            "url",
            "claim",
            "tag",
            "musl_floor",
            "excluded",
            "distros",
            "severity",
            "why",
            "pypi_uploadable",
        )
        return {**{k: r.get(k) for k in keys}, "pypi_upload_window": data.window(r["project"])}

    out = {
        "db": data.db,
        "totals": data.totals,
        "headline": headline(data),
        "claimed_vs_floor": data.matrix,
        "by_reason": {k: [brief(r) for r in v] for k, v in data.by_reason.items()},
        "by_project": {k: [brief(r) for r in v] for k, v in sorted(data.by_project.items())},
        "could_claim_older": {k: [brief(r) for r in v] for k, v in sorted(data.could_claim_older.items())},
        "errors": [{"filename": x["filename"], "error": x["error"]} for x in data.errors],
        "not_uploadable_to_pypi": [
            {**brief(r), "pypi_note": pypi_note(arch)} for arch, v in sorted(data.not_on_pypi.items()) for r in v
        ],
        "upload_windows": {
            "as_of": data.as_of if data.windows_known else None,
            "projects": {p: w.to_json() for p, w in data.windows.items()},
        },
    }
    return json.dumps(out, indent=2) + "\n"


def render(data: Data, fmt: str) -> str:
    return {"html": _html, "md": _md, "csv": _csv, "json": _json}[fmt](data)
