"""The errors muslwheel raises on purpose.

Every failure that bad input can cause is one of these; the CLI prints ``str(error)`` as one
line and exits with status 2. Anything else escaping is a bug in muslwheel.

The base and the core's errors live here; each room with its own failures keeps one class, a
:class:`MuslwheelError`, beside its code (every name distinct):

- here: :class:`MuslwheelError`; :class:`ELFError` (elf, relr's reads), :class:`WheelError`
  (wheelfile, wheelwriter), :class:`DetectError` (libc, root's detection), :class:`TargetError`
  (tags, arch, the versions a command line gives)
- ``relr.RelrError``: a DT_RELR table that cannot be unpacked
- ``repair.RepairError``: a wheel repair cannot make honest; ``origins.OriginError``: where a
  graft came from cannot be read; ``apkdb.ApkDatabaseError``: an unreadable Alpine database
- ``root.RootError``: a root that is no musl target
- ``distros.DistroError``: the distro table or a release not in it
- ``findlib.FindLibraryError``: find-library's arguments
- ``hostpython.HostPythonError``: no host CPython of a minor
- ``zig.ZigError``: no usable zig
- ``sandbox.SandboxUnavailable``: no sandbox on this host where one is required
- ``debian.SourceError``: Debian's archive (an index, a package, a download that does not verify)
- ``kits.KitError``: a kit missing, unusable or not buildable
- ``builder.target.BuildError``, and its ``TargetUnavailable`` (``builder.rust.RustError``): a
  build that cannot start, a target this host cannot build
- ``scan.sources.ScanSourceError``: a scan source that cannot be read;
  ``scan.http.FetchError`` (``BudgetExceeded``): a remote wheel that cannot be fetched

(``elf.NotRegularFile`` is an ``OSError``: a FIFO or device where a file was expected, which the
callers turn into one of the above.)
"""

from __future__ import annotations


class MuslwheelError(Exception):
    """Base of every error muslwheel raises for bad input or an impossible request."""


class ELFError(MuslwheelError, ValueError):
    """A file is not ELF, or its ELF structures are truncated or inconsistent."""


class WheelError(MuslwheelError, ValueError):
    """A wheel file is unreadable, hostile, or not a wheel."""


class DetectError(MuslwheelError):
    """The libc, its version or the architecture of a target cannot be determined."""


class TargetError(MuslwheelError, ValueError):
    """A target (tag, architecture, musl version, Python version) is malformed or unsupported."""


class NoMuslLoader(DetectError):
    """No musl loader here to work with: none in the root (or this system), none for the arch
    asked, or several and no arch chosen. :class:`muslwheel.root.RootError` is one."""
