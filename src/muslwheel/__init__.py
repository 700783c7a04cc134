"""muslwheel: binary wheels for musl libc Linux (PEP 656), audited to the symbol.

The library (docs/library.md): each command is a typed function in its room, imported from
there (this package imports nothing at start, so that ``show`` stays fast):
``muslwheel.audit.audit_wheel`` (show), ``muslwheel.repair.repair_wheel`` (repair),
``muslwheel.check.check_wheel`` and ``muslwheel.check_import.check_imports`` (check),
``muslwheel.libc.detect_interpreter``/``detect_root`` (detect), ``muslwheel.tags`` (tags),
``muslwheel.distros`` (distros), :func:`find_library` (find-library), ``muslwheel.scan.scan``
and ``muslwheel.scan.report`` (scan, report), ``muslwheel.builder`` (build), ``muslwheel.kits``
(kit); versions are ``muslwheel.versions``' values, verdict words ``muslwheel.vocabulary``'s.
"""

from __future__ import annotations

import os

__all__ = ["__version__", "find_library"]

__version__ = "0.1.0"


def find_library(name: str, root: str | os.PathLike[str] | None = None) -> str | None:
    """What ``ctypes.util.find_library(name)`` should answer on musl: the file musl's loader
    opens for library *name* (see :mod:`muslwheel.findlib`), on this system or in *root*."""
    from .findlib import find_library as _find_library

    return _find_library(name, root)
