"""A cross build never compiles against numpy's C headers of another pointer size.

pip installs the *host's* numpy into the build venv, and numpy's ``_numpyconfig.h`` bakes in the
sizes of the machine it was built for (``NPY_SIZEOF_PY_INTPTR_T``, ``NPY_SIZEOF_LONG``): an
extension compiled against x86_64's headers for armv7l lays out ``npy_intp`` as 8 bytes where
the target's numpy uses 4, silently. ``build`` takes the headers of a numpy wheel of the target
from ``--find-links`` into the target's own venv, or refuses before the backend runs. The host's
headers here are numpy's own, from the world's real numpy wheel (x86_64, what pip gives a 64-bit
host). The target's wheel is that wheel's C parts with a 32-bit ``_numpyconfig.h`` (the sizes
numpy's meson writes for i686) under an i686 name: a real i686 numpy takes six minutes to build,
and bench/bench_libs.py builds it (and h5py and shapely against it, imported on i686 and armv7l).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from muslwheel.arch import get_arch
from muslwheel.builder.numpy_headers import numpy_headers_for_target, target_numpy_wheel
from muslwheel.builder.pep517 import BuildEnv
from muslwheel.builder.target import BuildError, Target
from muslwheel.versions import CPython, MuslVersion

pytestmark = pytest.mark.world

CONFIG = "numpy/_core/include/numpy/_numpyconfig.h"


def site_of(venv: Path) -> Path:
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    return site


def host_venv(tmp_path: Path, numpy_wheel: Path | None) -> BuildEnv:
    """The cached build venv (numpy's package as pip installs it: its C parts and a dist-info)
    and the target's overlay of it, as ``build`` lays them out, without pip."""
    base = object.__new__(BuildEnv)
    base.directory, base.parent = tmp_path / "base", None
    site = site_of(base.directory)
    if numpy_wheel is not None:
        with zipfile.ZipFile(numpy_wheel) as zf:
            for name in zf.namelist():
                if name.startswith(("numpy/_core/include/", "numpy/__init__.py", "numpy-")):
                    zf.extract(name, site)
    env = object.__new__(BuildEnv)
    env.directory, env.parent = tmp_path / "overlay", base
    site_of(env.directory)
    return env


def target_wheel(directory: Path, host_wheel: Path, filename: str) -> Path:
    """*host_wheel*'s C parts, its ``_numpyconfig.h`` with a 32-bit target's sizes, as *filename*."""
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / filename
    with zipfile.ZipFile(host_wheel) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name.startswith("numpy/_core/include/"):
                data = src.read(name)
                if name == CONFIG:
                    text = data.decode()
                    for macro, size in (
                        ("NPY_SIZEOF_PY_INTPTR_T", 4),
                        ("NPY_SIZEOF_LONG", 4),
                        ("NPY_SIZEOF_LONGDOUBLE", 12),
                    ):
                        text = re.sub(rf"(#define {macro}) \d+", rf"\g<1> {size}", text)
                    data = text.encode()
                dst.writestr(name, data)
    return out


def target(arch: str, python: str = "3.11") -> Target:
    here = Path("/nonexistent")
    return Target(
        f"{arch}-test", get_arch(arch), CPython.parse(python), MuslVersion(1, 2, 6), None, here, here, here, ""
    )


def test_host_numpy_headers_are_refused_for_a_32_bit_target_without_its_numpy_and_taken_for_a_64_bit_one(
    tmp_path: Path, real_wheels: dict[str, Path]
) -> None:
    env = host_venv(tmp_path, real_wheels["numpy"])
    assert env.numpy_pointer_size() == 8 and env.numpy_version() == "2.4.6"
    for arch in ("armv7l", "i686", "armv6l"):
        with pytest.raises(BuildError, match=rf"npy_intp of 8 bytes; {arch}'s is 4.*--find-links DIR") as e:
            numpy_headers_for_target(env, target(arch), [tmp_path / "empty"])
        assert "\n" not in str(e.value)
    for arch in ("x86_64", "aarch64", "riscv64", "s390x"):
        assert numpy_headers_for_target(env, target(arch)) is None  # same sizes: the host's headers serve
    assert not any((env.directory / "lib").rglob("numpy"))  # nothing copied for them


def test_a_32_bit_targets_own_numpy_wheel_gives_its_headers_to_the_targets_venv_only(
    tmp_path: Path, real_wheels: dict[str, Path]
) -> None:
    host = real_wheels["numpy"]
    env = host_venv(tmp_path, host)
    base_site = env.parent.site_packages()  # type: ignore[union-attr]
    before = {p: (base_site / p).read_bytes() for p in (CONFIG, "numpy/__init__.py")}
    links = tmp_path / "links"
    # not for the target: another arch, another CPython, an older release of the right one
    target_wheel(links, host, "numpy-2.4.6-cp311-cp311-musllinux_1_2_armv7l.whl")
    target_wheel(links, host, "numpy-2.4.6-cp312-cp312-musllinux_1_2_i686.whl")
    target_wheel(links, host, "numpy-2.3.0-cp311-cp311-musllinux_1_2_i686.whl")
    target_wheel(links, host, "numpy-2.4.6-cp311-cp311-musllinux_1_2_i686.whl")
    target_wheel(links, host, "numpy-2.5.0-cp311-cp311-musllinux_1_2_i686.whl")
    # the host numpy's version first (2.4.6), not the newest; without it, the newest
    chosen = target_numpy_wheel([links], target("i686"), prefer="2.4.6")
    assert chosen is not None and chosen.name == "numpy-2.4.6-cp311-cp311-musllinux_1_2_i686.whl"
    newest = target_numpy_wheel([links], target("i686"), prefer="9.9")
    assert newest is not None and newest.name.startswith("numpy-2.5.0-")
    assert target_numpy_wheel([links], target("ppc64le")) is None

    note = numpy_headers_for_target(env, target("i686"), [links])
    assert note is not None and "numpy-2.4.6-cp311-cp311-musllinux_1_2_i686.whl" in note
    assert env.numpy_pointer_size() == 4  # what the target's build compiles against now
    own = env.site_packages() / CONFIG
    assert "#define NPY_SIZEOF_LONGDOUBLE 12" in own.read_text()
    # the host's numpy still imports, but without the names of its 16-byte long double, which the
    # target (12 bytes) lacks: h5py's setup asks hasattr(numpy, 'complex256') to choose its C
    init = (env.site_packages() / "numpy" / "__init__.py").read_text()
    assert init.startswith(before["numpy/__init__.py"].decode()) and "('float128', 'complex256')" in init
    namespace: dict[str, object] = {"__all__": ["float128", "complex256", "intp"], "float128": 1, "complex256": 2}
    exec(init[len(before["numpy/__init__.py"].decode()) :], namespace)
    assert "float128" not in namespace and "complex256" not in namespace and namespace["__all__"] == ["intp"]
    # the cached venv every build shares is untouched
    assert {p: (base_site / p).read_bytes() for p in before} == before


def test_a_numpy_wheel_whose_headers_are_not_the_targets_is_refused(
    tmp_path: Path, real_wheels: dict[str, Path]
) -> None:
    host = real_wheels["numpy"]
    env = host_venv(tmp_path, host)
    links = tmp_path / "links"
    links.mkdir()
    (links / "numpy-2.4.6-cp311-cp311-musllinux_1_2_i686.whl").write_bytes(host.read_bytes())  # x86_64's, renamed
    with pytest.raises(BuildError, match=r"npy_intp is 8 bytes, not i686's 4"):
        numpy_headers_for_target(env, target("i686"), [links])


def test_a_build_without_numpy_is_not_asked_about_it(tmp_path: Path) -> None:
    env = host_venv(tmp_path, None)
    assert env.numpy_pointer_size() is None and env.numpy_version() is None
    assert numpy_headers_for_target(env, target("armv7l")) is None
