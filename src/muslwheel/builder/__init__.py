"""build: musllinux wheels for any of the eight arches from one Linux host, by cross-compiling.

This subpackage owns ``muslwheel build``: for each target (arch × CPython minor × musl), a
PEP 517 build of a source tree or sdist in an isolated environment run by a host Python of the
target's minor, with the target's ``_sysconfigdata`` and headers and zig (``zig cc -target
ARCH-linux-musl``) as the compilers; then :func:`muslwheel.repair.repair_wheel` against the
target's root and a load/import check of the result. It never builds paths into a target
itself: a :class:`~muslwheel.builder.target.Target` comes from a kit (``muslwheel.kits``) or, for
the one CPython the test world has, from that world.

Modules:

- :mod:`.target`: what a build needs to know about a target, and where targets come from.
- :mod:`.toolchain`: the target's zig wrappers (:mod:`muslwheel.zig`'s, with its wheel flags),
  the rewritten ``_sysconfigdata``, the environment of a cross build, meson cross files and
  CMake toolchain files.
- :mod:`.pep517`: the source copy, the cached isolated build environment, the backend hooks.
- :mod:`.run`: one target end to end (before-build, build, repair, check), targets in
  parallel, progress, the summary.

Shared with :mod:`muslwheel.kits`: the cache (:mod:`muslwheel.cache`), zig
(:mod:`muslwheel.zig`), the host CPython of a minor (:mod:`muslwheel.hostpython`) and the
progress protocol (:mod:`muslwheel.progress`).
"""

from __future__ import annotations

from .run import BuildOptions, BuildSummary, TargetResult, build

__all__ = ["BuildOptions", "BuildSummary", "TargetResult", "build"]
