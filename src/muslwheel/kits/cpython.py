"""CPython for kits: the host CPython a cross build runs, the cross-built CPython tree of an
arch, and the ``<arch>-musl<ver>-py<X.Y>`` kit that joins a musl kit and that tree.

- ``cpython/<arch>-py<X.Y[t]>-musl<ver>``: CPython cross-compiled with zig against the oldest musl
  kit of its arch (so it runs on every later release), installed stripped and without its tests,
  linked as Alpine's python3 is against the shared libraries of Alpine's base
  (:data:`SYSTEM_LIBRARIES`: zlib, libffi, OpenSSL 3, bzip2, xz, sqlite3, expat), which
  :mod:`muslwheel.libs` builds against the same musl and which the tree carries in ``usr/lib``
  (each as its SONAME: ``libz.so.1``, ``libssl.so.3`` …). No readline or ncurses: a kit has no
  ``readline`` module and no ``_curses``.
- ``cpython/<arch>-py<X.Y[t]>-musl<ver>-bare``: a bare tree (``kit build --bare``, for CI speed):
  zlib and libffi static inside CPython, no system libraries, so no ``_ssl``, ``_hashlib``,
  ``_bz2``, ``_lzma``, ``_sqlite3``.
- ``<arch>-musl<ver>-py<X.Y>[-bare]``: the musl kit's root and the CPython tree, hard-linked together.
- ``build-python/X.Y``: a host CPython built from the same Debian source, when the host has
  none of that minor (:mod:`muslwheel.hostpython` finds it).

``--python X.Yt`` (3.13 on) is the free-threaded build (PEP 703): the same source configured
with ``--disable-gil``, installed as ``pythonX.Yt`` with the ABI flag ``t`` in its paths, its
``_sysconfigdata_t_…`` and its extension suffix; its cross build runs the default host CPython
of the minor (configure checks only the minor; :mod:`muslwheel.hostpython`).

zig's stand-in ``libc.so`` puts data symbols at one address, so all compiling and linking goes
against the kit's real musl (``ZIG_LIBC``); zig links statically unless given ``-dynamic``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..arch import Arch
from ..cache import staged
from ..hostpython import HostPythonError, built_host_python_dir, find_build_python, host_minor
from ..progress import Progress, Steps
from ..suffixes import extension_suffixes
from ..versions import FREE_THREADED_FROM, CPython
from ..zig import write_wrappers
from . import Kit, KitError, kit_name, read_kit
from .musl import base_musl, build_musl_kit, musl_root

if TYPE_CHECKING:
    from ..libs import Prefix
from .store import (
    RECIPE,
    cpython_tree_dir,
    current,
    kit_directory,
    kit_lock,
    kit_meta,
    run,
    source_tarball,
    took,
    work_dir,
    write_kit,
)

#: the libraries of Alpine's base CPython links (:mod:`muslwheel.libs` recipes), in a CPython
#: kit's ``usr/lib`` unless it is bare
SYSTEM_LIBRARIES = ("zlib", "libffi", "openssl", "bzip2", "xz", "sqlite3", "expat")

#: CPython minor -> its Debian source package (python3.14 and python3.15 are in Debian's index,
#: but their tarballs 404 today: those kits need ``--cpython-source``)
CPYTHON_SOURCES = {"3.11": "python3.11", "3.13": "python3.13", "3.14": "python3.14", "3.15": "python3.15"}
#: the minors with a free-threaded build (``--python 3.13t``), PEP 703
FREE_THREADED = tuple(m for m in CPYTHON_SOURCES if CPython.parse(m).minor >= FREE_THREADED_FROM)


def kit_pythons() -> list[CPython]:
    """Every CPython build a kit can have: each minor, and its free-threaded build where it has
    one (from 3.13, :data:`muslwheel.versions.FREE_THREADED_FROM`)."""
    out = []
    for minor in CPYTHON_SOURCES:
        python = CPython.parse(minor)
        out.append(python)
        if python.minor >= FREE_THREADED_FROM:
            out.append(CPython(python.minor, True))
    return out


def cpython_tarball(minor: str, cpython_source: Path | None) -> Path:
    """The source tarball of CPython *minor* (``3.13``, the free-threaded build's too): *cpython_source*, or
    Debian's (downloaded once; :class:`~muslwheel.debian.SourceError` in one line when
    Debian serves none)."""
    from ..debian import SourceError

    if cpython_source is not None:
        return cpython_source
    try:
        return source_tarball(CPYTHON_SOURCES[minor], minor)
    except SourceError as e:
        raise KitError(f"CPython {minor}: {e} (give its source as --cpython-source TARBALL)") from None


#: where configure's checks cannot run the target's programs
CONFIG_SITE = "ac_cv_file__dev_ptmx=yes\nac_cv_file__dev_ptc=no\n"
#: what a slim kit leaves out of CPython's installation
SLIM_DROP = (
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "lib2to3/tests",
    "unittest/test",
    "ctypes/test",
    "distutils/tests",
)


def build_python_kit(
    musl_kit: Kit,
    python: CPython,
    *,
    cpython_source: Path | None = None,
    jobs: int = 2,
    steps: Steps,
    bare: bool = False,
) -> Kit:
    """The kit ``<arch>-musl<ver>-py<X.Y>`` (``…-bare`` if *bare*): *musl_kit*'s root with a
    CPython built against the oldest musl kit of the arch (Debian's 1.2.3 where it exists), so it
    runs on both, and (unless bare) the system libraries it links."""
    arch = musl_kit.arch_info
    name = kit_name(arch.name, musl_kit.musl, python, bare)
    directory = kit_directory(arch, musl_kit.musl, python, bare)
    if current(directory):
        return read_kit(directory)
    with kit_lock(name):
        if not current(directory):
            _build_python_kit(musl_kit, arch, python, directory, cpython_source, jobs, steps, bare)
    return read_kit(directory)


def _build_python_kit(
    musl_kit: Kit,
    arch: Arch,
    python: CPython,
    directory: Path,
    cpython_source: Path | None,
    jobs: int,
    steps: Steps,
    bare: bool,
) -> None:
    musl_kit = musl_root(musl_kit)  # its root is copied: never the Alpine-like loader-only kit's
    base = musl_kit
    if base_musl(arch, musl_kit.musl) != musl_kit.musl:
        base = build_musl_kit(arch, base_musl(arch, musl_kit.musl), jobs=jobs, steps=steps)
    tree = build_cpython_tree(base, python, cpython_source=cpython_source, jobs=jobs, steps=steps, bare=bare)
    with staged(directory) as tmp:
        (tmp / "root").mkdir(parents=True)
        # hard links: the kits of one arch share one copy of musl's headers and of CPython
        run(["cp", "-al", f"{musl_kit.root}/.", str(tmp / "root")])
        run(["cp", "-al", f"{tree}/.", str(tmp / "root")])
        meta = json.loads((tree / ".." / "tree.json").read_text())
        write_kit(
            tmp, arch, musl_kit.musl, python, {**meta, "musl_source": kit_meta(musl_kit, "musl_source")}, bare=bare
        )
    _smoke(read_kit(directory), tree.parent)


#: what the smoke test prints: the minor, the import suffixes, whether the GIL is on after
#: importing what a typical extension's import needs, and the sysconfigdata the build installed
_SMOKE = (
    "import sys, zlib, ctypes, json, struct, math, sysconfig, importlib.machinery as m; "
    "print(repr((sys.version_info[:2], m.EXTENSION_SUFFIXES, getattr(sys, '_is_gil_enabled', lambda: True)(), "
    "bool(sysconfig.get_config_var('Py_GIL_DISABLED')), sysconfig._get_sysconfigdata_name())))"
)


#: a test CA's certificate (no key: nothing can be signed with it), which the smoke test of an
#: Alpine-like kit loads into an ``ssl.SSLContext``
SMOKE_CA = """\
-----BEGIN CERTIFICATE-----
MIIBmTCCAT+gAwIBAgIUdhWFKN9sRVq+VsnkHhf/agtkAvwwCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWbXVzbHdoZWVsIGtpdCBzbW9rZSBDQTAgFw0yNjEyMDcxODQ5
NTlaGA8yMTI2MTExMzE4NDk1OVowITEfMB0GA1UEAwwWbXVzbHdoZWVsIGtpdCBz
bW9rZSBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFR/LLOEuSEYzBMEF1Ed
YmD3GtbBd+HWD02fUEYE27utiBsuDWpfhAfrpYKVC4PpDKQ74oFLolq8LbwXrlRn
RVyjUzBRMB0GA1UdDgQWBBTxSWUtSTIMSOLmIFoEg8YftzNfgDAfBgNVHSMEGDAW
gBTxSWUtSTIMSOLmIFoEg8YftzNfgDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0gAMEUCIQDzGjJiGat7eGhP8YtDCaP2M4TvXkixX0SINGLT79pW2gIgYC3y
PitsG4Ys7dPk52XQ9nD9NEUSV7dl8uS/CaqVpcQ=
-----END CERTIFICATE-----
"""

#: what an Alpine-like kit's CPython must do with its system libraries: each module imports and
#: works, and OpenSSL serves hashlib (sha3_256 and blake2b512 from ``_hashlib``); it prints
#: :data:`SYSTEM_SMOKE_OK`, else the first thing that failed
_SMOKE_SYSTEM = """
import bz2, ctypes, hashlib, lzma, pyexpat, sqlite3, ssl, zlib, _hashlib
ca = {ca!r}
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cadata=ca)
names = [dict(x[0] for x in c['subject'])['commonName'] for c in ctx.get_ca_certs()]
assert names == ['muslwheel kit smoke CA'], names
h = hashlib.new('sha3_256', b'abc')
assert type(h).__module__ == '_hashlib', type(h)
assert h.hexdigest() == '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532', h.hexdigest()
assert _hashlib.new('blake2b512', b'abc').digest() == hashlib.blake2b(b'abc').digest()
con = sqlite3.connect(':memory:')
con.execute('create table t(x)')
con.executemany('insert into t values (?)', [(40,), (2,)])
assert con.execute('select sum(x) from t').fetchone()[0] == 42
data = b'muslwheel ' * 100
for codec in (lzma, bz2, zlib):
    assert codec.decompress(codec.compress(data)) == data, codec
assert ctypes.CDLL(None).strlen(b'musl') == 4
p = pyexpat.ParserCreate()
p.Parse(b'<a><b/></a>', True)
print({ok!r}, ssl.OPENSSL_VERSION)
"""
#: the first word :data:`_SMOKE_SYSTEM` prints when every check passed
SYSTEM_SMOKE_OK = "system-libraries-ok"


def smoke_system_script() -> str:
    """The Python program that proves an Alpine-like kit's system libraries (see :data:`_SMOKE_SYSTEM`)."""
    return _SMOKE_SYSTEM.format(ca=SMOKE_CA, ok=SYSTEM_SMOKE_OK)


def smoke_expectation(kit: Kit) -> tuple[tuple[int, int], list[str], bool, bool, str]:
    """What :data:`_SMOKE` prints in a working *kit*: its minor, the suffixes
    :func:`muslwheel.suffixes.extension_suffixes` says it imports, the GIL off exactly when it is
    free-threaded (``sys._is_gil_enabled()``), and the kit's own ``_sysconfigdata`` name."""
    minor = kit.python_minor
    assert minor is not None and kit.python is not None
    suffixes = extension_suffixes(kit.python, kit.arch_info)
    return minor, list(suffixes), not kit.free_threaded, kit.free_threaded, kit.sysconfigdata_name


def _smoke(kit: Kit, tree: Path) -> None:
    """The kit's CPython starts, imports what a typical extension's import needs, takes the
    extension suffixes of its build and runs with the GIL exactly when it is not free-threaded,
    and (unless bare) uses its system libraries (:func:`smoke_system_script`); if not, the kit
    and its CPython *tree* go (a tree missing a module must not pass as built)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON_GIL", "PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run([*kit.python_command(), "-c", _SMOKE], capture_output=True, text=True, timeout=300, env=env)
    want = repr(smoke_expectation(kit))
    got = proc.stdout.strip()
    if proc.returncode == 0 and got == want and not kit.bare:
        proc = subprocess.run(
            [*kit.python_command(), "-c", smoke_system_script()], capture_output=True, text=True, timeout=300, env=env
        )
        got = want if proc.stdout.startswith(SYSTEM_SMOKE_OK) else proc.stdout.strip()
    if proc.returncode != 0 or got != want or not kit.sysconfigdata_path.is_file():
        shutil.rmtree(kit.directory, ignore_errors=True)
        shutil.rmtree(tree, ignore_errors=True)
        why = (proc.stderr.strip().splitlines() or [""])[-1] if proc.returncode else f"printed {got}, not {want}"
        if not why and not kit.sysconfigdata_path.is_file():
            why = f"no {kit.sysconfigdata_path.name}"
        raise KitError(f"{kit.name}: the built CPython does not work: {why}")


def build_cpython_tree(
    base: Kit,
    python: CPython,
    *,
    cpython_source: Path | None = None,
    jobs: int = 2,
    steps: Steps,
    bare: bool = False,
) -> Path:
    """CPython *python* cross-built for *base*'s arch against *base*'s musl, installed (stripped,
    without tests) into ``<kits>/cpython/<arch>-py<X.Y>-musl<ver>[-bare]/tree``, with the system
    libraries it links in the tree's ``usr/lib`` unless *bare*; returns that tree."""
    out = cpython_tree_dir(base.arch_info, python, base.musl, bare)
    if current(out):
        return out / "tree"
    base = musl_root(base)  # compiled against the bare musl root only
    with kit_lock(f"cpython-{out.name}"):
        if bare and not current(out) and _adopt_recipe_1_tree(cpython_tree_dir(base.arch_info, python, base.musl), out):
            return out / "tree"
        if not current(out):
            build_python = build_host_python(python.version, cpython_source=cpython_source, jobs=jobs, steps=steps)
            prefixes: list[Prefix] = []
            if not bare:
                with steps.step("system-libs", f"Alpine's base libraries for {base.arch} against musl {base.musl}"):
                    prefixes = system_library_prefixes(base, jobs, steps.progress)
            what = f"CPython {python} for {base.arch} against musl {base.musl}" + (" (bare)" if bare else "")
            with steps.step("cpython-bare" if bare else "cpython", what):
                _cross_build_cpython(base, python, out, cpython_source, jobs, build_python, prefixes, bare)
    return out / "tree"


def _adopt_recipe_1_tree(legacy: Path, out: Path) -> bool:
    """A tree of recipe 1 (before system libraries) is what a bare tree is: hard-link it into
    *out* as one of this recipe rather than build it again; False when there is none."""
    try:
        if json.loads((legacy / "kit.json").read_text()).get("recipe") != 1:
            return False
    except (OSError, ValueError, AttributeError):
        return False
    with staged(out) as tmp:
        tmp.mkdir(parents=True)
        run(["cp", "-al", f"{legacy}/tree", str(tmp / "tree")])
        meta = json.loads((legacy / "tree.json").read_text())
        (tmp / "tree.json").write_text(json.dumps({**meta, "system_libraries": [], "adopted_from": legacy.name}))
        (tmp / "kit.json").write_text(json.dumps({"recipe": RECIPE}))
    return True


def system_library_prefixes(base: Kit, jobs: int, progress: Progress) -> list[Prefix]:
    """The prefixes of :data:`SYSTEM_LIBRARIES` for *base*'s arch and musl, built by
    :mod:`muslwheel.libs` (each proven under the target) unless current."""
    from ..libs.store import build_many

    return build_many(SYSTEM_LIBRARIES, musl_root(base), jobs=jobs, progress=progress)


def _place_system_libraries(prefixes: list[Prefix], usr_lib: Path) -> list[dict[str, str]]:
    """Each prefix's shared libraries into *usr_lib* as their SONAME (the file a DT_NEEDED
    names, as Alpine's ``libz.so.1``), hard-linked where the cache allows; their records."""
    usr_lib.mkdir(parents=True, exist_ok=True)
    records = []
    for prefix in prefixes:
        libraries = prefix.facts.get("libraries")
        for relative in libraries if isinstance(libraries, list) else []:  # lib/<soname>
            real = (prefix.path / str(relative)).resolve()
            dest = usr_lib / Path(str(relative)).name
            dest.unlink(missing_ok=True)
            try:
                os.link(real, dest)
            except OSError:
                shutil.copy2(real, dest)
            records.append({"name": prefix.name, "version": str(prefix.facts.get("version", "")), "soname": dest.name})
    return records


def build_host_python(python: str, *, cpython_source: Path | None = None, jobs: int = 2, steps: Steps) -> Path:
    """The host CPython *python* a cross build runs (``--with-build-python``): one already on
    this host (:func:`muslwheel.hostpython.find_build_python`), else built from the same Debian
    source as the kits' (or *cpython_source*) with the host's C compiler into
    ``<kits>/build-python/X.Y``. A free-threaded *python* (``3.13t``) gets the default build
    of its minor (:mod:`muslwheel.hostpython` says why)."""
    python = host_minor(python)
    with contextlib.suppress(HostPythonError):
        return find_build_python(python)
    with kit_lock(f"build-python-{python}"):
        with contextlib.suppress(HostPythonError):
            return find_build_python(python)
        with steps.step("build-python", f"host CPython {python} to cross-build with"):
            _build_host_python(python, built_host_python_dir(python), cpython_source, jobs)
    return find_build_python(python)


def _build_host_python(python: str, out: Path, cpython_source: Path | None, jobs: int) -> None:
    began = time.monotonic()
    with staged(out) as tmp:
        with work_dir() as work:
            tarball = cpython_tarball(python, cpython_source)
            src = work / "cpython"
            src.mkdir()
            run(["tar", "-xf", str(tarball), "-C", str(src), "--strip-components=1"])
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "CONFIG_SITE")}
            log = work / "build-python.log"
            # prefix = its final place (sysconfig records it); installed with DESTDIR, then moved
            run(
                ["./configure", f"--prefix={out}", "--without-ensurepip", "--disable-test-modules", "OPT=-O2 -g0"],
                cwd=src,
                env=env,
                log=log,
            )
            run(["make", f"-j{jobs}"], cwd=src, env=env, log=log)
            stage = work / "stage"
            run(["make", "install", f"DESTDIR={stage}", "COMPILEALL_OPTS=-j0"], cwd=src, env=env, log=log)
            installed = stage / str(out).lstrip("/")
            _slim(installed, python)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(installed), str(tmp))  # the build tree may be on another filesystem
            version = _cpython_version(src)
        (tmp / "build-python.json").write_text(
            json.dumps({"cpython_source": tarball.name, "cpython_version": version, **took("build", began)})
        )
        executable = tmp / "bin" / f"python{python}"
        proc = subprocess.run(
            [str(executable), "-c", "import zlib, sys; print(sys.version.split()[0])"], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise KitError(
                f"the host CPython {python} built does not work: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
            )


def _cross_build_cpython(
    base: Kit,
    python: CPython,
    out: Path,
    cpython_source: Path | None,
    jobs: int,
    build_python: Path,
    prefixes: list[Prefix],
    bare: bool,
) -> None:
    arch = base.arch_info
    began = time.monotonic()
    with staged(out) as tmp:
        tmp.mkdir(parents=True)
        with work_dir() as work:
            tarball = cpython_tarball(python.version, cpython_source)
            deps = work / "deps"
            wrappers = write_wrappers(work / "bin", arch, libc_file=base.zig_libc_file())
            tools = wrappers.make_vars()
            stub = work / "bin" / "dpkg-architecture"  # setup.py would add the host's multiarch dirs
            stub.write_text("#!/bin/sh\nexit 1\n")
            stub.chmod(0o755)
            env = dict(os.environ, **tools, PATH=f"{work / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
            env.pop("PYTHONPATH", None)
            env.pop("PYTHONHOME", None)
            log = work / "cpython.log"
            if bare:
                _build_zlib(work, deps, env, log, jobs)
                _build_libffi(work, arch, deps, env, log, jobs)
                include_dirs, lib_dirs, system = [deps / "include"], [deps / "lib"], []
            else:
                include_dirs = [p.include_dir for p in prefixes]
                lib_dirs = [p.lib_dir for p in prefixes]
                openssl = next(p for p in prefixes if p.name == "openssl")
                system = [f"--with-openssl={openssl.path}", "--with-system-expat", "--with-system-ffi"]
            src = work / "cpython"
            src.mkdir()
            run(["tar", "-xf", str(tarball), "-C", str(src), "--strip-components=1"])
            _patch_cpython(src)
            (work / "config.site").write_text(CONFIG_SITE)
            env["CONFIG_SITE"] = str(work / "config.site")
            run(
                [
                    "./configure",
                    f"--host={arch.gnu_host}",
                    f"--build={_build_triplet()}",
                    "--prefix=/usr",
                    f"--with-build-python={build_python}",
                    "--without-ensurepip",
                    "--disable-test-modules",
                    "--with-pkg-config=no",
                    "--enable-ipv6",
                    *(["--disable-gil"] if python.free_threaded else []),
                    *system,
                    f"CC={tools['CC']}",
                    f"CXX={tools['CXX']}",
                    f"AR={tools['AR']}",
                    f"RANLIB={tools['RANLIB']}",
                    f"READELF={wrappers.readelf}",
                    "OPT=-DNDEBUG -O2 -fwrapv -g0",
                    "CFLAGS_NODIST=-Wno-error=date-time",
                    "CPPFLAGS=" + " ".join(f"-I{d}" for d in include_dirs),
                    "LDFLAGS=-dynamic " + " ".join(f"-L{d}" for d in lib_dirs),
                    "LDFLAGS_NODIST=-Wl,--strip-all",
                ],
                cwd=src,
                env=env,
                log=log,
            )
            run(["make", f"-j{jobs}"], cwd=src, env=env, log=log)
            _no_failed_modules(log)
            _no_path_in_needed(src / "build")
            stage = work / "stage"
            run(["make", "install", f"DESTDIR={stage}", "COMPILEALL_OPTS=-j0"], cwd=src, env=env, log=log)
            _slim(stage / "usr", python)
            shutil.move(str(stage), str(tmp / "tree"))  # the build tree may be on another filesystem
            version = _cpython_version(src)
        libraries = _place_system_libraries(prefixes, tmp / "tree" / "usr" / "lib")
        (tmp / "tree.json").write_text(
            json.dumps(
                {
                    "cpython_source": tarball.name,
                    "cpython_version": version,
                    "built_against_musl": str(base.musl),
                    "system_libraries": libraries,
                    **took("cpython_build", began),
                }
            )
        )
        (tmp / "kit.json").write_text(json.dumps({"recipe": RECIPE}))


def _no_failed_modules(log: Path) -> None:
    """CPython's build reports a module that compiled but would not link under "Failed to build
    these modules:" and carries on; a kit must not lack one (i686's _ctypes once did)."""
    lines = log.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith("Failed to build these modules:"):
            why = next((x.strip() for x in lines if x.startswith("ld.lld: error:")), "")
            raise KitError(
                f"CPython's build failed to build {' '.join(lines[i + 1].split())}" + (f": {why}" if why else "")
            )


def _no_path_in_needed(build: Path) -> None:
    """No extension module names a library by its path on this host (a library without a
    SONAME is recorded as the linker found it): it would load there, and nowhere else."""
    from ..elf import read_elf

    for ext in build.rglob("*.so"):
        bad = [n for n in read_elf(ext).needed if "/" in n]
        if bad:
            raise KitError(f"CPython's {ext.name} needs {bad[0]} by its path (a library without a SONAME)")


def _build_triplet() -> str:
    import platform

    machine = platform.machine()
    return f"{machine}-pc-linux-gnu" if machine in ("x86_64", "i686") else f"{machine}-unknown-linux-gnu"


def _cpython_version(src: Path) -> str:
    text = (src / "Include" / "patchlevel.h").read_text()
    m = re.search(r'#define PY_VERSION\s+"([^"]+)"', text)
    return m.group(1) if m else "unknown"


def _patch_cpython(src: Path) -> None:
    """Make configure see musl when cross-compiling.

    3.11's configure turns the ``linux-gnu`` triplet into ``linux-musl`` only when the *build*
    machine is musl; ask the host instead. 3.12+ preprocess ``Misc/platform_triplet.c``, which
    recognises musl by ``__DEFINED_va_list`` from musl's ``<stdarg.h>``, but clang (zig) brings
    its own ``<stdarg.h>``: include ``<stdio.h>`` too, which pulls in musl's ``bits/alltypes.h``.
    """
    setup = src / "setup.py"  # 3.11: it would add the include dirs `cc -E -v` names, the host's
    if setup.exists():
        text = setup.read_text().replace("            self.add_cross_compiling_paths()", "            pass")
        setup.write_text(text)
    configure = src / "configure"
    text = configure.read_text()
    text = text.replace('  case "$build_os" in\n  linux-musl*)', '  case "$host_os" in\n  linux-musl*)')
    # 3.11 predates LoongArch: teach its triplet test the name 3.12 gives it.
    if "loongarch64-linux-gnu" not in text:
        riscv = "#  elif __riscv_xlen == 64\n        riscv64-linux-gnu\n#  else\n#   error unknown platform triplet\n#  endif\n"
        text = text.replace(
            riscv,
            riscv + "# elif defined(__loongarch__) && defined(__loongarch_lp64)\n        loongarch64-linux-gnu\n",
            1,
        )
    configure.write_text(text)
    triplet = src / "Misc" / "platform_triplet.c"
    if triplet.exists():
        t = triplet.read_text()
        if not re.search(r"^#\s*include <stdio\.h>", t, flags=re.M):
            # 3.12: "#include <stdarg.h>", 3.13: "#  include <stdarg.h>"
            t, n = re.subn(r"^(#\s*)include <stdarg\.h>$", r"\g<0>\n\1include <stdio.h>", t, count=1, flags=re.M)
            if n != 1:
                raise KitError(
                    f"{triplet}: no <stdarg.h> include to add <stdio.h> beside (a CPython this recipe does not know)"
                )
            triplet.write_text(t)


def _slim(usr: Path, python: CPython | str) -> None:
    lib = usr / "lib" / f"python{python}"
    for sub in SLIM_DROP:
        shutil.rmtree(lib / sub, ignore_errors=True)
    for static in lib.glob("config-*/libpython*.a"):
        static.unlink()
    shutil.rmtree(usr / "share", ignore_errors=True)
    for pyc in lib.rglob("*.opt-[12].pyc"):
        pyc.unlink()


def _build_zlib(work: Path, deps: Path, env: dict[str, str], log: Path, jobs: int) -> None:
    src = work / "zlib"
    src.mkdir()
    run(["tar", "-xf", str(source_tarball("zlib", "1.2.13")), "-C", str(src), "--strip-components=1"])
    zenv = dict(env, CFLAGS="-O2 -fPIC -g0", LDFLAGS="-dynamic")
    run(["./configure", "--static", f"--prefix={deps}"], cwd=src, env=zenv, log=log)
    run(["make", f"-j{jobs}", "libz.a"], cwd=src, env=zenv, log=log)
    (deps / "include").mkdir(parents=True, exist_ok=True)
    (deps / "lib").mkdir(parents=True, exist_ok=True)
    for h in ("zlib.h", "zconf.h"):
        shutil.copy2(src / h, deps / "include" / h)
    shutil.copy2(src / "libz.a", deps / "lib" / "libz.a")


def _build_libffi(work: Path, arch: Arch, deps: Path, env: dict[str, str], log: Path, jobs: int) -> None:
    src = work / "libffi"
    src.mkdir()
    run(["tar", "-xf", str(source_tarball("libffi", "3.4.4")), "-C", str(src), "--strip-components=1"])
    fenv = dict(env, CFLAGS="-O2 -fPIC -g0", LDFLAGS="-dynamic")
    run(
        [
            "./configure",
            f"--host={arch.gnu_host}",
            f"--build={_build_triplet()}",
            f"--prefix={deps}",
            "--disable-shared",
            "--enable-static",
            "--with-pic",
            "--disable-docs",
            "--disable-multi-os-directory",
            "--disable-exec-static-tramp",
            # its test runs `cc -Werror -S`, which zig fails ("argument unused: -c"); without
            # hidden visibility i386's sysv.S calls a preemptible pc thunk, which a shared
            # _ctypes cannot link ("R_386_PC32 cannot be used against __x86.get_pc_thunk.bx")
            "libffi_cv_hidden_visibility_attribute=yes",
        ],
        cwd=src,
        env=fenv,
        log=log,
    )
    run(["make", f"-j{jobs}"], cwd=src, env=fenv, log=log)
    run(["make", "install"], cwd=src, env=fenv, log=log)
