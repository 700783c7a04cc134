"""show's exit rule as the library states it (muslwheel.gate): the --strict rule and issue 23's
"an error no repair can fix fails whatever the claim". The CLI's behaviour on built wheels is
proven in test_show_exit.py; here each kind and severity is pinned on a verdict."""

from __future__ import annotations

import pytest

from muslwheel.audit import Reason, Verdict
from muslwheel.gate import is_unfixable, show_exit_status
from muslwheel.vocabulary import UNFIXABLE


def verdict(*reasons: Reason, honest: bool = True, claim: str = "linux_x86_64") -> Verdict:
    return Verdict(
        wheel=f"p-1.0-cp311-cp311-{claim}.whl",
        libc="musl",
        arch="x86_64",
        tag=None,
        musl_min_version="1.2.3",
        external_libs=[],
        system_libs=[],
        reasons=list(reasons),
        files=[],
        claimed_tags=[claim],
        honest=honest,
    )


@pytest.mark.parametrize("kind", sorted(UNFIXABLE))
def test_an_unfixable_error_exits_1_whatever_the_claim(kind: str) -> None:
    assert show_exit_status(verdict(Reason(kind, "why"))) == 1
    assert show_exit_status(verdict(Reason(kind, "why"), honest=False, claim="musllinux_1_2_x86_64")) == 1


@pytest.mark.parametrize("kind", sorted(UNFIXABLE))
def test_the_same_kind_as_a_warning_or_info_does_not_fail(kind: str) -> None:
    assert show_exit_status(verdict(Reason(kind, "why", severity="warning"), Reason(kind, "why", severity="info"))) == 0


@pytest.mark.parametrize("kind", ["library", "tag", "tag-arch", "unresolved", "system-symbol"])
def test_an_error_repair_fixes_keeps_the_claims_rule(kind: str) -> None:
    assert not is_unfixable(Reason(kind, "why"))
    assert show_exit_status(verdict(Reason(kind, "why"))) == 0  # linux_*: the claim promises nothing
    assert show_exit_status(verdict(Reason(kind, "why"), honest=False)) == 1  # a dishonest claim fails


def test_strict_fails_a_wheel_that_needs_more_than_its_tags_x_y_0() -> None:
    above = Reason("tag", "needs musl 1.2.4", severity="warning", musl="1.2.4")
    v = verdict(above, claim="musllinux_1_2_x86_64")
    assert (show_exit_status(v), show_exit_status(v, strict=True)) == (0, 1)
    other = verdict(Reason("tag", "no floor", severity="warning"), Reason("x86-isa", "v3", severity="warning"))
    assert show_exit_status(other, strict=True) == 0
