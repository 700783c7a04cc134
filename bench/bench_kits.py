#!/usr/bin/env python3
"""Build the full kit matrix and import every musllinux wheel of the bench set in its arch's kits.

    MUSLWHEEL_CACHE=... python bench/bench_kits.py [--arch A]... [--musl V]... [--python X.Y]... [--no-build]

1. Builds every kit (8 arches × musl {Debian's 1.2.3 where Debian has it, the newest} × the
   CPythons Debian serves: 3.11, 3.13 and the free-threaded 3.13t), loader kits first, then each CPython minor for every arch in the
   order given, timing each build cold or warm as it happens; a kit built earlier shows the cold
   time its build recorded (and the machine's load then: it is often shared).
2. Proves each CPython kit: zlib, ctypes (a call into musl and a callback from it) and a C
   extension built by zig against the kit, imported and computing, natively or under qemu-user;
   a free-threaded kit runs without the GIL after all that (``sys._is_gil_enabled()`` False; the
   extension declares ``Py_MOD_GIL_NOT_USED``, as a free-threading-ready one does).
3. For each musllinux package of ``bench/wheels.txt`` (NAME==VERSION for an arch), downloads that
   release's musllinux wheel for each kit CPython of the arch (cpXY, abi3; cpXYt for a
   free-threaded kit; the bench set pins cp312, which Debian has no source for), and runs ``muslwheel check --import --json`` over it in
   every kit of that arch and minor.
4. Writes ``bench/results/kits.txt``: build time and disk size per kit, what each proves, and per
   wheel and kit imported / crashed / loader error / binary error / Python error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from results_file import header, write  # noqa: E402

from muslwheel.arch import ARCHES, get_arch  # noqa: E402
from muslwheel.hostpython import built_host_python_dir as host_python_dir  # noqa: E402
from muslwheel.kits import Kit, kit_name, kits_dir, list_kits  # noqa: E402
from muslwheel.kits.build import CPYTHON_SOURCES, DEBIAN_BINARY_MUSL, NEWEST_MUSL, kit_pythons  # noqa: E402
from muslwheel.versions import MuslVersion  # noqa: E402

#: the CPythons built by default: those Debian serves a tarball of (3.14 and 3.15: none today)
DEBIAN_PYTHONS = ["3.11", "3.13", "3.13t"]


def du(path: Path) -> int:
    """Bytes under *path*, each hard-linked file once."""
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 else 0


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def recorded(kit: Kit) -> str:
    """The cold build time a kit's build recorded (musl; its CPython tree, shared by the arch's kits)."""
    meta = json.loads((kit.directory / "kit.json").read_text())
    parts = []
    if "musl_seconds" in meta:
        parts.append(f"musl {meta['musl_seconds']:.0f}s at load {meta['musl_load']:.1f}")
    if "cpython_build_seconds" in meta:
        parts.append(
            f"CPython {meta['cpython_version']} {meta['cpython_build_seconds']:.0f}s at load {meta['cpython_build_load']:.1f}"
        )
    elif meta.get("cpython_version"):
        parts.append(f"CPython {meta['cpython_version']}")
    return "; ".join(parts) or "(built before build times were recorded)"


EXTENSION = r"""
#include <Python.h>
static PyObject *fib(PyObject *self, PyObject *arg) {
    long long n = PyLong_AsLongLong(arg), a = 0, b = 1;
    while (n-- > 0) { long long t = a + b; a = b; b = t; }
    return PyLong_FromLongLong(a);
}
static PyMethodDef methods[] = {{"fib", fib, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "kitprobe", NULL, -1, methods};
PyMODINIT_FUNC PyInit_kitprobe(void) {
    PyObject *m = PyModule_Create(&def);
#ifdef Py_GIL_DISABLED
    if (m != NULL) PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    return m;
}
"""
PROBE = """
import ctypes, sys, zlib, kitprobe
libc = ctypes.CDLL(None)
values = (ctypes.c_int * 5)(5, 3, 9, 1, 7)
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
libc.qsort(values, 5, ctypes.sizeof(ctypes.c_int), CMP(lambda a, b: a[0] - b[0]))
assert zlib.crc32(b"musl") == 4196687167 and zlib.decompress(zlib.compress(b"k" * 999)) == b"k" * 999
assert libc.strlen(b"musllinux") == 9 and list(values) == [1, 3, 5, 7, 9]
assert kitprobe.fib(50) == 12586269025
print(sys.version.split()[0], "GIL" if getattr(sys, "_is_gil_enabled", lambda: True)() else "no GIL")
"""


def prove(kit: Kit) -> str:
    """zlib, ctypes and a C extension built for the kit, in the kit's CPython."""
    with tempfile.TemporaryDirectory(prefix="bench-kits-") as tmp:
        src = Path(tmp, "kitprobe.c")
        src.write_text(EXTENSION)
        out = Path(tmp, "kitprobe" + kit.ext_suffix)
        env = dict(os.environ, ZIG_LIBC=str(kit.zig_libc_file()))
        cc = [sys.executable, "-m", "ziglang", "cc", "-target", kit.zig_target, "-O2", "-shared", "-fPIC"]
        proc = subprocess.run(
            [*cc, f"-I{kit.include_dir}", "-o", str(out), str(src)], env=env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            return "FAILED to build the extension: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:160]
        start = time.monotonic()
        proc = subprocess.run(
            [*kit.python_command(), "-c", PROBE], env={"PYTHONPATH": tmp}, capture_output=True, text=True, timeout=600
        )
        took = time.monotonic() - start
    if proc.returncode != 0:
        return "FAILED: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:160]
    version, gil = proc.stdout.strip().split(" ", 1)
    if gil != ("no GIL" if kit.free_threaded else "GIL"):
        return f"FAILED: CPython {version} runs with {gil}"
    how = f"under {kit.runner()[0].rsplit('/', 1)[-1]}" if kit.runner() else "natively"
    return f"CPython {version} ({gil}) {how}: zlib, ctypes (call + callback), C extension fib(50) ok ({took:.1f}s)"


def build(arch: str, musl: str, python: str | None, jobs: int) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "muslwheel", "kit", "build", "-j", str(jobs), "--arch", arch, "--musl", musl]
    # a loader-only kit: the bare musl root (an Alpine-like ``…-system`` one would build the
    # arch's system libraries here, which its CPython kits' lines measure)
    cmd += ["--python", python] if python else ["--bare"]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    took = time.monotonic() - start
    if proc.returncode != 0:
        return took, "FAILED: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
    return took, "ok"


def musllinux_packages() -> list[tuple[str, str]]:
    """(arch, NAME==VERSION) for each musllinux line of the bench set."""
    out = []
    for line in (HERE / "wheels.txt").read_text().splitlines():
        if line.startswith("musllinux_"):
            platform, requirement = line.split()
            out.append((platform.split("_", 3)[3], requirement))
    return out


def fetch(arch: str, requirement: str, python: str, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    version = python.rstrip("t")
    # a free-threaded CPython imports cpXYt wheels only (no abi3 before abi3t, PEP 803)
    abis = ["--abi", f"cp{python.replace('.', '')}"] + ([] if python.endswith("t") else ["--abi", "abi3"])
    plats = []
    for tag in ("musllinux_1_2", "musllinux_1_1"):
        plats += ["--platform", f"{tag}_{arch}"]
    cmd = [
        sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(dest),
        *plats, "--python-version", version, "--implementation", "cp", *abis, requirement,
    ]  # fmt: skip
    subprocess.run(cmd, capture_output=True, text=True)
    name = requirement.split("==")[0].replace("-", "_").lower()
    version = requirement.split("==")[1]
    return sorted(p for p in dest.iterdir() if p.name.lower().startswith(f"{name}-{version}-") and arch in p.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=ARCHES)
    parser.add_argument("--musl", action="append")
    parser.add_argument("--python", action="append", choices=[str(p) for p in kit_pythons()])
    parser.add_argument("--no-build", action="store_true", help="use the kits already built")
    parser.add_argument("--no-wheels", action="store_true", help="build and prove the kits only")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "kits.txt")
    args = parser.parse_args()
    arches = args.arch or ARCHES
    pythons = args.python or DEBIAN_PYTHONS
    lines = header("Kits: the full matrix built, and the bench set's musllinux wheels imported in it")
    lines += [f"kits in {kits_dir()}", f"at the start: {load()} (the machine is shared)", ""]

    builds: list[str] = []
    if not args.no_build:
        lines.append(
            "## builds (seconds; 'warm' = already built; CPython is built once per arch, shared by its musl kits)"
        )
        for python in [None, *pythons]:
            for arch in arches:
                releases = [MuslVersion.parse(m) for m in args.musl] or (
                    [DEBIAN_BINARY_MUSL] if get_arch(arch).debian_arch else []
                ) + [NEWEST_MUSL]
                for musl in releases:
                    name = kit_name(arch, musl, python)
                    was = (kits_dir() / name / "kit.json").exists()
                    host = python is not None and not (host_python_dir(python) / "bin").is_dir()
                    took, status = build(arch, musl, python, args.jobs)
                    line = f"{name:32} {took:7.1f}s {'warm' if was else 'cold'} {status} ({load()})"
                    if host and (host_python_dir(python) / "bin").is_dir():
                        line += f" [includes building the host CPython {python}]"
                    print(line, flush=True)
                    builds.append(line)
        lines += [*builds, ""]

    kits = [k for k in list_kits() if k.arch in arches]
    lines.append("## cold build times recorded by each kit's build")
    for k in kits:
        lines.append(f"{k.name:32} {recorded(k)}")
    for minor in sorted(CPYTHON_SOURCES):
        meta_file = host_python_dir(minor) / "build-python.json"
        if meta_file.exists():
            meta = json.loads(meta_file.read_text())
            lines.append(
                f"{'host CPython ' + minor:32} CPython {meta['cpython_version']} built from {meta['cpython_source']}"
                + (
                    f" in {meta['build_seconds']:.0f}s at load {meta['build_load']:.1f}"
                    if "build_seconds" in meta
                    else ""
                )
            )
    lines.append("")

    lines.append("## what each CPython kit proves (natively or under qemu-user)")
    for k in kits:
        if k.python:
            line = f"{k.name:32} {prove(k)}"
            print(line, flush=True)
            lines.append(line)
    lines.append("")

    lines.append("## disk (MB, hard links counted once per kit; shared CPython trees counted in each kit)")
    for k in kits:
        lines.append(f"{k.name:32} {du(k.directory) / 1e6:7.1f}")
    lines.append(f"{'all kits (hard links once)':32} {du(kits_dir()) / 1e6:7.1f}")
    lines.append("")

    lines.append("## check --import: wheel, kit, module: result")
    wheels_dir = HERE / "work" / "wheels-kits"  # outside git (bench/work is ignored), reused
    summary: dict[str, int] = {}
    for arch, requirement in [] if args.no_wheels else musllinux_packages():
        if arch not in arches:
            continue
        for python in sorted({k.python for k in kits if k.arch == arch and k.python}):
            targets = [k for k in kits if k.arch == arch and k.python == python]
            for wheel in fetch(arch, requirement, python, wheels_dir):
                cmd = [sys.executable, "-m", "muslwheel", "check", "--import", "--json", str(wheel)]
                for k in targets:
                    cmd += ["--kit", k.name]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode not in (0, 1):
                    lines.append(f"{wheel.name}: error: {proc.stderr.strip()[:200]}")
                    continue
                for report in json.loads(proc.stdout):
                    results = [m["result"] for m in report["modules"]]
                    counts = {r: results.count(r) for r in sorted(set(results))}
                    verdict = "imported" if report["ok"] else "FAILED"
                    lines.append(
                        f"{wheel.name} {report['kit']}: {verdict} "
                        + ", ".join(f"{n} {r}" for r, n in counts.items())
                        + f" ({report['seconds']}s)"
                    )
                    for m in report["modules"]:
                        if m["result"] != "imported":
                            lines.append(f"    {m['module']}: {m['result']} {m['detail'][:160]}")
                    summary[verdict] = summary.get(verdict, 0) + 1
                    print(lines[-1], flush=True)
    lines += ["", "summary: " + ", ".join(f"{v} {n}" for v, n in sorted(summary.items()))]
    lines.append(f"at the end: {load()}")
    write(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
