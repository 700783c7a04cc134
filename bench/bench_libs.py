#!/usr/bin/env python3
"""Build library recipes for the arches asked, tabulate every recipe × the eight arches, and
build real PyPI sdists that need them.

    MUSLWHEEL_CACHE=... python bench/bench_libs.py [--arch A]... [--lib NAME]... [--musl 1.2.3] [--no-build]
        [--sdist NAME]... [--warm NAME]

For each recipe asked (``--lib``, default all of ``muslwheel lib list``) × arch asked (``--arch``,
default x86_64 and aarch64), builds it with :func:`muslwheel.libs.build_many` (its dependencies
first; each library proven under the target by its own small program, natively or under
qemu-user) unless ``--no-build``. Each ``--sdist`` (:data:`SDISTS`) is built for each ``--arch``
with ``muslwheel build --with``, one at a time, repaired, judged by ``show``, imported with its
dependencies and smoke-tested in the target's CPython 3.11; each result is kept in
``results/libs_sdists.json`` (one per sdist × arch, with its musl, date and command), so runs
for other arches or musl releases add up. ``--warm NAME`` builds NAME again for the first arch
and says whether any prefix was rebuilt. Then writes ``bench/results/libs.txt``: every recipe ×
the eight arches (:data:`TABLE_ARCHES`, and any other asked), a row per musl release built
(:data:`TABLE_MUSLS`: the upstream and Debian versions, the cold build time as the build
recorded it in ``muslwheel-lib-build.json`` with the machine's load then: it is shared, and the
prefix's size), refused (the recipe's one line why), failed (the build's one line), or not built
(not in the cache); then the sdist × arch matrix of every kept result and each one's line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from results_file import header, write  # noqa: E402

from muslwheel.arch import get_arch  # noqa: E402
from muslwheel.errors import MuslwheelError  # noqa: E402
from muslwheel.kits.ondemand import musl_kit_for  # noqa: E402
from muslwheel.libs import FACTS, all_recipes, read_prefix  # noqa: E402
from muslwheel.libs.store import BUILD_TIME, build_many, current_prefix, prefix_dir  # noqa: E402
from muslwheel.progress import LinePrinter  # noqa: E402
from muslwheel.versions import MuslVersion, MuslWanted  # noqa: E402

_LXML_XSLT = (
    "<xsl:stylesheet version='1.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'>"
    "<xsl:output method='text'/><xsl:template match='/'>got <xsl:value-of select='a/b'/></xsl:template>"
    "</xsl:stylesheet>"
)


@dataclass(frozen=True)
class Sdist:
    """A real PyPI sdist that needs the recipes' libraries (``--sdist NAME``)."""

    spec: str  #: ``name==version`` on PyPI
    kind: str  #: what it stands for (image, XML, database client, ...)
    libs: str  #: ``--with``
    test: str  #: the smoke test, run by ``build --test`` in the target's CPython after the import
    env: tuple[tuple[str, str], ...] = ()  #: the build's environment
    args: tuple[str, ...] = ()  #: more ``build`` options (config settings)
    #: it imports numpy: elsewhere than :data:`NUMPY_WHEEL_ARCHES` numpy is built first (``numpy``
    #: below) into the arch's wheelhouse, whence ``build --find-links`` takes its headers and the import
    numpy: bool = False


#: the arches numpy ships musllinux wheels for on PyPI (numpy 2.5.5 and 2.4.6, the last for
#: CPython 3.11, seen 2026-12-07). Elsewhere (armv7l, i686, ...) an sdist that imports numpy
#: needs numpy built for the arch: for the import, and on a 32-bit arch for numpy's C headers
#: (the host's are of another pointer size, and ``build`` refuses them)
NUMPY_WHEEL_ARCHES = ("x86_64", "aarch64")


#: the sdists, each with what it must prove in the target's CPython (with the wheel's
#: dependencies installed, as ``build`` does)
SDISTS: dict[str, Sdist] = {
    # no library of its own: built where PyPI has no musllinux numpy, before the sdists that need it
    # (meson's run checks, numpy's long double layout among them, run with the kit's loader)
    "numpy": Sdist(
        "numpy==2.4.6",
        "numeric",
        "",
        "import numpy as np; a = np.arange(12, dtype=np.int64).reshape(3, 4)\n"
        "assert a.sum() == 66 and np.intp(0).itemsize * 8 == np.iinfo(np.intp).bits\n"
        "assert abs(np.linalg.inv(np.array([[2.0, 1.0], [1.0, 3.0]])).sum() - 0.6) < 1e-12\n"
        "print('numpy', np.__version__, 'npy_intp', np.intp(0).itemsize, 'bytes, long double', np.finfo(np.longdouble).bits)",
    ),
    "pillow": Sdist(
        "pillow==13.0.0",
        "image",
        "zlib,libjpeg-turbo",
        "import io; from PIL import Image, features\n"
        "assert features.check('jpg') and features.check('zlib'), features.pilinfo\n"
        "b = io.BytesIO(); Image.new('RGB', (32, 24), (200, 10, 10)).save(b, 'JPEG'); b.seek(0)\n"
        "j = Image.open(b); j.load(); assert (j.format, j.size) == ('JPEG', (32, 24)), (j.format, j.size)\n"
        "assert abs(j.getpixel((5, 5))[0] - 200) < 8; Image.new('L', (4, 4)).save(io.BytesIO(), 'PNG')\n"
        "print('JPEG round trip, libjpeg-turbo', features.version('libjpeg_turbo'), 'zlib', features.version('zlib'))",
        # Pillow's setup.py adds the host's /usr/include (and finds its freetype2) unless told not
        # to guess: the host-path guard refuses that build
        args=("-C", "platform-guessing=disable"),
    ),
    "lxml": Sdist(
        "lxml==6.2.1",
        "XML",
        "libxml2,libxslt",
        "from lxml import etree\n"
        "d = etree.fromstring('<a><b>musl</b></a>')\n"
        f"t = etree.XSLT(etree.XML({_LXML_XSLT!r}))\n"
        "assert str(t(d)) == 'got musl', str(t(d))\n"
        "print('XSLT ok, libxml2', etree.LIBXML_VERSION, 'libxslt', etree.LIBXSLT_VERSION)",
    ),
    "psycopg2": Sdist(
        "psycopg2==2.9.10",
        "database client",
        "libpq",
        "import psycopg2, psycopg2.extensions as e; assert e.libpq_version() >= 180000, e.libpq_version()\n"
        "try:\n    psycopg2.connect('host=127.0.0.1 port=1 connect_timeout=2')\n"
        "except psycopg2.OperationalError as x:\n    print('libpq', e.libpq_version(), 'refused:', str(x).split(chr(10))[0][:60])",
    ),
    "shapely": Sdist(
        "shapely==2.1.2",
        "geometry",
        "geos",
        "import shapely; from shapely.geometry import box; "
        "assert box(0, 0, 4, 4).intersection(box(2, 2, 6, 6)).area == 4.0; print('GEOS', shapely.geos_version)",
        numpy=True,
    ),
    "h5py": Sdist(
        "h5py==3.16.0",
        "scientific I/O",
        "hdf5",
        "import io, h5py, numpy\n"
        "b = io.BytesIO()\n"
        "with h5py.File(b, 'w') as f:\n    f['x'] = numpy.arange(12.0).reshape(3, 4); f['x'].attrs['by'] = 'musl'\n"
        "with h5py.File(b, 'r') as f:\n"
        "    assert (f['x'][:] == numpy.arange(12.0).reshape(3, 4)).all() and f['x'].attrs['by'] == 'musl'\n"
        "print('HDF5 round trip, HDF5', h5py.version.hdf5_version)",
        numpy=True,
        # h5py loads libhdf5 with ctypes to read its version and features unless told them all:
        # impossible for a foreign library (the recipe builds neither ROS3 nor the direct VFD)
        env=(("HDF5_DIR", "{hdf5}"), ("HDF5_VERSION", "{hdf5.version}"), ("H5PY_ROS3", "0"), ("H5PY_DIRECT_VFD", "0")),
    ),
    "pynacl": Sdist(
        "pynacl==1.5.0",
        "crypto",
        "libsodium",
        "import nacl.secret, nacl.utils; b = nacl.secret.SecretBox(nacl.utils.random(32)); "
        "assert b.decrypt(b.encrypt(b'musl')) == b'musl'; print('SecretBox round trip')",
        env=(("SODIUM_INSTALL", "system"),),
    ),
    "pyzmq": Sdist(
        "pyzmq==27.3.0",
        "messaging",
        "libzmq",
        "import zmq; c = zmq.Context(); a = c.socket(zmq.PAIR); a.bind('inproc://m')\n"
        "b = c.socket(zmq.PAIR); b.connect('inproc://m'); a.send(b'musl'); assert b.recv() == b'musl'\n"
        "print('PAIR round trip, libzmq', zmq.zmq_version())",
        env=(("ZMQ_PREFIX", "{libzmq}"),),
    ),
    "pycurl": Sdist(
        "pycurl==7.45.6",
        "network client",
        "libcurl",
        "import pycurl; assert 'OpenSSL' in pycurl.version, pycurl.version; print(pycurl.version)",
        env=(("PYCURL_SSL_LIBRARY", "openssl"),),
    ),
    "pyyaml": Sdist(
        "pyyaml==6.0.4",
        "parser",
        "libyaml",
        "import yaml; assert yaml.__with_libyaml__, 'no libyaml'\n"
        "assert yaml.load('a: [1, 2, musl]', Loader=yaml.CLoader) == {'a': [1, 2, 'musl']}\n"
        "print('CLoader ok, libyaml', yaml._yaml.get_version_string())",
    ),
    "cffi": Sdist(
        "cffi==2.1.1",
        "FFI",
        "libffi",
        "import cffi; ffi = cffi.FFI()\n"
        "add = ffi.callback('int(int, int)', lambda a, b: a + b); assert add(40, 2) == 42\n"
        "ffi.cdef('int abs(int);'); assert ffi.dlopen(None).abs(-42) == 42\n"
        "print('libffi closure and call ok')",
    ),
}

#: where ``--sdist`` results are kept between runs (one run builds what it is asked; the results
#: file shows every (sdist, arch) kept, with the musl and the date of its run)
SDIST_RECORDS = HERE / "results" / "libs_sdists.json"

#: the musl releases whose prefixes the table shows (a recipe × arch is built if one of them is;
#: 1.2.2: the kits' CPython trees of x86_64 and aarch64 are built against it, their libraries too)
TABLE_MUSLS = ("1.2.2", "1.2.3", "1.2.6")

#: the arches of the table: those ``lib build --arch`` names (armv6l is asked for with --arch)
TABLE_ARCHES = ("x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64", "loongarch64")


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 and out.stdout else 0


def fetch_sdist(spec: str, dest: Path) -> Path:
    """The sdist of *spec* (``name==version``) from PyPI's simple index (PEP 691 JSON), its
    SHA-256 checked, into *dest* (kept). Not ``pip download``: that builds the metadata, which
    pycurl's setup.py cannot without a curl-config."""
    import hashlib
    import urllib.request

    name, version = spec.split("==")
    dest.mkdir(parents=True, exist_ok=True)
    index = urllib.request.Request(
        f"https://pypi.org/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(index, timeout=60) as r:
        files = json.load(r)["files"]
    (sdist,) = [f for f in files if f["filename"].lower() == f"{name}-{version}.tar.gz".lower()]
    path = dest / sdist["filename"]
    if not path.is_file():
        with urllib.request.urlopen(sdist["url"], timeout=120) as r:
            data = r.read()
        if hashlib.sha256(data).hexdigest() != sdist["hashes"]["sha256"]:
            raise SystemExit(f"{sdist['filename']}: its SHA-256 is not the index's")
        path.write_bytes(data)
    return path


def _env_of(sd: Sdist, arch: str, musl: str) -> dict[str, str]:
    """The build's environment: ``{lib}`` in a value is that library's prefix for the target,
    ``{lib.version}`` its upstream version."""
    from muslwheel.libs import get_recipe
    from muslwheel.libs.store import source, upstream_of

    def prefix(m: re.Match[str]) -> str:
        recipe = get_recipe(m.group(1))
        if not m.group(2):
            return str(prefix_dir(recipe, get_arch(arch), MuslVersion.parse(musl)))
        return upstream_of(source(recipe).debian_version)  # the version the prefix has or will have

    return {k: re.sub(r"\{([\w-]+)(\.version)?\}", prefix, v) for k, v in sd.env}


def build_sdist(name: str, arch: str, musl: str) -> dict[str, object]:
    """Build sdist *name* of :data:`SDISTS` for *arch* with its libraries, repaired, imported and
    smoke-tested in the target's CPython 3.11 (the kit ``build`` chooses: Alpine-like); its record
    (``ok``, the one-line result, the command)."""
    import shlex
    import tempfile

    from muslwheel.audit import audit_wheel

    sd = SDISTS[name]
    sdist = fetch_sdist(sd.spec, HERE / "work" / "sdists")
    out = Path(tempfile.mkdtemp(prefix=f"bench-libs-{name}-{arch}-"))
    # the wheels built before for this arch and musl: a dependency PyPI has no wheel of for the
    # arch (cffi for armv7l, PyNaCl's, numpy's for armv7l and i686) is taken from there, as a
    # maintainer's wheelhouse would be
    house = HERE / "work" / "wheelhouse" / f"{arch}-musl{musl}"
    house.mkdir(parents=True, exist_ok=True)
    if sd.numpy and arch not in NUMPY_WHEEL_ARCHES and not any(house.glob("numpy-*.whl")):
        keep(f"numpy {arch}", build_sdist("numpy", arch, musl))
    cmd = ["muslwheel", "build", sdist.name, "--arch", arch, "--python", "3.11", "--musl", musl]
    cmd += [*(["--with", sd.libs] if sd.libs else []), *sd.args, "--find-links", "WHEELHOUSE", "--test", "CODE"]
    env = dict(os.environ, **_env_of(sd, arch, musl))
    shown = " ".join([*(f"{k}={v.split('/')[-1] if '/' in v else v}" for k, v in sd.env), *map(shlex.quote, cmd)])
    run = [sys.executable, "-m", "muslwheel", "build", str(sdist), *cmd[3:-4], "--find-links", str(house)]
    run += ["--test", sd.test, "-j1", "-w", str(out), "--json"]
    began = time.monotonic()
    proc = subprocess.run(run, capture_output=True, text=True, env=env)
    took = time.monotonic() - began
    record: dict[str, object] = {
        "sdist": sd.spec,
        "arch": arch,
        "musl": musl,
        "command": shown,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": round(took),
        "load": round(os.getloadavg()[0], 1),
        "ok": False,
    }
    try:
        (target,) = json.loads(proc.stdout)["targets"]
    except (ValueError, KeyError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {**record, "result": f"exit {proc.returncode}: {tail[:300]}"}
    if target.get("status") != "ok":
        error = " ".join(str(target.get("error")).split())
        return {**record, "result": f"failed at {target.get('stage')}: {error[:400]}"}
    wheel = Path(target["wheel"])
    verdict = audit_wheel(wheel)
    if verdict.honest:
        shutil.copy2(wheel, house / wheel.name)
    grafted = ", ".join(Path(g).name for g in target.get("grafted", []))
    stages = target.get("seconds", {})
    record.update(
        ok=verdict.honest,
        wheel=wheel.name,
        grafted=grafted or "nothing",
        honest=verdict.honest,
        kit=(target.get("target") or {}).get("name"),
        imported=target.get("imported", []),
        seconds_by_stage=stages,
    )
    return record


def _modules(imported: list[object]) -> str:
    if len(imported) <= 4:
        return ", ".join(map(str, imported))
    return f"{len(imported)} modules ({', '.join(map(str, imported[-3:]))} …)"


def result_of(r: dict[str, object]) -> str:
    """A record's one line: the wheel, the time the ``--with`` libraries took (near 0 when every
    prefix was there) and the backend's, what was grafted, the verdicts; or why it failed."""
    if "wheel" not in r:
        return str(r["result"])
    stages = r.get("seconds_by_stage") or {}
    assert isinstance(stages, dict)
    imported = r.get("imported") or []
    assert isinstance(imported, list)
    return (
        f"{r['wheel']} (--with libraries {float(stages.get('libs', 0.0)):.1f}s, "
        f"backend {float(stages.get('build', 0.0)):.0f}s), grafted {r['grafted']}, "
        f"show: {'honest' if r['honest'] else 'DISHONEST'}, imported {_modules(imported)}"
        + (f" in {r['kit']}" if r.get("kit") else "")
        + ", smoke test ok"
    )


def warm_build(name: str, arch: str, musl: str) -> dict[str, object]:
    """Build sdist *name* again (its libraries' prefixes there already): the ``--with`` stage's
    time, and whether any prefix was rebuilt (its facts file's mtime changed)."""
    from muslwheel.libs import closure

    a = get_arch(arch)
    prefixes = [
        prefix_dir(r, a, MuslVersion.parse(musl)) for r in closure([n.strip() for n in SDISTS[name].libs.split(",")])
    ]

    def stamps() -> dict[str, float]:
        return {p.name: (p / FACTS).stat().st_mtime for p in prefixes if (p / FACTS).exists()}

    before = stamps()
    record = build_sdist(name, arch, musl)
    after = stamps()
    record["prefixes"] = sorted(before)
    record["rebuilt"] = sorted(n for n in after if before.get(n) != after[n])
    return record


def keep(key: str, record: dict[str, object]) -> dict[str, dict[str, object]]:
    """Add *record* to the kept ones (read again first: another run may have added some) and
    return them all."""
    records = {**read_records(), key: record}
    tmp = SDIST_RECORDS.with_name(f"{SDIST_RECORDS.name}.{os.getpid()}")
    tmp.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, SDIST_RECORDS)
    return records


def read_records() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(SDIST_RECORDS.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sdist_lines(records: dict[str, dict[str, object]]) -> list[str]:
    """The sdist × arch matrix of every kept record, then each cell's one line."""
    arches = [
        a for a in ("x86_64", "aarch64", "armv7l", *TABLE_ARCHES) if any(r["arch"] == a for r in records.values())
    ]
    arches = list(dict.fromkeys(arches))
    lines = [
        "real PyPI sdists built with `muslwheel build SDIST --arch A --python 3.11 --musl M --with LIB --test CODE`",
        "(bench_libs.py --sdist NAME --arch A; ok = built, repaired, honest by show, imported with its",
        "dependencies and smoke-tested in the target's CPython 3.11, under qemu-user for a foreign arch):",
        "",
        f"{'sdist':17} {'kind':16} {'--with':20} " + " ".join(f"{a:12}" for a in arches),
    ]
    for name, sd in SDISTS.items():
        cells = []
        for a in arches:
            r = records.get(f"{name} {a}")
            empty = "PyPI's" if name == "numpy" and a in NUMPY_WHEEL_ARCHES else "-"
            cells.append(f"{empty if r is None else ('ok' if r['ok'] else 'FAILED') + ' ' + str(r['musl']):12}")
        lines.append(f"{sd.spec:17} {sd.kind:16} {sd.libs or '(none)':20} " + " ".join(cells))
    cells = [r for k, r in records.items() if k != "warm"]
    ok = sum(1 for r in cells if r["ok"])
    lines += [
        "",
        f"{ok} of {len(cells)} (sdist, arch) builds ok; musl: the target's; '-': not run (time). numpy has",
        f"musllinux wheels on PyPI for {' and '.join(NUMPY_WHEEL_ARCHES)} only (PyPI's: those serve, numpy is not built",
        "there): elsewhere numpy's sdist is built first",
        "(its row), into the arch's wheelhouse, and shapely's and h5py's builds take from it (--find-links) numpy's",
        "C headers of the target (on a 32-bit arch the host's are of another pointer size) and the numpy they import",
        "(shapely and h5py use musl 1.2.6: numpy's wheels crash on 1.2.3, see `check --import` of numpy in the",
        "1.2.3 kits: SIGSEGV, in the 1.2.6 ones: imports)",
        "",
    ]
    warm = records.get("warm")
    if warm is not None:
        prefixes = warm.get("prefixes") or []
        rebuilt = warm.get("rebuilt") or []
        assert isinstance(prefixes, list) and isinstance(rebuilt, list)
        lines += [
            f"a warm build ({warm['date']}, {warm['seconds']}s in all): {warm['command']}",
            f"    {result_of(warm)}",
            f"    its {len(prefixes)} prefixes ({', '.join(map(str, prefixes))}): "
            + (f"REBUILT {', '.join(map(str, rebuilt))}" if rebuilt else "every one reused, none rebuilt"),
            "",
        ]
    for name in SDISTS:
        for a in arches:
            r = records.get(f"{name} {a}")
            if r is not None:
                lines.append(
                    f"{name} {a} musl {r['musl']} ({r['date']}, {r['seconds']}s, load {r['load']}): {result_of(r)}"
                )
                lines.append(f"    {r['command']}")
                lines += [f"    before, with {x}" for x in r.get("earlier") or []]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", action="append", default=[])
    parser.add_argument("--lib", action="append", default=[])
    parser.add_argument("--musl", default="1.2.3")
    parser.add_argument("--no-build", action="store_true", help="report what the cache holds")
    parser.add_argument(
        "--sdist", action="append", default=[], choices=sorted(SDISTS), help="also build it for each --arch, kept"
    )
    parser.add_argument(
        "--warm",
        metavar="NAME",
        help="build sdist NAME again for the first --arch: every prefix reused, none rebuilt (kept)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "libs.txt")
    args = parser.parse_args()
    arches = args.arch or ["x86_64", "aarch64"]
    records = read_records()
    for arch in arches:  # the sdists one at a time (the machine is shared), each kept as it ends
        for name in args.sdist:
            record = build_sdist(name, arch, args.musl)
            before = read_records().get(f"{name} {arch}")
            if before is not None and before["musl"] != record["musl"]:  # kept: what the other musl gave
                earlier = before.pop("earlier", [])
                assert isinstance(earlier, list)
                record["earlier"] = [*earlier, f"musl {before['musl']} ({before['date']}): {result_of(before)}"]
            records = keep(f"{name} {arch}", record)
            print(f"bench libs: {name} {arch}: {'ok' if record['ok'] else 'FAILED'}: {result_of(record)}", flush=True)
    if args.warm:
        records = keep("warm", warm_build(args.warm, arches[0], args.musl))
    names = args.lib or sorted(all_recipes())
    failed: dict[tuple[str, str], str] = {}
    if not args.no_build:
        for name in names:
            for arch in arches:
                try:
                    say = LinePrinter(f"bench libs {name} {arch}")
                    build_many(
                        [name], musl_kit_for(get_arch(arch), MuslWanted.parse(args.musl), progress=say), progress=say
                    )
                except MuslwheelError as e:
                    failed[(name, arch)] = str(e)
    table_arches = [*TABLE_ARCHES, *(a for a in arches if a not in TABLE_ARCHES)]
    musls = sorted({args.musl, *TABLE_MUSLS}, key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])
    lines = header("Target libraries: every recipe × eight arches, built with zig and proven under the target")
    lines.append(f"at the end: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine is shared)")
    lines.append("")
    lines.append(
        f"{'library':14} {'arch':11} {'musl':6} {'version':9} {'debian version':28} "
        f"{'cold build':>10} {'load':>5} {'prefix':>9}"
    )
    total = 0.0
    counts = {"built": 0, "refused": 0, "failed": 0, "not built": 0}
    for name in sorted(all_recipes()):
        recipe = all_recipes()[name]
        for arch in table_arches:
            a = get_arch(arch)
            row = f"{name:14} {arch:11} "
            why = recipe.refusal(arch)
            if why:
                counts["refused"] += 1
                lines.append(row + f"{'':6} refused: {why}")
                continue
            built = [(m, p) for m in musls if (p := current_prefix(recipe, a, MuslVersion.parse(m))) is not None]
            if not built:
                key = "failed" if (name, arch) in failed else "not built"
                counts[key] += 1
                stale = any(read_prefix(prefix_dir(recipe, a, MuslVersion.parse(m))) for m in musls)
                stale_note = " (an older recipe's prefix is there)" if stale else ""
                said = f"FAILED: {failed[(name, arch)]}" if key == "failed" else f"not built{stale_note}"
                lines.append(row + f"{'':6} {said}")
                continue
            counts["built"] += 1
            for musl, prefix in built:
                path = prefix.path
                try:
                    took = json.loads((path / BUILD_TIME).read_text())
                    note = ""
                except (OSError, ValueError):  # built before the room kept its time beside the prefix
                    took, note = {}, " (built before prefixes kept their build time: not known here)"
                seconds = float(took.get("seconds", 0.0))
                total += seconds
                size = du(path) / 1e6
                versions = f"{musl:6} {prefix.facts['version']!s:9} {prefix.facts['debian_version']!s:28} "
                timing = f"{seconds:9.0f}s {float(took.get('load', 0.0)):5.1f}" if took else f"{'?':>10} {'?':>5}"
                lines.append(row + versions + timing + f" {size:7.1f}MB{note}")
    lines.append("")
    lines.append(
        ", ".join(f"{n} {k}" for k, n in counts.items()) + f" (recipe × arch; a row per musl built: {', '.join(musls)})"
    )
    if records:
        lines += ["", *sdist_lines(records)]
    lines.append("")
    lines.append(f"cold build time of the rows above with a known time, summed: {total:.0f}s")
    lines.append(
        "(zig's compile cache is shared: a build of sources zig compiled before for the arch, for another musl or"
    )
    lines.append("in a failed attempt, is not cold: e.g. OpenSSL for aarch64 musl 1.2.6 after the kits' for 1.2.2)")
    write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
