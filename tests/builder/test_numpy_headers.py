"""A cross build never compiles against numpy's C headers of another pointer size.

pip installs the *host's* numpy into the build venv, and numpy's ``_numpyconfig.h`` bakes in the
sizes of the machine it was built for (``NPY_SIZEOF_PY_INTPTR_T``, ``NPY_SIZEOF_LONG``): an
extension compiled against x86_64's headers for armv7l lays out ``npy_intp`` as 8 bytes where
the target's numpy uses 4, silently. ``build`` refuses that before the backend runs. The headers
here are numpy's own, from the world's real numpy wheel (x86_64, what pip gives a 64-bit host).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from muslwheel.arch import get_arch
from muslwheel.builder.pep517 import BuildEnv
from muslwheel.builder.run import refuse_host_numpy_headers
from muslwheel.builder.target import BuildError

pytestmark = pytest.mark.world


def venv_with_numpy_headers(tmp_path: Path, numpy_wheel: Path | None) -> BuildEnv:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    if numpy_wheel is not None:
        with zipfile.ZipFile(numpy_wheel) as zf:
            for name in zf.namelist():
                if name.startswith("numpy/_core/include/numpy/"):
                    zf.extract(name, site)
    env = object.__new__(BuildEnv)  # a venv's layout, without pip: only its site-packages is read
    env.directory, env.parent = tmp_path / "venv", None
    return env


def test_host_numpy_headers_are_refused_for_a_32_bit_target_and_taken_for_a_64_bit_one(
    tmp_path: Path, real_wheels: dict[str, Path]
) -> None:
    env = venv_with_numpy_headers(tmp_path, real_wheels["numpy"])
    assert env.numpy_pointer_size() == 8
    for arch in ("armv7l", "i686", "armv6l"):
        with pytest.raises(BuildError, match=rf"npy_intp of 8 bytes; {arch}'s is 4"):
            refuse_host_numpy_headers(env, get_arch(arch))
    for arch in ("x86_64", "aarch64", "riscv64"):
        refuse_host_numpy_headers(env, get_arch(arch))  # same sizes: the host's headers serve


def test_a_build_without_numpy_is_not_asked_about_it(tmp_path: Path) -> None:
    env = venv_with_numpy_headers(tmp_path, None)
    assert env.numpy_pointer_size() is None
    refuse_host_numpy_headers(env, get_arch("armv7l"))
