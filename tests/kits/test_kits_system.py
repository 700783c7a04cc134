"""Kits like Alpine's base (issue #31): a CPython kit carries the shared libraries CPython links on
Alpine (``libz.so.1``, OpenSSL 3, libffi, libbz2, liblzma, libsqlite3, libexpat) in its
``usr/lib``, and its ``_ssl``, ``_hashlib``, ``zlib`` … link and use them; a bare kit
(``kit build --bare``) has none and says so; the kit choice prefers the Alpine-like kit.

The world's x86_64 CPython 3.11 kits are Alpine-like; every other CPython kit there is bare
(``scripts/build-world``'s KITS)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import kit_for, muslwheel_cmd, need, run, run_ok, write_c
from kitfixture import build_against, import_results
from wheelmaker import make_wheel

from muslwheel.elf import read_elf

#: each module of the stdlib an Alpine-like kit must have, and the system libraries (by recipe)
#: it must link
LINKS = {
    "_ssl": ("openssl",),
    "_hashlib": ("openssl",),
    "zlib": ("zlib",),
    "_ctypes": ("libffi",),
    "_bz2": ("bzip2",),
    "_lzma": ("xz",),
    "_sqlite3": ("sqlite3",),
    "pyexpat": ("expat",),
}

#: run in the kit's CPython: a TLS handshake (in memory) between a server whose certificate the
#: test's CA signed and a client that trusts only that CA, sha3/blake2 through OpenSSL, sqlite,
#: lzma, bz2, zlib round trips, a ctypes call into libc, an expat parse
SCRIPT = r"""
import bz2, ctypes, hashlib, lzma, pyexpat, sqlite3, ssl, sys, zlib, _hashlib
ca, cert, key = sys.argv[1:4]
server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server.load_cert_chain(cert, key)
client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
client.load_verify_locations(cafile=ca)
bios = [ssl.MemoryBIO() for _ in range(4)]
s = server.wrap_bio(bios[0], bios[1], server_side=True)
c = client.wrap_bio(bios[2], bios[3], server_hostname="kit.test")
done = set()
for _ in range(20):
    for name, end in (("c", c), ("s", s)):
        if name in done:
            continue
        try:
            end.do_handshake()
            done.add(name)
        except ssl.SSLWantReadError:
            pass
    bios[0].write(bios[3].read())
    bios[2].write(bios[1].read())
    if done == {"c", "s"}:
        break
c.write(b"hello musl")
bios[0].write(bios[3].read())
got = s.read(100)
h = hashlib.new("sha3_256", b"abc")
con = sqlite3.connect(":memory:")
con.execute("create table t(x)")
con.executemany("insert into t values (?)", [(40,), (2,)])
data = b"muslwheel " * 50
p = pyexpat.ParserCreate()
p.Parse(b"<a><b/></a>", True)
print(repr({
    "tls": (got, c.version(), c.getpeercert()["subject"][0][0][1]),
    "openssl": ssl.OPENSSL_VERSION.split()[:2],
    "sha3": (type(h).__module__, h.hexdigest()),
    "blake2b": _hashlib.new("blake2b512", b"abc").digest() == hashlib.blake2b(b"abc").digest(),
    "sqlite": con.execute("select sum(x) from t").fetchone()[0],
    "codecs": [m.decompress(m.compress(data)) == data for m in (lzma, bz2, zlib)],
    "ctypes": ctypes.CDLL(None).strlen(b"musl"),
}))
"""


def _test_ca(tmp: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for ``kit.test`` it signed, made with the host's openssl."""
    openssl = shutil.which("openssl")
    need(openssl, "the host's openssl command (to make a test CA)")
    assert openssl is not None
    ca, ca_key, cert, key, csr = (tmp / n for n in ("ca.pem", "ca.key", "cert.pem", "cert.key", "cert.csr"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run_ok([openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=kit test CA"])
    run_ok([openssl, "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=kit.test"])
    ext = tmp / "ext.cnf"
    ext.write_text("subjectAltName=DNS:kit.test\n")
    sign = ["-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2", "-extfile", ext]
    run_ok([openssl, "x509", "-req", "-in", csr, *sign, "-out", cert])
    return ca, cert, key


def test_an_alpine_like_kit_carries_and_links_alpines_base_libraries(tmp_path: Path) -> None:
    kit = kit_for("x86_64", "1.2.3", "3.11", bare=False)
    assert not kit.bare and kit.name == "x86_64-musl1.2.3-py3.11"
    usr_lib = kit.root / "usr" / "lib"
    sonames = {lib.soname for lib in kit.system_libraries}
    assert {"libz.so.1", "libssl.so.3", "libcrypto.so.3", "libffi.so.8", "liblzma.so.5", "libexpat.so.1"} <= sonames
    assert {lib.name for lib in kit.system_libraries} == {
        "zlib",
        "libffi",
        "openssl",
        "bzip2",
        "xz",
        "sqlite3",
        "expat",
    }
    for lib in kit.system_libraries:
        elf = read_elf((usr_lib / lib.soname).resolve())
        # sqlite3's autosetup build sets no SONAME yet (its file name stands in: libsqlite3.so)
        assert elf.soname == lib.soname or (lib.name, elf.soname) == ("sqlite3", None), lib
        assert elf.machine == kit.arch_info.machine, lib
    # each module links the kit's own library (DT_NEEDED), as on Alpine
    dynload = kit.stdlib_dir / "lib-dynload"
    for module, libraries in LINKS.items():
        (ext,) = dynload.glob(f"{module}.cpython-*.so")
        needed = set(read_elf(ext).needed)
        for library in libraries:
            own = {lib.soname for lib in kit.system_libraries if lib.name == library}
            # _ssl needs libssl.so.3 and libcrypto.so.3; _hashlib libcrypto.so.3
            assert own & needed and all((usr_lib / n).is_file() for n in own & needed), (module, needed)
    # kit list --json says which system libraries the kit has
    listed = {k["name"]: k for k in json.loads(run_ok([*muslwheel_cmd(), "kit", "list", "--json"]).stdout)}
    record = listed[kit.name]
    assert record["bare"] is False
    assert {(x["name"], x["soname"]) for x in record["system_libraries"]} >= {
        ("zlib", "libz.so.1"),
        ("openssl", "libssl.so.3"),
        ("openssl", "libcrypto.so.3"),
    }
    assert all(x["version"] for x in record["system_libraries"])
    # and they work: TLS with a CA the test made, OpenSSL's sha3 and blake2b, sqlite, lzma, bz2, zlib, ctypes
    ca, cert, key = _test_ca(tmp_path)
    script = tmp_path / "use.py"
    script.write_text(SCRIPT)
    proc = run([*kit.python_command(), str(script), str(ca), str(cert), str(key)])
    assert proc.returncode == 0, proc.stderr
    facts = eval(proc.stdout.strip())  # a repr of plain values, printed by the script above
    assert facts["tls"][0] == b"hello musl" and facts["tls"][2] == "kit.test", facts
    assert facts["openssl"][0] == "OpenSSL" and facts["openssl"][1].startswith("3."), facts
    assert facts["sha3"] == ("_hashlib", "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532")
    assert facts["blake2b"] is True and facts["sqlite"] == 42 and facts["codecs"] == [True, True, True]
    assert facts["ctypes"] == 4


ZUSE = r"""
#include <Python.h>
const char *zlibVersion(void);  /* zlib.h's */
static PyObject *version(PyObject *self, PyObject *arg) { return PyUnicode_FromString(zlibVersion()); }
static PyMethodDef methods[] = {{"version", version, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "_zuse", NULL, -1, methods};
PyMODINIT_FUNC PyInit__zuse(void) { return PyModule_Create(&def); }
"""


def test_check_root_agrees_with_the_import_proof_on_a_wheel_needing_libz(tmp_path: Path) -> None:
    """A wheel whose extension needs ``libz.so.1`` from the system (as the policy allows, as
    Pillow's may): loadable in an Alpine-like kit's root, and imported there."""
    kit = kit_for("x86_64", "1.2.3", "3.11", bare=False)
    libz = kit.root / "usr" / "lib" / "libz.so.1"
    need(libz.is_file(), f"libz.so.1 in {kit.name}")
    src = write_c(tmp_path / "_zuse.c", ZUSE)
    ext = build_against(
        kit, tmp_path / f"_zuse{kit.ext_suffix}", src, "-shared", "-fPIC", f"-I{kit.include_dir}", str(libz)
    )
    assert "libz.so.1" in read_elf(ext).needed
    wheel = make_wheel(
        tmp_path, "zuse", "1.0", "cp311-cp311-musllinux_1_2_x86_64", {f"zuse/{ext.name}": ext.read_bytes()}
    )
    checked = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", kit.root, wheel]).stdout)
    assert checked["loads"], checked
    assert "libz.so.1" not in [p["subject"] for p in checked["problems"]]
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert import_results(proc.stdout)[(kit.name, "zuse._zuse")][0] == "imported"


def test_check_root_agrees_with_the_import_proof_where_a_bare_kit_lacks_libz(tmp_path: Path) -> None:
    """The other side of the agreement: the same kind of wheel, for a bare kit (no ``libz.so.1``
    in its root): ``check --root`` calls it not loadable for ``libz.so.1``, and the import proof
    says the kit lacks ``libz.so.1`` (a system library), not that the wheel crashed."""
    kit = kit_for("aarch64", "1.2.6", "3.11", bare=True)
    assert not (kit.root / "usr" / "lib" / "libz.so.1").exists()
    stub = tmp_path / "stub"
    stub.mkdir()
    z = write_c(stub / "z.c", 'const char *zlibVersion(void) { return "stub"; }\n')
    build_against(kit, stub / "libz.so", z, "-shared", "-fPIC", "-Wl,-soname,libz.so.1")
    src = write_c(tmp_path / "_zuse.c", ZUSE)
    ext = build_against(
        kit, tmp_path / f"_zuse{kit.ext_suffix}", src, "-shared", "-fPIC", f"-I{kit.include_dir}", f"-L{stub}", "-lz"
    )
    assert "libz.so.1" in read_elf(ext).needed
    wheel = make_wheel(
        tmp_path, "zuse", "1.0", "cp311-cp311-musllinux_1_2_aarch64", {f"zuse/{ext.name}": ext.read_bytes()}
    )
    checked = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", kit.root, wheel]).stdout)
    assert not checked["loads"], checked
    # (and zlibVersion, which only libz.so.1 would have bound, as unbound)
    assert ("missing-library", "libz.so.1") in [(p["kind"], p["subject"]) for p in checked["problems"]]
    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.name, wheel])
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the kit's lack, not the wheel's fault
    result, detail = import_results(proc.stdout)[(kit.name, "zuse._zuse")]
    assert result == "system-library" and detail.startswith("libz.so.1: "), detail


LIBZUSE = r"""
const char *zlibVersion(void);  /* zlib.h's */
const char *zuse_version(void) { return zlibVersion(); }
"""


def test_an_alpine_like_loader_only_kit_loads_a_wheel_needing_libz_and_the_bare_root_does_not(tmp_path: Path) -> None:
    """``kit build --arch x86_64 --musl 1.2.6`` (no ``--python``) makes the Alpine-like
    loader-only kit ``x86_64-musl1.2.6-system``: the bare musl root ``x86_64-musl1.2.6`` (what
    everything compiles against, kept bare) with the system libraries of the arch's CPython
    kits in ``usr/lib``. ``check --root`` on it says a wheel needing ``libz.so.1`` loads; on the
    bare root, that it does not."""
    # the arch's Alpine-like CPython kit is built, so are its system libraries: seconds to make
    kit_for("x86_64", "1.2.6", "3.11", bare=False)
    made = json.loads(
        run_ok([*muslwheel_cmd(), "kit", "build", "--arch", "x86_64", "--musl", "1.2.6", "--json"]).stdout
    )
    assert made["name"] == "x86_64-musl1.2.6-system" and made["bare"] is False, made
    bare_made = run_ok([*muslwheel_cmd(), "kit", "build", "--arch", "x86_64", "--musl", "1.2.6", "--bare", "--json"])
    assert json.loads(bare_made.stdout)["name"] == "x86_64-musl1.2.6"
    system, bare = kit_for("x86_64", "1.2.6", bare=False), kit_for("x86_64", "1.2.6", bare=True)
    assert {lib.soname for lib in system.system_libraries} >= {"libz.so.1", "libssl.so.3", "libcrypto.so.3"}
    assert (system.root / "usr" / "lib" / "libz.so.1").is_file()
    # the root everything compiles against stays bare, and so does what is built from the system kit
    assert bare.bare and bare.system_libraries == () and not (bare.root / "usr" / "lib" / "libz.so.1").exists()
    from muslwheel.kits.musl import musl_root

    assert musl_root(system) == bare
    listed = {k["name"]: k for k in json.loads(run_ok([*muslwheel_cmd(), "kit", "list", "--json"]).stdout)}
    assert listed[bare.name]["bare"] is True and listed[bare.name]["system_libraries"] == []
    assert listed[system.name]["bare"] is False and listed[system.name]["python"] is None
    assert ("zlib", "libz.so.1") in {(x["name"], x["soname"]) for x in listed[system.name]["system_libraries"]}
    # a library needing libz.so.1 from the system (by its SONAME), in a wheel
    src = write_c(tmp_path / "zuse.c", LIBZUSE)
    lib = build_against(
        bare, tmp_path / "libzuse.so", src, "-shared", "-fPIC", str(system.root / "usr" / "lib" / "libz.so.1")
    )
    assert "libz.so.1" in read_elf(lib).needed
    wheel = make_wheel(tmp_path, "zuse", "1.0", "py3-none-musllinux_1_2_x86_64", {"zuse/libzuse.so": lib.read_bytes()})
    loads = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", system.root, wheel]).stdout)
    assert loads["loads"], loads
    assert "libz.so.1" not in [p["subject"] for p in loads["problems"]]
    refused = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", bare.root, wheel]).stdout)
    assert not refused["loads"], refused
    assert ("missing-library", "libz.so.1") in [(p["kind"], p["subject"]) for p in refused["problems"]]


def test_a_bare_kit_is_bare_and_says_so() -> None:
    kit = kit_for("aarch64", "1.2.3", "3.11", bare=True)
    assert kit.bare and kit.name.endswith("-bare") and kit.system_libraries == ()
    assert not (kit.root / "usr" / "lib" / "libz.so.1").exists()
    listed = {k["name"]: k for k in json.loads(run_ok([*muslwheel_cmd(), "kit", "list", "--json"]).stdout)}
    assert listed[kit.name]["bare"] is True and listed[kit.name]["system_libraries"] == []
    proc = run([*kit.python_command(), "-c", "import zlib, ctypes; import ssl"])
    assert proc.returncode == 1 and "No module named '_ssl'" in proc.stderr, proc.stderr


def _records(base: Path, *specs: str) -> Path:
    """``kit.json`` records (no kit built) for ``ARCH:MUSL:PYTHON[:bare]`` each."""
    from muslwheel.kits import RECIPE, kit_name

    for spec in specs:
        arch, musl, python, *rest = spec.split(":")
        bare = rest == ["bare"]
        name = kit_name(arch, musl, python, bare)
        (base / name).mkdir(parents=True)
        meta = {"name": name, "arch": arch, "musl": musl, "python": python, "bare": bare, "recipe": RECIPE}
        (base / name / "kit.json").write_text(json.dumps(meta))
    return base


def test_the_choice_prefers_an_alpine_like_kit_and_uses_a_bare_one_only_when_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from muslwheel.kits import list_kits
    from muslwheel.kits.choice import KitKey, choose_kits, kit_needs, pick
    from muslwheel.kits.ondemand import kit_for_wheel, kits_for_wheel
    from muslwheel.versions import CPython, MuslWanted
    from muslwheel.wheelfile import parse_wheel_name

    monkeypatch.setenv("MUSLWHEEL_CACHE", str(tmp_path))
    kits = tmp_path / "kits"
    _records(kits, "x86_64:1.2.2:3.11:bare", "x86_64:1.2.3:3.11", "x86_64:1.2.6:3.11", "aarch64:1.2.3:3.11:bare")
    # a CPython kit of the recipe before system libraries is not listed (it is rebuilt, never mixed in)
    (kits / "x86_64-musl1.2.2-py3.11").mkdir()
    old = {"name": "x86_64-musl1.2.2-py3.11", "arch": "x86_64", "musl": "1.2.2", "python": "3.11", "recipe": 1}
    (kits / "x86_64-musl1.2.2-py3.11" / "kit.json").write_text(json.dumps(old))
    built = list_kits()
    assert "x86_64-musl1.2.2-py3.11" not in [k.name for k in built]
    name = lambda key: (lambda k: k.name if k else None)(pick(key, built))  # noqa: E731
    assert name(KitKey("x86_64", CPython(11))) == "x86_64-musl1.2.3-py3.11"  # not the older bare 1.2.2
    assert (
        name(KitKey("x86_64", CPython(11), MuslWanted.parse("1.2.2"))) == "x86_64-musl1.2.2-py3.11-bare"
    )  # the only one
    assert name(KitKey("aarch64", CPython(11))) == "aarch64-musl1.2.3-py3.11-bare"
    x86 = parse_wheel_name("m-1.0-cp311-cp311-musllinux_1_2_x86_64.whl")
    chosen = choose_kits(kit_needs(x86, "x86_64", None), [k for k in built if k.arch == "x86_64"])
    assert [k.name for k in chosen] == ["x86_64-musl1.2.3-py3.11", "x86_64-musl1.2.6-py3.11"]
    # a bare kit already built serves (nothing is made); a kit made on demand is never bare
    arm = parse_wheel_name("m-1.0-cp311-cp311-musllinux_1_2_aarch64.whl")
    proven = kits_for_wheel(kit_needs(arm, "aarch64", None), arm.filename, make=True)
    assert [k.name for k in proven] == ["aarch64-musl1.2.3-py3.11-bare"]
    riscv = parse_wheel_name("m-1.0-cp311-cp311-musllinux_1_2_riscv64.whl")
    assert not kit_for_wheel(kit_needs(riscv, "riscv64", None), riscv.filename).name.endswith("-bare")
