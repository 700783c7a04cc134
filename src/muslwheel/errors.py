"""The errors muslwheel raises on purpose.

Every failure that bad input can cause is one of these; the CLI prints ``str(error)`` as one
line and exits with status 2. Anything else escaping is a bug in muslwheel.
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
