"""Short fuzz runs in the suite (the long ones are in fuzz/): mutated real ELF files and wheels
raise nothing but muslwheel's own errors."""

from __future__ import annotations

import contextlib

import pytest
from conftest import Toolchain, write_c
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wheelmaker import make_wheel

from muslwheel.audit import audit_wheel
from muslwheel.elf import parse_elf
from muslwheel.errors import ELFError, MuslwheelError


@pytest.fixture(scope="module")
def seeds(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("seeds")
    out = {}
    for arch in ("x86_64", "i686", "s390x"):  # 64/32-bit, little/big-endian
        so = toolchain.build(
            arch, tmp / f"lib{arch}.so", [write_c(tmp / "s.c", "int f(int x){return x;}\n")], shared=True, use_zig=True
        )
        out[arch] = so.read_bytes()
    return out


mutations = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8)


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    out = bytearray(data[: max(cut, 4)] if cut else data)
    for offset, value in edits:
        out[offset % len(out)] = value
    return bytes(out)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arch=st.sampled_from(["x86_64", "i686", "s390x"]), edits=mutations, cut=st.integers(0, 1 << 14))
def test_mutated_elf_raises_only_elferror(
    seeds: dict[str, bytes], arch: str, edits: list[tuple[int, int]], cut: int
) -> None:
    with contextlib.suppress(ELFError):
        parse_elf(mutate(seeds[arch], edits, cut))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=mutations, cut=st.integers(0, 1 << 13))
def test_mutated_wheel_raises_only_muslwheel_errors(
    seeds: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, int]], cut: int
) -> None:
    tmp = tmp_path_factory.mktemp("w")
    good = make_wheel(tmp, "f", "1.0", "py3-none-musllinux_1_2_x86_64", {"f/libf.so": seeds["x86_64"]})
    bad = tmp / good.name
    bad.write_bytes(mutate(good.read_bytes(), edits, cut))
    with contextlib.suppress(MuslwheelError):
        audit_wheel(bad)
