"""apk's installed database, read as apk-tools reads it: who owns a file, and damaged ones refused."""

from __future__ import annotations

import pytest

from muslwheel.apkdb import ApkDatabaseError, parse_apk_installed

DB = b"""C:Q1aaaa=
P:zlib
V:1.3.1-r1
A:aarch64
o:zlib
L:Zlib
F:usr
F:usr/lib
R:libz.so.1
a:0:0:777
R:libz.so.1.3.1
Z:Q1bbbb=

C:Q1cccc=
P:musl
V:1.2.5-r1
A:aarch64
f:S
F:
F:lib
R:ld-musl-aarch64.so.1
r:musl-utils
"""


def test_each_file_belongs_to_the_package_whose_last_directory_line_precedes_it() -> None:
    db = parse_apk_installed(DB)
    assert [(p.name, p.version, p.arch, p.origin) for p in db.packages] == [
        ("zlib", "1.3.1-r1", "aarch64", "zlib"),
        ("musl", "1.2.5-r1", "aarch64", None),
    ]
    zlib = db.owner("/usr/lib/libz.so.1.3.1")
    assert zlib is not None and zlib.name == "zlib" and zlib.license == "Zlib"
    assert db.owner("usr/lib/libz.so.1") is zlib
    musl = db.owner("/lib/ld-musl-aarch64.so.1")
    assert musl is not None and musl.name == "musl"
    assert db.owner("/usr/libz.so.1") is None and db.owner("/lib/libz.so.1") is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b"P:a\nV:1\nR:libx.so\n", "line 3: R: before any F:"),
        (b"P:a\nV 1\n", "line 2 is not 'X:value'"),
        (b"V:1\nF:usr/lib\nR:libx.so\n\n", "a package without P: or V:"),
    ],
)
def test_a_database_not_in_apks_format_is_refused(text: bytes, why: str) -> None:
    with pytest.raises(ApkDatabaseError, match=why):
        parse_apk_installed(text)
