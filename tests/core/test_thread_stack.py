"""The thread-stack hazard (issue 32): a wheel whose code starts threads on musl's 128 KiB default
stack, or uses OpenMP, gets a warning in `show` naming the object, the module that loads it and
the fix; the honest tag and the exit status stay what they were. Wheels of musl-gcc-built objects."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Toolchain, checkout_env, muslwheel_cmd, run, write_c
from wheelmaker import make_wheel

from muslwheel.audit import audit_wheel
from muslwheel.gate import show_exit_status
from muslwheel.hazards import is_openmp_runtime

EXT = ".cpython-311-x86_64-linux-musl.so"
TAG = "cp311-cp311-musllinux_1_2_x86_64"

#: a thread with default attributes: musl's 128 KiB
DEFAULT_THREAD = r"""
#include <pthread.h>
static void *work(void *arg) { return arg; }
int start(void) { pthread_t t; if (pthread_create(&t, 0, work, 0)) return -1; return pthread_join(t, 0); }
"""
#: the same thread, given 1 MiB
SIZED_THREAD = r"""
#include <pthread.h>
static void *work(void *arg) { return arg; }
int start(void) {
    pthread_t t; pthread_attr_t a;
    pthread_attr_init(&a); pthread_attr_setstacksize(&a, 1 << 20);
    int r = pthread_create(&t, &a, work, 0);
    pthread_attr_destroy(&a);
    return r ? r : pthread_join(t, 0);
}
"""
#: a new default for the whole process (musl >= 1.1.16), before any thread
PROCESS_DEFAULT = r"""
#define _GNU_SOURCE
#include <pthread.h>
int raise_default(void) {
    pthread_attr_t a; pthread_attr_init(&a); pthread_attr_setstacksize(&a, 1 << 20);
    return pthread_setattr_default_np(&a);
}
"""
#: what GCC emits for `#pragma omp parallel`: a call into libgomp
OPENMP_USER = "void GOMP_parallel(void (*)(void *), void *, unsigned, unsigned);\n" + (
    "static void body(void *p) { (void)p; }\nint run(void) { GOMP_parallel(body, 0, 0, 0); return 0; }\n"
)
PLAIN = "int twice(int x) { return 2 * x; }\n"
#: libstdc++'s std::thread start (a valid C name), and a module starting a std::thread with it
STD_THREAD = "_ZNSt6thread15_M_start_threadESt10unique_ptrINS_6_StateESt14default_deleteIS1_EEPFvvE"
LIBSTDCXX = f"#include <pthread.h>\nstatic void *w(void *a) {{ return a; }}\nvoid {STD_THREAD}(void) {{ pthread_t t; pthread_create(&t, 0, w, 0); }}\n"
STD_USER = f"void {STD_THREAD}(void);\nvoid go(void) {{ {STD_THREAD}(); }}\n"


def so(toolchain: Toolchain, tmp: Path, name: str, code: str, *args: str) -> Path:
    return toolchain.build("x86_64", tmp / name, [write_c(tmp / f"{name}.c", code)], shared=True, args=args)


def wheel(tmp: Path, members: dict[str, Path]) -> Path:
    dist = tmp / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    return make_wheel(dist, "pkg", "1.0", TAG, {k: v.read_bytes() for k, v in members.items()})


def thread_reasons(whl: Path) -> list[dict[str, str]]:
    v = audit_wheel(whl)
    return [r.to_json() for r in v.reasons if r.kind == "thread-stack"]  # type: ignore[misc]


def test_a_module_starting_a_default_thread_gets_a_warning_and_keeps_its_tag_and_exit_0(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    whl = wheel(tmp_path, {f"pkg/_threads{EXT}": so(toolchain, tmp_path, f"_threads{EXT}", DEFAULT_THREAD)})
    v = audit_wheel(whl)
    (r,) = [r for r in v.reasons if r.kind == "thread-stack"]
    assert (r.severity, r.file, r.symbol) == ("warning", f"pkg/_threads{EXT}", "pthread_create")
    assert "128 KiB" in r.why and "pthread_attr_setstacksize" in r.why and "imported as pkg._threads" in r.why
    # a warning: the tag it can claim, its honesty and show's exit status are as without it
    plain = audit_wheel(wheel(tmp_path / "p", {f"pkg/_threads{EXT}": so(toolchain, tmp_path, "plain.so", PLAIN)}))
    assert (v.tag, v.honest) == (plain.tag, plain.honest) == ("musllinux_1_1_x86_64", True)
    assert show_exit_status(v) == show_exit_status(v, strict=True) == 0


def test_show_prints_the_warning_and_exits_0(toolchain: Toolchain, tmp_path: Path) -> None:
    whl = wheel(tmp_path, {f"pkg/_threads{EXT}": so(toolchain, tmp_path, f"_threads{EXT}", DEFAULT_THREAD)})
    text = run([*muslwheel_cmd(), "show", whl], env=checkout_env())
    assert text.returncode == 0, text.stderr
    line = next(ln for ln in text.stdout.splitlines() if "128 KiB" in ln)
    assert line.startswith(f"  warning: pkg/_threads{EXT}: starts threads (pthread_create)")
    as_json = run([*muslwheel_cmd(), "show", "--json", whl], env=checkout_env())
    assert json.loads(as_json.stdout)["exit_status"] == 0


def test_a_thread_given_a_stack_size_gets_none(toolchain: Toolchain, tmp_path: Path) -> None:
    whl = wheel(tmp_path, {f"pkg/_sized{EXT}": so(toolchain, tmp_path, f"_sized{EXT}", SIZED_THREAD)})
    assert thread_reasons(whl) == []


def test_a_vendored_library_starting_threads_is_named_with_the_module_that_loads_it(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    lib = so(toolchain, tmp_path, "libpool-0123abcd.so", DEFAULT_THREAD)
    ext = so(toolchain, tmp_path, f"_ext{EXT}", PLAIN, str(lib), "-Wl,-rpath,$ORIGIN/../pkg.libs")
    whl = wheel(tmp_path, {f"pkg/_ext{EXT}": ext, "pkg.libs/libpool-0123abcd.so": lib})
    (r,) = thread_reasons(whl)
    assert r["file"] == "pkg.libs/libpool-0123abcd.so" and "loaded by pkg._ext" in r["why"]


def test_a_process_default_raised_in_the_load_covers_its_threads(toolchain: Toolchain, tmp_path: Path) -> None:
    lib = so(toolchain, tmp_path, "libpool-0123abcd.so", DEFAULT_THREAD)
    ext = so(toolchain, tmp_path, f"_ext{EXT}", PROCESS_DEFAULT, str(lib), "-Wl,-rpath,$ORIGIN/../pkg.libs")
    whl = wheel(tmp_path, {f"pkg/_ext{EXT}": ext, "pkg.libs/libpool-0123abcd.so": lib})
    assert thread_reasons(whl) == []


def test_a_module_needing_libgomp_gets_the_openmp_warning_naming_omp_stacksize(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    # libgomp as a repair vendors it: a hashed name, SONAME the same; the module needs it by DT_NEEDED
    gomp = so(toolchain, tmp_path, "libgomp-0123abcd.so.1", "void GOMP_parallel(void) {}\n")
    ext = so(
        toolchain, tmp_path, f"_omp{EXT}", PLAIN, "-Wl,--no-as-needed", str(gomp), "-Wl,-rpath,$ORIGIN/../pkg.libs"
    )
    whl = wheel(tmp_path, {f"pkg/_omp{EXT}": ext, "pkg.libs/libgomp-0123abcd.so.1": gomp})
    v = audit_wheel(whl)
    (r,) = [r for r in v.reasons if r.kind == "thread-stack"]
    assert (r.file, r.library, r.severity) == (f"pkg/_omp{EXT}", "libgomp-0123abcd.so.1", "warning")
    assert "OMP_STACKSIZE" in r.why and "128 KiB" in r.why and "imported as pkg._omp" in r.why
    assert v.honest and v.tag == "musllinux_1_1_x86_64" and show_exit_status(v) == 0


def test_a_call_into_openmp_is_the_evidence_when_the_runtime_is_not_in_the_wheel(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    gomp = so(toolchain, tmp_path, "libgomp.so.1", "void GOMP_parallel(void) {}\n")
    ext = so(toolchain, tmp_path, f"_omp{EXT}", OPENMP_USER, str(gomp))
    whl = wheel(tmp_path, {f"pkg/_omp{EXT}": ext})
    (r,) = thread_reasons(whl)
    assert (r["symbol"], r["library"]) == ("GOMP_parallel", "libgomp.so.1")
    assert "calls GOMP_parallel and needs libgomp.so.1" in r["why"]


def test_a_std_thread_is_its_users_hazard_not_libstdcxx_s(toolchain: Toolchain, tmp_path: Path) -> None:
    cxx = so(toolchain, tmp_path, "libstdc++-0123abcd.so.6", LIBSTDCXX)
    ext = so(toolchain, tmp_path, f"_cxx{EXT}", STD_USER, str(cxx), "-Wl,-rpath,$ORIGIN/../pkg.libs")
    whl = wheel(tmp_path, {f"pkg/_cxx{EXT}": ext, "pkg.libs/libstdc++-0123abcd.so.6": cxx})
    (r,) = thread_reasons(whl)
    assert r["file"] == f"pkg/_cxx{EXT}" and "std::thread" in r["why"] and "pthread_setattr_default_np" in r["why"]


def test_openmp_runtime_names() -> None:
    names = [
        "libgomp.so.1",
        "libomp.so",
        "libomp.so.5",
        "libiomp5.so",
        "libgomp-1a2b3c4d.so.1.0.0",
        "libgomp-1a2b3c4d-5e6f7a8b.so.1",
    ]
    assert all(map(is_openmp_runtime, names))
    assert not any(map(is_openmp_runtime, ["libgompx.so.1", "libcomp.so", "libomp.a", "libgomp-zz.so.1"]))
