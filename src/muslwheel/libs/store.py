"""Where target libraries live and how one is built: sources, prefix, lock, proof, facts.

``<cache>/libs/<name>-<version line>-<arch>-musl<musl>/`` (:func:`prefix_dir`) holds one
library; it is current when its facts file carries the recipe's hash (:func:`recipe_hash`: the
recipe's data, its dependencies' hashes and :data:`ROOM`). ``<cache>/libs/times.json`` keeps what
each recipe took last, the progress estimate of the next build. The source's Debian version is
remembered in ``<downloads>/libs/<source>-<line>.json`` beside the verified tarball, so
``offline`` finds both without asking the archive.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..arch import Arch, get_arch
from ..cache import cache_dir, downloads_dir, locked, staged
from ..progress import Progress, Steps
from ..progress import quiet as drop
from ..versions import MuslVersion, MuslWanted
from ..zig import wheel_flags, write_wrappers
from . import FACTS, LibError, Prefix, Recipe, closure, read_prefix

if TYPE_CHECKING:
    from . import MuslKit
    from .systems import Context

#: beside the facts file: how long the cold build took, and the machine's load at its end
BUILD_TIME = "muslwheel-lib-build.json"
#: bumped when the room's own code changes what every recipe builds
ROOM = 1
#: rough cold seconds per recipe (a busy 2-core machine), until this cache has measured its own
LIB_ESTIMATE = {"openssl": 1500, "libxml2": 150, "sqlite3": 150, "libjpeg-turbo": 120}
DEFAULT_ESTIMATE = 60


def libs_dir() -> Path:
    return cache_dir() / "libs"


def prefix_dir(recipe: Recipe, arch: Arch, musl: MuslVersion) -> Path:
    return libs_dir() / f"{_prefix_stem(recipe, arch)}{musl}"


def _prefix_stem(recipe: Recipe, arch: Arch) -> str:
    """A prefix's name up to its musl release (``zlib-1.3-x86_64-musl``)."""
    return f"{recipe.name}-{recipe.version_prefix}-{arch.name}-musl"


def recipe_hash(recipe: Recipe, arch: str) -> str:
    """The hash a prefix for *arch* carries: the recipe (with its options for *arch*), its
    dependencies' hashes, the room's version."""
    from . import get_recipe

    deps = [recipe_hash(get_recipe(d), arch) for d in recipe.depends]
    data = {"room": ROOM, "recipe": recipe.identity(arch), "deps": deps}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def current_prefix(recipe: Recipe, arch: Arch, musl: MuslVersion) -> Prefix | None:
    """The prefix of *recipe* for (*arch*, *musl*) when it is built and of the recipe's hash."""
    found = read_prefix(prefix_dir(recipe, arch, musl))
    return found if found is not None and found.facts.get("recipe") == recipe_hash(recipe, arch.name) else None


# --- sources -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    tarball: Path
    debian_version: str


def _source_record(recipe: Recipe) -> Path:
    return downloads_dir() / "libs" / f"{recipe.debian_source}-{recipe.version_prefix}.json"


def source(recipe: Recipe, *, offline: bool = False) -> Source:
    """The recipe's upstream tarball (Debian's, verified) and Debian version; *offline*: only
    what the download cache holds. LibError (one line) when there is none."""
    record = _source_record(recipe)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(record.read_text())
        found = Source(Path(data["orig"]), str(data["version"]))
        if found.tarball.is_file() and (offline or time.time() - record.stat().st_mtime < 24 * 3600):
            return found
    if offline:
        raise LibError(
            f"{recipe.name}: --offline, and the download cache has no Debian source {recipe.debian_source} "
            f"{recipe.version_prefix} (build it once online)"
        )
    from ..debian import SourceError, debian_source

    try:
        got = debian_source(recipe.debian_source, version_prefix=recipe.version_prefix)
    except SourceError as e:
        raise LibError(f"{recipe.name}: {e}") from None
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"orig": str(got.orig), "version": got.version}) + "\n")
    return Source(got.orig, got.version)


def upstream_of(debian_version: str) -> str:
    """The upstream version in a Debian version: ``1:1.3.dfsg+really1.3.2-1`` -> ``1.3.2``,
    ``2.15.4+dfsg-1`` -> ``2.15.4``, ``1.14.6+repack-2`` -> ``1.14.6``."""
    from ..debian import upstream_version

    v = upstream_version(debian_version)
    if "really" in v:
        v = v.rsplit("really", 1)[1]
    for sep in ("+dfsg", ".dfsg", "+ds", "+repack", "~"):
        v = v.split(sep, 1)[0]
    return v


# --- building ------------------------------------------------------------------------------------


def _times() -> Path:
    return libs_dir() / "times.json"


def _measured() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(_times().read_text()).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def _record(kind: str, took: float) -> None:
    with contextlib.suppress(OSError):
        path = _times()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"times.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**_measured(), kind: round(took, 1)}, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)


def check_buildable(names: Sequence[str], arch: str | Arch) -> list[Recipe]:
    """The recipes *names* need, in build order; LibError (one line) for an unknown name or an
    arch a recipe refuses, before anything is downloaded or built."""
    a = arch if isinstance(arch, Arch) else get_arch(arch)
    order = closure(names)
    for r in order:
        why = r.refusal(a.name)
        if why:
            raise LibError(f"{r.name} is not built for {a.name}: {why}")
    return order


def check_offline(names: Sequence[str], arch: str | Arch, musl: MuslWanted | None = None) -> None:
    """For ``--offline``, before any kit is made: LibError (one line) naming the first library
    *names* need whose source the download cache lacks and that has no current prefix for
    *arch* (at *musl*, or any musl when it is not given exactly)."""
    a = arch if isinstance(arch, Arch) else get_arch(arch)
    for r in check_buildable(names, a):
        release = musl.release if musl is not None else None
        if release is not None:
            built = current_prefix(r, a, release) is not None
        else:
            stem = _prefix_stem(r, a)
            releases = [_release(p.name[len(stem) :]) for p in libs_dir().glob(f"{stem}*")]
            built = any(current_prefix(r, a, m) is not None for m in releases if m is not None)
        if not built:
            source(r, offline=True)


def _release(text: str) -> MuslVersion | None:
    """The musl release a prefix's name ends in, None for another name."""
    try:
        return MuslVersion.parse(text)
    except ValueError:
        return None


def build_library(
    name: str,
    kit: MuslKit,
    *,
    offline: bool = False,
    jobs: int = 2,
    progress: Progress = drop,
) -> Prefix:
    """The prefix of library *name* for *kit*'s arch and musl, built (with its dependencies)
    unless current. *kit*: the loader-only musl kit (its musl headers and startup files are what
    the library compiles against, its loader what the proof runs with), the caller's to choose
    (:func:`muslwheel.kits.ondemand.musl_kit_for` makes the one the kit choice names)."""
    return build_many([name], kit, offline=offline, jobs=jobs, progress=progress)[-1]


def build_many(
    names: Sequence[str],
    kit: MuslKit,
    *,
    offline: bool = False,
    jobs: int = 2,
    progress: Progress = drop,
) -> list[Prefix]:
    """The prefixes of *names* and their dependencies (dependencies first; the last is the last
    name's); see :func:`build_library`. Every source is had before anything is built."""
    a = kit.arch_info
    order = check_buildable(names, a)
    release = kit.musl
    todo = [r for r in order if current_prefix(r, a, release) is None]
    sources = {r.name: source(r, offline=offline) for r in todo}
    measured = {**LIB_ESTIMATE, **_measured()}
    estimates = {r.name: measured.get(r.name, DEFAULT_ESTIMATE) for r in order}
    steps = Steps(progress, [r.name for r in todo], estimates, _record)
    done: dict[str, Prefix] = {}
    for r in order:
        deps = tuple(done[d] for d in _all_deps(r))
        found = current_prefix(r, a, release)
        if found is None:
            with locked(libs_dir() / ".locks" / prefix_dir(r, a, release).name):
                found = current_prefix(r, a, release)
                if found is None:
                    src = sources[r.name]
                    what = f"{r.name} {upstream_of(src.debian_version)} for {a.name} musl {release}"
                    with steps.step(r.name, what):
                        found = _build_one(r, a, release, kit, src, deps, jobs)
        done[r.name] = found
    wanted = {r.name for r in order}
    return [done[n] for n in done if n in wanted]


def _all_deps(recipe: Recipe) -> list[str]:
    return [r.name for r in closure(recipe.depends)]


def _build_one(
    recipe: Recipe, arch: Arch, musl: MuslVersion, kit: MuslKit, src: Source, deps: tuple[Prefix, ...], jobs: int
) -> Prefix:
    from .systems import SYSTEMS, Context

    final = prefix_dir(recipe, arch, musl)
    began = time.monotonic()
    keep = os.environ.get("MUSLWHEEL_LIB_KEEP") == "1"
    work = Path(tempfile.mkdtemp(prefix=f"muslwheel-lib-{recipe.name}-"))
    try:
        with staged(final) as tmp:
            tree = work / "src"
            tree.mkdir()
            _untar(src.tarball, tree)
            if recipe.prepare is not None:
                recipe.prepare(tree)
            libc_file = kit.zig_libc_file()
            tools = write_wrappers(work / "bin", arch, libc_file=libc_file, flags=wheel_flags(work), guard=True)
            stage = work / "stage"
            ctx = Context(recipe, arch, tools, tree / recipe.subdir, work, final, stage, deps, jobs, work / "build.log")
            ctx.log.touch()
            SYSTEMS[recipe.system](ctx)
            installed = stage / final.relative_to("/")
            if not installed.is_dir():
                raise LibError(f"{recipe.name} for {arch.name}: the build installed nothing under {final}")
            shutil.move(str(installed), str(tmp))
            _tidy(tmp, final, stage)
            libraries = _check_installed(recipe, arch, tmp)
            _prove(ctx, tmp, kit)
            facts = {
                "schema": 1,
                "name": recipe.name,
                "version": upstream_of(src.debian_version),
                "debian_source": recipe.debian_source,
                "debian_version": src.debian_version,
                "arch": arch.name,
                "musl": str(musl),
                "recipe": recipe_hash(recipe, arch.name),
                "depends": list(recipe.depends),
                "libraries": libraries,
            }
            (tmp / FACTS).write_text(json.dumps(facts, indent=1) + "\n")
            took = {"seconds": round(time.monotonic() - began, 1), "load": round(os.getloadavg()[0], 2)}
            (tmp / BUILD_TIME).write_text(json.dumps(took) + "\n")
    except LibError:
        if keep:
            print(f"muslwheel: {recipe.name}: build tree kept in {work}")
        raise
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    found = read_prefix(final)
    assert found is not None
    return found


def _untar(tarball: Path, dest: Path) -> None:
    proc = subprocess.run(
        ["tar", "-xf", str(tarball), "-C", str(dest), "--strip-components=1", "--no-same-owner"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise LibError(f"{tarball.name}: cannot unpack: {proc.stderr.strip()[:200]}")


def _tidy(tree: Path, final: Path, stage: Path) -> None:
    """What a prefix keeps: no libtool ``.la`` files (their absolute dependency lists mislead
    consumers), no manuals; any staging path left in a text file (``.pc``, ``*-config``,
    CMake's package files) is the final prefix."""
    for sub in ("share/man", "share/doc", "share/info", "share/gtk-doc"):
        shutil.rmtree(tree / sub, ignore_errors=True)
    staged_prefix = str(stage / final.relative_to("/"))
    for f in tree.rglob("*"):
        if f.is_symlink() or not f.is_file():
            continue
        if f.suffix == ".la":
            f.unlink()
            continue
        if f.suffix in (".pc", ".cmake") or f.parent.name == "bin":
            try:
                text = f.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            if staged_prefix in text:
                f.write_text(text.replace(staged_prefix, str(final)))


def _check_installed(recipe: Recipe, arch: Arch, tree: Path) -> list[str]:
    """The recipe's libraries and headers are there, built for *arch*; the SONAME paths of
    the shared libraries (relative to the prefix), for the facts file."""
    from ..elf import read_elf

    missing = [f"include/{h}" for h in recipe.headers if not (tree / "include" / h).exists()]
    missing += [f"lib/{lib}" for lib in recipe.libraries if not (tree / "lib" / lib).exists()]
    if missing:
        raise LibError(f"{recipe.name} for {arch.name}: the build did not install {', '.join(missing)}")
    sonames: list[str] = []
    for lib in recipe.libraries:
        elf = read_elf((tree / "lib" / lib).resolve())
        if (elf.machine, elf.elf_class) != (arch.machine, arch.elf_class):
            raise LibError(f"{recipe.name}: lib/{lib} is not a {arch.name} library")
        soname = elf.soname or lib
        if not (tree / "lib" / soname).exists():
            raise LibError(f"{recipe.name} for {arch.name}: lib/{soname} (the SONAME of lib/{lib}) is missing")
        sonames.append(f"lib/{soname}")
    return sonames


def _prove(ctx: Context, tree: Path, kit: MuslKit) -> None:
    """Compile the recipe's proof against *tree* and its dependencies, run it under the target
    with the kit's loader, and find the expected line in what it prints."""
    recipe = ctx.recipe
    program = ctx.work / "proof"
    source = ctx.work / "proof.c"
    source.write_text(recipe.proof)
    dirs = [tree, *(d.path for d in ctx.deps)]
    flags = [f"-I{d / 'include'}" for d in dirs] + [f"-L{d / 'lib'}" for d in dirs]
    places = {"prefix": str(tree), **{d.name: str(d.path) for d in ctx.deps}}
    own = [f.format(**places) for f in recipe.proof_libs]
    ctx.run([str(ctx.tools.cc), "-O1", str(source), "-o", str(program), *flags, *own], cwd=ctx.work)
    command = [*kit.loader_command(), str(program)]
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(str(d / "lib") for d in dirs))
    try:
        proc = subprocess.run(command, capture_output=True, text=True, errors="replace", env=env, timeout=300)
    except subprocess.TimeoutExpired:
        raise LibError(f"{recipe.name} for {ctx.arch.name}: its proof did not finish in 300s") from None
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or recipe.proof_expect not in out:
        said = " | ".join(out.strip().splitlines()[-3:]) or "nothing"
        raise LibError(
            f"{recipe.name} for {ctx.arch.name}: its proof failed (exit {proc.returncode}; "
            f"wanted {recipe.proof_expect!r}, it said: {said})"
        )
