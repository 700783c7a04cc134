"""wheelhouse: from a requirements file to a proven wheelhouse for musl targets.

``muslwheel wheelhouse -r requirements.txt --target alpine:3.17/aarch64 -w DIR``. The room
composes what the house has: :mod:`muslwheel.tags` (a target's tags and pip's arguments),
:mod:`muslwheel.distros` (a release's musl and Python), pip as the resolver (:mod:`.pip`),
``show``'s verdict and ``repair`` (:mod:`.choose`), ``build`` for a project with no usable
wheel and ``check --import``'s proof (:mod:`.tasks`, here or on a dask.distributed cluster),
and writes a PEP 503 index, a lock and a report (:mod:`.output`).

Modules: :mod:`.target` (target specs), :mod:`.pip`, :mod:`.choose`, :mod:`.tasks`,
:mod:`.output`, :mod:`.run` (:func:`plan`, :func:`run`).
"""

from __future__ import annotations

from .pip import PipConfig
from .run import Decision, HouseSummary, Options, Plan, WheelhouseError, plan, run
from .target import HouseTarget, parse_targets

__all__ = [
    "Decision",
    "HouseSummary",
    "HouseTarget",
    "Options",
    "PipConfig",
    "Plan",
    "WheelhouseError",
    "parse_targets",
    "plan",
    "run",
]
