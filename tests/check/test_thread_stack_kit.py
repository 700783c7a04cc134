"""The thread-stack hazard for real (issue 32): in the x86_64 CPython 3.11 kit, with musl's own
128 KiB default thread stack, a module whose import runs a thread with default attributes and a
256 KiB stack frame crashes under `check --import`, and show's warning (and check's note) names
it; the same code giving its thread 1 MiB imports, and gets no warning.

musl takes a PT_GNU_STACK size of the program as every thread's default (``ldso/dynlink.c``), and
zig links executables with one of 16 MiB (musl caps it at 8): the kits' interpreter has it, where
Alpine's python3 (GNU ld, no ``-z stack-size``) has none. So the proof runs a hard-linked copy of
the kit whose interpreter asks for no size, as a distribution's does: musl's real 128 KiB."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from conftest import kit_for, muslwheel_cmd, run, run_ok, write_c
from kitfixture import build_against, import_results
from wheelmaker import make_wheel

from muslwheel.audit import audit_wheel
from muslwheel.gate import show_exit_status
from muslwheel.kits import Kit, read_kit
from muslwheel.kits.build import DEBIAN_BINARY_MUSL

PT_GNU_STACK = 0x6474E551

#: PyInit runs one thread and joins it; the thread touches a 256 KiB frame from its top down, so
#: the first page past its stack is the guard page (SIGSEGV), never another mapping.
DEEP = r"""
#include <Python.h>
#include <pthread.h>
static void *deep(void *arg) {
    volatile char frame[256 * 1024];
    for (long i = (long)sizeof frame - 1; i >= 0; i -= 1024) frame[i] = (char)i;
    *(int *)arg = frame[0] + frame[sizeof frame - 1];
    return NULL;
}
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "_stack", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__stack(void) {
    pthread_t t;
    int out = 0;
#ifdef STACK
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, STACK);
    int failed = pthread_create(&t, &a, deep, &out);
    pthread_attr_destroy(&a);
#else
    int failed = pthread_create(&t, NULL, deep, &out);
#endif
    if (failed || pthread_join(t, NULL)) {
        PyErr_SetString(PyExc_OSError, "no thread");
        return NULL;
    }
    return PyModule_Create(&def);
}
"""


def deep_wheel(kit: Kit, tmp: Path, *args: str) -> Path:
    tmp.mkdir()
    ext = tmp / f"_stack{kit.ext_suffix}"
    build_against(kit, ext, write_c(tmp / "deep.c", DEEP), "-shared", "-fPIC", f"-I{kit.include_dir}", *args)
    members = {"deep/__init__.py": b"", f"deep/{ext.name}": ext.read_bytes()}
    return make_wheel(tmp, "deep", "1.0", f"cp311-cp311-musllinux_1_2_{kit.arch}", members)


def without_stack_size(kit: Kit, tmp: Path) -> Kit:
    """*kit*, hard-linked into *tmp*, its (x86_64) interpreter's PT_GNU_STACK size set to 0."""
    copy = tmp / "kit"
    run_ok(["cp", "-al", kit.directory, copy])
    python = copy / kit.interpreter.relative_to(kit.directory)
    elf = bytearray(python.read_bytes())
    (phoff,) = struct.unpack_from("<Q", elf, 0x20)
    size, count = struct.unpack_from("<HH", elf, 0x36)
    for header in range(phoff, phoff + size * count, size):
        if struct.unpack_from("<I", elf, header)[0] == PT_GNU_STACK:
            struct.pack_into("<Q", elf, header + 40, 0)  # p_memsz
    python.unlink()  # a new file: the kit's own stays as it is
    python.write_bytes(elf)
    python.chmod(0o755)
    return read_kit(copy)


def test_a_thread_on_musls_default_stack_crashes_the_import_and_show_names_the_module(tmp_path: Path) -> None:
    built = kit_for("x86_64", DEBIAN_BINARY_MUSL, "3.11")
    kit = without_stack_size(built, tmp_path)
    module = f"deep/_stack{kit.ext_suffix}"
    default = deep_wheel(built, tmp_path / "default")  # against the kit itself: zig's cache knows it
    sized = deep_wheel(built, tmp_path / "sized", "-DSTACK=(1 << 20)")

    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.directory, default])
    assert proc.returncode == 1, proc.stderr
    assert import_results(proc.stdout)[(kit.name, "deep._stack")] == ("crashed", "SIGSEGV")
    (report,) = json.loads(proc.stdout)
    (note,) = report["notes"]
    assert note.startswith(f"{module}: starts threads (pthread_create)") and "128 KiB" in note
    text = run([*muslwheel_cmd(), "check", "--import", "--kit", kit.directory, default])
    assert f"  note: {module}: " in text.stdout

    shown = audit_wheel(default)  # show's verdict (its CLI: tests/core/test_thread_stack.py)
    assert shown.honest and show_exit_status(shown) == 0  # a warning: the wheel's claim holds
    (warning,) = [r for r in shown.reasons if r.kind == "thread-stack"]
    assert warning.severity == "warning" and warning.file == module
    assert "imported as deep._stack" in warning.why and "pthread_attr_setstacksize" in warning.why

    proc = run([*muslwheel_cmd(), "check", "--import", "--json", "--kit", kit.directory, sized])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert import_results(proc.stdout)[(kit.name, "deep._stack")][0] == "imported"
    assert "notes" not in json.loads(proc.stdout)[0]
    assert not [r for r in audit_wheel(sized).reasons if r.kind == "thread-stack"]
