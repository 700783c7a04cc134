"""The sandbox test's listener host (TCP and Unix sockets, files in the home directory and /tmp)
and what a wheel's code reached through it, shared by the sandbox and build tests."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: what a hostile wheel's code tries at import (or as build's --test): every attempt's failure is
#: swallowed, so the import itself succeeds either way
HOSTILE = """
import socket
def attempt(fn, *args):
    try:
        fn(*args)
    except OSError:
        pass
def tcp(port):
    socket.create_connection(("127.0.0.1", port), timeout=10).close()
def unix(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    s.close()
def write(path):
    with open(path, "w") as f:
        f.write("written by a wheel's code\\n")
attempt(tcp, {port})
attempt(unix, {unix!r})
for path in {files!r}:
    attempt(write, path)
"""


@dataclass
class Host:
    """What the wheel's code could reach on the host: a TCP listener on 127.0.0.1, a Unix socket
    in the real home directory, and the files it would write (in $HOME and in /tmp)."""

    tcp: socket.socket
    unix: socket.socket
    unix_path: Path
    files: tuple[Path, ...]

    def code(self) -> str:
        port = self.tcp.getsockname()[1]
        return HOSTILE.format(port=port, unix=str(self.unix_path), files=tuple(map(str, self.files)))

    def reached(self) -> dict[str, object]:
        """What reached the host since the last call (connections accepted, files written);
        the files are removed."""
        out: dict[str, object] = {"tcp": _drain(self.tcp), "unix": _drain(self.unix)}
        for f in self.files:
            out[f.name.split("-")[-1]] = f.exists()
            f.unlink(missing_ok=True)
        return out


def _drain(server: socket.socket) -> int:
    """Connections waiting in *server*'s backlog (a finished client's connection stays there)."""
    n = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


@contextmanager
def host() -> Iterator[Host]:
    tag = uuid.uuid4().hex[:12]
    home = Path.home()
    unix_path = home / f".mw-{tag}.sock"
    files = (home / f".muslwheel-sandbox-{tag}-home", Path("/tmp") / f"muslwheel-sandbox-{tag}-tmp")
    tcp = socket.socket()
    unix = socket.socket(socket.AF_UNIX)
    try:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(16)
        tcp.setblocking(False)
        unix.bind(str(unix_path))
        unix.listen(16)
        unix.setblocking(False)
        yield Host(tcp, unix, unix_path, files)
    finally:
        tcp.close()
        unix.close()
        unix_path.unlink(missing_ok=True)
        for f in files:
            f.unlink(missing_ok=True)


NOTHING = {"tcp": 0, "unix": 0, "home": False, "tmp": False}


EVERYTHING = {"tcp": 1, "unix": 1, "home": True, "tmp": True}
