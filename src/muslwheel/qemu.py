"""The program that runs an architecture's binaries on this host: nothing, or qemu-user.

One function, :func:`runner`, which everything that runs a target's binary asks: ``check`` (musl's
loader ``--list``), and :meth:`muslwheel.kits.Kit.runner` (every kit's interpreter command:
``check --import``, build's import step and ``--test``, ``kit build``'s proof; the sandbox binds
the program it names). Natively (:func:`muslwheel.arch.host_runs_natively`) it is nothing;
otherwise ``qemu-ARCH`` from ``PATH``, unless that one is older than the arch's
:attr:`~muslwheel.arch.Arch.qemu_minimum` (loongarch64: 8.1, LSX, which rustc's target enables by
default; Debian bookworm's qemu-user is 7.2). Then it is Debian's newer qemu-user
(:data:`DEBIAN_SUITE`'s ``qemu-user``: statically linked, no dependencies), downloaded once into
the download cache and verified against Debian's signed index
(:func:`muslwheel.debian.debian_binaries`), with only the arch's ``qemu-ARCH`` unpacked into
``<cache>/qemu/<version>/``. One line (:attr:`Runner.how`, said once per process on stderr) says
which was taken and why. Without apt or a network (and nothing in the caches), the ``PATH`` one is
kept and the line says what will crash under it; with no qemu at all, nothing runs the arch here
(None). An arch whose CPU is older than qemu's default for its program gets the row's
:attr:`~muslwheel.arch.Arch.qemu_args` in the command (armv6l: ``qemu-arm -cpu arm1176``, the
ARMv6KZ of the Raspberry Pi Zero and 1, so that an ARMv7 instruction stops the program with
SIGILL as it would there; qemu-arm's default CPU runs ARMv7 and later).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from .arch import Arch, host_runs_natively
from .cache import cache_dir, locked, staged

#: the Debian suite whose qemu-user is taken when ``PATH``'s is too old (10.0 in trixie)
DEBIAN_SUITE = "trixie"
DEBIAN_PACKAGE = "qemu-user"


@dataclass(frozen=True)
class Runner:
    """How this host runs one arch's binaries."""

    #: the prefix of a command line: ``()`` natively, else ``(qemu, *arch.qemu_args)``
    command: tuple[str, ...]
    version: tuple[int, ...] | None = None  #: qemu's version, when it was asked
    how: str | None = None  #: one line, when ``PATH``'s qemu was not simply taken


_lock = threading.Lock()
_found: dict[tuple[str, str | None], Runner | None] = {}


def runner(arch: Arch) -> Runner | None:
    """The runner of *arch* here (see the module); None when nothing runs it. Remembered per
    process (and per ``PATH`` qemu); a download happens once, under the cache's lock."""
    if host_runs_natively(arch):
        return Runner(())
    on_path = shutil.which(arch.qemu)
    if arch.qemu_minimum is None:  # any will do: never asked its version
        return Runner((on_path, *arch.qemu_args)) if on_path else None
    key = (arch.name, on_path)
    with _lock:
        if key not in _found:
            found = _find(arch, on_path)
            if found is not None and found.how:
                print(f"muslwheel: {found.how}", file=sys.stderr)
            if found is not None:
                found = Runner((*found.command, *arch.qemu_args), found.version, found.how)
            _found[key] = found
        return _found[key]


def qemu_version(program: str | Path) -> tuple[int, ...] | None:
    """``qemu-ARCH --version``'s release (``(7, 2, 22)``), None if it does not say."""
    try:
        proc = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"version (\d+(?:\.\d+)+)", proc.stdout)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _find(arch: Arch, on_path: str | None) -> Runner | None:
    assert arch.qemu_minimum is not None
    minimum, feature = arch.qemu_minimum
    version = qemu_version(on_path) if on_path else None
    if on_path and version is not None and version[:2] >= minimum:
        return Runner((on_path,), version)
    if not on_path:
        why = f"no {arch.qemu} on PATH"
    elif version is None:
        why = f"{arch.qemu} on PATH does not say its version ({feature} needs {_dotted(minimum)})"
    else:
        why = f"{arch.qemu} {_dotted(version[:2])} on PATH predates {feature} ({_dotted(minimum)})"
    from .errors import MuslwheelError

    try:
        program, debian_version = debian_qemu(arch)
    except (MuslwheelError, OSError, subprocess.CalledProcessError) as exc:
        if not on_path:
            return None
        return Runner(
            (on_path,),
            version,
            f"{why} and Debian's {DEBIAN_PACKAGE} could not be had ({exc}): keeping it; "
            f"code built with {feature} (rustc's default) will crash under it with SIGILL",
        )
    return Runner(
        (str(program),),
        qemu_version(program),
        f"{why}: using Debian's {DEBIAN_PACKAGE} {debian_version} from the cache ({program})",
    )


def debian_qemu(arch: Arch) -> tuple[Path, str]:
    """Debian's ``qemu-ARCH`` (:data:`DEBIAN_SUITE`), unpacked once into the cache: (program,
    Debian's upstream version). The ``.deb`` comes through the download cache, verified."""
    from .debian import SourceError, debian_binaries, upstream_version

    have = _unpacked(arch)
    if have is not None:  # apt is not asked again (nor the network): the first one stays
        return have
    (deb,) = debian_binaries([DEBIAN_PACKAGE], suite=DEBIAN_SUITE)
    # apt names the file name_VERSION_arch.deb, with the epoch's colon as %3a
    version = upstream_version(deb.name.split("_")[1].replace("%3a", ":")).split("+")[0]
    final = cache_dir() / "qemu" / f"{version}-{arch.qemu}"
    program = final / arch.qemu
    with locked(final.with_name(final.name + ".lock")):
        if not (final / ".complete").exists():
            with staged(final) as tmp:
                tmp.mkdir(parents=True)
                member = f"./usr/bin/{arch.qemu}"
                tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
                assert tar.stdout is not None
                proc = subprocess.run(
                    ["tar", "-x", "-C", str(tmp), "--strip-components=3", member],
                    stdin=tar.stdout,
                    capture_output=True,
                    text=True,
                )
                tar.stdout.close()
                if tar.wait() != 0 or proc.returncode != 0:
                    raise SourceError(f"{deb.name} holds no {member}: {proc.stderr.strip()[:300]}")
                if not os.access(tmp / arch.qemu, os.X_OK):
                    raise SourceError(f"{deb.name}: {member} is not executable")
                (tmp / ".complete").write_text(f"{deb.name}\n")
    return program, version


def _unpacked(arch: Arch) -> tuple[Path, str] | None:
    """The newest ``qemu-ARCH`` already unpacked into the cache, if any."""
    found = []
    for done in (cache_dir() / "qemu").glob(f"*-{arch.qemu}/.complete"):
        version = done.parent.name[: -len(arch.qemu) - 1]
        if re.fullmatch(r"\d+(\.\d+)*", version):
            found.append((tuple(int(x) for x in version.split(".")), done.parent / arch.qemu, version))
    if not found:
        return None
    _, program, version = max(found)
    return program, version
