"""Where a library ``repair`` grafts came from, for its SBOM (I/O: reads the files that know).

Asked in this order, the first that knows wins (docs/policy.md, "SBOM"):

1. an Alpine root's installed-package database (``lib/apk/db/installed`` of ``--root``, or of
   this host): the package that installed the file, by the path the target names it by or its
   real path in the root -> ``pkg:apk/alpine/NAME@VERSION?arch=ARCH&distro=alpine-X.Y.Z``;
2. a native-library recipe's prefix: a ``muslwheel-lib.json`` in a directory above the
   library's real path whose ``libraries`` list it -> ``pkg:deb/debian/SOURCE@VERSION?arch=source``
   (the Debian source package the recipe built);
3. a kit: a ``kit.json`` above the library's real path whose ``debian_packages`` list the file
   under the kit's ``root/`` -> the same Debian source purl;
4. nothing: the library's SONAME, no version, no purl (its hash is in the SBOM all the same).

A database or a ``muslwheel-lib.json`` that cannot be read as its format is an error (one
line, nothing written): an SBOM that silently said "unknown" for a damaged source would lie.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

from .apkdb import ApkDatabase, ApkDatabaseError, parse_apk_installed, parse_os_release
from .errors import MuslwheelError
from .root import MuslRoot
from .sbom import Origin, apk_purl, debian_source_purl

#: the file a native-library recipe's prefix carries (schema 1)
LIB_FACTS = "muslwheel-lib.json"


class OriginError(MuslwheelError):
    """A file that says where libraries came from is not in its format."""


class Origins:
    """The lookups for one target (the root repair searches), each source read once."""

    def __init__(self, target: MuslRoot) -> None:
        self.target = target
        self._apk: tuple[ApkDatabase, str | None] | None = None
        self._apk_read = False
        self._facts: dict[Path, dict[str, object] | None] = {}

    def _root(self) -> Path:
        return Path(os.path.realpath(self.target.root if self.target.root is not None else "/"))

    def _apk_db(self) -> tuple[ApkDatabase, str | None] | None:
        if not self._apk_read:
            self._apk_read = True
            db = self.target.host_path("/lib/apk/db/installed")
            if db.is_file():
                try:
                    parsed = parse_apk_installed(db.read_bytes(), str(db))
                except OSError as exc:
                    raise OriginError(f"{db}: {exc.strerror}") from None
                except ApkDatabaseError as exc:
                    raise OriginError(str(exc)) from None
                distro = None
                with_release = self.target.host_path("/etc/os-release")
                if with_release.is_file():
                    release = parse_os_release(with_release.read_bytes())
                    if release.get("ID") and release.get("VERSION_ID"):
                        distro = f"{release['ID']}-{release['VERSION_ID']}"
                self._apk = (parsed, distro)
        return self._apk

    def _in_root(self, host: Path) -> list[str]:
        """The paths the target names *host* by: as found and as its real path, when inside."""
        root = self._root()
        out = []
        for p in (os.path.abspath(host), os.path.realpath(host)):
            rel = os.path.relpath(p, root)
            if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
                out.append(str(PurePosixPath("/", rel)))
        return list(dict.fromkeys(out))

    def origin(self, found: Path, soname: str) -> Origin:
        """Where the library at *found* (its path on this host, as repair found it) came from."""
        apk = self._apk_db()
        if apk is not None:
            db, distro = apk
            for path in self._in_root(found):
                pkg = db.owner(path)
                if pkg is not None:
                    props: tuple[tuple[str, str], ...] = (("muslwheel:apk-origin", pkg.origin),) if pkg.origin else ()
                    return Origin(
                        "apk", pkg.name, pkg.version, apk_purl(pkg.name, pkg.version, pkg.arch, distro), props
                    )
        real = Path(os.path.realpath(found))
        for directory in real.parents:
            facts = self._lib_facts(directory)
            if facts is not None and real in self._listed(directory, facts.get("libraries")):
                props = tuple(
                    (f"muslwheel:{key}", str(facts[key])) for key in ("recipe", "musl", "arch") if key in facts
                )
                return Origin(
                    "recipe",
                    str(facts["name"]),
                    str(facts["version"]),
                    debian_source_purl(str(facts["debian_source"]), str(facts["debian_version"])),
                    props,
                )
            kit = self._kit_package(directory, real)
            if kit is not None:
                return kit
        return Origin("unknown", soname)

    def _listed(self, prefix: Path, paths: object) -> set[Path]:
        if not isinstance(paths, list):
            return set()
        return {Path(os.path.realpath(prefix / str(p))) for p in paths if isinstance(p, str)}

    def _lib_facts(self, directory: Path) -> dict[str, object] | None:
        if directory not in self._facts:
            path = directory / LIB_FACTS
            facts = None
            if path.is_file():
                try:
                    facts = json.loads(path.read_bytes())
                except (OSError, ValueError) as exc:
                    raise OriginError(f"{path}: not readable JSON ({exc})") from None
                required = ("name", "version", "debian_source", "debian_version", "libraries")
                if not isinstance(facts, dict):
                    raise OriginError(f"{path}: not a {LIB_FACTS} (a JSON object)")
                if facts.get("schema") != 1:
                    facts = None  # a schema this muslwheel does not know: it says nothing of it
                elif any(k not in facts for k in required):
                    raise OriginError(f"{path}: not a schema 1 {LIB_FACTS} (needs {', '.join(required)})")
            self._facts[directory] = facts
        return self._facts[directory]

    def _kit_package(self, directory: Path, real: Path) -> Origin | None:
        """The Debian package a kit in *directory* records for the file *real* under its root."""
        meta_path = directory / "kit.json"
        if not meta_path.is_file() or not (directory / "root").is_dir():
            return None
        try:
            meta = json.loads(meta_path.read_bytes())
        except (OSError, ValueError):
            return None
        packages = meta.get("debian_packages") if isinstance(meta, dict) else None
        root = Path(os.path.realpath(directory / "root"))
        for pkg in packages if isinstance(packages, list) else []:
            if not isinstance(pkg, dict) or not {"source", "version", "files"} <= set(pkg):
                continue
            if real in self._listed(root, pkg["files"]):
                props = (("muslwheel:kit", str(meta.get("name", directory.name))),)
                return Origin(
                    "kit",
                    str(pkg["source"]),
                    str(pkg["version"]),
                    debian_source_purl(str(pkg["source"]), str(pkg["version"])),
                    props,
                )
        return None
