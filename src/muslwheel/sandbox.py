"""The room a wheel's own code runs in: bubblewrap, no network, the host read-only.

``check --import``, build's import step and ``--test`` execute the wheel's code (module init,
package ``__init__``, the test), which is remote input and may be hostile. So the target's
Python (natively, or under qemu-user, a host binary read like any other) runs under bubblewrap
(``bwrap``, Debian's ``bubblewrap``; the same tool Flatpak runs applications in):

- every namespace bwrap can make (``--unshare-all``): no network (a loopback of its own, so a
  connection to the host's ``127.0.0.1`` finds nothing), its own PIDs, IPC and hostname;
- all capabilities dropped (``--cap-drop ALL``: as root bwrap would otherwise keep them);
- the host's filesystem bound read-only (``--ro-bind / /``), with a fresh ``/dev`` and ``/proc``;
- empty, private ``/tmp`` and ``/run`` (``/run`` holds the host's Unix sockets: Docker's, D-Bus,
  ssh-agent's; a socket stays connectable through a read-only bind, so it is hidden, not just
  made read-only), and the home directories (``/home``, ``/root``, ``$HOME``) hidden behind
  empty ones, so the wheel cannot read ``~/.pypirc``, ``~/.ssh`` or a token and print it into a
  CI log;
- then the directories the interpreter needs bound back read-only (a kit, an installed
  CPython's prefix), and the throwaway directory the wheel is installed in bound read-write
  (``HOME`` points inside it);
- ``--die-with-parent`` (killed with muslwheel: a timeout or Ctrl-C leaves nothing behind),
  ``--new-session`` (no terminal to type into, CVE-2017-5226), standard input from
  ``/dev/null``, and the environment the caller gives (muslwheel's own is not passed on).

Whether the host allows it is probed once per process (``bwrap`` on ``PATH``, and a ``true``
under exactly these options succeeds). Where it does not, :func:`room` refuses with one line
(the CLI exits 2) unless the caller asked for no sandbox (``--no-sandbox``, ``sandbox=False``):
code the user has not read never runs unconfined by default.

The same tool gives ``check --root`` a root's own view (:func:`root_view`): the root's loader
runs where the root is ``/``, so the kernel follows every link and RPATH inside the root, as a
chroot would and as :class:`muslwheel.root.MuslRoot` maps paths for find-library and repair. A
kit's interpreter runs in its root's view too (:meth:`Sandbox.command` with ``root``), with the
kit's directory and the throwaway directory bound at their own paths instead of the host's ``/``.

What it does not do: Unix sockets elsewhere on the host (outside ``/run``, ``/tmp`` and the home
directories) stay reachable; the wheel can read the rest of the host's files and burn CPU until
the timeout; and its report travels on the same output as its own prints, so a hostile wheel can
fake its own results (the sandbox protects the host, not the verdict).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import MuslwheelError

#: directories hidden behind an empty tmpfs (after ``--ro-bind / /``)
_HIDDEN = ("/tmp", "/run", "/var/run", "/home", "/root")
#: Ubuntu 23.10+ (1: unprivileged programs cannot make user namespaces, bwrap's included)
_APPARMOR_USERNS = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"


class SandboxUnavailable(MuslwheelError):
    """The host cannot sandbox a wheel's code, and the caller did not say to run it without."""


@dataclass(frozen=True)
class Sandbox:
    """How a target's Python is run: under bubblewrap (``bwrap`` is its path), or bare (None)."""

    bwrap: str | None

    @property
    def used(self) -> bool:
        return self.bwrap is not None

    def command(
        self, argv: Sequence[str], workdir: Path, reads: Sequence[Path] = (), root: Path | None = None, runner: int = 0
    ) -> list[str]:
        """*argv* as this room runs it: *workdir* read-write (and the working directory), *reads*
        visible read-only, the rest as the module docstring says. Bare: *argv* unchanged.

        With *root* (a kit's), the room is that root's own view (:func:`root_view`: its links
        and RPATHs followed inside it) with *workdir* and *reads* bound at their own paths and a
        fresh ``/tmp``; the first *runner* items of *argv* are the program that runs it
        (qemu-user). A root whose top-level entries those paths would land in (its ``/root``
        for a cache in ``/root/.cache``) cannot hold them: the host's view is taken then."""
        if self.bwrap is None:
            return list(argv)
        if root is not None:
            viewed = _in_root(self.bwrap, root, argv, workdir, reads, runner)
            if viewed is not None:
                return viewed
        return [self.bwrap, *_options(workdir, reads), "--", *argv]

    def returncode(self, code: int | None) -> int | None:
        """The program's exit status as :mod:`subprocess` gives it (``-N`` for a signal): bwrap
        reports a child killed by signal N as ``128 + N``, as a shell does."""
        if self.bwrap is not None and code is not None and 128 < code <= 128 + 64:
            return 128 - code
        return code

    def run(
        self,
        argv: Sequence[str],
        workdir: Path,
        reads: Sequence[Path],
        env: Mapping[str, str],
        timeout: float,
    ) -> subprocess.CompletedProcess[str]:
        """Run *argv* in the room and wait (stdin empty, output captured)."""
        proc = subprocess.run(
            self.command(argv, workdir, reads),
            capture_output=True,
            text=True,
            errors="replace",
            env=dict(env),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        code = self.returncode(proc.returncode)
        assert code is not None
        proc.returncode = code
        return proc


def _options(workdir: Path, reads: Sequence[Path]) -> list[str]:
    out = ["--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    out += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    hidden: list[str] = []
    home = os.environ.get("HOME", "")
    for d in (*_HIDDEN, *([home] if home.startswith("/") else [])):
        real = os.path.realpath(d)  # /var/run is a link to /run on Debian
        if real != "/" and os.path.isdir(real) and real not in hidden:
            hidden.append(real)
    for d in hidden:
        out += ["--tmpfs", d]
    binds: list[tuple[str, str]] = []
    given_paths = [os.path.abspath(p) for p in reads]
    for p, given in zip(reads, given_paths):
        real = os.path.realpath(p)
        if not os.path.exists(real) or real == "/":
            continue
        binds.append((real, real))
        # the path as the command names it, through a link that is itself hidden (a link inside
        # another bound directory is there already, and bwrap mounts on no link)
        if (
            given != real
            and any(_under(given, d) for d in hidden)
            and not any(_under(given, o) and given != o for o in given_paths)
        ):
            binds.append((real, given))
    for src, dest in sorted(set(binds), key=lambda b: (b[1].count("/"), b[1])):
        out += ["--ro-bind", src, dest]
    work = os.path.realpath(workdir)
    out += ["--bind", work, work, "--chdir", work]
    return out


#: the private top-level directory of a root view: muslwheel's own files, never the root's
VIEW_DIR = "/.muslwheel"
#: a root's top-level entries a view never takes from it (made fresh, or muslwheel's own)
_VIEW_OWN = ("dev", "proc", VIEW_DIR[1:])


def root_view(
    root: Path, argv: Sequence[str], binds: Sequence[tuple[Path, str]] = (), runner: Sequence[str] = ()
) -> list[str]:
    """*argv* run where *root* is ``/``: the root's top-level entries (its directories and files
    bound read-only, its top-level links made again as they are) over bubblewrap's empty root,
    with a fresh ``/dev`` and ``/proc``, and nothing of this host but *binds* (a host path and
    where the view shows it, read-only, under :data:`VIEW_DIR`) and the program *runner* names
    (qemu-user, with its own libraries when it is not static: :func:`_program_in_view`), which
    runs *argv*. Every path is then resolved by the kernel inside the root, as a chroot would:
    ``ROOT/usr/lib/libdep.so.1 -> /opt/vendor/libdep.so.1`` is the root's ``/opt/vendor``.
    Every namespace is unshared and every capability dropped, as in :func:`room`. Raises
    :class:`SandboxUnavailable` (one line) when the host cannot run bubblewrap."""
    reason = why_not()
    if reason is not None:
        raise SandboxUnavailable(
            f"cannot show {root} to its loader as its own / here ({reason}): its links would be "
            "followed on this host; install bubblewrap and allow user namespaces"
        )
    bwrap = shutil.which("bwrap")
    assert bwrap is not None
    out = [bwrap, "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    out += _root_entries(root, _VIEW_OWN)
    prefix: list[str] = []
    if runner:
        program_binds, prefix = _program_in_view(runner[0])
        binds = [*binds, *program_binds]
        prefix += list(runner[1:])
    for src, dest in binds:
        assert dest.startswith(VIEW_DIR + "/"), dest
        out += ["--ro-bind", os.path.realpath(src), dest]
    return [*out, "--chdir", "/", "--", *prefix, *argv]


def _root_entries(root: Path, skip: Sequence[str]) -> list[str]:
    """bwrap's options that make *root*'s top-level entries ``/``'s (but *skip*): its
    directories and files bound read-only, its links made again as they are; then a fresh
    ``/dev`` and ``/proc``."""
    out: list[str] = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name in skip:
            continue
        if entry.is_symlink():
            out += ["--symlink", os.readlink(entry.path), f"/{entry.name}"]
        elif entry.is_dir() or entry.is_file():
            out += ["--ro-bind", entry.path, f"/{entry.name}"]
    return [*out, "--dev", "/dev", "--proc", "/proc"]


def _in_root(
    bwrap: str, root: Path, argv: Sequence[str], workdir: Path, reads: Sequence[Path], runner: int
) -> list[str] | None:
    """The room of :meth:`Sandbox.command` over *root*'s view; None when a path it must bind
    at its own place would land inside one of the root's top-level entries."""
    program = set(argv[:runner])
    work = os.path.realpath(workdir)
    bound = sorted(
        {os.path.realpath(p) for p in reads if str(p) not in program and os.path.exists(p)} - {"/"},
        key=lambda p: (p.count("/"), p),
    )
    skip = (*_VIEW_OWN, "tmp")
    taken = {e.name for e in os.scandir(root)} - set(skip)
    if any(p.split("/")[1] in taken for p in (work, *bound)):
        return None
    out = [bwrap, "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    out += [*_root_entries(root, skip), "--tmpfs", "/tmp"]
    prefix: list[str] = []
    if runner:
        binds, prefix = _program_in_view(argv[0])
        prefix += list(argv[1:runner])
        for src, dest in binds:
            out += ["--ro-bind", str(src), dest]
    for p in bound:
        out += ["--ro-bind", p, p]
    return [*out, "--bind", work, work, "--chdir", work, "--", *prefix, *argv[runner:]]


@functools.cache
def _program_in_view(program: str) -> tuple[list[tuple[Path, str]], list[str]]:
    """A program of this host (qemu-user) as a root view runs it: (its binds, its command
    prefix). A static one is bound alone; a dynamic one is started by its own loader, bound
    too, with its libraries' directories (as the loader lists them) as ``--library-path``: the
    root's ``/lib`` is not this host's."""
    from .elf import read_elf_headers

    real = os.path.realpath(program)
    where = f"{VIEW_DIR}/host"
    binds: list[tuple[Path, str]] = [(Path(real), f"{where}/{os.path.basename(real)}")]
    interpreter = read_elf_headers(real).interpreter
    if interpreter is None:
        return binds, [binds[0][1]]
    loader = os.path.realpath(interpreter)
    listed = subprocess.run(
        [loader, "--list", real], capture_output=True, text=True, errors="replace", timeout=60, check=False
    )
    dirs: list[str] = []
    for line in listed.stdout.splitlines():
        _, arrow, rest = line.partition("=> ")
        path = rest.split(" (", 1)[0].strip() if arrow else ""
        if path.startswith("/"):
            d = os.path.realpath(os.path.dirname(path))
            if d not in dirs:
                dirs.append(d)
    binds.append((Path(loader), f"{where}/{os.path.basename(loader)}"))
    binds += [(Path(d), f"{where}/lib{i}") for i, d in enumerate(dirs)]
    library_path = ":".join(f"{where}/lib{i}" for i in range(len(dirs)))
    return binds, [binds[1][1], "--library-path", library_path, binds[0][1]]


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


@functools.cache
def why_not() -> str | None:
    """Why this host cannot run the sandbox (None: it can). Probed once per process."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory(prefix="muslwheel-sandbox-") as tmp:
        try:
            proc = subprocess.run(
                [bwrap, *_options(Path(tmp), ()), "--", "true"],
                capture_output=True,
                text=True,
                errors="replace",
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                stdin=subprocess.DEVNULL,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError) as e:
            return f"bwrap does not run: {e}"
    if proc.returncode != 0:
        said = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[0]
        hint = ""
        try:
            restricted = Path(_APPARMOR_USERNS).read_text().strip() == "1"
        except OSError:
            restricted = False
        if restricted:
            hint = f"; AppArmor restricts user namespaces here (Ubuntu 24.04: sudo sysctl -w {_APPARMOR_USERNS[10:].replace('/', '.')}=0)"
        return f"bwrap cannot make its namespaces here: {said[:300]}{hint}"
    return None


def room(sandbox: bool = True) -> Sandbox:
    """The room for a wheel's code: bubblewrap when *sandbox*, else bare. Raises
    :class:`SandboxUnavailable` (one line) when *sandbox* and the host cannot give one."""
    if not sandbox:
        return Sandbox(None)
    reason = why_not()
    if reason is not None:
        raise SandboxUnavailable(
            f"cannot sandbox the wheel's code here ({reason}); install bubblewrap and allow user "
            "namespaces, or pass --no-sandbox to run it with your rights, network and files"
        )
    bwrap = shutil.which("bwrap")
    assert bwrap is not None
    return Sandbox(bwrap)
