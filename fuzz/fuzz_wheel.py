"""atheris harness: auditing arbitrary bytes as a wheel raises nothing but muslwheel's errors."""

import contextlib
import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from muslwheel.audit import audit_wheel
    from muslwheel.errors import MuslwheelError

# A fixed, valid wheel file name on a RAM disk when there is one: only the content is fuzzed.
_DIR = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
_PATH = os.path.join(_DIR, "fuzz-1.0-py3-none-musllinux_1_2_x86_64.whl")


def test_one_input(data: bytes) -> None:
    with open(_PATH, "wb") as f:
        f.write(data)
    with contextlib.suppress(MuslwheelError):
        audit_wheel(_PATH)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
