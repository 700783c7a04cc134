"""Make seed corpora for the fuzzers: small musl ELF files of several arches (built with zig) and
wheels holding them. Usage: python fuzz/make_seeds.py ELF_DIR WHEEL_DIR"""

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from wheelmaker import make_wheel

TARGETS = ["x86_64-linux-musl", "x86-linux-musl", "aarch64-linux-musl", "s390x-linux-musl", "arm-linux-musleabihf"]


def main() -> int:
    elf_dir, wheel_dir = Path(sys.argv[1]), Path(sys.argv[2])
    elf_dir.mkdir(parents=True, exist_ok=True)
    wheel_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "s.c"
        src.write_text('#include <stdio.h>\n#include <time.h>\nint f(int x){printf("%d",x);return (int)time(0);}\n')
        for target in TARGETS:
            out = elf_dir / f"lib-{target}.so"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ziglang",
                    "cc",
                    "-O2",
                    "-s",
                    "-target",
                    target,
                    "-shared",
                    "-fPIC",
                    "-o",
                    str(out),
                    str(src),
                ],
                check=True,
            )
            make_wheel(
                wheel_dir,
                f"seed-{target.split('-')[0]}",
                "1.0",
                "py3-none-musllinux_1_2_x86_64",
                {"seed/libf.so": out.read_bytes()},
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
