"""The build systems of the recipes, each set up once, here, from :data:`muslwheel.arch.ARCHES`.

Every system configures for the final prefix (``<cache>/libs/…``), builds with ``-j`` jobs and
installs into a staging directory (``DESTDIR``), so what it writes into ``.pc`` files and
``*-config`` scripts names the final prefix; :mod:`.store` moves the staged tree into place.
The compilers are zig's wrapper scripts (:func:`muslwheel.zig.write_wrappers`, the wheel flags
of its one flag policy and its host-path guard) against the kit's musl (``ZIG_LIBC``); the
dependencies' prefixes are the only place headers, libraries and ``.pc`` files are found.

- ``autotools``: ``./configure --host=<gnu_host> --build=<this host> --prefix=…``, shared and static;
- ``configure``: a hand-written ``configure`` that reads ``CHOST`` (zlib);
- ``cmake``: a toolchain file (:func:`muslwheel.zig.write_cmake_toolchain`), Ninja, Release,
  ``lib/`` as the library directory, shared libraries (recipes ask for the static ones too);
- ``meson``: a cross file (:func:`muslwheel.zig.write_meson_cross_file`), default library ``both``;
- ``make``: the project's own Makefile with ``CC``/``AR``/``RANLIB``/``PREFIX``/``DESTDIR``;
- ``openssl``: ``Configure <target>`` (the arch row's ``openssl_target``, its assembly where
  ``openssl_asm``), only libcrypto and libssl (``build_libs``, ``install_dev``), ``no-tests no-docs``;
- ``libpq``: PostgreSQL's ``configure``, then only the client library's directories.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..arch import Arch
from ..zig import Wrappers, write_cmake_toolchain, write_meson_cross_file, zig_cache_dir
from . import LibError, Prefix, Recipe

#: the C flags of every recipe build (the wheel flags come from the wrappers)
CFLAGS = "-O2 -g0"
#: the link flags of every recipe build: lld (zig's linker) refuses a version script naming a
#: symbol the library does not define, which GNU ld allows and zlib's and others' scripts do
LDFLAGS = "-Wl,--undefined-version"


@dataclass(frozen=True)
class Context:
    """One library's build: where everything is."""

    recipe: Recipe
    arch: Arch
    tools: Wrappers
    src: Path  #: the unpacked source (the recipe's ``subdir`` applied)
    work: Path  #: scratch space (build directories, cross files)
    prefix: Path  #: the final prefix (what ``.pc`` files name)
    stage: Path  #: ``DESTDIR``: the tree is installed at ``stage/<prefix>``
    deps: tuple[Prefix, ...]
    jobs: int
    log: Path

    @property
    def options(self) -> tuple[str, ...]:
        """The recipe's options for this arch."""
        return self.recipe.options_for(self.arch.name)

    def env(self) -> dict[str, str]:
        """The environment of every build command: the compilers, flags naming only the
        dependencies' prefixes, pkg-config reading only theirs."""
        inc = " ".join(f"-I{d.include_dir}" for d in self.deps)
        lib = " ".join(f"-L{d.lib_dir}" for d in self.deps)
        pc = ":".join(str(d.pkgconfig_dir) for d in self.deps)
        env = dict(os.environ)
        for key in ("CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "LIBS", "PKG_CONFIG_PATH", "PKG_CONFIG_SYSROOT_DIR"):
            env.pop(key, None)
        env.update(self.tools.make_vars())
        env.update(
            {
                "CFLAGS": CFLAGS,
                "CXXFLAGS": CFLAGS,
                "CPPFLAGS": inc,
                "LDFLAGS": f"{LDFLAGS} {lib}".strip(),
                "PKG_CONFIG_LIBDIR": pc,  # only the target's .pc files, never the host's
                "PKG_CONFIG_PATH": pc,
                "ZIG_GLOBAL_CACHE_DIR": str(zig_cache_dir()),
                "SOURCE_DATE_EPOCH": "315532800",
            }
        )
        return env

    def run(self, cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        """Run one build command, its output in the log; LibError with the log's tail on failure."""
        with open(self.log, "a") as f:
            f.write(f"\n$ {' '.join(cmd)}\n")
            f.flush()
            code = subprocess.run(
                cmd, cwd=cwd or self.src, env=env or self.env(), stdout=f, stderr=subprocess.STDOUT
            ).returncode
        if code != 0:
            from ..zig import host_leak

            text = self.log.read_text(errors="replace")
            leak = host_leak(text)
            if leak:
                raise LibError(f"{self.recipe.name} for {self.arch.name}: host path in the build: {leak}")
            tail = " | ".join(text.strip().splitlines()[-6:])
            raise LibError(f"{self.recipe.name} for {self.arch.name}: {cmd[0]} failed (exit {code}): {tail}")


def build_host() -> str:
    """The GNU triplet of this machine, as ``configure --build`` takes it."""
    return f"{platform.machine()}-pc-linux-gnu"


def _make(ctx: Context, *targets: str, cwd: Path | None = None, extra: tuple[str, ...] = ()) -> None:
    ctx.run(["make", f"-j{ctx.jobs}", *extra, *targets], cwd=cwd)


def _configure(ctx: Context) -> list[str]:
    """An autoconf ``configure``'s cross-build command line into the recipe's prefix."""
    return [
        "./configure",
        f"--host={ctx.arch.gnu_host}",
        f"--build={build_host()}",
        f"--prefix={ctx.prefix}",
        "--libdir=" + str(ctx.prefix / "lib"),
    ]


def _target_ld(ctx: Context) -> Path:
    """An ``ld`` for libtool, which asks ``$LD -m <emulation> --help`` whether shared libraries
    can be linked (``elf64_s390`` for s390x): the host's ld knows few emulations (not s390x's, so
    libtool built static libraries only there); zig's lld answers for every arch."""
    from ..zig import zig_executable

    ld = ctx.work / "bin" / "ld"
    ld.write_text(f'#!/bin/sh\nexec "{zig_executable()}" ld.lld "$@"\n')
    ld.chmod(0o755)
    return ld


def autotools(ctx: Context) -> None:
    ctx.run(
        [
            *_configure(ctx),
            "--enable-shared",
            "--enable-static",
            *ctx.options,
        ],
        env=dict(ctx.env(), LD=str(_target_ld(ctx))),
    )
    _make(ctx)
    ctx.run(["make", "install", f"DESTDIR={ctx.stage}"])


def configure(ctx: Context) -> None:
    env = dict(ctx.env(), CHOST=ctx.arch.gnu_host, CFLAGS=f"{CFLAGS} -fPIC")
    env["LDSHARED"] = f"{ctx.tools.cc} -shared -Wl,-soname,libz.so.1,--version-script,zlib.map {LDFLAGS}"
    ctx.run(["./configure", f"--prefix={ctx.prefix}", *ctx.options], env=env)
    ctx.run(["make", f"-j{ctx.jobs}"], env=env)
    ctx.run(["make", "install", f"DESTDIR={ctx.stage}"], env=env)


def cmake(ctx: Context) -> None:
    toolchain = write_cmake_toolchain(
        ctx.work / "toolchain.cmake",
        ctx.arch,
        ctx.tools,
        roots=[d.path for d in ctx.deps] or [ctx.work / "no-deps"],
        prefix_path=[d.path for d in ctx.deps],
        title=f"{ctx.recipe.name} {ctx.arch.name}",
    )
    # CMake's Linux rules link one of a project's shared libraries against another with
    # -Wl,-rpath-link, which zig's linker refuses (lld needs no such hint): loaded after them
    rules = ctx.work / "cmake-rules.cmake"
    rules.write_text(
        'set(CMAKE_SHARED_LIBRARY_RPATH_LINK_C_FLAG "")\nset(CMAKE_SHARED_LIBRARY_RPATH_LINK_CXX_FLAG "")\n'
        'set(CMAKE_EXECUTABLE_RPATH_LINK_C_FLAG "")\nset(CMAKE_EXECUTABLE_RPATH_LINK_CXX_FLAG "")\n'
    )
    build = ctx.work / "cmake-build"
    ctx.run(
        [
            "cmake",
            "-S",
            str(ctx.src),
            "-B",
            str(build),
            "-G",
            "Ninja",
            f"-DCMAKE_TOOLCHAIN_FILE={toolchain}",
            f"-DCMAKE_USER_MAKE_RULES_OVERRIDE={rules}",
            f"-DCMAKE_INSTALL_PREFIX={ctx.prefix}",
            "-DCMAKE_INSTALL_LIBDIR=lib",
            "-DCMAKE_BUILD_TYPE=Release",
            "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG",
            "-DCMAKE_POSITION_INDEPENDENT_CODE=ON",
            "-DBUILD_SHARED_LIBS=ON",
            "-DBUILD_TESTING=OFF",
            *ctx.options,
        ]
    )
    ctx.run(["cmake", "--build", str(build), "-j", str(ctx.jobs)])
    ctx.run(["cmake", "--install", str(build)], env=dict(ctx.env(), DESTDIR=str(ctx.stage)))


def meson(ctx: Context) -> None:
    cross = write_meson_cross_file(
        ctx.work / "cross.ini", ctx.arch, ctx.tools, pkg_config_path=[d.pkgconfig_dir for d in ctx.deps]
    )
    build = ctx.work / "meson-build"
    ctx.run(
        [
            "meson",
            "setup",
            str(build),
            str(ctx.src),
            f"--cross-file={cross}",
            f"--prefix={ctx.prefix}",
            "--libdir=lib",
            "--buildtype=release",
            "-Ddefault_library=both",
            *ctx.options,
        ]
    )
    ctx.run(["ninja", "-C", str(build), f"-j{ctx.jobs}"])
    ctx.run(["meson", "install", "-C", str(build), f"--destdir={ctx.stage}"])


def make(ctx: Context) -> None:
    """The project's Makefile: the recipe's options are make's, with ``{prefix}`` and
    ``{stage}`` filled in; ``install`` last."""
    env = ctx.env()
    opts = [o.format(prefix=ctx.prefix, stage=ctx.stage, jobs=ctx.jobs) for o in ctx.options]
    variables = [f"{k}={v}" for k, v in ctx.tools.make_vars().items()]
    ctx.run(["make", f"-j{ctx.jobs}", *variables, f"CFLAGS={CFLAGS} -fPIC", *opts], env=env)
    ctx.run(["make", *variables, f"CFLAGS={CFLAGS} -fPIC", *opts, "install"], env=env)


def openssl(ctx: Context) -> None:
    target = ctx.arch.openssl_target
    if not target:
        raise LibError(f"openssl: no Configure target known for {ctx.arch.name} (arch.ARCHES' openssl_target)")
    asm = [] if ctx.arch.openssl_asm else ["no-asm"]
    env = ctx.env()
    env.pop("CROSS_COMPILE", None)
    ctx.run(
        [
            "perl",
            "./Configure",
            target,
            f"--prefix={ctx.prefix}",
            "--libdir=lib",
            f"--openssldir={ctx.prefix}/ssl",
            "shared",
            "no-tests",
            "no-docs",
            *asm,
            *ctx.options,
            CFLAGS,
        ],
        env=env,
    )
    ctx.run(["make", f"-j{ctx.jobs}", "build_libs"], env=env)
    ctx.run(["make", "install_dev", f"DESTDIR={ctx.stage}"], env=env)


def libpq(ctx: Context) -> None:
    """PostgreSQL's ``configure``, then the client library only: its headers (client and
    server, as ``pg_config --includedir-server`` names), ``libpgcommon``/``libpgport`` (what a
    static ``libpq.a`` needs) and ``libpq`` with its ``.pc`` file. The backend's generated headers
    are made by perl; its grammar (the only thing bison and flex are for) is never built, so
    ``configure`` is given stand-ins that state a version and fail if ever run."""
    stand_ins = ctx.work / "no-grammar"
    stand_ins.mkdir(exist_ok=True)
    for tool, version in (("bison", "bison (GNU Bison) 3.8"), ("flex", "flex 2.6.4")):
        script = stand_ins / tool
        script.write_text(
            f'#!/bin/sh\n[ "$1" = --version ] && {{ echo "{version}"; exit 0; }}\n'
            f"echo 'muslwheel: the libpq build runs no {tool}' >&2; exit 1\n"
        )
        script.chmod(0o755)
    env = dict(ctx.env(), BISON=str(stand_ins / "bison"), FLEX=str(stand_ins / "flex"))
    # the backend's utils headers depend on its grammars' outputs (jsonpath_gram.h): stand-ins
    # newer than each grammar, which fail any compiler that includes them
    stub = "#error muslwheel's libpq build has no PostgreSQL grammar (client library only)\n"
    for grammar in sorted((ctx.src / "src" / "backend").rglob("*.[yl]")):
        for suffix in (".c", ".h") if grammar.suffix == ".y" else (".c",):
            out = grammar.with_suffix(suffix)
            if not out.exists():
                out.write_text(stub)
    ctx.run([*_configure(ctx), *ctx.options], env=env)
    headers = ("submake-catalog-headers", "submake-nodes-headers", "submake-utils-headers")
    ctx.run(["make", "-C", "src/backend", *headers, "../../src/include/storage/lwlocknames.h"], env=env)
    quiet = ("NO_GENERATED_HEADERS=yes",)
    for part in ("src/common", "src/port", "src/interfaces/libpq"):
        ctx.run(["make", f"-j{ctx.jobs}", "-C", part, *quiet], env=env)
    for part in ("src/include", "src/common", "src/port", "src/interfaces/libpq"):
        ctx.run(["make", "-C", part, *quiet, "install", f"DESTDIR={ctx.stage}"], env=env)


SYSTEMS: dict[str, Callable[[Context], None]] = {
    "autotools": autotools,
    "configure": configure,
    "cmake": cmake,
    "meson": meson,
    "make": make,
    "openssl": openssl,
    "libpq": libpq,
}
