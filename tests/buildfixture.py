"""The fixture project of build's tests and bench: what a user's project looks like.

A setuptools C extension linking ``libfix.so.1``, a library that ``--before-build`` compiles
with the target's ``$CC`` into ``$MUSLWHEEL_PREFIX``; ``repair`` must graft it. Plain Python (no
pytest), so ``bench/bench_build.py`` builds the same project for riscv64 and loongarch64.
"""

from __future__ import annotations

from pathlib import Path

BEFORE_BUILD = (
    '$CC -O2 -shared -Wl,-soname,libfix.so.1 -o "$MUSLWHEEL_PREFIX/lib/libfix.so.1" vendor/fix.c'
    ' && ln -sf libfix.so.1 "$MUSLWHEEL_PREFIX/lib/libfix.so"'
    ' && cp vendor/fix.h "$MUSLWHEEL_PREFIX/include/"'
)
#: the fixture's smoke test: a value computed by the extension through the vendored library
TEST = "import fixture; assert fixture.mix(6, 7) == 6 * 7 + 0x5a17, fixture.mix(6, 7); print('mix ok', fixture.arch())"


def write_fixture(root: Path, name: str = "fixture") -> Path:
    project = root / name
    (project / "fixture").mkdir(parents=True)
    (project / "vendor").mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=70.1"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "fixture"\nversion = "1.0"\nrequires-python = ">=3.9"\n'
    )
    (project / "setup.py").write_text(
        "from setuptools import Extension, setup\n"
        'setup(packages=["fixture"], ext_modules=[Extension("fixture._speed", ["fixture/speed.c"], libraries=["fix"])])\n'
    )
    (project / "fixture" / "__init__.py").write_text("from ._speed import arch, mix\n")
    (project / "vendor" / "fix.h").write_text("long fix_mix(long a, long b);\n")
    (project / "vendor" / "fix.c").write_text(
        '#include "fix.h"\nlong fix_mix(long a, long b) { return a * b + 0x5a17; }\n'
    )
    (project / "fixture" / "speed.c").write_text(
        r"""#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fix.h>

static PyObject *mix(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
    return PyLong_FromLong(fix_mix(a, b));
}

static PyObject *arch(PyObject *self, PyObject *unused) {
    return PyUnicode_FromFormat("%d-bit %s", (int)(8 * sizeof(void *)),
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        "big-endian"
#else
        "little-endian"
#endif
    );
}

static PyMethodDef methods[] = {
    {"mix", mix, METH_VARARGS, NULL},
    {"arch", arch, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "fixture._speed", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }
"""
    )
    return project
