"""kits: target root filesystems with a real musl and a musl CPython, for any of the eight arches.

A kit is one (arch, musl release, CPython minor): a root filesystem with musl's loader and libc
at their real paths (``lib/ld-musl-ARCH.so.1``, ``etc/ld-musl-ARCH.path``), musl's headers and
startup files (``usr/include``, ``usr/lib/crt1.o`` …) and, unless it is a loader-only kit, a musl
CPython installed under ``usr`` (``usr/bin/pythonX.Y``, its headers, its ``_sysconfigdata``).
A CPython kit is like Alpine's base: the shared libraries CPython links there (``libz.so.1``,
OpenSSL 3, libffi, libbz2, liblzma, libsqlite3, libexpat; :data:`.cpython.SYSTEM_LIBRARIES`,
built by :mod:`muslwheel.libs`) are in its ``usr/lib``, and its ``_ssl``, ``_hashlib``,
``zlib`` … link them; a *bare* kit (``kit build --bare``, named ``…-bare``; for CI speed) has
none of them, and CPython without those modules, zlib and libffi inside it.
A loader-only kit ``<arch>-musl<ver>`` is the bare musl root: what :mod:`muslwheel.libs`,
``build`` and CPython's cross-build compile against and prove under, so it never has a library
a configure probe, a ``-L`` or the loader could pick up unasked. The Alpine-like loader-only kit
``<arch>-musl<ver>-system`` is that root with the same system libraries as the arch's CPython
kits in ``usr/lib`` (hard links), for ``check --root``: it is run against, never compiled against.
A kit's root is a ``--root`` for every command.

This package owns finding kits (this module), building them (:mod:`.build`, the entry point;
:mod:`.musl`, :mod:`.cpython`, :mod:`.store`), and Debian sources (:mod:`.sources`, the lead's).
The cache's place is :func:`muslwheel.cache.cache_dir` (re-exported here), the host CPython a
kit builds with is :func:`muslwheel.hostpython.find_build_python`'s. Kits live in ``$MUSLWHEEL_CACHE/kits/NAME/``
(default ``~/.cache/muslwheel/kits``), each with ``kit.json`` and ``root/``; build trees live
elsewhere (a temporary directory), so the cache holds only slim, stripped runtimes.

Running a kit's interpreter: there may be no binfmt_misc, so a foreign arch runs through
``qemu-ARCH`` explicitly, and every arch runs through the kit's own loader given as the program
(``[qemu-ARCH] KIT/run/lib/ld-musl-ARCH.so.1 ROOT/usr/bin/pythonX.Y``), never the host's
``/lib/ld-musl-*``, which may be another musl release. musl finds its path file beside the
loader it was started as (``<loader>/../../etc/ld-musl-ARCH.path``), so ``KIT/run`` holds a link
to the root's loader and a path file naming the root's library directories as host paths
(:meth:`muslwheel.root.MuslRoot.loader_prefix`), each after ``KIT/run/escapes/N``: links to the
root's own files for the links there that would lead out of the root on this host
(:meth:`~muslwheel.root.MuslRoot.host_search_dirs`). The interpreter sees the kit's libraries
and nothing of the host.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..arch import ARCHES, Arch, get_arch, host_runs_natively
from ..cache import cache_dir as cache_dir  # re-exported: the cache's place is muslwheel.cache's
from ..cache import kits_dir as kits_dir  # re-exported: so is the kits' place in it
from ..errors import MuslwheelError
from ..hostpython import find_build_python as find_build_python
from ..versions import CPython, MuslVersion, MuslWanted

#: bumped whenever a CPython kit or tree built before would differ: one of another recipe is
#: rebuilt, and not listed meanwhile (2: CPython linked against Alpine's base libraries in
#: ``usr/lib``, bare kits apart; 3: ``_sqlite3`` needs ``libsqlite3.so.0``, not a path)
RECIPE = 3
#: the recipes a current loader-only kit may carry (recipes 2 and 3 changed CPython kits only,
#: so a loader-only kit of recipe 1 is kept)
MUSL_RECIPES = (1, 2, 3)


class KitError(MuslwheelError):
    """A kit is missing, unusable or cannot be built."""


#: the end of an Alpine-like loader-only kit's name (``x86_64-musl1.2.6-system``)
SYSTEM_SUFFIX = "-system"


def kit_name(
    arch: str, musl: MuslVersion, python: CPython | str | None, bare: bool = False, *, system: bool = False
) -> str:
    """A kit's name: ``aarch64-musl1.2.3-py3.11``, ``aarch64-musl1.2.3-py3.11-bare`` for a bare
    one; ``aarch64-musl1.2.3`` for a loader-only kit, the bare musl root everything is compiled
    against, and ``aarch64-musl1.2.3-system`` for the Alpine-like loader-only kit (*system*:
    that root with Alpine's base libraries in ``usr/lib``)."""
    if not python:
        return f"{arch}-musl{musl}" + (SYSTEM_SUFFIX if system else "")
    return f"{arch}-musl{musl}-py{python}" + ("-bare" if bare else "")


@dataclass(frozen=True)
class SystemLibrary:
    """A shared library of Alpine's base in a kit's ``usr/lib`` (built by :mod:`muslwheel.libs`)."""

    name: str  #: the library's recipe (``openssl``)
    version: str  #: its upstream version (``3.6.3``)
    soname: str  #: the file in ``usr/lib`` a program's DT_NEEDED names (``libssl.so.3``)

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "soname": self.soname}


@dataclass(frozen=True)
class Kit:
    """One built kit. ``python`` is its CPython build (printed as ``--python`` spells it, ``3.11``
    or ``3.13t`` for a free-threaded build), None for a loader-only kit."""

    name: str
    arch: str
    musl: MuslVersion  #: its musl release (``kit.json`` and its name spell it ``1.2.3``)
    python: CPython | None
    root: Path
    #: a bare kit (``kit build --bare``): CPython with zlib and libffi inside it and no system
    #: libraries, so no ``_ssl``, ``_hashlib``, ``_bz2``, ``_lzma``, ``_sqlite3`` and no
    #: ``libz.so.1``; a loader-only kit is bare unless it is ``<arch>-musl<ver>-system``
    bare: bool = False
    #: the shared libraries of Alpine's base in ``usr/lib`` (none in a bare kit)
    system_libraries: tuple[SystemLibrary, ...] = field(default=(), compare=False)
    #: its CPython's full version (``3.13.5``), as its build recorded it; None if it did not
    cpython_version: str | None = field(default=None, compare=False)

    # --- facts about the target -------------------------------------------------------------
    @property
    def arch_info(self) -> Arch:
        """The kit's :class:`~muslwheel.arch.Arch` (``arch`` is its name, as in ``kit.json``)."""
        return get_arch(self.arch)

    @property
    def directory(self) -> Path:
        """The kit's own directory (``kit.json``, ``root/``, ``run/``)."""
        return self.root.parent

    @property
    def zig_target(self) -> str:
        """zig's target triple: ``zig cc -target <this>``."""
        return self.arch_info.zig_target

    @property
    def gnu_host(self) -> str:
        """The GNU triplet for ``configure --host``."""
        return self.arch_info.gnu_host

    @property
    def loader(self) -> Path:
        """musl's loader in the root (``ROOT/lib/ld-musl-ARCH.so.1``)."""
        return self.root / "lib" / self.arch_info.loader_name

    @property
    def musl_include_dir(self) -> Path:
        """musl's (and the kernel's) headers for this arch."""
        return self.root / "usr" / "include"

    @property
    def musl_lib_dir(self) -> Path:
        """musl's ``libc.so``, ``libc.a`` and startup files (``crt1.o``, ``crti.o`` …)."""
        return self.root / "usr" / "lib"

    def zig_libc_file(self) -> Path:
        """A zig libc file (for ``ZIG_LIBC``) naming this kit's musl headers and startup files,
        so zig compiles and links against the kit's real musl rather than its own stand-in."""
        path = self.directory / "zig-libc.txt"
        text = (
            f"include_dir={self.musl_include_dir}\n"
            f"sys_include_dir={self.musl_include_dir}\n"
            f"crt_dir={self.musl_lib_dir}\n"
            "msvc_lib_dir=\nkernel32_lib_dir=\ngcc_dir=\n"
        )
        _write_if_changed(path, text)
        return path

    # --- its interpreter ----------------------------------------------------------------------
    @property
    def python_minor(self) -> tuple[int, int] | None:
        """The CPython minor as numbers (``(3, 13)`` for ``3.13`` and ``3.13t``); None without one."""
        return (self.python.major, self.python.minor) if self.python else None

    @property
    def free_threaded(self) -> bool:
        """Whether the kit's CPython is a free-threaded build (``--python 3.13t``)."""
        return bool(self.python and self.python.free_threaded)

    def _need_python(self) -> CPython:
        if not self.python:
            raise KitError(f"kit {self.name} has no CPython (a loader-only kit)")
        return self.python

    # A free-threaded CPython's names carry its ABI flag ``t`` (configure.ac: ABIFLAGS="t",
    # LDVERSION=X.Yt, LIBDEST .../pythonX.Yt, INCLUDEPY .../pythonX.Yt, the sysconfigdata module
    # _sysconfigdata_$(ABIFLAGS)_$(MACHDEP)_$(MULTIARCH)), which ``self.python`` already spells.
    @property
    def interpreter(self) -> Path:
        """The kit's CPython executable (``ROOT/usr/bin/pythonX.Y``, ``pythonX.Yt`` free-threaded),
        a musl binary of its arch."""
        return self.root / "usr" / "bin" / f"python{self._need_python()}"

    @property
    def include_dir(self) -> Path:
        """CPython's headers (``ROOT/usr/include/pythonX.Y[t]``)."""
        return self.root / "usr" / "include" / f"python{self._need_python()}"

    @property
    def stdlib_dir(self) -> Path:
        return self.root / "usr" / "lib" / f"python{self._need_python()}"

    @property
    def sysconfigdata_name(self) -> str:
        """The kit's ``_sysconfigdata`` module (for ``_PYTHON_SYSCONFIGDATA_NAME``):
        ``_sysconfigdata__linux_<triplet>``, ``_sysconfigdata_t_linux_<triplet>`` free-threaded."""
        return self._need_python().sysconfigdata_name(self.arch_info.cpython_triplet("musl"))

    @property
    def sysconfigdata_path(self) -> Path:
        return self.stdlib_dir / f"{self.sysconfigdata_name}.py"

    @property
    def ext_suffix(self) -> str:
        """The extension-module suffix this CPython imports (``.cpython-311-aarch64-linux-musl.so``,
        ``.cpython-313t-aarch64-linux-musl.so`` free-threaded)."""
        return f".cpython-{self._need_python().abi[2:]}-{self.arch_info.cpython_triplet('musl')}.so"

    def build_python(self) -> Path:
        """A host CPython of the kit's minor, to run builds and cross-builds for it (the default
        build of that minor for a free-threaded kit too: :mod:`muslwheel.hostpython`)."""
        return find_build_python(str(self._need_python()))

    def runner(self) -> list[str]:
        """The prefix that runs this arch's binaries here: ``[]`` natively, else ``[qemu-ARCH]``
        (:func:`muslwheel.qemu.runner`: PATH's, or Debian's newer one when PATH's is too old)."""
        from ..qemu import runner

        found = runner(self.arch_info)
        if found is None:
            raise KitError(f"kit {self.name}: no {self.arch_info.qemu} on PATH to run {self.arch} binaries")
        return list(found.command)

    def loader_command(self) -> list[str]:
        """Run a program of the kit's arch with the kit's loader and libraries only:
        append the program and its arguments."""
        return [*self.runner(), str(self._run_prefix() / "lib" / self.arch_info.loader_name)]

    def python_command(self) -> list[str]:
        """The command that runs the kit's CPython (append ``-c …`` or a script)."""
        return [*self.loader_command(), str(self.interpreter)]

    def library_dirs(self) -> list[Path]:
        """The directories the kit's loader searches (its path file's), on this host."""
        from ..root import MuslRoot

        return MuslRoot.of(self.arch_info, self.root).system_dirs_on_host()

    def _run_prefix(self) -> Path:
        """``KIT/run``: the loader's private prefix (:meth:`muslwheel.root.MuslRoot.loader_prefix`),
        its path file naming the root's library directories on this host, each after the root's
        files for its links that lead out of the root (``KIT/run/escapes``)."""
        from ..root import MuslRoot

        run = self.directory / "run"
        target = MuslRoot.of(self.arch_info, self.root)
        dirs, _ = target.host_search_dirs(target.system_dirs, run / "escapes")
        target.loader_prefix(run, dirs, os.path.relpath(self.loader, run / "lib"))
        return run

    def to_json(self) -> dict[str, object]:
        d: dict[str, object] = {
            "name": self.name,
            "arch": self.arch,
            "musl": str(self.musl),
            "python": str(self.python) if self.python else None,
            "root": str(self.root),
            "zig_target": self.zig_target,
            "runner": self.arch_info.qemu if not host_runs_natively(self.arch_info) else None,
            "bare": self.bare,
            "system_libraries": [lib.to_json() for lib in self.system_libraries],
        }
        if self.python:
            d["interpreter"] = str(self.interpreter)
            d["sysconfigdata"] = self.sysconfigdata_name
            d["include_dir"] = str(self.include_dir)
        return d


def _write_if_changed(path: Path, text: str) -> None:
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_kit(directory: Path) -> Kit:
    """The kit in *directory* (the one holding ``kit.json`` and ``root/``)."""
    try:
        meta = json.loads((directory / "kit.json").read_text())
        kit = Kit(
            name=str(meta["name"]),
            arch=str(meta["arch"]),
            musl=MuslVersion.parse(str(meta["musl"])),
            python=CPython.parse(str(meta["python"])) if meta.get("python") else None,
            root=directory / "root",
            # a loader-only kit is bare unless its kit.json says otherwise (one from before
            # Alpine-like loader-only kits says nothing: it is the bare musl root)
            bare=bool(meta.get("bare", not meta.get("python"))),
            system_libraries=tuple(
                SystemLibrary(str(lib["name"]), str(lib["version"]), str(lib["soname"]))
                for lib in meta.get("system_libraries") or ()
            ),
            cpython_version=str(meta["cpython_version"]) if isinstance(meta.get("cpython_version"), str) else None,
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise KitError(f"{directory}: not a kit ({e})") from None
    if kit.arch not in ARCHES:
        raise KitError(f"{directory}: not a kit (unknown arch {kit.arch!r})")
    return kit


def list_kits(directory: Path | None = None) -> list[Kit]:
    """Every complete kit in *directory* (default :func:`kits_dir`), sorted by name."""
    base = directory or kits_dir()
    kits = []
    for meta in sorted(base.glob("*/kit.json")):
        if meta.parent.name.endswith(".tmp"):  # a kit being built
            continue
        try:
            kit = read_kit(meta.parent)
            # a CPython kit (or an Alpine-like loader-only kit) of an older recipe is rebuilt,
            # never mixed in; a bare loader-only kit of any of MUSL_RECIPES is current
            recipe = json.loads(meta.read_text()).get("recipe")
            if recipe != RECIPE and (kit.python is not None or not kit.bare or recipe not in MUSL_RECIPES):
                continue
            kits.append(kit)
        except (KitError, OSError, ValueError, AttributeError):
            continue
    return kits


def find_kit(spec: str | Path) -> Kit:
    """A kit by name (``aarch64-musl1.2.3-py3.11``) or by its directory or root path."""
    text = str(spec)
    if "/" in text or text in (".", ".."):
        path = Path(text)
        for candidate in (path, path.parent):
            if (candidate / "kit.json").is_file():
                return read_kit(candidate)
        raise KitError(f"{text}: not a kit (no kit.json in it or its parent)")
    if (kits_dir() / text / "kit.json").is_file():
        return read_kit(kits_dir() / text)
    known = ", ".join(k.name for k in list_kits()) or "none built"
    raise KitError(f"no kit {str(spec)!r} (kits: {known}; `muslwheel kit build` makes one)")


def select_kits(
    *,
    arch: str | None = None,
    musl: MuslVersion | MuslWanted | None = None,
    python: CPython | str | None = None,
    with_python: bool | None = None,
    bare: bool | None = None,
) -> list[Kit]:
    """The built kits matching every given field (*musl*: that release, or any of a series asked
    for; ``with_python``: only kits with/without CPython; *python* a build or its spelling,
    ``3.13t``; *bare*: only bare or only Alpine-like kits)."""
    if isinstance(python, str):
        python = CPython.parse(python)
    if isinstance(musl, MuslVersion):
        musl = MuslWanted.exactly(musl)
    out = []
    for kit in list_kits():
        if arch is not None and kit.arch != arch:
            continue
        if musl is not None and not musl.admits(kit.musl):
            continue
        if python is not None and kit.python != python:
            continue
        if with_python is not None and bool(kit.python) != with_python:
            continue
        if bare is not None and kit.bare != bare:
            continue
        out.append(kit)
    return out
