"""build's plan (muslwheel.builder.plan): which targets the command's choices name, and the
backend's config settings; the rules the CLI held, proven on the library."""

from __future__ import annotations

import pytest

from muslwheel.arch import ARCHES
from muslwheel.builder.plan import config_settings, plan_targets, split_choices
from muslwheel.errors import MuslwheelError, TargetError


def test_choices_split_on_commas_keep_order_and_drop_repeats() -> None:
    assert split_choices(["3.11,3.13", "3.11", "3.12"]) == ["3.11", "3.13", "3.12"]
    assert split_choices(["all", "x86_64"], tuple(ARCHES)) == list(ARCHES)
    assert split_choices(["all"]) == ["all"]  # only arches know `all`


def test_a_repeated_config_setting_gathers_its_values() -> None:
    assert config_settings(["a=1", "b=x=y", "a=2", "a=3"]) == {"a": ["1", "2", "3"], "b": "x=y"}
    with pytest.raises(MuslwheelError, match=r"--config-setting 'novalue' is not KEY=VALUE"):
        config_settings(["novalue"])


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({}, "build: no targets: give --arch ARCH --python X.Y (or --kit / --cpython)"),
        ({"arches": ["x86_64"]}, "build: give both --arch and --python (or --kit / --cpython)"),
        ({"pythons": ["3.11"]}, "build: give both --arch and --python (or --kit / --cpython)"),
    ],
)
def test_an_incomplete_choice_is_refused_with_what_to_give(choices: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(MuslwheelError) as err:
        plan_targets(**choices)
    assert str(err.value) == message


def test_an_unknown_arch_is_refused_before_any_kit_is_looked_for() -> None:
    with pytest.raises(TargetError):
        plan_targets(arches=["sparc"], pythons=["3.11"])
