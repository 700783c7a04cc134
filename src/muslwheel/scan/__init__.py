"""scan: audit a whole wheelhouse or index, resumably, on one machine or a Dask cluster.

What it owns, by module:

* ``sources``: where wheels are found (a directory, a file of URLs, wheel files, a PEP 503/691
  simple index with project names) and which are kept (platform, arch, Python, newest version:
  by default an index's newest, every wheel a source lists one by one), counting those left out;
* ``http``: the polite HTTP client (urllib3) and :class:`~muslwheel.scan.http.HttpRangeSource`,
  the range-request implementation of :class:`~muslwheel.wheelfile.WheelSource`;
* ``task``: one wheel's work, fetch then audit with ``show``'s own code (``audit_wheel``);
* ``store``: the SQLite results database, one committed row per wheel;
* ``runner``: the local pool (fetch threads, audit processes) and the Dask runner;
* ``report``: the report over a database (HTML, Markdown, CSV, JSON);
* ``console``: everything scan prints (progress, errors, the summary), in one place.

Everything here sits above the core: it uses the network, processes and files, and the core
(wheelfile, audit) cannot tell a remote wheel from a local one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.utils import canonicalize_name

from ..errors import MuslwheelError
from ..progress import Progress
from .http import HttpOptions, client_for
from .runner import ScanSummary, default_workers, run_dask, run_local
from .sources import Filter, LeftOut, ScanSourceError, WheelRef, is_wheel_source, local_refs, project_page, select
from .store import Store

__all__ = ["Filter", "HttpOptions", "LeftOut", "ScanSummary", "scan"]


def _is_index(source: str) -> bool:
    return source.startswith(("http://", "https://")) and not is_wheel_source(source)


def _refs(
    sources: Sequence[str],
    projects: Sequence[str],
    filt: Filter,
    options: HttpOptions,
    store: Store,
    summary: ScanSummary,
) -> Iterator[WheelRef]:
    listed = [s for s in sources if not _is_index(s)]
    if listed:  # the sources that list wheels one by one, together (--newest: newest over all)
        yield from local_refs(listed, filt, summary.left_out)
    newest = filt.newest_only(index=True)
    for source in sources:
        if not _is_index(source):
            continue

        def page(project: str, index: str = source) -> tuple[str, list[WheelRef] | str, LeftOut, dict[str, str | None]]:
            left_out = LeftOut()
            releases: dict[str, str | None] = {}
            try:
                refs = project_page(client_for(options), index, project, left_out, releases)
                return project, select(refs, filt, newest=newest, left_out=left_out), left_out, releases
            except MuslwheelError as exc:  # one page failing is recorded; the scan goes on
                return project, str(exc), LeftOut(), {}

        # Pages are fetched by a few threads (the client's rate limit still holds), in order.
        with ThreadPoolExecutor(4) as pool:
            for project, result, left_out, releases in pool.map(page, projects):
                url = source.rstrip("/") + "/" + project
                summary.left_out.add(left_out)
                if isinstance(result, str):
                    summary.page_errors += 1
                    summary.messages.append(f"{url}: {result}")
                    store.write_page(url, result, None)
                    continue
                store.write_page(url, None, len(result))
                store.write_releases(url, str(canonicalize_name(project)), releases)
                yield from result


def scan(
    sources: Sequence[str],
    db: str | Path,
    *,
    projects: Sequence[str] = (),
    filt: Filter | None = None,
    newest: bool = False,
    all_versions: bool = False,
    workers: int | None = None,
    downloads: int = 8,
    dask: str | None = None,
    options: HttpOptions | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> ScanSummary:
    """Audit every wheel *sources* select into the database *db*; wheels already done there
    are skipped. Raises MuslwheelError for a source that cannot be read at all.

    *sources* are directories of wheels, files of wheel URLs (or paths), wheel files or wheels'
    URLs, which keep every wheel they list, and simple index URLs (with *projects*), which keep
    each project's newest version. *newest* (``--newest``) keeps only each project's newest
    version for any source, *all_versions* (``--all-versions``) every version; these add to
    *filt*'s own. The wheels the filters leave out are counted by why in ``ScanSummary.left_out``
    (and said in words in ``ScanSummary.left_out_why``)."""
    filt = dataclasses.replace(
        filt or Filter(),
        newest=newest or (filt.newest if filt else False),
        all_versions=all_versions or (filt.all_versions if filt else False),
    )
    options = options or HttpOptions()
    summary = ScanSummary()
    start = time.monotonic()
    for source in sources:
        if _is_index(source):
            if not projects:
                raise ScanSourceError(f"{source}: an index needs project names (--project or --projects-file)")
        elif not source.startswith(("http://", "https://")) and not Path(source).exists():
            raise ScanSourceError(f"{source}: no such directory or file")
    created = not Path(db).exists()
    try:
        _run(sources, db, projects, filt, options, summary, dask, workers, downloads, max_bytes, progress)
    except MuslwheelError:
        if created and not summary.audited:  # bad input (no cluster, an unreadable source): no database
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        raise
    summary.left_out_why = summary.left_out.why(filt)
    summary.seconds = round(time.monotonic() - start, 3)
    return summary


def _run(
    sources: Sequence[str],
    db: str | Path,
    projects: Sequence[str],
    filt: Filter,
    options: HttpOptions,
    summary: ScanSummary,
    dask: str | None,
    workers: int | None,
    downloads: int,
    max_bytes: int | None,
    progress: Progress | None,
) -> None:
    with Store(db) as store:
        refs = _refs(sources, projects, filt, options, store, summary)
        if dask:
            run_dask(
                refs, store, address=dask, options=options, max_bytes=max_bytes, summary=summary, progress=progress
            )
        else:
            run_local(
                refs,
                store,
                workers=workers or default_workers(),
                downloads=downloads,
                options=options,
                max_bytes=max_bytes,
                summary=summary,
                progress=progress,
            )
