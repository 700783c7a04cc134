"""A musl target's PEP 508 marker environment: what ``platform_machine``, ``python_version`` and the
other environment markers say on the target, not on this host.

pip run here with ``--platform``/``--python-version`` still evaluates every marker (a top-level
requirement's and each ``Requires-Dist`` it follows) with this host's values (pypa/pip#11664);
whoever resolves for a target asks this module instead. One function, :func:`marker_environment`:
the arch from :data:`muslwheel.arch.ARCHES` (its wheel-tag name is what ``platform.machine()``
answers on a musl system of that arch), the CPython from :class:`muslwheel.versions.CPython`,
the full version a kit's CPython reports (``Kit.cpython_version``) when known, else ``X.Y.0``.
``platform_release`` and ``platform_version`` (the running kernel's) are unknown: empty.
"""

from __future__ import annotations

from .arch import get_arch
from .versions import CPython

__all__ = ["marker_environment"]


def marker_environment(python: CPython | str, arch: str, full_version: str | None = None) -> dict[str, str]:
    """PEP 508's marker environment of a musl CPython *python* (``3.11``, ``3.13t``, or a
    :class:`~muslwheel.versions.CPython`) on *arch* (``x86_64``, ``armv7l``).
    ``python_full_version`` and ``implementation_version`` are *full_version* (a kit's
    ``cpython_version``, ``3.11.2``), else ``X.Y.0``. ValueError for a malformed *python* or a
    *full_version* of another minor; :class:`~muslwheel.errors.TargetError` for an unknown arch."""
    machine = get_arch(arch).name
    py = python if isinstance(python, CPython) else CPython.parse(python)
    full = full_version or f"{py.version}.0"
    if full != py.version and not full.startswith(py.version + "."):
        raise ValueError(f"CPython {full} is not a {py.version} release")
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full,
        "python_version": py.version,
        "sys_platform": "linux",
    }
