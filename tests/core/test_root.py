"""MuslRoot: a target root's paths are the root's, its symlinks followed inside it (chroot semantics).

The mapping is tested on roots of links built here; then two musl roots whose library is reached
only through an absolute symlink (a file link, and a path-file directory that is a link) go
through find-library, detect, repair and check (musl's real loader). Every in-root target of
those links is a path this host does not have, so an answer that followed a link out of the root
finds nothing, and each answer is asserted to lie inside the root.
"""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from pathlib import Path

import pytest
from conftest import Toolchain, checkout_env, loader_for, muslwheel_cmd, run, run_ok, runner_for, write_c
from wheelmaker import make_wheel

from muslwheel.arch import ARCHES
from muslwheel.errors import DetectError
from muslwheel.libc import musl_version_from_loader_bytes
from muslwheel.repair import repair_wheel
from muslwheel.root import DEFAULT_DIRS, MuslRoot, SearchDir
from muslwheel.versions import CPython

X86 = ARCHES["x86_64"]


def _inside(path: Path | str, root: Path) -> bool:
    return Path(path).is_relative_to(root)


def _link(root: Path, at: str, target: str) -> None:
    link = root / at.lstrip("/")
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def _file(root: Path, at: str, data: bytes = b"x") -> Path:
    path = root / at.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- (a) the mapping ------------------------------------------------------------------------------


def test_an_absolute_symlink_is_followed_inside_the_root(tmp_path: Path) -> None:
    unique = f"/muslwheel-nowhere-{uuid.uuid4().hex}"
    assert not Path(unique).exists()
    real = _file(tmp_path, f"{unique}/libfoo.so.1")
    _link(tmp_path, "/usr/lib/libfoo.so.1", f"{unique}/libfoo.so.1")
    assert MuslRoot.of(X86, tmp_path).host_path("/usr/lib/libfoo.so.1") == real


def test_a_relative_symlink_is_followed_from_its_own_directory(tmp_path: Path) -> None:
    real = _file(tmp_path, "/usr/lib/libz.so.1.3")
    _link(tmp_path, "/usr/lib/libz.so.1", "libz.so.1.3")
    _link(tmp_path, "/lib/libz.so.1", "../usr/lib/libz.so.1")  # a link to a link
    target = MuslRoot.of(X86, tmp_path)
    assert target.host_path("/usr/lib/libz.so.1") == real
    assert target.host_path("/lib/libz.so.1") == real


def test_dotdot_stops_at_the_root(tmp_path: Path) -> None:
    conf = _file(tmp_path, "/etc/ld-musl-x86_64.path", b"/opt/lib\n")
    _link(tmp_path, "/usr/lib/up", "../../../../../../etc")  # more .. than the root is deep
    target = MuslRoot.of(X86, tmp_path)
    assert target.host_path("/../../../etc/ld-musl-x86_64.path") == conf
    assert target.host_path("/usr/lib/up/ld-musl-x86_64.path") == conf
    assert target.path_file_dirs == ("/opt/lib",)


def test_a_symlinked_directory_in_the_middle_of_a_path(tmp_path: Path) -> None:
    unique = f"/muslwheel-nowhere-{uuid.uuid4().hex}"
    real = _file(tmp_path, f"{unique}/lib/libbar.so.1")
    _link(tmp_path, "/usr/lib/bar", f"{unique}/lib")  # absolute
    _link(tmp_path, "/opt", "usr/lib")  # relative, at the top
    target = MuslRoot.of(X86, tmp_path)
    assert target.host_path("/usr/lib/bar/libbar.so.1") == real
    assert target.host_path("/opt/bar/libbar.so.1") == real
    assert target.host_path("/opt/bar/../lib/libbar.so.1") == real  # .. of where bar leads, as the kernel


@pytest.mark.parametrize("links", [{"/a": "/a"}, {"/a": "b", "/b": "/a"}, {"/usr/lib/x": "../lib/x"}])
def test_a_symlink_loop_is_an_error_never_a_host_path(tmp_path: Path, links: dict[str, str]) -> None:
    for at, target in links.items():
        _link(tmp_path, at, target)
    first = next(iter(links))
    with pytest.raises(DetectError, match="too many levels of symbolic links"):
        MuslRoot.of(X86, tmp_path).host_path(first + "/libc.so")


def test_the_path_file_and_musls_default(tmp_path: Path) -> None:
    target = MuslRoot.of(X86, tmp_path)
    assert target.path_file_dirs is None and target.system_dirs == DEFAULT_DIRS
    assert target.system_dirs_on_host() == [tmp_path / "lib", tmp_path / "usr/local/lib", tmp_path / "usr/lib"]
    # the path file itself reached through an absolute link to a file elsewhere in the root
    _file(tmp_path, "/conf/musl.path", b"/opt/a:/opt/b\n\n/usr/lib\n")
    _link(tmp_path, "/etc/ld-musl-x86_64.path", "/conf/musl.path")
    target = MuslRoot.of(X86, tmp_path)
    assert target.system_dirs == ("/opt/a", "/opt/b", "/usr/lib")
    host = SearchDir("/h", on_host=True)
    order = MuslRoot.of(X86, tmp_path, ld_library_path=["/l"]).search_path([host])
    assert order == [SearchDir("/l", True), host, SearchDir("/opt/a"), SearchDir("/opt/b"), SearchDir("/usr/lib")]
    assert MuslRoot.of(X86, tmp_path, ldpaths=["/p"]).search_path() == [SearchDir("/p", True)]


def test_a_host_directory_inside_the_root_is_the_roots(tmp_path: Path) -> None:
    """``--ldpaths`` names directories of this host; one inside the root (what ``build`` passes
    for a kit's library directories) is searched as the root's, never followed out of it."""
    unique = f"/muslwheel-nowhere-{uuid.uuid4().hex}"
    real = _file(tmp_path, f"{unique}/libfoo.so.1")
    _link(tmp_path, "/usr/lib/libfoo.so.1", f"{unique}/libfoo.so.1")
    target = MuslRoot.of(X86, tmp_path, ldpaths=[str(tmp_path / "usr/lib")])
    hit, looked = target.find("libfoo.so.1", lambda _: True)
    assert looked == [SearchDir(str(tmp_path / "usr/lib"), True)]
    assert hit is not None and hit.host == real and hit.path == str(tmp_path / "usr/lib/libfoo.so.1")
    assert target.host_dir(looked[0]) == tmp_path / "usr/lib"
    # a directory outside the root is this host's, taken as it is
    outside = MuslRoot.of(X86, tmp_path / "usr", ldpaths=[str(tmp_path / "lib")])
    assert outside.host_file(SearchDir(str(tmp_path / "lib"), True), "x") == tmp_path / "lib/x"


def test_build_points_the_target_sysconfig_inside_the_root(tmp_path: Path) -> None:
    """``build`` rewrites the target CPython's ``_sysconfigdata`` directories to this host's
    paths: through the root's own links, so a kit whose ``/usr/lib`` is an absolute link names
    the root's directory, not the host's."""
    from muslwheel.builder.target import Target
    from muslwheel.builder.toolchain import read_build_time_vars, write_sysconfigdata

    unique = f"/muslwheel-nowhere-{uuid.uuid4().hex}"
    root = tmp_path / "root"
    _link(root, "/usr/lib", unique)
    name = "_sysconfigdata__linux_x86_64-linux-musl.py"
    values = {"EXT_SUFFIX": ".cpython-311-x86_64-linux-musl.so", "LIBDIR": "/usr/lib", "LIBDEST": "/usr/lib/python3.11"}
    sysconfig = _file(root, f"{unique}/python3.11/{name}", f"build_time_vars = {values!r}\n".encode())
    target = Target("t", X86, CPython(11), None, root, sysconfig, root / "usr/include/python3.11", Path("/p"), "z")
    tool = tmp_path / "cc"
    write_sysconfigdata(target, tmp_path / "out", tool, tool, tool)
    rewritten = read_build_time_vars(tmp_path / "out" / name)
    assert rewritten["LIBDIR"] == str(root / unique.lstrip("/"))
    assert rewritten["LIBDEST"] == str(root / unique.lstrip("/") / "python3.11")


# --- (b) musl roots reached through absolute symlinks ----------------------------------------------

FOO_C = 'const char foo_marker[] = "{marker}";\nint foo(int x) {{ return x + 7; }}\n'
USE_C = "int foo(int);\nint use(int x) { return foo(x); }\n"


def _musl_root(toolchain: Toolchain, tmp: Path, shape: str) -> tuple[Path, str, Path, Path]:
    """A musl x86_64 root whose loader and libfoo.so.1 are reached only through absolute
    symlinks into a directory this host does not have. *shape* ``file``: ``/usr/lib/libfoo.so.1
    -> /U/foo/libfoo.so.1`` (musl's default directories); ``dir``: the path file names
    ``/usr/local/foo``, a link to ``/U/foo``, and ``/lib`` is a link to ``/usr/lib``. Returns the root, the directory the target
    searches, the root's real libfoo.so.1 and a wheel that needs it."""
    unique = f"/muslwheel-nowhere-{uuid.uuid4().hex}"
    assert not Path(unique).exists()
    root = tmp / f"root-{shape}"
    real_loader = Path(os.path.realpath(loader_for("x86_64")))
    _file(root, f"{unique}/musl/libc.so", real_loader.read_bytes()).chmod(0o755)
    if shape == "file":
        _link(root, "/lib/ld-musl-x86_64.so.1", f"{unique}/musl/libc.so")
    else:  # merged /usr: /lib is a link to /usr/lib, an absolute one
        _link(root, "/usr/lib/ld-musl-x86_64.so.1", f"{unique}/musl/libc.so")
        _link(root, "/lib", "/usr/lib")
    libfoo = toolchain.build(
        "x86_64",
        tmp / "libfoo.so.1",
        [write_c(tmp / "foo.c", FOO_C.format(marker=f"in-root {unique}"))],
        shared=True,
    )
    real = _file(root, f"{unique}/foo/libfoo.so.1", libfoo.read_bytes())
    if shape == "file":
        _link(root, "/usr/lib/libfoo.so.1", f"{unique}/foo/libfoo.so.1")
        searched = "/usr/lib"
    else:
        _file(root, "/etc/ld-musl-x86_64.path", b"/lib\n/usr/local/foo\n")
        _link(root, "/usr/local/foo", f"{unique}/foo")
        searched = "/usr/local/foo"
    use = toolchain.build(
        "x86_64", tmp / "libuse.so", [write_c(tmp / "use.c", USE_C)], shared=True, args=[f"-L{tmp}", "-l:libfoo.so.1"]
    )
    libfoo.unlink()  # nothing of it outside the root
    dist = tmp / "dist"
    dist.mkdir()
    wheel = make_wheel(dist, "use", "1.0", "py3-none-linux_x86_64", {"use/libuse.so": use.read_bytes()})
    return root, searched, real, wheel


@pytest.mark.parametrize("shape", ["file", "dir"])
def test_find_library_answers_the_roots_file(toolchain: Toolchain, tmp_path: Path, shape: str) -> None:
    root, searched, real, _ = _musl_root(toolchain, tmp_path, shape)
    out = run_ok(
        [*muslwheel_cmd(), "find-library", "--json", "foo", "--root", root, "--arch", "x86_64"], env=checkout_env()
    )
    found = json.loads(out.stdout)
    assert found["path"] == f"{searched}/libfoo.so.1" and found["soname"] == "libfoo.so.1"
    assert found["host_path"] == str(real) and _inside(found["host_path"], root)
    c = json.loads(run_ok([*muslwheel_cmd(), "find-library", "--json", "c", "--root", root], env=checkout_env()).stdout)
    assert c["path"] == "/lib/ld-musl-x86_64.so.1" and _inside(c["host_path"], root)
    assert Path(c["host_path"]).is_file()


@pytest.mark.parametrize("shape", ["file", "dir"])
def test_detect_reads_the_roots_loader(toolchain: Toolchain, tmp_path: Path, shape: str) -> None:
    root, _, _, _ = _musl_root(toolchain, tmp_path, shape)
    found = json.loads(run_ok([*muslwheel_cmd(), "detect", "--json", "--root", root], env=checkout_env()).stdout)
    version = musl_version_from_loader_bytes(Path(os.path.realpath(loader_for("x86_64"))).read_bytes())
    assert version is not None
    assert (found["libc"], found["arch"], found["loader"]) == ("musl", "x86_64", "/lib/ld-musl-x86_64.so.1")
    assert found["musl_version"] == str(version[1])
    assert MuslRoot.of(X86, root).musl == version[1]


@pytest.mark.parametrize("shape", ["file", "dir"])
def test_repair_grafts_the_roots_file(toolchain: Toolchain, tmp_path: Path, shape: str) -> None:
    root, _, real, wheel = _musl_root(toolchain, tmp_path, shape)
    out = tmp_path / "out"
    out.mkdir()
    result = repair_wheel(wheel, out, root=root)
    (graft,) = result.grafted
    assert graft.needed == "libfoo.so.1" and graft.data == real.read_bytes()
    assert _inside(graft.source, root) and Path(graft.source).resolve() == real.resolve()
    # as `build` asks for a kit: the root's directories given as --ldpaths, paths of this host
    ldpaths = [str(d) for d in MuslRoot.of(X86, root).system_dirs_on_host()]
    (tmp_path / "out-ldpaths").mkdir()
    (built,) = repair_wheel(wheel, tmp_path / "out-ldpaths", root=root, ldpaths=ldpaths).grafted
    assert built.data == real.read_bytes() and Path(built.source).resolve() == real.resolve()
    # the CLI the same, and the wheel it writes carries the root's library
    cli_out = tmp_path / "cli-out"
    repaired = json.loads(
        run_ok([*muslwheel_cmd(), "repair", "--json", "-w", cli_out, "--root", root, wheel], env=checkout_env()).stdout
    )
    (g,) = repaired["grafted"]
    assert g["source"] == str(graft.source)
    with zipfile.ZipFile(repaired["output"]) as z:
        vendored = z.read(g["path"])
    marker = next(line for line in real.read_bytes().split(b"\0") if line.startswith(b"in-root "))
    assert marker in vendored
    # without the root, the library is nowhere
    missing = run(
        [*muslwheel_cmd(), "repair", "-w", tmp_path / "none", "--ldpaths", tmp_path / "x", wheel], env=checkout_env()
    )
    assert missing.returncode != 0 and "libfoo.so.1" in missing.stderr


@pytest.mark.parametrize("shape", ["file", "dir"])
def test_check_loads_the_roots_file_with_musls_loader(toolchain: Toolchain, tmp_path: Path, shape: str) -> None:
    root, searched, real, wheel = _musl_root(toolchain, tmp_path, shape)
    checked = json.loads(
        run_ok([*muslwheel_cmd(), "check", "--json", "--root", root, wheel], env=checkout_env()).stdout
    )
    assert checked["loads"] and checked["method"] == "loader", checked
    assert _inside(checked["loader"], root) and checked["loader"] == str(
        (real.parent.parent / "musl/libc.so").resolve()
    )
    assert all(_inside(d, root) for d in checked["library_dirs"])
    assert str(MuslRoot.of(X86, root).host_path(searched)) in checked["library_dirs"]
    # the root without its library: the same check fails, so the pass above is the root's file
    real.unlink()
    failed = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", root, wheel], env=checkout_env()).stdout)
    assert not failed["loads"]
    assert ("missing-library", "libfoo.so.1") in [(p["kind"], p["subject"]) for p in failed["problems"]]


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])  # run natively, and under qemu-user
def test_a_root_whose_loader_is_not_executable(toolchain: Toolchain, tmp_path: Path, arch: str) -> None:
    """check runs the root's loader: one that may not be executed is one line and exit 2 (natively
    the exec failed with a traceback; qemu-user exits 1 saying nothing, which read as "loads").
    detect and find-library execute nothing, so they still answer from its bytes."""
    info = ARCHES[arch]
    runner_for(arch)
    root = tmp_path / "root"
    loader = _file(root, f"/lib/{info.loader_name}", Path(os.path.realpath(loader_for(arch))).read_bytes())
    loader.chmod(0o644)
    lib = toolchain.build(
        arch, tmp_path / "libuse.so", [write_c(tmp_path / "use.c", "int use(int x) { return x; }\n")], shared=True
    )
    wheel = make_wheel(tmp_path, "use", "1.0", f"py3-none-linux_{arch}", {"use/libuse.so": lib.read_bytes()})
    proc = run([*muslwheel_cmd(), "check", "--json", "--root", root, wheel], env=checkout_env())
    assert proc.returncode == 2 and proc.stdout == ""
    assert (
        proc.stderr
        == f"muslwheel: error: {loader}: the target's musl loader is not executable (chmod +x to check with it)\n"
    )
    if arch != "x86_64":
        return  # what follows runs nothing: once is enough
    found = json.loads(run_ok([*muslwheel_cmd(), "detect", "--json", "--root", root], env=checkout_env()).stdout)
    assert (found["arch"], found["loader"]) == (arch, f"/lib/{info.loader_name}") and found["musl_version"]
    c = run_ok([*muslwheel_cmd(), "find-library", "c", "--root", root], env=checkout_env())
    assert c.stdout == f"/lib/{info.loader_name}\n"


@pytest.mark.parametrize(
    ("runner", "said"),
    [("exit 1", "exit status 1"), ("kill -SEGV $$", "killed by SIGSEGV")],
    ids=["silent-exit", "signal"],
)
def test_a_loader_run_that_fails_without_musls_words_is_not_loads(
    toolchain: Toolchain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: str, said: str
) -> None:
    """qemu-user (the runner of every foreign arch) can fail before musl's loader says anything:
    it exits 1 silently on a file it may not execute, and dies of a signal when it crashes. check
    then knows nothing about the wheel and must not say "loads" (it did: only musl's own "Error …"
    lines made a problem). The runner here is a host shell standing in for such a qemu."""
    import muslwheel.check as check

    loader_for("x86_64")
    lib = toolchain.build(
        "x86_64", tmp_path / "libuse.so", [write_c(tmp_path / "use.c", "int use(int x) { return x; }\n")], shared=True
    )
    wheel = make_wheel(tmp_path, "use", "1.0", "py3-none-linux_x86_64", {"use/libuse.so": lib.read_bytes()})
    assert check.check_wheel(wheel).loads  # the real loader: it loads
    from muslwheel.qemu import Runner

    monkeypatch.setattr(check, "qemu_runner", lambda arch: Runner(("/bin/sh", "-c", runner, "qemu")))
    result = check.check_wheel(wheel)
    assert not result.loads
    assert [(p.file, p.kind, p.subject) for p in result.problems] == [("use/libuse.so", "loader-failed", said)]


# --- (c) the root's loader sees the root as / (sandbox.root_view) ---------------------------------

DEP_C = "int dep(int x) { return x * 3; }\n"
VND_C = "int vnd(int x) { return x - 2; }\n"
MID_C = "int vnd(int);\nint mid(int x) { return vnd(x) + 1; }\n"
TOP_C = "int mid(int);\nint dep(int);\nint top(int x) { return mid(x) + dep(x); }\n"


def _vendor_root(toolchain: Toolchain, tmp: Path, arch: str) -> tuple[Path, Path, Path, Path]:
    """A musl root of *arch* (Debian's loader at /lib) whose ``/usr/lib/libdep.so.1`` is an absolute
    link to ``/opt/vendor/libdep.so.1``, and whose ``/usr/lib/libmid.so.1`` needs libvnd.so.1 from
    ``/opt/vendor`` by an absolute RUNPATH (as a vendor's library is often linked): this host has
    no ``/opt/vendor``, so neither is reached on its paths. Returns the root, its real
    libdep.so.1 and libvnd.so.1, and a wheel whose library needs libmid.so.1 and libdep.so.1."""
    assert not Path("/opt/vendor").exists()
    info = ARCHES[arch]
    root = tmp / f"root-{arch}"
    _file(root, f"/lib/{info.loader_name}", Path(os.path.realpath(loader_for(arch))).read_bytes()).chmod(0o755)
    build = tmp / "build"
    build.mkdir()
    dep = toolchain.build(arch, build / "libdep.so.1", [write_c(build / "dep.c", DEP_C)], shared=True)
    vnd = toolchain.build(arch, build / "libvnd.so.1", [write_c(build / "vnd.c", VND_C)], shared=True)
    mid = toolchain.build(
        arch,
        build / "libmid.so.1",
        [write_c(build / "mid.c", MID_C)],
        shared=True,
        args=[str(vnd), "-Wl,-rpath,/opt/vendor"],
    )
    top = toolchain.build(
        arch, build / "libtop.so", [write_c(build / "top.c", TOP_C)], shared=True, args=[str(mid), str(dep)]
    )
    real_dep = _file(root, "/opt/vendor/libdep.so.1", dep.read_bytes())
    real_vnd = _file(root, "/opt/vendor/libvnd.so.1", vnd.read_bytes())
    _link(root, "/usr/lib/libdep.so.1", "/opt/vendor/libdep.so.1")
    _file(root, "/usr/lib/libmid.so.1", mid.read_bytes())
    dist = tmp / "dist"
    dist.mkdir()
    wheel = make_wheel(dist, "top", "1.0", f"py3-none-linux_{arch}", {"top/libtop.so": top.read_bytes()})
    return root, real_dep, real_vnd, wheel


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])  # natively, and under qemu-user
def test_check_sees_the_roots_links_as_the_root_does(toolchain: Toolchain, tmp_path: Path, arch: str) -> None:
    """find-library and repair --root follow a root's links inside it; check runs musl's real
    loader, which followed them on this host: libvnd.so.1 (from /opt/vendor) was not found."""
    runner_for(arch)
    root, dep, vnd, wheel = _vendor_root(toolchain, tmp_path, arch)
    found = json.loads(
        run_ok([*muslwheel_cmd(), "find-library", "--json", "dep", "--root", root], env=checkout_env()).stdout
    )
    assert found["host_path"] == str(dep)
    proc = run([*muslwheel_cmd(), "check", "--json", "--root", root, wheel], env=checkout_env())
    checked = json.loads(proc.stdout)
    assert proc.returncode == 0 and checked["loads"], checked
    assert checked["method"] == ("loader" if arch == "x86_64" else "loader+qemu")
    assert checked["library_dirs"] == [str(root / d.lstrip("/")) for d in DEFAULT_DIRS]
    # the root without one file, then the other: the check fails, naming each needer as the
    # user knows it (a wheel member; a root's file as a path of this host)
    vnd.unlink()
    failed = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", root, wheel], env=checkout_env()).stdout)
    problems = [(p["kind"], p["subject"], p["file"]) for p in failed["problems"]]
    assert not failed["loads"] and ("missing-library", "libvnd.so.1", str(root / "usr/lib/libmid.so.1")) in problems
    dep.unlink()
    failed = json.loads(run([*muslwheel_cmd(), "check", "--json", "--root", root, wheel], env=checkout_env()).stdout)
    problems = [(p["kind"], p["subject"], p["file"]) for p in failed["problems"]]
    assert ("missing-library", "libdep.so.1", "top/libtop.so") in problems


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])  # natively, and under qemu-user
def test_a_kits_interpreter_command_finds_the_roots_linked_file(
    toolchain: Toolchain, tmp_path: Path, arch: str
) -> None:
    """A kit's commands (its CPython for check --import, build's import and --test) start the
    kit's loader from KIT/run, whose path file names the root's directories on this host: a
    library there that is an absolute link into the root (``libdep.so.1 -> /opt/vendor/…``) was
    followed on this host and not found."""
    from muslwheel.kits import read_kit

    runner_for(arch)
    root, dep, _, _ = _vendor_root(toolchain, tmp_path, arch)
    use = toolchain.build(
        arch,
        tmp_path / "libuse.so",
        [write_c(tmp_path / "use.c", "int dep(int);\nint use(int x) { return dep(x); }\n")],
        shared=True,
        args=[str(dep)],
    )
    kit_dir = root.parent / "kit"
    kit_dir.mkdir()
    root.rename(kit_dir / "root")
    (kit_dir / "kit.json").write_text(json.dumps({"name": "k", "arch": arch, "musl": "1.2.3", "python": None}))
    kit = read_kit(kit_dir)
    proc = run([*kit.loader_command(), "--list", use])
    assert proc.returncode == 0, proc.stderr
    assert "libdep.so.1 => " in proc.stdout
    # the root's link gone (its file stays in /opt/vendor, which musl does not search): KIT/run
    # must not keep finding it
    (kit.root / "usr/lib/libdep.so.1").unlink()
    assert "libdep.so.1" in run([*kit.loader_command(), "--list", use]).stderr


def test_check_root_without_bubblewrap_stops_or_says_it_ran_on_this_hosts_paths(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    """Where bubblewrap cannot run, check --root stops with one line (it would follow the root's
    links on this host: a silent wrong answer); build's check stage with --no-sandbox runs the
    loader on this host's paths, the root's files given for its directories' links, and says so."""
    from muslwheel.check import check_wheel

    root, _, real, wheel = _musl_root(toolchain, tmp_path, "file")
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = run([*muslwheel_cmd(), "check", "--root", root, wheel], env={**checkout_env(), "PATH": str(empty)})
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert proc.stderr == (
        f"muslwheel: error: cannot show {root} to its loader as its own / here (bubblewrap (bwrap) is not "
        "installed): its links would be followed on this host; install bubblewrap and allow user namespaces\n"
    )
    bare = check_wheel(wheel, root=root, sandbox=False)
    assert bare.loads and bare.method == "loader"
    assert any(n.startswith("no sandbox: the root's loader ran on this host's paths") for n in bare.notes)
    real.unlink()
    assert not check_wheel(wheel, root=root, sandbox=False).loads
