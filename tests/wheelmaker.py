"""Fabricate wheel files for tests: any tags, any members, valid RECORD."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Every wheel made in this test session, in order: the repair/show invariant test
#: (tests/core/test_invariant.py, run last) goes over all of them.
MADE: list[Path] = []


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def make_wheel(
    dest: Path,
    name: str,
    version: str,
    tags: str | Sequence[str],
    files: Mapping[str, bytes | str],
    *,
    root_is_purelib: bool = False,
    requires: Sequence[str] = (),
) -> Path:
    """Write ``{name}-{version}-{tag}.whl`` into *dest*; *tags* are full ``py-abi-plat`` tags;
    *requires*: its METADATA's ``Requires-Dist`` lines (with markers)."""
    tags = [tags] if isinstance(tags, str) else list(tags)
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    compressed = (
        ".".join(sorted({t.split("-")[0] for t in tags})),
        ".".join(sorted({t.split("-")[1] for t in tags})),
        ".".join(sorted({t.split("-")[2] for t in tags})),
    )
    filename = f"{dist}-{version}-{'-'.join(compressed)}.whl"
    members: dict[str, bytes] = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    members[f"{info}/METADATA"] = metadata.encode()
    wheel_text = "Wheel-Version: 1.0\nGenerator: muslwheel-tests\n"
    wheel_text += f"Root-Is-Purelib: {'true' if root_is_purelib else 'false'}\n"
    wheel_text += "".join(f"Tag: {t}\n" for t in tags)
    members[f"{info}/WHEEL"] = wheel_text.encode()
    record = "".join(f"{k},{record_hash(v)},{len(v)}\n" for k, v in members.items())
    record += f"{info}/RECORD,,\n"
    members[f"{info}/RECORD"] = record.encode()
    path = dest / filename
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in members.items():
            info_ = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
            info_.external_attr = (0o755 if arcname.endswith(".so") else 0o644) << 16
            info_.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info_, data)
    MADE.append(path)
    return path
