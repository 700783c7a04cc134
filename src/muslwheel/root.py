"""A musl target, this host or a root filesystem of any architecture, as its loader sees it.

:class:`MuslRoot` is the one value repair, check, find-library and the kits take for a target:

* its architecture and its loader file as the target names it (``/lib/ld-musl-ARCH.so.1``);
* the musl version of that loader, read from its bytes, where it can be;
* the directories musl's loader searches, in its order (``ldso/dynlink.c``): ``LD_LIBRARY_PATH``,
  a requester's RPATH, then the directories ``/etc/ld-musl-ARCH.path`` names (split on ``:`` and
  newlines) if that file exists, else musl's built-in list :data:`DEFAULT_DIRS`; ``--ldpaths``
  (auditwheel's option) replaces the system part with directories of this host (one that lies
  inside the root is the root's directory, mapped as below);
* the mapping from a path of the target to a path on this host, with chroot semantics:
  absolute and relative symlinks are followed *inside* the root at every component and ``..``
  stops at the root (:func:`~muslwheel.libc.resolve_in_root`, the one implementation, which
  :mod:`muslwheel.libc` also needs for an executable's loader). Nothing joins ``root / path``
  by hand, so a root's ``usr/lib/libfoo.so.1 -> /opt/foo/libfoo.so.1`` is the root's file,
  never the host's.

Built for a root, the value reads only files under that root; for this host (``root=None``)
target paths are this host's own. Nothing here runs a program.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, NamedTuple

from .arch import Arch, get_arch
from .elf import read_regular
from .errors import MuslwheelError, NoMuslLoader
from .libc import (
    MuslVersion,
    StrPath,
    choose_loader,
    detect_interpreter,
    musl_loaders,
    musl_version_from_loader_bytes,
    resolve_in_root,
)
from .vocabulary import Libc

#: musl's built-in library path, used when there is no path file (``ldso/dynlink.c``:
#: ``sys_path = "/lib:/usr/local/lib:/usr/lib"``). The one copy of it in muslwheel.
DEFAULT_DIRS: tuple[str, ...] = ("/lib", "/usr/local/lib", "/usr/lib")


class RootError(NoMuslLoader):
    """No musl target to work on (no loader in the root, or several and no arch chosen): the one
    error class of "no musl loader here" (:class:`muslwheel.errors.NoMuslLoader`), which
    :func:`muslwheel.libc.detect_root` raises too."""


# musl's loader's error lines, the one grammar check (--list) and the import proof (dlopen's
# message in Python's ImportError) read. musl's ldso/dynlink.c writes them with error():
#   "Error loading shared library %s: %m (needed by %s)"    a DT_NEEDED it could not load
#   "Error loading shared library %s: %m"                   dlopen's own file
#   "Error relocating %s: %s: symbol not found"             a symbol nothing loaded defines
#   "Error relocating %s: unsupported relocation type %d"   and other relocation failures
#: any of them (the whole line); in --list mode musl then exits 127 after listing
LOADER_ERROR = re.compile(r"Error (?:loading shared library|relocating) [^\n]*")
#: a library it could not load: (name, why: ``%m``'s text, the needer or None)
LOADER_MISSING = re.compile(r"Error loading shared library (\S+): (.*?)(?: \(needed by (.+)\))?$", re.M)
#: a symbol it could not bind: (the object, the symbol)
LOADER_UNBOUND = re.compile(r"Error relocating (.+?): (\S+): symbol not found")


def split_path_list(text: str) -> list[str]:
    """The directories of a path list as musl's loader splits one (``LD_LIBRARY_PATH`` and the
    path file alike): on ``:`` and newlines, empty entries dropped."""
    return [d for d in re.split(r"[:\n]", text) if d]


def env_library_path() -> tuple[str, ...]:
    """This process's ``LD_LIBRARY_PATH``, as musl's loader would read it."""
    return tuple(split_path_list(os.environ.get("LD_LIBRARY_PATH", "")))


@dataclass(frozen=True)
class SearchDir:
    """One directory of a search path."""

    path: str  #: as the target sees it, or a path of this host when :attr:`on_host`
    on_host: bool = False  #: a directory of this host (``LD_LIBRARY_PATH``, ``--ldpaths``)


class Hit(NamedTuple):
    """A file found on a search path."""

    directory: SearchDir  #: the directory it was found in
    path: str  #: the file as the target names it (the directory's path joined with the name)
    host: Path  #: the same file on this host, symlinks followed inside the root


@dataclass(frozen=True)
class MuslRoot:
    """A musl target: :attr:`arch`'s musl on this host (:attr:`root` None) or in a root filesystem."""

    arch: Arch
    root: Path | None = None  #: the target's root filesystem on this host; None: this host
    #: the loader as the target names it; None when the target has none this value knows of
    loader: str | None = None
    #: directories of this host searched first (``LD_LIBRARY_PATH``)
    ld_library_path: tuple[str, ...] = ()
    #: directories of this host that replace the target's system path (``--ldpaths``)
    ldpaths: tuple[str, ...] | None = None

    @classmethod
    def of(
        cls,
        arch: Arch | str,
        root: StrPath | None = None,
        *,
        loader: str | None = "",
        ld_library_path: Sequence[str] = (),
        ldpaths: Sequence[str] | None = None,
    ) -> MuslRoot:
        """The target of *arch* at *root* (None: this host). *loader* defaults to musl's own
        place for it, ``/lib/ld-musl-ARCH.so.1``; None says the target has no loader."""
        a = arch if isinstance(arch, Arch) else get_arch(arch)
        return cls(
            a,
            Path(root) if root is not None else None,
            f"/lib/{a.loader_name}" if loader == "" else loader,
            tuple(ld_library_path),
            tuple(ldpaths) if ldpaths is not None else None,
        )

    @classmethod
    def choose(cls, root: StrPath | None = None, arch: str | None = None) -> MuslRoot:
        """The target at *root* (None: this system) whose arch is *arch*, or else the one musl
        there: the running interpreter's arch when it is musl or has a loader here, else the only
        loader in ``/lib``. :class:`RootError` when there is none, or several and no *arch*.
        This system's ``LD_LIBRARY_PATH`` is searched first; a root's never is."""
        base = Path(root) if root is not None else None
        default = None
        if base is None and arch is None:
            d = detect_interpreter()  # this interpreter's arch, when it is musl or has a loader here
            if d.arch and (d.libc == Libc.MUSL or d.arch in musl_loaders(None)):
                default = d.arch
        try:
            chosen = choose_loader(base, arch, default=default, present=False)
        except NoMuslLoader as exc:
            raise RootError(str(exc)) from None
        return cls.of(chosen, base, ld_library_path=env_library_path() if base is None else ())

    # --- paths --------------------------------------------------------------------------------
    def host_path(self, path: str) -> Path:
        """The file or directory *path* of the target names, on this host: inside the root,
        every symlink followed there (``..`` stops at the root). :class:`DetectError` on a
        symlink loop. For this host, *path* itself."""
        return resolve_in_root(self.root, path) if self.root is not None else Path(path)

    def in_root(self, host: str) -> str | None:
        """The target's path for the directory *host* of this host when it lies inside the root
        (``ROOT/usr/lib`` is ``/usr/lib``); None when it does not, or for this host."""
        if self.root is None:
            return None
        rel = os.path.relpath(os.path.abspath(host), os.path.abspath(self.root))
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return None
        return str(PurePosixPath("/", rel))

    def host_dir(self, directory: SearchDir) -> Path:
        """*directory* on this host. A directory of this host that lies inside the root is the
        root's: it is mapped as the target's path, so nothing under a root follows a link out
        of it (``--ldpaths ROOT/usr/lib`` reaches what the root's ``/usr/lib`` does)."""
        if directory.on_host:
            inside = self.in_root(directory.path)
            return Path(directory.path) if inside is None else self.host_path(inside)
        return self.host_path(directory.path)

    def host_file(self, directory: SearchDir, name: str) -> Path:
        """File *name* in *directory*, on this host (a host directory's file is taken as is,
        unless the directory lies inside the root: see :meth:`host_dir`)."""
        path = self.in_root(directory.path) if directory.on_host else directory.path
        if path is None:
            return Path(directory.path) / name
        return self.host_path(str(PurePosixPath(path) / name))

    # --- the loader ---------------------------------------------------------------------------
    @property
    def loader_file(self) -> Path | None:
        """The loader on this host, if the target has it."""
        if self.loader is None:
            return None
        path = self.host_path(self.loader)
        return path if path.is_file() else None

    @functools.cached_property
    def musl(self) -> MuslVersion | None:
        """The musl release of the target's loader, read from its bytes; None when unknown."""
        path = self.loader_file
        if path is None:
            return None
        try:
            found = musl_version_from_loader_bytes(read_regular(path))
        except OSError:
            return None
        return found[1] if found else None

    def loader_prefix(self, prefix: Path, dirs: Sequence[str], loader: str) -> Path:
        """Make *prefix* a private place to start the loader from, and return the loader's path
        in it: ``PREFIX/lib/ld-musl-ARCH.so.1``, a link to *loader*, beside
        ``PREFIX/etc/ld-musl-ARCH.path`` naming *dirs* (one a line). musl reads the path file
        beside the name it was started as (``ldso/dynlink.c``: the name up to its last two
        ``/``, then ``/etc/ld-musl-ARCH.path``), so started as that link it searches *dirs* and
        nothing of its own. Safe to call again on the same *prefix* from another process (each
        file is replaced whole, and only when it changed): a kit's ``run/`` is one."""
        link = prefix / "lib" / self.arch.loader_name
        if not link.is_symlink() or os.readlink(link) != loader:
            link.parent.mkdir(parents=True, exist_ok=True)
            tmp = link.with_name(link.name + f".{os.getpid()}")
            if tmp.is_symlink():
                tmp.unlink()
            os.symlink(loader, tmp)
            os.replace(tmp, link)
        path_file = prefix / "etc" / f"ld-musl-{self.arch.ldso_arch}.path"
        text = "".join(f"{d}\n" for d in dirs)
        try:
            unchanged = path_file.read_text() == text
        except OSError:
            unchanged = False
        if not unchanged:
            path_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = path_file.with_name(path_file.name + f".{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path_file)
        return link

    def host_search_dirs(self, dirs: Sequence[str], shadows: Path) -> tuple[list[str], dict[str, Path]]:
        """*dirs* (the target's) as a loader run on this host's paths must be given them: each
        directory on this host, preceded, for a root, by a directory under *shadows* of links to
        the root's own files for the links in it that this host's kernel would follow out of the
        root (``libfoo.so.1 -> /opt/foo/libfoo.so.1`` names the host's /opt). Searched just
        before, they are what the loader opens for those names. Returns the list and, for each
        shadow directory, the root's directory it stands for. Not a root's view: a library the
        root reaches only through an absolute RPATH is still this host's (that takes
        :func:`muslwheel.sandbox.root_view`)."""
        searched: list[str] = []
        stands_for: dict[str, Path] = {}
        for i, d in enumerate(dirs):
            host_dir = self.host_path(d)
            fixes = shadows / str(i)
            if self.root is not None and self._shadow_links(d, fixes):
                stands_for[str(fixes)] = host_dir
                searched.append(str(fixes))
            searched.append(str(host_dir))
        return searched, stands_for

    def _shadow_links(self, directory: str, into: Path) -> bool:
        """Links in *into* to the root's files for the links of its *directory* that lead out
        of the root on this host; whether there were any."""
        host_dir = self.host_path(directory)
        try:
            links = sorted(e.name for e in os.scandir(host_dir) if e.is_symlink())
        except OSError:
            return False
        wanted: set[str] = set()
        for name in links:
            try:
                inside = self.host_file(SearchDir(directory), name)
            except MuslwheelError:  # a symlink loop in the root: musl cannot open it either
                continue
            if os.path.realpath(host_dir / name) != os.path.realpath(inside):
                into.mkdir(parents=True, exist_ok=True)
                link = into / name
                if not link.is_symlink() or os.readlink(link) != str(inside):
                    tmp = link.with_name(f".{name}.{os.getpid()}")
                    if tmp.is_symlink():
                        tmp.unlink()
                    os.symlink(inside, tmp)
                    os.replace(tmp, link)
                wanted.add(name)
        if into.is_dir():  # a link made for a name the root no longer links out (a kit's run/ stays)
            for entry in os.scandir(into):
                if entry.name not in wanted and not entry.name.startswith("."):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
        return bool(wanted)

    # --- where the loader looks ---------------------------------------------------------------
    @property
    def path_file(self) -> str:
        """musl's path file for the arch, as the target names it."""
        return f"/etc/ld-musl-{self.arch.ldso_arch}.path"

    @functools.cached_property
    def path_file_dirs(self) -> tuple[str, ...] | None:
        """The directories the target's path file names; None without one, and none at all if
        it cannot be read (musl then searches nothing)."""
        try:
            text = self.host_path(self.path_file).read_text()
        except FileNotFoundError:
            return None
        except OSError:
            return ()
        # each as an absolute path of the target, spelled plainly (``usr/lib/`` is ``/usr/lib``)
        return tuple(str(PurePosixPath("/" + d.lstrip("/"))) for d in split_path_list(text))

    @property
    def system_dirs(self) -> tuple[str, ...]:
        """The target's system path as it names it: its path file's, else musl's default."""
        listed = self.path_file_dirs
        return DEFAULT_DIRS if listed is None else listed

    def system_dirs_on_host(self) -> list[Path]:
        """:attr:`system_dirs` on this host, each followed inside the root."""
        return [self.host_path(d) for d in self.system_dirs]

    def search_path(self, rpaths: Sequence[SearchDir] = ()) -> list[SearchDir]:
        """Where the loader looks for a name, in order: ``LD_LIBRARY_PATH``, *rpaths* (the
        requester's), then ``--ldpaths`` or the target's system path."""
        dirs = [SearchDir(d, True) for d in self.ld_library_path if d] + list(rpaths)
        if self.ldpaths is not None:
            return dirs + [SearchDir(d, True) for d in self.ldpaths if d]
        return dirs + [SearchDir(d) for d in self.system_dirs]

    def find(
        self, name: str, accept: Callable[[Path], bool], rpaths: Sequence[SearchDir] = ()
    ) -> tuple[Hit | None, list[SearchDir]]:
        """The first file *name* on the search path that is a file *accept* takes (given its
        host path), and the directories looked in."""
        dirs = self.search_path(rpaths)
        for d in dirs:
            host = self.host_file(d, name)
            if host.is_file() and accept(host):
                path = str(Path(d.path) / name) if d.on_host else str(PurePosixPath(d.path) / name)
                return Hit(d, path, host), dirs
        return None, dirs
