"""The SBOM ``repair`` writes (PEP 770): a CycloneDX 1.6 document naming each grafted library.

PEP 770 puts SBOMs in ``<dist>.dist-info/sboms/``; auditwheel 6.x writes
``auditwheel.cdx.json`` there, with the wheel as the root component and one component per
grafted library, its purl from the system's package manager. This module builds the same shape
for muslwheel (``muslwheel.cdx.json``), from facts a caller found (:class:`Origin`, see
``repair``'s lookups): the wheel is ``metadata.component`` (``pkg:pypi/NAME@VERSION?file_name=``),
each graft a ``library`` component with its name, version (when known), the SHA-256 of the file
as written in the wheel, its purl and a ``muslwheel:path`` property; ``dependencies`` say which
grafts the wheel's own files need and which each graft needs.

The document is byte-reproducible: no timestamp, components and dependencies in a fixed order,
and a ``serialNumber`` derived from the rest of the document (a UUID made of its SHA-256), so
the same wheel repaired twice gives the same bytes.

Pure: facts in, dict and bytes out. :func:`sbom_entries` reads any CycloneDX JSON (maturin's,
auditwheel's, ours) for ``show -v``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

#: Where repair writes its SBOM, under the wheel's ``.dist-info`` (PEP 770).
SBOM_NAME = "sboms/muslwheel.cdx.json"
SPEC_VERSION = "1.6"


def _q(value: str) -> str:
    """Percent-encode as the purl spec asks of a name, version or qualifier value."""
    return quote(value, safe="")


def purl(kind: str, namespace: str | None, name: str, version: str | None, qualifiers: Mapping[str, str] = {}) -> str:
    """``pkg:TYPE/NAMESPACE/NAME@VERSION?k=v&...`` (qualifiers sorted by key, empty ones left
    out), as the package-url specification spells it."""
    out = f"pkg:{kind}/"
    if namespace:
        out += f"{_q(namespace)}/"
    out += _q(name)
    if version:
        out += f"@{_q(version)}"
    quals = "&".join(f"{k}={_q(v)}" for k, v in sorted(qualifiers.items()) if v)
    return f"{out}?{quals}" if quals else out


def apk_purl(name: str, version: str, arch: str | None, distro: str | None) -> str:
    """``pkg:apk/alpine/zlib@1.3.1-r1?arch=x86_64&distro=alpine-3.20.3``."""
    return purl("apk", "alpine", name, version, {"arch": arch or "", "distro": distro or ""})


def debian_source_purl(source: str, version: str) -> str:
    """``pkg:deb/debian/libxml2@2.9.14%2Bdfsg-1.3?arch=source``: a Debian source package."""
    return purl("deb", "debian", source, version, {"arch": "source"})


def pypi_purl(name: str, version: str, filename: str) -> str:
    """The wheel's purl: the name normalised as the purl spec's pypi type asks (lower case,
    ``_`` as ``-``), the file named by the ``file_name`` qualifier (as auditwheel does)."""
    norm = re.sub(r"[-_.]+", "-", name).lower()
    return purl("pypi", None, norm, version, {"file_name": filename})


@dataclass(frozen=True)
class Origin:
    """Where a grafted library came from, as far as anything knows."""

    kind: str  #: ``apk`` (an Alpine root's database), ``kit``, ``recipe``, or ``unknown``
    name: str  #: the package's name (``unknown``: the library's SONAME)
    version: str | None = None  #: None when unknown
    purl: str | None = None
    properties: tuple[tuple[str, str], ...] = ()  #: more facts (``muslwheel:apk-origin``, ...)


@dataclass(frozen=True)
class SbomLibrary:
    """A grafted library as the SBOM names it."""

    path: str  #: its member in the repaired wheel
    sha256: str  #: hex SHA-256 of that member's bytes
    origin: Origin
    depends: tuple[str, ...] = ()  #: the members (grafts) it needs


def build_sbom(
    wheel_filename: str,
    distribution: str,
    version: str,
    libraries: Sequence[SbomLibrary],
    direct: Sequence[str],
    tool_version: str,
) -> dict[str, Any]:
    """The CycloneDX 1.6 document for a wheel whose grafts are *libraries*; *direct* the grafts
    the wheel's own files need."""
    root_ref = pypi_purl(distribution, version, wheel_filename)
    root = {"type": "library", "bom-ref": root_ref, "name": distribution, "version": version, "purl": root_ref}
    components = []
    refs = {lib.path: f"{lib.origin.purl or 'file'}#{lib.path}" for lib in libraries}
    for lib in sorted(libraries, key=lambda item: item.path):
        c: dict[str, Any] = {"type": "library", "bom-ref": refs[lib.path], "name": lib.origin.name}
        if lib.origin.version:
            c["version"] = lib.origin.version
        c["hashes"] = [{"alg": "SHA-256", "content": lib.sha256}]
        if lib.origin.purl:
            c["purl"] = lib.origin.purl
        props = [("muslwheel:path", lib.path), ("muslwheel:origin", lib.origin.kind), *lib.origin.properties]
        c["properties"] = [{"name": k, "value": v} for k, v in props]
        components.append(c)
    dependencies = [{"ref": root_ref, "dependsOn": sorted(refs[p] for p in set(direct) if p in refs)}]
    for lib in sorted(libraries, key=lambda item: item.path):
        dependencies.append(
            {"ref": refs[lib.path], "dependsOn": sorted(refs[p] for p in set(lib.depends) if p in refs)}
        )
    doc: dict[str, Any] = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": "",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "muslwheel", "version": tool_version}]},
            "component": root,
        },
        "components": components,
        "dependencies": dependencies,
    }
    # The serial number is made of the rest of the document: the same content, the same number.
    digest = hashlib.sha256(sbom_bytes({k: v for k, v in doc.items() if k != "serialNumber"})).digest()
    doc["serialNumber"] = uuid.UUID(bytes=digest[:16], version=5).urn
    return doc


def sbom_bytes(doc: Mapping[str, Any]) -> bytes:
    """The document as written: two-space indented JSON, keys in their given order, a newline."""
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class SbomEntry:
    """One component of an SBOM in a wheel, as ``show -v`` lists it."""

    sbom: str  #: the member it is in
    name: str
    version: str | None
    purl: str | None


def sbom_entries(member: str, data: bytes) -> list[SbomEntry]:
    """The components of the CycloneDX JSON *data* (member *member*); an SBOM that is not JSON
    or not CycloneDX gives one entry saying so (show reports, it does not judge SBOMs)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return [SbomEntry(member, "(not JSON)", None, None)]
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        return [SbomEntry(member, "(not a CycloneDX document)", None, None)]
    out = []
    components = doc.get("components")
    for c in components if isinstance(components, list) else []:
        if not isinstance(c, dict):
            continue
        name, ver, p = c.get("name"), c.get("version"), c.get("purl")
        out.append(
            SbomEntry(
                member,
                str(name) if name is not None else "?",
                str(ver) if isinstance(ver, (str, int, float)) else None,
                str(p) if isinstance(p, str) else None,
            )
        )
    return out
