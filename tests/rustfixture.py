"""The Rust fixture project of build's Rust tests and bench: a maturin project that needs no
crates.io.

Its extension is a ``cdylib`` that speaks CPython's C API through raw FFI: a local path crate
named ``pyo3-ffi`` (the name maturin recognises as PyO3's FFI layer; it declares the six C API
functions the module uses, as the real ``pyo3-ffi`` declares all of them), and the module crate
``rawffi`` with a hand-written ``PyModuleDef`` and ``#[no_mangle] extern "C" fn PyInit_rawffi``.
Its one function uses what a real Rust extension's std brings in: a thread (thread-locals
with destructors, ``__cxa_thread_atexit_impl``), a ``HashMap`` (its random keys: ``getrandom``)
and a panic caught at the FFI boundary (unwinding, zig's libunwind). Plain Python (no pytest),
so ``bench/bench_rust.py`` can build it too.
"""

from __future__ import annotations

from pathlib import Path

#: the smoke test: the extension's function computed in the target's CPython
TEST = (
    "import rawffi; r = rawffi.work(100); "
    "assert r == sum(i * i for i in range(100)) + 1, r; print('rawffi ok', rawffi.bits())"
)

_FFI_LIB = r"""#![no_std]
use core::ffi::{c_char, c_int, c_long, c_void};

pub type PyObject = c_void;
pub type PyCFunction = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject;

#[repr(C)]
pub struct PyModuleDef_Base {
    pub ob_refcnt: isize,
    pub ob_type: *mut c_void,
    pub m_init: Option<unsafe extern "C" fn() -> *mut PyObject>,
    pub m_index: isize,
    pub m_copy: *mut PyObject,
}

#[repr(C)]
pub struct PyMethodDef {
    pub ml_name: *const c_char,
    pub ml_meth: Option<PyCFunction>,
    pub ml_flags: c_int,
    pub ml_doc: *const c_char,
}

#[repr(C)]
pub struct PyModuleDef {
    pub m_base: PyModuleDef_Base,
    pub m_name: *const c_char,
    pub m_doc: *const c_char,
    pub m_size: isize,
    pub m_methods: *mut PyMethodDef,
    pub m_slots: *mut c_void,
    pub m_traverse: *mut c_void,
    pub m_clear: *mut c_void,
    pub m_free: *mut c_void,
}

pub const METH_NOARGS: c_int = 0x0004;
pub const METH_O: c_int = 0x0008;
pub const PYTHON_API_VERSION: c_int = 1013;

extern "C" {
    pub fn PyModule_Create2(def: *mut PyModuleDef, apiver: c_int) -> *mut PyObject;
    pub fn PyLong_FromLong(v: c_long) -> *mut PyObject;
    pub fn PyLong_AsLong(o: *mut PyObject) -> c_long;
    pub fn PyErr_Occurred() -> *mut PyObject;
    pub fn PyErr_SetString(kind: *mut PyObject, msg: *const c_char);
    pub static mut PyExc_RuntimeError: *mut PyObject;
}
"""

_MODULE_LIB = r"""use pyo3_ffi::*;
use std::collections::HashMap;
use std::ffi::c_long;
use std::ptr;

unsafe extern "C" fn work(_m: *mut PyObject, arg: *mut PyObject) -> *mut PyObject {
    let n = PyLong_AsLong(arg);
    if n == -1 && !PyErr_Occurred().is_null() {
        return ptr::null_mut();
    }
    // a thread, a HashMap and a caught panic: what a real extension's std brings in
    let total = std::thread::spawn(move || {
        let squares: HashMap<c_long, c_long> = (0..n).map(|i| (i, i * i)).collect();
        squares.values().sum::<c_long>()
    })
    .join();
    let unwound = std::panic::catch_unwind(|| {
        if n >= 0 {
            panic!("caught");
        }
    })
    .is_err();
    match total {
        Ok(t) => PyLong_FromLong(t + unwound as c_long),
        Err(_) => {
            PyErr_SetString(PyExc_RuntimeError, c"worker panicked".as_ptr());
            ptr::null_mut()
        }
    }
}

unsafe extern "C" fn bits(_m: *mut PyObject, _a: *mut PyObject) -> *mut PyObject {
    PyLong_FromLong(8 * std::mem::size_of::<usize>() as c_long)
}

static mut METHODS: [PyMethodDef; 3] = [
    PyMethodDef { ml_name: c"work".as_ptr(), ml_meth: Some(work), ml_flags: METH_O, ml_doc: ptr::null() },
    PyMethodDef { ml_name: c"bits".as_ptr(), ml_meth: Some(bits), ml_flags: METH_NOARGS, ml_doc: ptr::null() },
    PyMethodDef { ml_name: ptr::null(), ml_meth: None, ml_flags: 0, ml_doc: ptr::null() },
];

static mut MODULE: PyModuleDef = PyModuleDef {
    m_base: PyModuleDef_Base { ob_refcnt: 1, ob_type: ptr::null_mut(), m_init: None, m_index: 0, m_copy: ptr::null_mut() },
    m_name: c"rawffi".as_ptr(),
    m_doc: ptr::null(),
    m_size: -1,
    m_methods: ptr::null_mut(),
    m_slots: ptr::null_mut(),
    m_traverse: ptr::null_mut(),
    m_clear: ptr::null_mut(),
    m_free: ptr::null_mut(),
};

#[no_mangle]
pub unsafe extern "C" fn PyInit_rawffi() -> *mut PyObject {
    MODULE.m_methods = ptr::addr_of_mut!(METHODS) as *mut PyMethodDef;
    PyModule_Create2(ptr::addr_of_mut!(MODULE), PYTHON_API_VERSION)
}
"""


def write_rust_fixture(root: Path, name: str = "rawffi", backend: str = "maturin") -> Path:
    """The project in ``root/name`` built by *backend* (``maturin``, or ``setuptools-rust``:
    the same crates, a ``setup.py`` with a ``RustExtension``); returns its directory."""
    project = root / name
    (project / "src").mkdir(parents=True)
    (project / "pyo3-ffi" / "src").mkdir(parents=True)
    if backend == "maturin":
        build_system = '[build-system]\nrequires = ["maturin>=1.5,<2"]\nbuild-backend = "maturin"\n\n'
    else:
        build_system = (
            '[build-system]\nrequires = ["setuptools>=70", "setuptools-rust>=1.9"]\n'
            'build-backend = "setuptools.build_meta"\n\n'
        )
        (project / "setup.py").write_text(
            "from setuptools import setup\nfrom setuptools_rust import Binding, RustExtension\n"
            'setup(rust_extensions=[RustExtension("rawffi", binding=Binding.NoBinding, py_limited_api=False)])\n'
        )
    (project / "pyproject.toml").write_text(
        build_system + '[project]\nname = "rawffi"\nversion = "1.0"\nrequires-python = ">=3.9"\n'
    )
    (project / "Cargo.toml").write_text(
        '[package]\nname = "rawffi"\nversion = "1.0.0"\nedition = "2021"\n\n'
        '[lib]\nname = "rawffi"\ncrate-type = ["cdylib"]\n\n'
        '[dependencies]\npyo3-ffi = { path = "pyo3-ffi" }\n\n'
        "[profile.release]\nopt-level = 1\n"
    )
    (project / "Cargo.lock").write_text(
        "version = 4\n\n"
        '[[package]]\nname = "pyo3-ffi"\nversion = "0.27.0"\n\n'
        '[[package]]\nname = "rawffi"\nversion = "1.0.0"\ndependencies = [\n "pyo3-ffi",\n]\n'
    )
    (project / "src" / "lib.rs").write_text(_MODULE_LIB)
    (project / "pyo3-ffi" / "Cargo.toml").write_text(
        '[package]\nname = "pyo3-ffi"\nversion = "0.27.0"\nedition = "2021"\n\n[lib]\npath = "src/lib.rs"\n'
    )
    (project / "pyo3-ffi" / "src" / "lib.rs").write_text(_FFI_LIB)
    return project
