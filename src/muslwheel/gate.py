"""show's exit status: which verdicts a CI gate lets through.

0 when the wheel's claims hold, 1 when they do not (the verdict is not honest), and also 1,
whatever the claim, when the audit reports an error that no repair can fix: the wheel cannot
load on any musl (a glibc-only strong import, initial-exec TLS, binaries of a wrong or mixed
arch, a module no CPython the tags name imports (its suffix is for another build, ABI or glibc's
triplet: no repair renames it), a glibc binary in a musl wheel).
Errors that repair fixes (an external library, a tag) keep the claim's rule: a ``linux_*`` claim
promises nothing, so they do not fail it. With *strict*, a wheel that needs more than its
musllinux tag's X.Y.0 (1.2.4 under ``musllinux_1_2``) fails too.

Pure: reads the :class:`~muslwheel.audit.Verdict`'s public fields; which kinds no repair fixes
is the vocabulary's (:data:`muslwheel.vocabulary.UNFIXABLE`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .vocabulary import UNFIXABLE, Kind, Severity

if TYPE_CHECKING:
    from .audit import Reason, Verdict


def is_unfixable(reason: Reason) -> bool:
    """Whether *reason* is an error that no repair can fix."""
    return reason.severity == Severity.ERROR and reason.kind in UNFIXABLE


def needs_more_than_tag(verdict: Verdict) -> bool:
    """Whether the wheel needs a newer musl than its musllinux tag's X.Y.0 (what --strict refuses)."""
    return any(r.kind == Kind.TAG and r.severity == Severity.WARNING and r.musl for r in verdict.reasons)


def show_exit_status(verdict: Verdict, strict: bool = False) -> int:
    """show's exit status for one audited wheel: 0 or 1 (see the module's docstring)."""
    if verdict.exit_status:
        return 1
    if strict and needs_more_than_tag(verdict):
        return 1
    return 1 if any(is_unfixable(r) for r in verdict.reasons) else 0
