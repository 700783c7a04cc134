"""Which libc, which musl version and which architecture an executable or a root filesystem has.

Everything is read from ELF files; nothing is executed unless the bytes cannot answer:

* the architecture from the executable's ELF header (class, byte order, machine, ARM float ABI),
  never from ``uname``, so a 32-bit interpreter on a 64-bit kernel is reported as what it is; on
  ARM, whose armv6l and armv7l share all of that and the loader's name, from the CPU the code was
  built for (``Tag_CPU_arch`` in ``.ARM.attributes``) and, in a root, from Alpine's libc SONAME
  (``libc.musl-armhf.so.1`` on Alpine's ARMv6 ``armhf``, ``libc.musl-armv7.so.1`` on ``armv7``);
* the libc family from PT_INTERP (``ld-musl-*`` is musl, ``ld-linux*``/``ld64.so*`` is glibc);
  an executable with neither PT_INTERP nor PT_DYNAMIC is static;
* the musl version from the loader file's read-only data, where musl keeps the string it prints
  after ``Version`` (see :func:`musl_version_from_loader_bytes`). Only when that fails, and the
  loader is native and executable, is the loader run (it prints ``musl libc (ARCH)`` and
  ``Version X.Y.Z`` on stderr and exits 1), as :mod:`packaging` always does.

For a root filesystem (``root=``), paths are resolved inside the root (absolute symlinks are
re-rooted there) and nothing is ever run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple, Union

from .arch import (
    ARCHES,
    Arch,
    arch_of_loader_name,
    cpu_arch_of_elf,
    describe_arm_cpu,
    describe_machine,
    get_arch,
    host_runs_natively,
)
from .elf import ELFFile, is_elf, open_regular, read_elf, read_elf_headers, read_regular
from .errors import DetectError, ELFError, NoMuslLoader
from .vocabulary import Libc

StrPath = Union[str, "os.PathLike[str]"]

#: PEP 656: a statically linked interpreter cannot load musllinux extension modules.
STATIC_NOTE = "statically linked: PEP 656 says a static interpreter may not claim musllinux tags"


class MuslVersion(NamedTuple):
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @classmethod
    def parse(cls, text: str) -> MuslVersion:
        """``"1.2"`` or ``"1.2.3"``; a distro's suffix (``1.2.4_git20230717``, ``1.2.3-r0``,
        ``1.2.4-git-5-g1a2b3c4``) is ignored; ValueError otherwise."""
        m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(?:[-+_][\w.+-]*)?", text.strip())
        if not m:
            raise ValueError(f"not a musl version: {text!r}")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def parse_loader_output(stderr: str) -> tuple[str, MuslVersion] | None:
    """Parse what musl's loader prints when run with no arguments.

    The text looks like this (musl 1.2.3 on aarch64)::

        musl libc (aarch64)
        Version 1.2.3
        Dynamic Program Loader
        Usage: ...

    Returns ``(ldso_arch, version)``, or None if this is not that text.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    head = re.fullmatch(r"musl libc \(([^)]*)\)", lines[0])
    ver = re.fullmatch(r"Version (\S+)", lines[1])
    if not head or not ver:
        return None
    try:
        return head.group(1), MuslVersion.parse(ver.group(1))
    except ValueError:
        return None


# The version string sits in .rodata as its own NUL-terminated string, but not always after a
# NUL (i386 packs it after other constants), so it is anchored on its terminator. The pattern
# starts at the first "." so that re can use its fast literal search; the leading digit and the
# byte before it are checked by hand. Distros write more than X.Y.Z: Alpine 3.19's loader says
# "1.2.4_git20230717", a git build "1.2.4-git-5-g1a2b3c4" (musl's tools/version.sh), others
# "1.2.3-r0".
_VERSION_TAIL = re.compile(rb"\.[0-9]{1,2}\.[0-9]{1,2}(?:[-_+][\x21-\x7e]{1,40})?\x00")
_LOADER_BANNER = re.compile(rb"musl libc \(([^)\x00]{1,32})\)\nVersion %s")
_WORD_BYTES = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.")


def musl_version_from_loader_bytes(data: bytes) -> tuple[str, MuslVersion] | None:
    """Read ``(ldso_arch, version)`` from the bytes of musl's loader (its ``libc.so``).

    The loader holds its banner, ``"musl libc (ARCH)\\nVersion %s\\n…"``, and the version string
    that fills ``%s``. The version must be the only string of its form in the file; anything
    else (no banner, no candidate, or two different candidates) gives None.
    """
    banner = _LOADER_BANNER.search(data)
    if not banner:
        return None
    found = set()
    for m in _VERSION_TAIL.finditer(data):
        start = m.start() - 1
        if start < 0 or not 48 <= data[start] <= 57 or (start > 0 and data[start - 1] in _WORD_BYTES):
            continue
        found.add(data[start : m.end() - 1])
    if len(found) != 1:
        return None
    try:
        return banner.group(1).decode("ascii"), MuslVersion.parse(found.pop().decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


_LIBPYTHON = re.compile(r"libpython3\.(\d+)([a-z]*)\.so(?:\.[\d.]+)?")
_PYTHON_NAME = re.compile(r"python3\.(\d+)([a-z]*)")
#: Defined only by a free-threaded CPython (``#ifdef Py_GIL_DISABLED`` in CPython's
#: ``Include/object.h``, 3.13; ``Include/refcount.h`` from 3.14) and imported by every extension
#: built for it: the inline ``Py_DECREF`` of a ``cp313t`` module calls it.
FREE_THREADED_SYMBOL = "_Py_DecRefShared"
#: Defined by every CPython that embeds or exports the C API.
_CPYTHON_SYMBOL = "Py_Initialize"


def free_threaded_python(elf: ELFFile, path: str) -> tuple[bool | None, str]:
    """Whether the ELF file at *path* is a free-threaded CPython, and how that was told.

    In order: its DT_NEEDED libpython (``LDVERSION`` carries the ABI flags, so a free-threaded
    3.13 links ``libpython3.13t.so.1.0``); its dynamic symbols (it defines
    :data:`FREE_THREADED_SYMBOL`, or the C API without it); its file name (``python3.13t``,
    what ``make install`` names the binary). None when none of these speaks: a static binary
    with no symbols and a plain name, or no Python."""
    for needed in elf.needed:
        m = _LIBPYTHON.fullmatch(needed)
        if m:
            return "t" in m.group(2), f"DT_NEEDED {needed}"
    names = elf.defined_names
    if FREE_THREADED_SYMBOL in names:
        return True, f"defines {FREE_THREADED_SYMBOL} (only a Py_GIL_DISABLED build does)"
    if _CPYTHON_SYMBOL in names:
        return False, f"defines {_CPYTHON_SYMBOL} but not {FREE_THREADED_SYMBOL}"
    m = _PYTHON_NAME.fullmatch(PurePosixPath(path).name)
    if m:
        return "t" in m.group(2), f"its file name {PurePosixPath(path).name}"
    return None, ""


def libc_family_of_interpreter(interpreter: str | None) -> Libc:
    """musl or glibc from a PT_INTERP path, unknown for anything else."""
    if not interpreter:
        return Libc.UNKNOWN
    name = PurePosixPath(interpreter).name
    if name.startswith("ld-musl-"):
        return Libc.MUSL
    if name.startswith(("ld-linux", "ld64.so", "ld.so")):
        return Libc.GLIBC
    return Libc.UNKNOWN


@dataclass(frozen=True)
class Detection:
    """What muslwheel found about one executable or root filesystem."""

    libc: Libc  #: musl, glibc, static or unknown
    musl_version: str | None  #: "1.2.3" when libc is musl and the version was found
    arch: str | None  #: wheel architecture name, None when not a PEP 656 architecture
    elf_class: int
    endianness: str  #: little or big
    machine: str  #: e.g. "aarch64 64-bit little-endian"
    executable: str | None
    loader: str | None  #: PT_INTERP as written in the executable
    root: str | None = None
    how: dict[str, str] = field(default_factory=dict)  #: field name -> how it was found
    notes: tuple[str, ...] = ()
    #: whether the executable is a free-threaded CPython (PEP 703, ``Py_GIL_DISABLED``);
    #: None when it is no CPython this can tell (see :func:`free_threaded_python`)
    free_threaded: bool | None = None

    @property
    def version(self) -> MuslVersion | None:
        return MuslVersion.parse(self.musl_version) if self.musl_version else None

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["notes"] = list(self.notes)
        return data


def musl_loaders(root: StrPath | None) -> dict[str, str]:
    """The musl loaders in the ``/lib`` of *root* (None: this system), as ``{arch: path}`` with
    each path as the target names it (``/lib/ld-musl-x86_64.so.1``); ``/lib`` is followed inside
    the root."""
    lib = resolve_in_root(root, "/lib") if root is not None else Path("/lib")
    return {a.name: f"/lib/{p.name}" for p in sorted(lib.glob("ld-musl-*.so.1")) if (a := arch_of_loader_name(p.name))}


def choose_loader(
    root: StrPath | None, arch: str | None = None, *, default: str | None = None, present: bool = True
) -> str:
    """The arch whose musl loader to work with at *root* (None: this system): *arch* when given
    (with *present*, its loader must be in ``/lib``), else *default* (the caller's own pick: this interpreter's
    arch on this system), else the only loader in ``/lib``. The one choice of a target's loader
    (:func:`detect_root`, :meth:`muslwheel.root.MuslRoot.choose` and ``check --root`` ask it);
    :class:`~muslwheel.errors.NoMuslLoader` (one line) when there is none, or several and no arch.
    """
    where = str(root) if root is not None else "this system"
    loaders = musl_loaders(root)
    if arch is not None:
        if arch not in ARCHES:
            raise NoMuslLoader(f"unknown architecture {arch!r}")
        family = arch_of_loader_name(ARCHES[arch].loader_name)  # armv6l: armv7l's armhf loader
        if present and (family is None or family.name not in loaders):
            raise NoMuslLoader(f"{where}: no musl loader for {arch} in /lib")
        return arch
    if default is not None:
        return default
    if len(loaders) == 1:
        return next(iter(loaders))
    if loaders:
        raise NoMuslLoader(f"{where}: holds musl loaders for {', '.join(sorted(loaders))}: choose one with --arch")
    raise NoMuslLoader(f"{where}: no musl loader (/lib/ld-musl-*.so.1)")


def resolve_in_root(root: StrPath, path: str, *, max_links: int = 40) -> Path:
    """The real file that *path* names inside *root*, following symlinks without leaving it.

    Absolute symlink targets and ``..`` are taken relative to *root*, as a chroot would.
    Raises DetectError on a symlink loop.
    """
    root_path = Path(root)
    parts = list(PurePosixPath(path).parts)
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part in ("/", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root_path.joinpath(*resolved, part)
        if candidate.is_symlink():
            links += 1
            if links > max_links:
                raise DetectError(f"{path}: too many levels of symbolic links inside {root}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = list(PurePosixPath(target).parts) + parts
        else:
            resolved.append(part)
    return root_path.joinpath(*resolved)


def _describe_arch(elf: ELFFile) -> str:
    """``arm 32-bit little-endian, EABI5 hard-float, Tag_CPU_arch v6``: what the arch was told by."""
    text = describe_machine(elf)
    if elf.is_arm_hard_float:
        text += f", EABI5 hard-float, {describe_arm_cpu(elf)}"
    return text


def _read_elf_headers(path: Path, what: str, validate: bool = True) -> ELFFile:
    """The headers of an ELF file; with *validate*, the whole file is checked as well, so that a
    hostile or truncated file is refused however sound its first bytes look."""
    try:
        return read_elf(path) if validate else read_elf_headers(path)
    except IsADirectoryError:
        raise DetectError(f"{path}: is a directory, not an executable") from None
    except OSError as exc:
        raise DetectError(f"{path}: cannot read {what}: {exc.strerror}") from None


def _run_loader(loader: Path) -> tuple[str, MuslVersion] | None:
    import subprocess  # only on this fallback path: detection normally starts no process

    try:
        proc = subprocess.run(
            [str(loader)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_loader_output(proc.stderr)


def detect_executable(
    path: StrPath, *, root: StrPath | None = None, allow_run: bool = True, validate: bool = True
) -> Detection:
    """Detect the libc, musl version and architecture of the ELF executable at *path*.

    With *root*, *path* and the loader it names are looked up inside that root filesystem and
    nothing is run. Otherwise the loader is run only if its bytes do not give its version and
    *allow_run* is true. *validate* checks the executable's whole ELF structure, not just the
    headers detection reads.
    """
    path_str = os.fspath(path)
    elf = _read_elf_headers(Path(path_str), "executable", validate)
    full = elf
    if not validate:  # the headers lack the dynamic section and sections: read them
        with contextlib.suppress(OSError, ELFError):  # a truncated file: its name may still tell
            full = read_elf(path_str)
    arch = cpu_arch_of_elf(full)
    how: dict[str, str] = {"arch": f"ELF header of {path_str}: {_describe_arch(full)}"}
    free_threaded, told = free_threaded_python(full, path_str)
    if told:
        how["free_threaded"] = told
    notes: list[str] = []
    if arch is None:
        notes.append(f"{describe_machine(elf)} is not a PEP 656 (musllinux) architecture")
    base = {
        "arch": arch.name if arch else None,
        "elf_class": elf.elf_class,
        "endianness": "little" if elf.little_endian else "big",
        "machine": describe_machine(elf),
        "executable": path_str,
        "loader": elf.interpreter,
        "root": os.fspath(root) if root is not None else None,
        "free_threaded": free_threaded,
    }
    if elf.interpreter is None:
        if elf.is_dynamic:
            how["libc"] = "no PT_INTERP: a static PIE or a shared library, loaded by nothing of its own"
        else:
            how["libc"] = "no PT_INTERP and no PT_DYNAMIC: statically linked"
        notes.append(STATIC_NOTE)
        return Detection(libc=Libc.STATIC, musl_version=None, how=how, notes=tuple(notes), **base)  # type: ignore[arg-type]

    family = libc_family_of_interpreter(elf.interpreter)
    how["libc"] = f"PT_INTERP {elf.interpreter}"
    if family != Libc.MUSL:
        return Detection(libc=family, musl_version=None, how=how, notes=tuple(notes), **base)  # type: ignore[arg-type]

    loader_path = resolve_in_root(root, elf.interpreter) if root is not None else Path(elf.interpreter)
    found = None
    try:
        loader_bytes = read_regular(loader_path)
    except OSError as exc:
        notes.append(f"cannot read the loader {loader_path}: {exc.strerror}")
        loader_bytes = b""
    if loader_bytes:
        found = musl_version_from_loader_bytes(loader_bytes)
        if found:
            how["musl_version"] = f"read from the bytes of the loader {loader_path}"
    if found is None and root is None and allow_run and loader_bytes and host_runs_natively(arch):
        found = _run_loader(loader_path)
        if found:
            how["musl_version"] = f"printed by running the loader {loader_path}"
    if found is None:
        notes.append("the musl version could not be read from the loader")
    elif arch is not None and found[0] != arch.ldso_arch:
        notes.append(f"the loader says it is for {found[0]}, the executable is {arch.name}")
    return Detection(libc=Libc.MUSL, musl_version=str(found[1]) if found else None, how=how, notes=tuple(notes), **base)  # type: ignore[arg-type]


@functools.cache
def detect_interpreter() -> Detection:
    """Detect the running interpreter (``sys.executable``). Cached: it cannot change. Only its
    headers are read: it is running, so its structure is sound."""
    return detect_executable(sys.executable, validate=False)


_ROOT_PYTHONS = ("usr/bin/python3", "usr/local/bin/python3", "usr/bin/python", "usr/local/bin/python")


def detect_root(root: StrPath, *, arch: str | None = None) -> Detection:
    """Detect the musl of a root filesystem of any architecture, executing nothing.

    The root's Python (``/usr/bin/python3`` …) is used when present, else its musl loader
    (``/lib/ld-musl-*.so.1``); with several loaders, *arch* chooses one.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise DetectError(f"{root}: not a directory")
    for candidate in _ROOT_PYTHONS:
        real = resolve_in_root(root_path, candidate)
        if real.is_file():
            with open_regular(real) as f:
                if not is_elf(f.read(4)):
                    continue
            found = _alpine_arch(root_path, detect_executable(real, root=root_path))
            if arch is None or found.arch == arch:
                return _with_how(found, "executable", f"the root's Python /{candidate}")
    if arch is None and not musl_loaders(root_path):
        raise NoMuslLoader(f"{root}: no Python and no musl loader (/lib/ld-musl-*.so.1) in this root")
    chosen = f"/lib/{get_arch(choose_loader(root_path, arch)).loader_name}"
    return _alpine_arch(root_path, _detect_loader(root_path, chosen))


def _alpine_arch(root: Path, found: Detection) -> Detection:
    """*found*, its arch told by Alpine's libc SONAME when the ELF header leaves a choice and the
    root has exactly one: ``/lib/libc.musl-armhf.so.1`` is Alpine's ARMv6 armhf,
    ``libc.musl-armv7.so.1`` its armv7 (the loader is ``ld-musl-armhf.so.1`` on both)."""
    current = ARCHES.get(found.arch or "")
    if current is None:
        return found
    same = [a for a in ARCHES.values() if (a.machine, a.elf_class, a.little_endian) == _identity(current)]
    named = [a for a in same if resolve_in_root(root, f"/lib/libc.musl-{a.alpine_arch}.so.1").exists()]
    if len(same) < 2 or len(named) != 1 or named[0] is current:
        return found
    how = {
        **found.how,
        "arch": f"Alpine's libc SONAME /lib/libc.musl-{named[0].alpine_arch}.so.1 ({found.how['arch']})",
    }
    return Detection(**{**asdict(found), "arch": named[0].name, "how": how, "notes": found.notes})


def _identity(arch: Arch) -> tuple[int, int, bool]:
    return (arch.machine, arch.elf_class, arch.little_endian)


def _detect_loader(root: Path, inside: str) -> Detection:
    real = resolve_in_root(root, inside)
    elf = _read_elf_headers(real, "loader")
    data = read_regular(real)
    arch = cpu_arch_of_elf(elf)
    found = musl_version_from_loader_bytes(data)
    how = {
        "executable": f"no Python in the root; its musl loader {inside}",
        "arch": f"ELF header of {inside}: {_describe_arch(elf)}",
        "libc": f"musl loader {inside}",
    }
    notes = []
    if found:
        how["musl_version"] = f"read from the bytes of the loader {inside}"
    else:
        notes.append("the musl version could not be read from the loader")
    return Detection(
        libc=Libc.MUSL,
        musl_version=str(found[1]) if found else None,
        arch=arch.name if arch else None,
        elf_class=elf.elf_class,
        endianness="little" if elf.little_endian else "big",
        machine=describe_machine(elf),
        executable=None,
        loader=inside,
        root=str(root),
        how=how,
        notes=tuple(notes),
    )


def _with_how(d: Detection, key: str, text: str) -> Detection:
    return Detection(**{**asdict(d), "how": {key: text, **d.how}, "notes": d.notes})
