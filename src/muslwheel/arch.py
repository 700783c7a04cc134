"""The nine musllinux architectures and the names each goes by.

One architecture has a name in wheel tags (``armv7l``), an ELF machine, class, byte order and
flags, a name in musl's loader file (``ld-musl-armhf.so.1``, musl's ``LDSO_ARCH`` from
``arch/*/reloc.h``) and, on Alpine, a name in the libc SONAME (``libc.musl-armv7.so.1``).

Two rows share one ELF identity: ``armv6l`` (Alpine's ``armhf``: ARMv6 hard-float, the ARM1176JZF-S
of the Raspberry Pi Zero and 1) and ``armv7l`` are both ARM EABI5 hard-float with the loader
``ld-musl-armhf.so.1``. What tells them apart is the CPU architecture the code was built for,
``Tag_CPU_arch`` in ``.ARM.attributes`` (:attr:`muslwheel.elf.ELFFile.arm_cpu_arch`), and on
Alpine the libc SONAME (``libc.musl-armhf.so.1`` vs ``libc.musl-armv7.so.1``). ARMv6 code runs on
an ARMv7 CPU, not the other way round: :func:`code_runs_on`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .elf import EM, ELFFile
from .errors import TargetError


@dataclass(frozen=True)
class Arch:
    """Every per-arch fact the project uses, in one row (the one table is :data:`ARCHES`)."""

    name: str  #: as in wheel platform tags
    machine: int
    elf_class: int
    little_endian: bool
    ldso_arch: str  #: musl's LDSO_ARCH: ``/lib/ld-musl-{ldso_arch}.so.1``
    alpine_arch: str  #: Alpine's libc SONAME: ``libc.musl-{alpine_arch}.so.1``
    #: CPython's PLATFORM_TRIPLET, with ``{libc}`` for ``gnu`` or ``musl``
    triplet: str
    zig_target: str  #: zig's target triple for this arch's musl (``x86-linux-musl``)
    gnu_host: str  #: GNU triplet as CPython's ``configure --host`` spells it (``i686-linux-musl``)
    qemu: str  #: the qemu-user program that runs it (``qemu-i386``)
    meson_cpu_family: str  #: meson's ``cpu_family`` (``x86``)
    cmake_processor: str  #: CMake's ``CMAKE_SYSTEM_PROCESSOR`` (``i686``)
    rust_target: str  #: Rust's target triple (``armv7-unknown-linux-musleabihf``)
    strip_prefix: str  #: the prefix of binutils' cross tools for the arch (``arm-linux-gnueabihf``)
    zig_kernel_headers: str  #: zig's Linux kernel header directory (``lib/libc/include/<this>``)
    #: Debian's architecture, where Debian (bookworm) ships musl binary packages for it; else None
    debian_arch: str | None
    #: Debian's multiarch directory of that musl (``/usr/lib/<this>``), where it ships one
    debian_multiarch: str | None
    #: whether PyPI accepts musllinux uploads for it: ``_musllinux_arches`` in pypi/warehouse's
    #: ``warehouse/forklift/legacy.py`` (x86_64, i686, aarch64, armv7l, ppc64le, s390x, riscv64)
    pypi_accepts: bool
    #: the oldest qemu-user that runs what compilers build for it by default, and what that
    #: release brought, or None when any will do: rustc's ``loongarch64-unknown-linux-musl``
    #: enables LSX (rust-lang/rust#132140; ``rustc --print cfg`` says ``target_feature="lsx"``),
    #: whose instructions qemu-user translates since 8.1 (``target/loongarch/insn_trans/
    #: trans_lsx.c.inc``); 7.2 (Debian bookworm) ends such a program with SIGILL
    qemu_minimum: tuple[tuple[int, int], str] | None = None
    #: whether PyPI accepts its ``linux_ARCH`` uploads all the same: warehouse's
    #: ``_allowed_platforms`` names ``linux_armv6l`` and ``linux_armv7l`` (piwheels' tags)
    pypi_accepts_linux: bool = False
    #: zig's ``-mcpu`` for the arch, when its zig target alone means a newer CPU (zig's
    #: ``arm-linux-musleabihf`` is ARMv7-A with NEON; armv6l: ``arm1176jzf_s``)
    zig_cpu: str | None = None
    #: what qemu-user is told besides the program, when its default CPU is newer than the arch's
    #: (qemu-arm's is ARMv7 and later; armv6l: ``-cpu arm1176``, an ARMv6KZ with VFPv2)
    qemu_args: tuple[str, ...] = ()
    #: the ``Tag_CPU_arch`` values (:data:`muslwheel.elf.ARM_CPU_ARCHES`) its CPUs execute, when
    #: the arch is judged by them (armv6l: up to v6KZ and v6K, never v6T2's Thumb-2 nor v7)
    arm_cpu_arches: frozenset[int] | None = None
    #: the arches whose code its CPUs also run (an ARMv7 CPU runs ARMv6 code)
    also_runs: tuple[str, ...] = ()
    #: the largest page its Linux kernels may use, which musl's loader maps segments in
    #: (``PAGE_SIZE``, the running kernel's): 64 KiB for aarch64 (``ARM64_64K_PAGES``), ppc64le
    #: (``PPC_64K_PAGES``, the usual one there) and loongarch64 (``PAGE_SIZE_64KB``), else 4 KiB
    #: (:mod:`muslwheel.layout` checks rewritten files against it)
    max_page: int = 4096
    #: OpenSSL's ``Configure`` target for it (``Configurations/10-main.conf``; armv6l:
    #: ``linux-armv4``, as armv7l); every row names one
    openssl_target: str = ""
    #: whether OpenSSL's assembly is built for it (zig's assembler takes its perlasm output);
    #: otherwise OpenSSL is configured ``no-asm``
    openssl_asm: bool = False

    @property
    def loader_name(self) -> str:
        return f"ld-musl-{self.ldso_arch}.so.1"

    def cpython_triplet(self, libc: str) -> str:
        return self.triplet.format(libc=libc)

    @property
    def is_32bit(self) -> bool:
        return self.elf_class == 32


# fmt: off
ARCHES: dict[str, Arch] = {
    a.name: a
    for a in (
        Arch("x86_64", EM.X86_64, 64, True, "x86_64", "x86_64", "x86_64-linux-{libc}",
             zig_target="x86_64-linux-musl", gnu_host="x86_64-linux-musl", qemu="qemu-x86_64",
             meson_cpu_family="x86_64", cmake_processor="x86_64", rust_target="x86_64-unknown-linux-musl",
             strip_prefix="x86_64-linux-gnu", zig_kernel_headers="x86-linux-any",
             debian_arch="amd64", debian_multiarch="x86_64-linux-musl", pypi_accepts=True,
             openssl_target="linux-x86_64", openssl_asm=True),
        Arch("i686", EM.I386, 32, True, "i386", "x86", "i386-linux-{libc}",
             zig_target="x86-linux-musl", gnu_host="i686-linux-musl", qemu="qemu-i386",
             meson_cpu_family="x86", cmake_processor="i686", rust_target="i686-unknown-linux-musl",
             strip_prefix="i686-linux-gnu", zig_kernel_headers="x86-linux-any",
             debian_arch="i386", debian_multiarch="i386-linux-musl", pypi_accepts=True,
             openssl_target="linux-x86"),
        Arch("aarch64", EM.AARCH64, 64, True, "aarch64", "aarch64", "aarch64-linux-{libc}",
             zig_target="aarch64-linux-musl", gnu_host="aarch64-linux-musl", qemu="qemu-aarch64",
             meson_cpu_family="aarch64", cmake_processor="aarch64", rust_target="aarch64-unknown-linux-musl",
             strip_prefix="aarch64-linux-gnu", zig_kernel_headers="aarch64-linux-any",
             debian_arch="arm64", debian_multiarch="aarch64-linux-musl", pypi_accepts=True, max_page=65536,
             openssl_target="linux-aarch64", openssl_asm=True),
        Arch("armv7l", EM.ARM, 32, True, "armhf", "armv7", "arm-linux-{libc}eabihf",
             zig_target="arm-linux-musleabihf", gnu_host="armv7l-linux-musleabihf", qemu="qemu-arm",
             meson_cpu_family="arm", cmake_processor="armv7l", rust_target="armv7-unknown-linux-musleabihf",
             strip_prefix="arm-linux-gnueabihf", zig_kernel_headers="arm-linux-any",
             debian_arch="armhf", debian_multiarch="arm-linux-musleabihf", pypi_accepts=True,
             pypi_accepts_linux=True, also_runs=("armv6l",),
             openssl_target="linux-armv4"),
        Arch("armv6l", EM.ARM, 32, True, "armhf", "armhf", "arm-linux-{libc}eabihf",
             zig_target="arm-linux-musleabihf", gnu_host="armv6l-linux-musleabihf", qemu="qemu-arm",
             meson_cpu_family="arm", cmake_processor="armv6l", rust_target="arm-unknown-linux-musleabihf",
             strip_prefix="arm-linux-gnueabihf", zig_kernel_headers="arm-linux-any",
             debian_arch=None, debian_multiarch=None, pypi_accepts=False, pypi_accepts_linux=True,
             zig_cpu="arm1176jzf_s", qemu_args=("-cpu", "arm1176"),
             arm_cpu_arches=frozenset((0, 1, 2, 3, 4, 5, 6, 7, 9)),
             openssl_target="linux-armv4"),
        Arch("ppc64le", EM.PPC64, 64, True, "powerpc64le", "ppc64le", "powerpc64le-linux-{libc}",
             zig_target="powerpc64le-linux-musl", gnu_host="powerpc64le-linux-musl", qemu="qemu-ppc64le",
             meson_cpu_family="ppc64", cmake_processor="ppc64le", rust_target="powerpc64le-unknown-linux-musl",
             strip_prefix="powerpc64le-linux-gnu", zig_kernel_headers="powerpc-linux-any",
             debian_arch="ppc64el", debian_multiarch="powerpc64le-linux-musl", pypi_accepts=True,
             max_page=65536,
             openssl_target="linux-ppc64le"),
        Arch("s390x", EM.S390, 64, False, "s390x", "s390x", "s390x-linux-{libc}",
             zig_target="s390x-linux-musl", gnu_host="s390x-linux-musl", qemu="qemu-s390x",
             meson_cpu_family="s390x", cmake_processor="s390x", rust_target="s390x-unknown-linux-musl",
             strip_prefix="s390x-linux-gnu", zig_kernel_headers="s390x-linux-any",
             debian_arch="s390x", debian_multiarch="s390x-linux-musl", pypi_accepts=True,
             openssl_target="linux64-s390x"),
        Arch("riscv64", EM.RISCV, 64, True, "riscv64", "riscv64", "riscv64-linux-{libc}",
             zig_target="riscv64-linux-musl", gnu_host="riscv64-linux-musl", qemu="qemu-riscv64",
             meson_cpu_family="riscv64", cmake_processor="riscv64", rust_target="riscv64gc-unknown-linux-musl",
             strip_prefix="riscv64-linux-gnu", zig_kernel_headers="riscv-linux-any",
             debian_arch=None, debian_multiarch=None, pypi_accepts=True,
             openssl_target="linux64-riscv64"),
        Arch("loongarch64", EM.LOONGARCH, 64, True, "loongarch64", "loongarch64", "loongarch64-linux-{libc}",
             zig_target="loongarch64-linux-musl", gnu_host="loongarch64-linux-musl", qemu="qemu-loongarch64",
             meson_cpu_family="loongarch64", cmake_processor="loongarch64",
             rust_target="loongarch64-unknown-linux-musl", strip_prefix="loongarch64-linux-gnu",
             zig_kernel_headers="loongarch-linux-any", debian_arch=None, debian_multiarch=None, pypi_accepts=False,
             qemu_minimum=((8, 1), "LSX"), max_page=65536,
             openssl_target="linux64-loongarch64"),
    )
}
# fmt: on
#: the arches whose musl Debian (bookworm) ships as binary packages, so a real loader runs here
DEBIAN_MUSL_ARCHES: tuple[Arch, ...] = tuple(a for a in ARCHES.values() if a.debian_arch)

_BY_LDSO: dict[str, Arch] = {}
for _a in ARCHES.values():  # armhf: the first row of its ELF identity (armv7l)
    _BY_LDSO.setdefault(_a.ldso_arch, _a)


def get_arch(name: str) -> Arch:
    """The architecture named *name* in wheel tags; :class:`TargetError` if PEP 656 has none."""
    try:
        return ARCHES[name]
    except KeyError:
        known = ", ".join(ARCHES)
        raise TargetError(f"unknown architecture {name!r} (musllinux architectures: {known})") from None


def arch_of_elf(elf: ELFFile) -> Arch | None:
    """The musllinux architecture whose loader loads an ELF file, or None if it is none of them.

    ARM counts only with the EABI5 hard-float ABI, which is what musllinux armv7l and armv6l
    wheels are built for (a soft-float ARM binary has no PEP 656 architecture), and gives the
    ``armv7l`` row, the first of the two that share its identity: which CPU its code needs is
    :func:`cpu_arch_of_elf`'s question.
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


def same_machine(elf: ELFFile, arch: Arch) -> bool:
    """Whether *arch*'s musl loader loads *elf* (machine, class, byte order, ARM float ABI): an
    armv6l target's loader loads any ARM hard-float library, whatever CPU its code needs."""
    found = arch_of_elf(elf)
    return found is not None and _identity(found) == _identity(arch)


def _identity(arch: Arch) -> tuple[int, int, bool]:
    return (arch.machine, arch.elf_class, arch.little_endian)


def fits_cpu(elf: ELFFile, arch: Arch) -> bool | None:
    """Whether *arch*'s CPUs execute *elf*'s code, by its ``Tag_CPU_arch``: always for an arch
    not judged so; None when the file says nothing (no ``.ARM.attributes``)."""
    if arch.arm_cpu_arches is None:
        return True
    if elf.arm_cpu_arch is None:
        return None
    return elf.arm_cpu_arch in arch.arm_cpu_arches


def cpu_arch_of_elf(elf: ELFFile) -> Arch | None:
    """The narrowest architecture whose CPUs run *elf*: :func:`arch_of_elf`, or a row of the same
    identity whose :attr:`Arch.arm_cpu_arches` take its ``Tag_CPU_arch`` (an ARM hard-float file
    built for ARMv6 is ``armv6l``; one that does not say stays ``armv7l``)."""
    found = arch_of_elf(elf)
    if found is None:
        return None
    for other in ARCHES.values():
        if other is not found and _identity(other) == _identity(found) and fits_cpu(elf, other):
            return other
    return found


def code_runs_on(code: str, target: str) -> bool:
    """Whether code of arch *code* runs on a CPU of arch *target* (armv6l code on armv7l)."""
    return code == target or (target in ARCHES and code in ARCHES[target].also_runs)


def describe_arm_cpu(elf: ELFFile) -> str:
    """``Tag_CPU_arch v7``, or that the file does not say."""
    from .elf import ARM_CPU_ARCHES

    value = elf.arm_cpu_arch
    if value is None:
        return "no Tag_CPU_arch (.ARM.attributes)"
    name = ARM_CPU_ARCHES[value] if value < len(ARM_CPU_ARCHES) else str(value)
    return f"Tag_CPU_arch {name}"


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
