"""muslwheel: binary wheels for musl libc Linux (PEP 656), audited to the symbol."""

from __future__ import annotations

import os

__version__ = "0.1.0"


def find_library(name: str, root: str | os.PathLike[str] | None = None) -> str | None:
    """What ``ctypes.util.find_library(name)`` should answer on musl: the file musl's loader
    opens for library *name* (see :mod:`muslwheel.findlib`), on this system or in *root*."""
    from .findlib import find_library as _find_library

    return _find_library(name, root)
