"""Alpine's installed-package database (``lib/apk/db/installed``): which package owns a file.

The format is apk-tools' v2 "FDB" text, one package per paragraph (``apk-v2(5)``, and
``apk_db_fdb_read`` in apk-tools' ``src/database.c``)::

    C:Q1...=
    P:libxml2
    V:2.12.7-r0
    A:x86_64
    o:libxml2
    L:MIT
    F:usr/lib
    R:libxml2.so.2
    R:libxml2.so.2.12.7

Each line is one letter, a colon and a value; a line shorter than two characters ends a
package. ``P:`` is the package's name, ``V:`` its version, ``A:`` its arch, ``o:`` its origin
(the source package, ``APKBUILD``'s ``pkgname`` of the base package), ``L:`` its license.
``F:`` opens a directory (relative to the root, no leading slash) and every ``R:`` after it
names a file in that directory (apk-tools refuses an ``R:`` before any ``F:``). Other letters
(checksums, ACLs, dependencies, ``Z:`` file digests) are not needed here and are skipped.

Pure: bytes in, :class:`ApkDatabase` out. A database that is not this format raises
:class:`ApkDatabaseError`, so a root whose database is damaged is said so, not silently ignored.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import MuslwheelError


class ApkDatabaseError(MuslwheelError):
    """``lib/apk/db/installed`` is not apk's installed-database format."""


@dataclass(frozen=True)
class ApkPackage:
    name: str  #: ``P:``
    version: str  #: ``V:``
    arch: str | None = None  #: ``A:``
    origin: str | None = None  #: ``o:``
    license: str | None = None  #: ``L:``
    files: tuple[str, ...] = ()  #: ``F:`` directory + ``R:`` name, relative to the root


@dataclass(frozen=True)
class ApkDatabase:
    packages: tuple[ApkPackage, ...]
    owners: Mapping[str, ApkPackage] = field(default_factory=dict)  #: relative file path -> package

    def owner(self, path: str) -> ApkPackage | None:
        """The package that installed *path* (as the target names it, ``/usr/lib/libz.so.1``)."""
        rel = posixpath.normpath("/" + path).lstrip("/")
        return self.owners.get(rel)


def parse_apk_installed(data: bytes, where: str = "lib/apk/db/installed") -> ApkDatabase:
    """Parse an installed database; :class:`ApkDatabaseError` naming *where* and the line."""
    packages: list[ApkPackage] = []
    owners: dict[str, ApkPackage] = {}
    fields: dict[str, str] = {}
    files: list[str] = []
    directory: str | None = None

    def finish() -> None:
        nonlocal directory
        if fields:
            if "P" not in fields or "V" not in fields:
                raise ApkDatabaseError(f"{where}: a package without P: or V: (before line {lineno})")
            pkg = ApkPackage(fields["P"], fields["V"], fields.get("A"), fields.get("o"), fields.get("L"), tuple(files))
            packages.append(pkg)
            for f in files:
                owners.setdefault(f, pkg)
        fields.clear()
        files.clear()
        directory = None

    lineno = 0
    text = data.decode("utf-8", "replace")
    for lineno, line in enumerate(text.split("\n"), 1):
        if len(line) < 2:
            finish()
            continue
        letter, colon, value = line[0], line[1], line[2:]
        if colon != ":":
            raise ApkDatabaseError(f"{where}: line {lineno} is not 'X:value'")
        if letter == "F":
            directory = value.strip("/")
        elif letter == "R":
            if directory is None:
                raise ApkDatabaseError(f"{where}: line {lineno}: R: before any F:")
            files.append(posixpath.join(directory, value) if directory else value)
        elif letter in "PVAoL" and letter not in fields:
            fields[letter] = value
    finish()
    return ApkDatabase(tuple(packages), owners)


def parse_os_release(data: bytes) -> dict[str, str]:
    """``/etc/os-release``'s ``KEY=value`` lines (quotes removed), for the purl's distro."""
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.isidentifier():
            out[key] = value.strip().strip("\"'")
    return out
