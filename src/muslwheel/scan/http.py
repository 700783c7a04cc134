"""HTTP for scan: a polite client, and a :class:`~muslwheel.wheelfile.WheelSource` that reads a
remote wheel with range requests.

The client is urllib3 (2.x): thread-safe connection pools, TLS, proxies and per-read timeouts,
and nothing else, so the policy is ours and visible here. requests would add its own
environment handling (which ignores ``SSL_CERT_FILE``) and an import cost; httpx brings
h11/anyio/certifi for features scan does not use. What pip honours, we honour:

* CA bundle: ``REQUESTS_CA_BUNDLE``, then ``CURL_CA_BUNDLE``, then ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` (OpenSSL's own variables, which the default context also reads);
* proxies: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` (any case), as
  :func:`urllib.request.getproxies` reads them;
* a User-Agent naming muslwheel; at most ``rate`` requests per second per process; retries
  with exponential backoff on 429 and 5xx (``Retry-After`` honoured up to ``max_backoff``),
  on dropped connections and on truncated bodies; a deadline for each whole response, so a
  server that trickles bytes cannot hold a wheel forever.

:class:`HttpRangeSource` asks first for the last 64 KiB (the end of central directory record
and, for nearly every wheel, the whole central directory). A server that answers 206 with the
exact range asked for is read by ranges from then on; one that answers 200 has sent the whole
file, which is then used as it is ("full"). A 206 whose Content-Range is not the range asked
for is an error, never guessed around.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import random
import re
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from ..errors import MuslwheelError

SCAN_USER_AGENT = f"muslwheel/{__version__} (scan; PEP 656 musllinux audit)"
TAIL = 64 * 1024 + 22  #: bytes asked for first: the end of central directory record and its comment
MIN_READ = 16 * 1024  #: a range read is at least this long
GAP = 32 * 1024  #: prefetched ranges closer than this are fetched in one request
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class FetchError(MuslwheelError):
    """A remote file could not be read (recorded for the wheel, retried on the next run)."""


class BudgetExceeded(FetchError):
    """Reading this wheel would go over the --max-bytes budget."""


@dataclass(frozen=True)
class HttpOptions:
    """How politely to fetch (picklable: Dask workers build their own client from it)."""

    rate: float = 10.0  #: requests per second, per process
    timeout: float = 30.0  #: seconds to connect, and for each read from the socket
    deadline: float = 600.0  #: seconds for one whole response
    retries: int = 4  #: further attempts after a 429, 5xx, dropped connection or short body
    backoff: float = 0.5  #: first backoff in seconds, doubled each retry (with jitter)
    max_backoff: float = 30.0  #: cap on a backoff, and on a server's Retry-After
    user_agent: str = SCAN_USER_AGENT


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class _RateLimit:
    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self._interval
        if at > now:
            time.sleep(at - now)


def _ca_settings() -> dict[str, Any]:
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    bundle = bundle or os.environ.get("SSL_CERT_FILE")
    out: dict[str, Any] = {}
    if bundle:
        out["ca_certs"] = bundle
    if os.environ.get("SSL_CERT_DIR"):
        out["ca_cert_dir"] = os.environ["SSL_CERT_DIR"]
    return out


class Client:
    """A polite HTTP GET client (thread-safe)."""

    def __init__(self, options: HttpOptions | None = None) -> None:
        import urllib3

        self.options = options or HttpOptions()
        self._urllib3 = urllib3
        self._limit = _RateLimit(self.options.rate)
        self._tls = _ca_settings()
        self._proxies = urllib.request.getproxies()
        self._direct = urllib3.PoolManager(num_pools=32, maxsize=16, **self._tls)
        self._via: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.requests = 0
        self.bytes = 0

    def _manager(self, url: str) -> Any:
        parts = urlsplit(url)
        proxy = self._proxies.get(parts.scheme)
        if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
            return self._direct
        with self._lock:
            if proxy not in self._via:
                self._via[proxy] = self._urllib3.ProxyManager(proxy, num_pools=32, maxsize=16, **self._tls)
            return self._via[proxy]

    def get(self, url: str, headers: dict[str, str] | None = None, *, limit: int = 1 << 34) -> Response:
        """GET *url*: the status, headers and body of the first answer that is not a 429 or
        5xx, retried with backoff. Raises FetchError for anything else that goes wrong, or for
        a body over *limit* bytes."""
        u3 = self._urllib3
        opts = self.options
        hdrs = {"User-Agent": opts.user_agent, "Accept-Encoding": "identity", **(headers or {})}
        timeout = u3.Timeout(connect=opts.timeout, read=opts.timeout)
        retry = u3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5, raise_on_redirect=True)
        why = "no attempt"
        retry_after: str | None = None
        for attempt in range(opts.retries + 1):
            if attempt:
                time.sleep(self._backoff(attempt, why, retry_after))
                retry_after = None
            self._limit.wait()
            with self._lock:
                self.requests += 1
            try:
                r = self._manager(url).request(
                    "GET", url, headers=hdrs, preload_content=False, retries=retry, timeout=timeout
                )
            except u3.exceptions.HTTPError as exc:
                why = _short(exc)
                continue
            body: bytes | None = None
            try:
                if r.status == 429 or r.status >= 500:
                    why = f"HTTP {r.status}"
                    retry_after = r.headers.get("Retry-After")
                    continue
                if r.status >= 400:
                    raise FetchError(f"{url}: HTTP {r.status}")
                declared = r.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise BudgetExceeded(f"{url}: {declared} bytes, over the --max-bytes budget ({limit} bytes left)")
                body = self._read(r, url, limit)
            except u3.exceptions.HTTPError as exc:
                why = _short(exc)
                continue
            finally:
                if body is None:  # not read to its end: this connection is never reused
                    r.close()
                r.release_conn()
            if body is None:
                why = "response took longer than the deadline"
                continue
            with self._lock:
                self.bytes += len(body)
            return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, body)
        raise FetchError(f"{url}: {why} (after {opts.retries + 1} attempts)")

    def _backoff(self, attempt: int, why: str, after: str | None) -> float:
        opts = self.options
        delay = opts.backoff * (2 ** (attempt - 1)) * (0.5 + random.random() / 2)
        if why in ("HTTP 429", "HTTP 503") and after and after.strip().isdigit():
            delay = max(delay, float(after))
        return float(min(delay, opts.max_backoff))

    def _read(self, r: Any, url: str, limit: int) -> bytes | None:
        deadline = time.monotonic() + self.options.deadline
        chunks: list[bytes] = []
        got = 0
        while True:
            chunk = r.read(256 * 1024)
            if not chunk:
                return b"".join(chunks)
            got += len(chunk)
            if got > limit:
                raise BudgetExceeded(f"{url}: over the --max-bytes budget ({limit} bytes left)")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                return None


def _short(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc)
    text = re.sub(r"<urllib3[^>]*>:?\s*", "", text)
    return f"{type(reason or exc).__name__}: {text}"[:300]


_clients: dict[HttpOptions, Client] = {}
_clients_lock = threading.Lock()


def client_for(options: HttpOptions) -> Client:
    """This process's client for *options* (one pool and one rate limit per process)."""
    with _clients_lock:
        if options not in _clients:
            _clients[options] = Client(options)
        return _clients[options]


class HttpRangeSource:
    """A wheel on a web server, as a :class:`~muslwheel.wheelfile.WheelSource`.

    Fetched bytes are kept as sorted, disjoint segments; a read that they cover costs nothing.
    The object pickles with its segments (a pool fetches in a thread and audits in another
    process); a read that misses after that fetches with this process's own client.
    """

    def __init__(
        self,
        url: str,
        name: str,
        options: HttpOptions,
        *,
        budget: int = 1 << 34,
        expected_size: int | None = None,
        expected_sha256: str | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self.options = options
        self.budget = budget
        self.bytes_read = 0
        self.requests = 0
        self._starts: list[int] = []
        self._segments: list[bytes] = []
        r = self._get({"Range": f"bytes=-{TAIL}"})
        if r.status == 206:
            first, last, total = self._content_range(r, None)
            if last != total - 1 or first != max(0, total - TAIL):
                raise FetchError(
                    f"{url}: asked for the last {TAIL} bytes, the server sent bytes {first}-{last}/{total}"
                )
            self.size = total
            self.method = "range"
            self._add(first, r.body)
        elif r.status == 200:
            self.size = len(r.body)
            self.method = "full"
            self._add(0, r.body)
            if expected_sha256 and hashlib.sha256(r.body).hexdigest() != expected_sha256.lower():
                raise FetchError(f"{url}: content does not match the index's sha256")
        else:
            raise FetchError(f"{url}: unexpected HTTP {r.status}")
        if expected_size is not None and expected_size != self.size:
            raise FetchError(f"{url}: the index says {expected_size} bytes, the server has {self.size}")

    def _get(self, headers: dict[str, str]) -> Response:
        left = self.budget - self.bytes_read
        if left <= 0:
            raise BudgetExceeded(f"{self.url}: over the --max-bytes budget (0 bytes left)")
        client = client_for(self.options)
        r = client.get(self.url, headers, limit=left)
        self.requests += 1
        self.bytes_read += len(r.body)
        return r

    def _content_range(self, r: Response, asked: tuple[int, int] | None) -> tuple[int, int, int]:
        m = _CONTENT_RANGE.match(r.headers.get("content-range", "").strip())
        if not m:
            raise FetchError(f"{self.url}: 206 without a usable Content-Range ({r.headers.get('content-range')!r})")
        first, last, total = map(int, m.groups())
        if last < first or last >= total or len(r.body) != last - first + 1:
            raise FetchError(
                f"{self.url}: Content-Range bytes {first}-{last}/{total} does not match {len(r.body)} bytes sent"
            )
        if asked is not None and ((first, last) != (asked[0], asked[1] - 1) or total != self.size):
            raise FetchError(
                f"{self.url}: asked for bytes {asked[0]}-{asked[1] - 1}/{self.size}, "
                f"the server sent bytes {first}-{last}/{total}"
            )
        return first, last, total

    def _add(self, start: int, data: bytes) -> None:
        i = bisect.bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._segments.insert(i, data)

    def _gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of [start, end) no segment holds."""
        gaps = []
        pos = start
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        while pos < end and i < len(self._starts):
            s, e = self._starts[i], self._starts[i] + len(self._segments[i])
            if e <= pos:
                i += 1
                continue
            if s > pos:
                gaps.append((pos, min(s, end)))
            pos = max(pos, e)
            i += 1
        if pos < end:
            gaps.append((pos, end))
        return gaps

    def _fetch(self, start: int, end: int) -> None:
        r = self._get({"Range": f"bytes={start}-{end - 1}"})
        if r.status == 200:  # the server gave up on ranges: this is the whole file
            if len(r.body) != self.size:
                raise FetchError(f"{self.url}: the server now sends {len(r.body)} bytes, not {self.size}")
            self._starts, self._segments = [0], [r.body]
            self.method = "full"
            return
        if r.status != 206:
            raise FetchError(f"{self.url}: unexpected HTTP {r.status} for a range")
        self._content_range(r, (start, end))
        self._add(start, r.body)

    def _ensure(self, start: int, end: int, min_read: int) -> None:
        for gap_start, gap_end in self._gaps(start, end):
            # Read at least min_read bytes, but never into bytes already held.
            nxt = bisect.bisect_right(self._starts, gap_start)
            limit = self._starts[nxt] if nxt < len(self._starts) else self.size
            self._fetch(gap_start, min(limit, max(gap_end, gap_start + min_read)))

    def read_at(self, offset: int, length: int) -> bytes:
        start = max(0, min(offset, self.size))
        end = max(start, min(offset + length, self.size))
        if start == end:
            return b""
        self._ensure(start, end, MIN_READ)
        i = bisect.bisect_right(self._starts, start) - 1
        out = []
        pos = start
        while pos < end:
            seg_start, seg = self._starts[i], self._segments[i]
            out.append(seg[pos - seg_start : end - seg_start])
            pos = seg_start + len(seg)
            i += 1
        return b"".join(out) if len(out) > 1 else out[0]

    def prefetch(self, spans: list[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            for gap_start, gap_end in self._gaps(max(0, start), min(end, self.size)):
                if merged and gap_start - merged[-1][1] <= GAP and not self._gaps_held(merged[-1][1], gap_start):
                    merged[-1][1] = max(merged[-1][1], gap_end)
                else:
                    merged.append([gap_start, gap_end])
        for start, end in merged:
            self._ensure(start, end, 0)

    def _gaps_held(self, start: int, end: int) -> bool:
        """Whether some of [start, end) is already held (then two requests beat refetching it)."""
        return start < end and self._gaps(start, end) != [(start, end)]

    def close(self) -> None:
        pass
