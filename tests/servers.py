"""Web servers for the scan tests, on 127.0.0.1 only, stopped by the tests that start them.

:class:`Nginx` is Debian's nginx serving a directory: ``/ranges/`` answers range requests,
``/norange/`` (``max_ranges 0``) always sends the whole file, ``/simple/`` answers PEP 691 JSON
or PEP 503 HTML by the Accept header, ``/html-simple/`` only HTML. Its access log records each
request's status, Range header and bytes sent.

:class:`BadServer` misbehaves on purpose, by the first path component: ``drop`` closes the
connection after the headers, ``500`` always fails, ``429`` asks to retry, ``badrange`` answers a
range request with another range, ``stall`` sends headers and then nothing for ``stall``
seconds, ``short`` promises more bytes than it sends, ``good`` serves the file properly (with
ranges). Every handler is bounded in time; the server counts requests per path.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

from conftest import need

NGINX_CONF = """
worker_processes 1;
daemon off;
error_log {prefix}/error.log;
pid {prefix}/nginx.pid;
{user}
events {{ worker_connections 64; }}
http {{
    types {{ application/octet-stream whl; text/html html; application/vnd.pypi.simple.v1+json json; }}
    default_type application/octet-stream;
    log_format scan '$status "$request_uri" "$http_range" $body_bytes_sent "$http_user_agent"';
    access_log {prefix}/access.log scan;
    client_body_temp_path {prefix}/tmp; proxy_temp_path {prefix}/tmp; fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp; scgi_temp_path {prefix}/tmp;
    map $http_accept $simple_index {{
        default index.html;
        "~application/vnd\\.pypi\\.simple\\.v1\\+json" index.json;
    }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /norange/ {{ max_ranges 0; }}
        location /simple/ {{ index $simple_index; }}
        location /html-simple/ {{ index index.html; }}
    }}
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {prefix}/cert.pem;
        ssl_certificate_key {prefix}/key.pem;
        root {root};
    }}
    server {{
        # A forward proxy for plain HTTP: it fetches whatever URL it is asked for.
        listen 127.0.0.1:{proxy_port};
        access_log {prefix}/proxy.log scan;
        location / {{ proxy_pass http://$http_host; proxy_set_header Range $http_range; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Nginx:
    def __init__(self, root: Path, prefix: Path) -> None:
        exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        need(exe, "nginx (Debian nginx)")
        assert exe
        self.root = root
        self.prefix = prefix
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        self.port, self.tls_port, self.proxy_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tls_url = f"https://127.0.0.1:{self.tls_port}"
        self.proxy_url = f"http://127.0.0.1:{self.proxy_port}"
        # A self-signed certificate for 127.0.0.1: trusted only where a CA setting names it.
        self.cert = prefix / "cert.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(prefix / "key.pem"), "-out", str(self.cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        conf = prefix / "nginx.conf"
        user = "user root root;" if os.geteuid() == 0 else ""
        conf.write_text(
            NGINX_CONF.format(
                prefix=prefix, port=self.port, tls_port=self.tls_port, proxy_port=self.proxy_port, root=root, user=user
            )
        )
        self.proc = subprocess.Popen([exe, "-c", str(conf), "-p", str(prefix)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError as exc:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"nginx did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                    ) from exc
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening within 10 s")

    def log(self, name: str = "access.log") -> list[tuple[int, str, str, int, str]]:
        """(status, uri, Range header, bytes sent, User-Agent) of each request so far."""
        out = []
        path = self.prefix / name
        for line in path.read_text().splitlines() if path.exists() else []:
            m = re.match(r'(\d+) "([^"]*)" "([^"]*)" (\d+) "([^"]*)"', line)
            if m:
                out.append((int(m.group(1)), m.group(2), m.group(3), int(m.group(4)), m.group(5)))
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class BadServer:
    """A deliberately misbehaving HTTP server (see the module docstring)."""

    def __init__(self, root: Path, stall: float = 3.0) -> None:
        self.root = root
        self.stall = stall
        self.hits: Counter[str] = Counter()
        self.mode_override: str | None = None  # serve every path as this mode ("good" to heal)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.hits[self.path] += 1
                parts = self.path.strip("/").split("/", 1)
                mode = server.mode_override or parts[0]
                file = server.root / parts[-1]
                if file.is_dir():  # a simple index's project page
                    file = file / "index.json"
                body = file.read_bytes() if file.is_file() else None
                if body is None:
                    self._send(404, b"not found")
                    return
                rng = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
                if mode == "500":
                    self._send(500, b"broken")
                elif mode == "429":
                    self._send(429, b"slow down", {"Retry-After": "1"})
                elif mode == "drop":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif mode == "short":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif mode == "stall":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.flush()
                    time.sleep(server.stall)
                    self.close_connection = True
                elif mode == "badrange" and rng:
                    # Always the first 100 bytes, whatever was asked for.
                    self._send(206, body[:100], {"Content-Range": f"bytes 0-99/{len(body)}"})
                elif mode in ("good", "badrange") and rng:
                    start, end = _range(rng, len(body))
                    self._send(206, body[start:end], {"Content-Range": f"bytes {start}-{end - 1}/{len(body)}"})
                else:
                    kind = (
                        "application/vnd.pypi.simple.v1+json"
                        if file.name == "index.json"
                        else "application/octet-stream"
                    )
                    self._send(200, body, {"Content-Type": kind})

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _range(m: re.Match[str], size: int) -> tuple[int, int]:
    first, last = m.group(1), m.group(2)
    if not first:
        n = int(last)
        return max(0, size - n), size
    start = int(first)
    end = min(size, int(last) + 1) if last else size
    return start, end
