"""The eight architectures of PEP 656 and the names each goes by.

One architecture has a name in wheel tags (``armv7l``), an ELF machine, class, byte order and
flags, a name in musl's loader file (``ld-musl-armhf.so.1``, musl's ``LDSO_ARCH`` from
``arch/*/reloc.h``) and, on Alpine, a name in the libc SONAME (``libc.musl-armv7.so.1``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .elf import EM, ELFFile
from .errors import TargetError


@dataclass(frozen=True)
class Arch:
    name: str  #: as in wheel platform tags
    machine: int
    elf_class: int
    little_endian: bool
    ldso_arch: str  #: musl's LDSO_ARCH: ``/lib/ld-musl-{ldso_arch}.so.1``
    alpine_arch: str  #: Alpine's libc SONAME: ``libc.musl-{alpine_arch}.so.1``
    #: CPython's PLATFORM_TRIPLET, with ``{libc}`` for ``gnu`` or ``musl``
    triplet: str = ""

    @property
    def loader_name(self) -> str:
        return f"ld-musl-{self.ldso_arch}.so.1"

    def cpython_triplet(self, libc: str) -> str:
        return self.triplet.format(libc=libc)

    @property
    def is_32bit(self) -> bool:
        return self.elf_class == 32


ARCHES: dict[str, Arch] = {
    a.name: a
    for a in (
        Arch("x86_64", EM.X86_64, 64, True, "x86_64", "x86_64", "x86_64-linux-{libc}"),
        Arch("i686", EM.I386, 32, True, "i386", "x86", "i386-linux-{libc}"),
        Arch("aarch64", EM.AARCH64, 64, True, "aarch64", "aarch64", "aarch64-linux-{libc}"),
        Arch("armv7l", EM.ARM, 32, True, "armhf", "armv7", "arm-linux-{libc}eabihf"),
        Arch("ppc64le", EM.PPC64, 64, True, "powerpc64le", "ppc64le", "powerpc64le-linux-{libc}"),
        Arch("s390x", EM.S390, 64, False, "s390x", "s390x", "s390x-linux-{libc}"),
        Arch("riscv64", EM.RISCV, 64, True, "riscv64", "riscv64", "riscv64-linux-{libc}"),
        Arch("loongarch64", EM.LOONGARCH, 64, True, "loongarch64", "loongarch64", "loongarch64-linux-{libc}"),
    )
}

_BY_LDSO = {a.ldso_arch: a for a in ARCHES.values()}


def get_arch(name: str) -> Arch:
    """The architecture named *name* in wheel tags; :class:`TargetError` if PEP 656 has none."""
    try:
        return ARCHES[name]
    except KeyError:
        known = ", ".join(ARCHES)
        raise TargetError(f"unknown architecture {name!r} (musllinux architectures: {known})") from None


def arch_of_elf(elf: ELFFile) -> Arch | None:
    """The PEP 656 architecture an ELF file is built for, or None if it is none of them.

    ARM counts as ``armv7l`` only with the EABI5 hard-float ABI, which is what musllinux armv7l
    wheels are built for; a soft-float ARM binary has no PEP 656 architecture.
    """
    for arch in ARCHES.values():
        if (arch.machine, arch.elf_class, arch.little_endian) == (
            elf.machine,
            elf.elf_class,
            elf.little_endian,
        ):
            if arch.machine == EM.ARM and not elf.is_arm_hard_float:
                return None
            return arch
    return None


def describe_machine(elf: ELFFile) -> str:
    """A short human name for an ELF file's machine, for messages about unsupported files."""
    try:
        machine = EM(elf.machine).name.lower()
    except ValueError:
        machine = f"machine {elf.machine}"
    order = "little-endian" if elf.little_endian else "big-endian"
    return f"{machine} {elf.elf_class}-bit {order}"


def host_runs_natively(arch: Arch | None) -> bool:
    """Whether this machine's kernel runs *arch* binaries without an emulator (a 64-bit x86 or
    ARM kernel also runs its 32-bit siblings)."""
    if arch is None:
        return False
    native = os.uname().machine
    return arch.name == native or (native, arch.name) in (("x86_64", "i686"), ("aarch64", "armv7l"))


def arch_of_loader_name(filename: str) -> Arch | None:
    """The architecture of a musl loader file name such as ``ld-musl-armhf.so.1``."""
    if filename.startswith("ld-musl-") and filename.endswith(".so.1"):
        return _BY_LDSO.get(filename[len("ld-musl-") : -len(".so.1")])
    return None
