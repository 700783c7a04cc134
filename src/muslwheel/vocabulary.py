"""The verdict's vocabulary: the libc a wheel or member is built for, what a reason is about,
and how much it matters.

Each is a ``str`` enum (Python 3.9 has no ``StrEnum``): a member equals its string, hashes as
it, and ``json.dumps``, ``str()``, f-strings and ``format()`` all give the bare value on every
supported Python (3.12 changed what ``format()`` of a mixed-in enum gives; these say it
themselves), so the JSON and text output do not depend on the type.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "BLOCKING",
    "FIXABLE",
    "UNFIXABLE",
    "ImportClass",
    "Kind",
    "Libc",
    "MUSL_LIKE",
    "ResolutionKind",
    "Role",
    "Severity",
]


class _Word(str, Enum):
    """A word of the verdict: its value wherever it is printed."""

    def __str__(self) -> str:
        return self.value  # type: ignore[no-any-return]

    def __format__(self, spec: str) -> str:
        return self.value.__format__(spec)  # type: ignore[no-any-return]


class Libc(_Word):
    """The libc a wheel (or one member) is built for."""

    MUSL = "musl"
    GLIBC = "glibc"
    STATIC = "static"  #: no dynamic section: needs no libc's loader
    UNKNOWN = "unknown"  #: no evidence either way
    NONE = "none"  #: a wheel with no ELF members (pure)
    MIXED = "mixed"  #: musl and glibc members in one wheel


#: The wheel libcs that get a musl floor and may get a musllinux tag.
MUSL_LIKE = frozenset((Libc.MUSL, Libc.STATIC, Libc.UNKNOWN))


class Severity(_Word):
    ERROR = "error"  #: the claimed tag is dishonest
    WARNING = "warning"
    INFO = "info"


class Kind(_Word):
    """What one reason of a verdict is about."""

    SYMBOL = "symbol"  #: an import that raises the floor
    TIME64 = "time64"  #: a 32-bit arch's time64 import that raises the floor
    FEATURE = "feature"  #: an ELF feature that raises the floor (DT_RELR)
    PORT = "port"  #: the arch's musl port began after the oldest policy
    LIBRARY = "library"  #: a needed library outside the wheel, or found only elsewhere
    GLIBC = "glibc"  #: a glibc member (or a glibc wheel: not ours to judge)
    ARCH = "arch"  #: not a musllinux arch, or several
    MODULE_NAME = "module-name"  #: an extension module whose suffix a CPython the tags name does not import
    TAG = "tag"  #: a claimed platform tag, judged
    TAG_ARCH = "tag-arch"  #: a claimed tag for another arch
    X86_ISA = "x86-isa"  #: needs a newer x86-64 level than baseline
    UNRESOLVED = "unresolved"  #: an import nothing the file loads defines
    SYSTEM_SYMBOL = "system-symbol"  #: an import internal to a system library's private build
    GLIBC_SYMBOL = "glibc-symbol"  #: an import only glibc exports
    INITIAL_EXEC_TLS = "initial-exec-tls"  #: initial-exec TLS in an object loaded at run time
    LIBPYTHON = "libpython"  #: a DT_NEEDED on libpython
    THREAD_STACK = "thread-stack"  #: threads started on musl's 128 KiB default stack (a warning)


class ImportClass(_Word):
    """What the import proof of a module (or a wheel: its worst module) says, in four classes."""

    IMPORTED = "imported"
    BINARY_FAILURE = "binary-failure"  #: crashed, loader error, binary error, timeout: the wheel's binaries
    NOT_PROVEN = "not-proven"  #: the target lacks something: a system library, a dependency (or a working one)
    PYTHON_ERROR = "python-error"  #: the wheel's own Python code raised


class Role(_Word):
    """What a wheel member is to the loader (:func:`muslwheel.resolve.entry_kind`)."""

    EXTENSION = "extension"  #: an extension module Python imports
    EXECUTABLE = "executable"  #: a program a script or the user runs
    LIBRARY = "library"  #: a library no entry point loads, loaded on its own


class ResolutionKind(_Word):
    """How one DT_NEEDED name of a load was found (:class:`muslwheel.resolve.Resolution`)."""

    MUSL = "musl"  #: musl's loader maps the name to itself
    WHEEL = "wheel"  #: a member of the wheel
    SYSTEM = "system"  #: outside the wheel, and allowed by the policy (libz.so.1)
    EXTERNAL = "external"  #: outside the wheel and not allowed: must be vendored
    ELSEWHERE = "elsewhere"  #: (a library loaded on its own) in the wheel, but on no search path of this load
    PYTHON = "python"  #: libpython: the interpreter provides its symbols (a need repair drops)


#: Error kinds that forbid every musllinux tag (the rest concern one claim, or are warnings).
BLOCKING = frozenset(
    (Kind.LIBRARY, Kind.GLIBC, Kind.ARCH, Kind.UNRESOLVED, Kind.SYSTEM_SYMBOL, Kind.GLIBC_SYMBOL, Kind.INITIAL_EXEC_TLS)
)
#: Error kinds `repair` can fix (vendor the library, retag); any other error stops it.
FIXABLE = frozenset((Kind.LIBRARY, Kind.TAG))
#: Error kinds no repair can fix: the wheel fails to load on every musl, whatever it claims
#: (show's exit status, :mod:`muslwheel.gate`). A ``module-name`` warning, a module only some
#: tagged builds cannot import, is not an error.
UNFIXABLE = frozenset((Kind.GLIBC_SYMBOL, Kind.INITIAL_EXEC_TLS, Kind.ARCH, Kind.MODULE_NAME, Kind.GLIBC))
