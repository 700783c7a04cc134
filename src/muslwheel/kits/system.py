"""The Alpine-like loader-only kit ``<arch>-musl<ver>-system``: the bare musl root
``<arch>-musl<ver>`` (:mod:`.musl`) with Alpine's base libraries in ``usr/lib``.

Its system libraries are the ones the arch's Alpine-like CPython kits carry
(:data:`~muslwheel.kits.cpython.SYSTEM_LIBRARIES`, built by :mod:`muslwheel.libs` against the
musl :func:`~muslwheel.kits.musl.base_musl` names, so one set of prefixes per arch serves every
musl of its series, as one CPython tree does), hard-linked in as their SONAMEs. It is a root to
run and check against (``check --root``), never one to compile against: :mod:`muslwheel.libs`,
``build`` and CPython's cross-build take the bare root, which stays as it is.
"""

from __future__ import annotations

import shutil
import subprocess

from ..arch import Arch
from ..cache import staged
from ..progress import Steps
from ..versions import MuslVersion
from . import Kit, KitError, kit_name, read_kit
from .cpython import SYSTEM_LIBRARIES, _place_system_libraries, system_library_prefixes
from .musl import base_musl, build_musl_kit
from .store import current, kit_directory, kit_lock, kit_meta, run, write_kit


def build_system_kit(musl_kit: Kit, *, jobs: int = 2, steps: Steps) -> Kit:
    """The kit ``<arch>-musl<ver>-system`` of the bare loader-only *musl_kit*, built unless
    current: its root (hard links) and the system libraries of the arch's CPython kits in
    ``usr/lib``, each loaded by the kit's own loader before the kit is kept."""
    arch = musl_kit.arch_info
    directory = kit_directory(arch, musl_kit.musl, None, system=True)
    if current(directory):
        return read_kit(directory)
    with kit_lock(kit_name(arch.name, musl_kit.musl, None, system=True)):
        if not current(directory):
            _build_system_kit(musl_kit, arch, jobs, steps)
    return read_kit(directory)


def _build_system_kit(musl_kit: Kit, arch: Arch, jobs: int, steps: Steps) -> None:
    base = musl_kit
    if base_musl(arch, musl_kit.musl) != musl_kit.musl:
        base = build_musl_kit(arch, base_musl(arch, musl_kit.musl), jobs=jobs, steps=steps)
    if system_libraries_built(arch, base.musl):  # those of the arch's CPython kits: nothing to build
        prefixes = system_library_prefixes(base, jobs, steps.progress)
    else:
        with steps.step("system-libs", f"Alpine's base libraries for {arch.name} against musl {base.musl}"):
            prefixes = system_library_prefixes(base, jobs, steps.progress)
    directory = kit_directory(arch, musl_kit.musl, None, system=True)
    with staged(directory) as tmp:
        (tmp / "root").mkdir(parents=True)
        run(["cp", "-al", f"{musl_kit.root}/.", str(tmp / "root")])
        libraries = _place_system_libraries(prefixes, tmp / "root" / "usr" / "lib")
        extra = {
            "musl_source": kit_meta(musl_kit, "musl_source"),
            "built_against_musl": str(base.musl),
            "system_libraries": libraries,
        }
        write_kit(tmp, arch, musl_kit.musl, None, extra, bare=False)
        _smoke(read_kit(tmp), [str(lib["soname"]) for lib in libraries])
        shutil.rmtree(tmp / "run", ignore_errors=True)  # the loader's prefix names tmp's paths


def _smoke(kit: Kit, sonames: list[str]) -> None:
    """The kit's own loader loads each system library from ``usr/lib`` with what it needs
    (``--list``); else :class:`KitError`, and the kit is not kept."""
    for soname in sonames:
        proc = subprocess.run(
            [*kit.loader_command(), "--list", str(kit.root / "usr" / "lib" / soname)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
        )
        if proc.returncode != 0:
            why = (proc.stderr.strip().splitlines() or ["?"])[0]
            raise KitError(f"{kit.name}: its loader cannot load {soname}: {why}")


def system_libraries_built(arch: Arch, musl: MuslVersion) -> bool:
    """Whether every one of :data:`~muslwheel.kits.cpython.SYSTEM_LIBRARIES` is built for
    (*arch*, *musl*) in the cache (then a kit's ``system-libs`` step costs nothing)."""
    from ..libs import get_recipe
    from ..libs.store import current_prefix

    return all(current_prefix(get_recipe(name), arch, musl) is not None for name in SYSTEM_LIBRARIES)
