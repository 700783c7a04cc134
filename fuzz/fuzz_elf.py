"""atheris harness: muslwheel.elf.parse_elf on arbitrary bytes raises nothing but ELFError."""

import sys

import atheris

with atheris.instrument_imports():
    from muslwheel.elf import parse_elf
    from muslwheel.errors import ELFError


def test_one_input(data: bytes) -> None:
    try:
        parse_elf(data)
    except ELFError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
