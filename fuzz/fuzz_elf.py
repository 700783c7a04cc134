"""atheris harness: muslwheel.elf.parse_elf on arbitrary bytes raises nothing but ELFError."""

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from muslwheel.elf import parse_elf
    from muslwheel.errors import ELFError


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(ELFError):
        parse_elf(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
