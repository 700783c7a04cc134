#!/usr/bin/env python3
"""Real wheels with DT_RELR, before and after `muslwheel repair`; results to bench/results/relr.txt.

    venv=$(bench/setup)
    $venv/bin/python bench/relr_proof.py --muslwheel $venv/bin/muslwheel \\
        --python "$MUSLWHEEL_CACHE/world/cpython/bin/python3.11"

For every musllinux wheel of the bench set (bench/wheels/) whose libraries carry DT_RELR, and
for the CPython 3.11 builds of the x86_64 ones (fetched here into bench/wheels/cp311/ with pip
download, since the test world's musl CPython is 3.11): repair it (DT_RELR unpacked, the
default), twice, to see the output is reproducible; `muslwheel check --root` it before and
after against a root made of Debian's musl 1.2.3 loader and a libz.so.1 (Alpine's base image
has one, and musllinux wheels may use it; built here from the Debian zlib source the test world
uses, with musl-gcc or zig), aarch64 under qemu-user; and, for x86_64 wheels that CPython
3.11 can import, import it from the unpacked wheel (plus its dependencies' wheels) in the test
world's musl CPython 3.11 (musl 1.2.3) before and after. Last, the unwinder of each x86_64
wheel's converted libgcc_s walks a stack (a musl-gcc program dlopens it and counts the frames
`_Unwind_Backtrace` reports, which needs its own relocated tables and, through
dl_iterate_phdr, the program headers the rewrite moved).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import results_file  # noqa: E402

#: x86_64 wheels fetched for CPython 3.11 (the bench set's are cp312), and what to import.
CP311 = {
    "ujson==6.1.0": "import ujson; assert ujson.loads(ujson.dumps([1, 'a'])) == [1, 'a']",
    "pyzmq==27.3.0": "import zmq; print(zmq.zmq_version())",
    "psycopg2_binary==2.9.13": "import psycopg2; print(psycopg2.__libpq_version__)",
    "pillow==13.0.0": "from PIL import Image; Image.new('RGB', (2, 2)).tobytes()",
}
#: wheels an import needs besides the wheel itself
DEPS = {"cryptography": ["cffi==2.1.1"]}
IMPORTS = {
    "cryptography": "from cryptography.hazmat.bindings._rust import openssl; print(openssl.openssl_version_text())",
    **{req.split("==")[0].lower(): code for req, code in CP311.items()},
}


def fetch_cp311(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for req in [*CP311, *(d for deps in DEPS.values() for d in deps)]:
        name = req.split("==")[0].replace("-", "_").lower()
        if any(p.name.lower().startswith(name) for p in dest.glob("*.whl")):
            continue
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        target = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311", "--abi", "abi3"]
        subprocess.run([*pip, *target, "--platform", "musllinux_1_2_x86_64", "-d", str(dest), req], check=True)


ZLIB_SOURCES = (
    "adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast inflate inftrees trees uncompr zutil"
)


def make_root(arch: str, work: Path) -> Path:
    """A target root: Debian's musl 1.2.3 loader for *arch* and a libz.so.1 built for it."""
    ldso = {"x86_64": "x86_64", "aarch64": "aarch64"}[arch]
    root = work / f"root-{arch}"
    (root / "lib").mkdir(parents=True)
    shutil.copy(f"/lib/ld-musl-{ldso}.so.1", root / "lib")
    # The zlib tarball the test world uses (downloaded once and verified by muslwheel.debian).
    found = subprocess.run(
        [sys.executable, "-m", "muslwheel.debian", "zlib", "--version-prefix", "1.2.13"],
        capture_output=True,
        text=True,
        check=True,
    )
    tarball = found.stdout.strip()
    src = work / f"zlib-{arch}"
    src.mkdir()
    subprocess.run(["tar", "-xf", tarball, "-C", str(src), "--strip-components=1"], check=True)
    cc = ["musl-gcc"] if arch == "x86_64" else [sys.executable, "-m", "ziglang", "cc", "-target", f"{arch}-linux-musl"]
    flags = ["-O2", "-fPIC", "-w", "-DHAVE_UNISTD_H", "-DHAVE_STDARG_H", "-shared", "-Wl,-soname,libz.so.1"]
    sources = [str(src / f"{name}.c") for name in ZLIB_SOURCES.split()]
    subprocess.run([*cc, *flags, "-o", str(root / "lib" / "libz.so.1"), *sources], check=True)
    return root


UNWIND_C = r"""
#include <dlfcn.h>
#include <stdio.h>
typedef int (*trace_fn)(int (*)(void *, void *), void *);
static int frames;
static int count(void *ctx, void *arg) { (void)ctx; (void)arg; frames++; return 0; }
static trace_fn trace;
__attribute__((noinline)) static int deep(int n) { if (n == 0) { trace(count, 0); return frames; } return deep(n - 1) + 0 * n; }
int main(int argc, char **argv) {
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h || !(trace = (trace_fn)dlsym(h, "_Unwind_Backtrace"))) { printf("%s\n", dlerror()); return 2; }
    printf("%d frames\n", deep(5));
    return 0;
}
"""


def unwinds(program: Path, wheel: Path, where: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if "/libgcc_s" in n]
        zf.extract(name, where)
    proc = subprocess.run(["/lib/ld-musl-x86_64.so.1", str(program), str(where / name)], capture_output=True, text=True)
    if proc.returncode < 0:
        return f"crashes (signal {-proc.returncode})"
    return proc.stdout.strip() if proc.returncode == 0 else f"fails (exit {proc.returncode})"


def relr_members(muslwheel: str, wheel: Path) -> tuple[list[str], dict[str, object]]:
    v = json.loads(subprocess.run([muslwheel, "show", "--json", str(wheel)], capture_output=True, text=True).stdout)
    return [f["path"] for f in v["files"] if f["dt_relr"]], v


def check(muslwheel: str, wheel: Path, root: Path) -> str:
    proc = subprocess.run(
        [muslwheel, "check", "--json", "--root", str(root), str(wheel)], capture_output=True, text=True
    )
    result = json.loads(proc.stdout)
    if result["loads"]:
        return f"loads (musl {result['target_musl']})"
    return "fails: " + ", ".join(sorted({f"{p['kind']} {p['subject']}" for p in result["problems"]}))


def imports(python: str, wheels: list[Path], code: str, where: Path, libdir: Path) -> str:
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(where)
    env = {"PATH": os.environ["PATH"], "LD_LIBRARY_PATH": str(libdir)}
    proc = subprocess.run([python, "-c", code], cwd=where, capture_output=True, text=True, timeout=300, env=env)
    if proc.returncode == 0:
        return "imports"
    return f"crashes (signal {-proc.returncode})" if proc.returncode < 0 else f"fails (exit {proc.returncode})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--muslwheel", required=True)
    parser.add_argument("--python", required=True, help="the test world's musl CPython 3.11")
    parser.add_argument("--wheels", type=Path, default=HERE / "wheels")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "relr.txt")
    args = parser.parse_args()
    fetch_cp311(args.wheels / "cp311")
    candidates = sorted(args.wheels.glob("*musllinux*.whl")) + sorted((args.wheels / "cp311").glob("*.whl"))
    candidates = [w for w in candidates if w.name.endswith(("_x86_64.whl", "_aarch64.whl"))]
    lines = [*results_file.header("DT_RELR wheels before and after muslwheel repair, on musl 1.2.3")]
    failures = 0
    deps = {
        project: [w for d in reqs for w in (args.wheels / "cp311").glob(f"{d.split('==')[0]}-*.whl")]
        for project, reqs in DEPS.items()
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        roots = {arch: make_root(arch, work) for arch in ("x86_64", "aarch64")}
        unwind = work / "unwind"
        (work / "unwind.c").write_text(UNWIND_C)
        flags = ["-O0", "-fasynchronous-unwind-tables", "-Wl,--eh-frame-hdr"]
        subprocess.run(["musl-gcc", *flags, "-o", str(unwind), str(work / "unwind.c")], check=True)
        for i, wheel in enumerate(candidates):
            members, before = relr_members(args.muslwheel, wheel)
            if not members:
                continue
            outs = []
            for round_ in (1, 2):
                out = work / f"{i}-{round_}"
                proc = subprocess.run(
                    [args.muslwheel, "repair", "--json", "-w", str(out), str(wheel)], capture_output=True, text=True
                )
                if proc.returncode != 0:
                    lines.append(f"{wheel.name}: repair FAILED: {proc.stderr.strip()}")
                    failures += 1
                    break
                outs.append(Path(json.loads(proc.stdout)["output"]))
            else:
                repaired = outs[0]
                same = outs[0].read_bytes() == outs[1].read_bytes()
                _, after = relr_members(args.muslwheel, repaired)
                lines.append(f"{wheel.name}")
                lines.append(
                    f"  DT_RELR in {len(members)} libraries; needs musl {before['musl_min_version']} -> "
                    f"{after['musl_min_version']}; tag -> {after['tag']}; reproducible: {same}"
                )
                root = roots["x86_64" if wheel.name.endswith("_x86_64.whl") else "aarch64"]
                c0, c1 = check(args.muslwheel, wheel, root), check(args.muslwheel, repaired, root)
                lines.append(f"  check: before {c0}; after {c1}")
                failures += (not c1.startswith("loads")) + (not same)
                project = wheel.name.split("-")[0].lower()
                py_ok = "-cp311-" in wheel.name or "-cp311-abi3-" in wheel.name
                if wheel.name.endswith("_x86_64.whl") and py_ok and project in IMPORTS:
                    extra = deps.get(project, [])
                    libdir = root / "lib"
                    i0 = imports(args.python, [wheel, *extra], IMPORTS[project], work / f"{i}-before", libdir)
                    i1 = imports(args.python, [repaired, *extra], IMPORTS[project], work / f"{i}-after", libdir)
                    lines.append(f"  import in musl CPython 3.11: before {i0}; after {i1}")
                    failures += i1 != "imports"
                if wheel.name.endswith("_x86_64.whl") and any("/libgcc_s" in m for m in members):
                    u0 = unwinds(unwind, wheel, work / f"{i}-unwind-before")
                    u1 = unwinds(unwind, repaired, work / f"{i}-unwind-after")
                    lines.append(f"  _Unwind_Backtrace of its libgcc_s: before {u0}; after {u1}")
                    failures += not u1.endswith("frames")
    lines.append(f"failures: {failures}")
    results_file.write(lines, args.out)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
