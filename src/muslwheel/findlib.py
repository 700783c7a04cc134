"""``find_library``: what :func:`ctypes.util.find_library` should answer on musl.

CPython's answers through ``ldconfig -p``, ``gcc`` or ``ld``: an Alpine system without a
compiler gives None for everything, and ctypes-based bindings then fail to load their library.
This module answers by musl's own rules (``ldso/dynlink.c``), reading files only, for this
system or a root filesystem of any architecture:

* ``c``, ``m``, ``pthread``, ``rt``, ``dl``, ``util``, ``xnet``: musl itself, the loader file;
* otherwise the directories musl's loader searches, in its order: ``LD_LIBRARY_PATH`` (this
  system only), then those of ``/etc/ld-musl-ARCH.path`` if it exists, else ``/lib``,
  ``/usr/local/lib``, ``/usr/lib``. In the first directory holding ``libNAME.so`` (a link a
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
from pathlib import Path, PurePosixPath

from .arch import ARCHES, Arch, arch_of_elf, arch_of_loader_name
from .elf import ELFFile, read_elf
from .errors import ELFError, MuslwheelError
from .libc import StrPath, detect_interpreter, musl_path_dirs, resolve_in_root
from .policy import is_musl_self

_DEFAULT_DIRS = ("/lib", "/usr/local/lib", "/usr/lib")


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


class _Target:
    def __init__(self, root: Path | None, arch: str | None) -> None:
        self.root = root
        base = root or Path("/")
        loaders = {
            a.name: p for p in sorted((base / "lib").glob("ld-musl-*.so.1")) if (a := arch_of_loader_name(p.name))
        }
        if arch is not None:
            if arch not in ARCHES:
                raise FindLibraryError(f"unknown architecture {arch!r}")
            chosen = arch
        elif root is None:
            d = detect_interpreter()  # this interpreter's arch, or the only musl here
            chosen = d.arch if d.arch and (d.libc == "musl" or d.arch in loaders) else ""
            if not chosen and len(loaders) == 1:
                chosen = next(iter(loaders))
        elif len(loaders) == 1:
            chosen = next(iter(loaders))
        else:
            chosen = ""
        if not chosen:
            where = str(root) if root else "this system"
            if len(loaders) > 1:
                raise FindLibraryError(f"{where}: musl loaders for {', '.join(sorted(loaders))}: choose one with arch")
            raise FindLibraryError(f"{where}: no musl loader (/lib/ld-musl-*.so.1)")
        self.arch: Arch = ARCHES[chosen]
        self.loader = f"/lib/{self.arch.loader_name}"
        env = os.environ.get("LD_LIBRARY_PATH", "") if root is None else ""
        dirs = [d for d in re.split(r"[:\n]", env) if d]
        listed = musl_path_dirs(base, self.arch)
        if listed is None:
            dirs += list(_DEFAULT_DIRS)
        else:
            dirs += ["/" + p.relative_to(base).as_posix() if root else str(p) for p in listed]
        self.dirs = tuple(dict.fromkeys(dirs))

    def host(self, path: str) -> Path:
        return resolve_in_root(self.root, path) if self.root is not None else Path(path)

    def library(self, path: str) -> ELFFile | None:
        """The ELF file at target *path* if it is a library musl could load for this arch."""
        host = self.host(path)
        if not host.is_file():
            return None
        try:
            elf = read_elf(host)
        except (ELFError, OSError):
            return None
        return elf if elf.is_dynamic and arch_of_elf(elf) == self.arch else None

    def open_name(self, soname: str) -> str | None:
        """The file musl's loader opens for a DT_NEEDED/dlopen *soname* (no slash)."""
        for d in self.dirs:
            candidate = str(PurePosixPath(d) / soname)
            if self.library(candidate) is not None:
                return candidate
        return None


def _version_key(filename: str, stem: str) -> tuple[int, ...]:
    rest = filename[len(stem) :].lstrip(".")
    return tuple(int(p) if p.isdigit() else -1 for p in rest.split("."))


def locate(name: str, root: StrPath | None = None, *, arch: str | None = None) -> Found | None:
    """The library *name* (``z``, ``ssl``, or ``libz.so.1``) as musl finds it; None if absent."""
    if not name or "/" in name or "\0" in name:
        raise FindLibraryError(f"{name!r}: not a library name")
    target = _Target(Path(root) if root is not None else None, arch)
    stem = name if name.startswith("lib") and ".so" in name else f"lib{name}.so"
    searched = target.dirs
    if is_musl_self(stem, target.arch) or is_musl_self(stem + ".", target.arch):
        return Found(name, stem, target.loader, str(target.host(target.loader)), True, searched)
    soname = stem if re.search(r"\.so\.\d", stem) else None
    if soname is None:
        for d in target.dirs:
            dev = target.library(str(PurePosixPath(d) / stem))
            if dev is not None:
                soname = dev.soname or stem
                break
            host_dir = target.host(d)
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
                elf = target.library(str(PurePosixPath(d) / n))
                if elf is not None:
                    soname = elf.soname or n
                    break
            if soname is not None:
                break
    if soname is None:
        return None
    path = target.open_name(soname)
    if path is None:
        return None
    return Found(name, soname, path, str(target.host(path)), False, searched)


def search_dirs(root: StrPath | None = None, *, arch: str | None = None) -> tuple[str, ...]:
    """The directories musl's loader searches, in order, as the target sees them."""
    return _Target(Path(root) if root is not None else None, arch).dirs


def find_library(name: str, root: StrPath | None = None) -> str | None:
    """What ``ctypes.util.find_library(name)`` should answer on musl: the path of the file
    musl's loader opens for library *name* (``c``, ``z``, ``ssl``), as the target sees it, or
    None. *root*: a root filesystem of any architecture (default: this system)."""
    found = locate(name, root)
    return found.path if found else None
