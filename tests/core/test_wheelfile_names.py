"""A wheel's file name is remote input: any malformed one is refused with one line (a
:class:`~muslwheel.errors.MuslwheelError`), never an exception from a library underneath."""

from __future__ import annotations

import pytest

from muslwheel.errors import MuslwheelError
from muslwheel.wheelfile import parse_wheel_name

DIGITS = "1" * 5000  # beyond int()'s 4300-digit conversion limit


@pytest.mark.parametrize(
    "name",
    [
        f"foo-{DIGITS}-py3-none-any.whl",  # the version
        f"foo-1.{DIGITS}-py3-none-musllinux_1_2_x86_64.whl",  # a release segment
        f"foo-1.0-{DIGITS}-py3-none-any.whl",  # the build tag
    ],
)
def test_a_wheel_name_with_a_5000_digit_number_is_one_line(name: str) -> None:
    with pytest.raises(MuslwheelError) as caught:
        parse_wheel_name(name)
    message = str(caught.value)
    assert "not a wheel filename" in message and "\n" not in message
    assert len(message) < 300  # the name shortened, not 5000 digits on the user's terminal


def test_an_ordinary_long_version_still_parses() -> None:
    name = parse_wheel_name(f"foo-1.{'9' * 400}-py3-none-any.whl")
    assert name.version == f"1.{'9' * 400}"
