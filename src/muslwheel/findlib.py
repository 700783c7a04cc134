"""``find_library``: what :func:`ctypes.util.find_library` should answer on musl.

CPython's answers through ``ldconfig -p``, ``gcc`` or ``ld``: an Alpine system without a
compiler gives None for everything, and ctypes-based bindings then fail to load their library.
This module answers by musl's own rules (``ldso/dynlink.c``), reading files only, for this
system or a root filesystem of any architecture:

* ``c``, ``m``, ``pthread``, ``rt``, ``dl``, ``util``, ``xnet``: musl itself, the loader file;
* otherwise the directories musl's loader searches, in its order: ``LD_LIBRARY_PATH`` (this
  system only), then those of ``/etc/ld-musl-ARCH.path`` if it exists, else musl's default
  (:class:`~muslwheel.root.MuslRoot` knows them, and maps the root's paths). In the first directory holding ``libNAME.so`` (a link a
  -dev package adds) or ``libNAME.so.*``, the library's SONAME (the newest version when
  several) is the name a program asks for; the answer is the file musl's loader opens for that
  name, searching the same directories: the path ``ld-musl-ARCH --list`` prints.

Only ELF files of the root's architecture count (a glibc or foreign library is skipped, and a
linker script named ``libNAME.so`` is not a library).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .arch import same_machine
from .elf import ELFFile, read_elf
from .errors import ELFError, MuslwheelError
from .libc import StrPath
from .policy import is_musl_self
from .root import MuslRoot, RootError


class FindLibraryError(MuslwheelError):
    """No musl target to search (no loader in the root, or several and no arch chosen)."""


@dataclass(frozen=True)
class Found:
    name: str  #: the name asked for (``z``)
    soname: str  #: the name a program asks the loader for (``libz.so.1``)
    path: str  #: the file musl's loader opens, as the target sees it (``/usr/lib/libz.so.1``)
    host_path: str  #: the same file on this host (under the root)
    musl_itself: bool
    searched: tuple[str, ...]  #: the directories, in musl's order, as the target sees them

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "soname": self.soname,
            "path": self.path,
            "host_path": self.host_path,
            "musl_itself": self.musl_itself,
            "searched": list(self.searched),
        }


def _library(target: MuslRoot, host: Path) -> ELFFile | None:
    """The ELF file at *host* if it is a library musl could load for the target's arch."""
    if not host.is_file():
        return None
    try:
        elf = read_elf(host)
    except (ELFError, OSError):
        return None
    return elf if elf.is_dynamic and same_machine(elf, target.arch) else None


def _target(root: StrPath | None, arch: str | None) -> MuslRoot:
    try:
        return MuslRoot.choose(root, arch)
    except RootError as exc:
        raise FindLibraryError(str(exc)) from None


def _searched(target: MuslRoot) -> tuple[str, ...]:
    return tuple(dict.fromkeys(d.path for d in target.search_path()))


def _version_key(filename: str, stem: str) -> tuple[int, ...]:
    rest = filename[len(stem) :].lstrip(".")
    return tuple(int(p) if p.isdigit() else -1 for p in rest.split("."))


def locate(name: str, root: StrPath | None = None, *, arch: str | None = None) -> Found | None:
    """The library *name* (``z``, ``ssl``, or ``libz.so.1``) as musl finds it; None if absent."""
    if not name or "/" in name or "\0" in name:
        raise FindLibraryError(f"{name!r}: not a library name")
    target = _target(root, arch)
    stem = name if name.startswith("lib") and ".so" in name else f"lib{name}.so"
    searched = _searched(target)
    if is_musl_self(stem, target.arch) or is_musl_self(stem + ".", target.arch):
        assert target.loader is not None
        return Found(name, stem, target.loader, str(target.host_path(target.loader)), True, searched)
    soname = stem if re.search(r"\.so\.\d", stem) else None
    if soname is None:
        for d in target.search_path():
            dev = _library(target, target.host_file(d, stem))
            if dev is not None:
                soname = dev.soname or stem
                break
            host_dir = target.host_dir(d)
            try:
                names = [e.name for e in os.scandir(host_dir) if e.name.startswith(stem + ".")]
            except OSError:
                continue
            versions = [
                n
                for n in sorted(names, key=lambda n: _version_key(n, stem), reverse=True)
                if re.fullmatch(re.escape(stem) + r"(\.\d+)+", n)
            ]
            for n in versions:
                elf = _library(target, target.host_file(d, n))
                if elf is not None:
                    soname = elf.soname or n
                    break
            if soname is not None:
                break
    if soname is None:
        return None
    # the file musl's loader opens for the DT_NEEDED/dlopen name (no slash)
    hit, _ = target.find(soname, lambda host: _library(target, host) is not None)
    if hit is None:
        return None
    return Found(name, soname, hit.path, str(hit.host), False, searched)


def search_dirs(root: StrPath | None = None, *, arch: str | None = None) -> tuple[str, ...]:
    """The directories musl's loader searches, in order, as the target sees them."""
    return _searched(_target(root, arch))


def find_library(name: str, root: StrPath | None = None) -> str | None:
    """What ``ctypes.util.find_library(name)`` should answer on musl: the path of the file
    musl's loader opens for library *name* (``c``, ``z``, ``ssl``), as the target sees it, or
    None. *root*: a root filesystem of any architecture (default: this system)."""
    found = locate(name, root)
    return found.path if found else None
