"""The ``muslwheel`` command: a thin layer of argument parsing and output over the library.

Exit status: 0 success, 1 a negative verdict (where a command has one), 2 bad input or usage,
130 interrupted. Errors are one line on stderr: ``muslwheel: error: …``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import __version__
from .errors import MuslwheelError

if TYPE_CHECKING:  # each command imports its own modules, so `show` does not pay for `repair`
    from .audit import Verdict
    from .libc import Detection

Handler = Callable[[argparse.Namespace], int]


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def _detect(args: argparse.Namespace) -> Detection:
    from .libc import detect_executable, detect_interpreter, detect_root

    if args.root is not None:
        if args.executable is not None:
            return detect_executable(args.executable, root=args.root)
        return detect_root(args.root, arch=args.arch)
    if args.executable is not None:
        return detect_executable(args.executable)
    return detect_interpreter()


def cmd_detect(args: argparse.Namespace) -> int:
    d = _detect(args)
    if args.json:
        _print_json(d.to_json())
        return 0
    print(f"libc:         {d.libc}" + (f" {d.musl_version}" if d.musl_version else ""))
    print(f"architecture: {d.arch or 'none (' + d.machine + ')'}")
    print(f"ELF:          {d.elf_class}-bit {d.endianness}-endian")
    if d.loader:
        print(f"loader:       {d.loader}")
    if d.executable:
        print(f"executable:   {d.executable}")
    if d.root:
        print(f"root:         {d.root}")
    for key, how in d.how.items():
        print(f"  {key}: {how}")
    for note in d.notes:
        print(f"note: {note}")
    return 0


def cmd_tags(args: argparse.Namespace) -> int:
    from .errors import TargetError
    from .libc import detect_interpreter, detect_root
    from .tags import (
        interpreter_tags,
        parse_python_version,
        parse_target,
        pip_download_args,
        running_python_version,
        tags_for_target,
        target_of_detection,
    )

    python = parse_python_version(args.python) if args.python else None
    if args.target is None and args.root is None:
        if python is not None or args.pip_args:
            target = target_of_detection(detect_interpreter())
            platforms = target.platform_tags()
        else:
            tags = [str(t) for t in interpreter_tags(detect_interpreter())]
            _print_json(tags) if args.json else print("\n".join(tags))
            return 0
    elif args.target is not None:
        platforms = parse_target(args.target).platform_tags()
    else:
        platforms = target_of_detection(detect_root(args.root, arch=args.arch)).platform_tags()

    if args.pip_args:
        if python is None and (args.target is not None or args.root is not None):
            raise TargetError("--pip-args for a --target or --root needs --python X.Y (the target's CPython)")
        pyver = python or running_python_version()
        pip = pip_download_args(platforms, pyver)
        _print_json(pip) if args.json else print(" ".join(pip))
        return 0
    if python is None:
        if not args.json:
            print(
                "muslwheel: platform tags only; --python X.Y lists the full interpreter-abi-platform tags",
                file=sys.stderr,
            )
        _print_json(platforms) if args.json else print("\n".join(platforms))
        return 0
    tags = [str(t) for t in tags_for_target(platforms, python)]
    _print_json(tags) if args.json else print("\n".join(tags))
    return 0


def _print_verdict(v: Verdict, verbose: bool) -> None:
    print(f"{v.wheel}")
    if v.libc == "none":
        print("  pure wheel: no ELF members, nothing for muslwheel to audit")
    else:
        print(f"  libc: {v.libc}    arch: {v.arch or 'unknown'}    needs musl >= {v.musl_min_version or '-'}")
        if v.tag:
            print(f"  best honest tag: {v.tag}")
        elif v.libc == "glibc":
            # A glibc wheel claiming nothing musl gets one line, the reason show gives for it.
            not_ours = next((r.why for r in v.reasons if r.kind == "glibc" and r.severity == "info"), None)
            print(f"  {not_ours or 'glibc binaries: no musllinux tag applies'}")
        else:
            print("  no musllinux tag can be claimed")
    verdict = "honest" if v.honest else "NOT honest"
    print(f"  claimed: {', '.join(v.claimed_tags)}: {verdict}")
    for r in v.reasons:
        if r.severity == "info" and (not verbose or r.kind == "glibc"):
            continue
        where = f"{r.file}: " if r.file else ""
        subject = r.symbol or r.library or r.feature
        print(f"  {r.severity}: {where}{subject + ': ' if subject and subject not in r.why else ''}{r.why}")
    for tag, why in v.stricter.items():
        print(f"  not {tag}: {why}")
    if v.external_libs:
        print(f"  external libraries: {', '.join(v.external_libs)}")
    if v.system_libs:
        print(f"  allowed system libraries: {', '.join(v.system_libs)}")
    if verbose:
        for f in v.files:
            print(
                f"  {f.path}: {f.libc} {f.arch or f.machine}, musl >= {f.musl_min_version or '-'}, needs {', '.join(f.needed) or 'nothing'}"
            )


def cmd_show(args: argparse.Namespace) -> int:
    from .audit import audit_wheel

    if args.distro:
        from .distros import find

        for spec in args.distro:
            find(spec)  # an unknown target is bad input, refused before any work
    verdicts = []
    status = 0
    for path in args.wheels:
        try:
            v = audit_wheel(path)
        except MuslwheelError as exc:
            if len(args.wheels) == 1:
                raise
            print(f"muslwheel: error: {exc}", file=sys.stderr)
            status = 2
            continue
        if args.distro:
            judged = _distro_verdicts(v, args.distro)
            status = max(status, 0 if all(j["loads"] for j in judged) else 1)
            if args.json:
                verdicts.append({**v.to_json(), "distros": judged})
            else:
                print(v.wheel)
                for j in judged:
                    print(f"  {j['label']} (musl {j['musl']}): {'loads' if j['loads'] else 'does NOT load'}")
                    for p in j["problems"]:  # type: ignore[attr-defined]
                        print(f"    {p}")
            continue
        verdict = v.to_json()
        if args.strict and any(r.kind == "tag" and r.severity == "warning" and r.musl for r in v.reasons):
            verdict["exit_status"] = 1  # needs more than the tag's X.Y.0
        verdicts.append(verdict)
        status = max(status, int(verdict["exit_status"]))  # type: ignore[call-overload]
        if not args.json:
            _print_verdict(v, args.verbose)
    if args.json:
        _print_json(verdicts if len(args.wheels) > 1 else verdicts[0])
    return status


def cmd_distros(args: argparse.Namespace) -> int:
    from .distros import releases

    found = releases()
    if args.json:
        _print_json([r.to_json() for r in found])
        return 0
    print(f"{'distribution':<14} {'release':<9} {'musl':<7} {'end of life':<12} status")
    for r in found:
        status = "rolling" if r.rolling else ("supported" if r.supported() else "end of life")
        eol = r.eol.isoformat() if r.eol else "-"
        print(f"{r.name:<14} {r.release:<9} {r.musl!s:<7} {eol:<12} {status}")
    print("sources: muslwheel/data/distros.json (muslwheel distros --json)")
    return 0


def cmd_find_library(args: argparse.Namespace) -> int:
    from .findlib import locate, search_dirs

    found = locate(args.name, args.root, arch=args.arch)
    if args.json:
        _print_json(found.to_json() if found else None)
    elif found:
        print(found.path)
    else:
        dirs = search_dirs(args.root, arch=args.arch)
        print(f"muslwheel: {args.name}: not found (searched {', '.join(dirs) or 'nothing'})", file=sys.stderr)
    return 0 if found else 1


def _distro_verdicts(v: Verdict, targets: list[str]) -> list[dict[str, object]]:
    """Whether each distro release in *targets* can load the audited wheel, and why not."""
    from .arch import ARCHES
    from .distros import find, load_problem
    from .libc import MuslVersion

    out = []
    for spec in targets:
        release = find(spec)
        problems = []
        if v.libc in ("glibc", "mixed", "unknown"):
            problems.append(f"a {v.libc} wheel")
        problems += [
            f"{r.file + ': ' if r.file else ''}{r.why}" for r in v.reasons if r.severity == "error" and r.kind != "tag"
        ]
        floor = MuslVersion.parse(v.musl_min_version) if v.musl_min_version and v.libc != "none" else None
        is32 = ARCHES[v.arch].is_32bit if v.arch in ARCHES else None
        problem = load_problem(release, floor=floor, arch_is_32bit=is32)
        if problem:
            problems.append(problem)
        out.append(
            {
                "target": release.key,
                "label": release.label,
                "musl": str(release.musl),
                "loads": not problems,
                "problems": problems,
            }
        )
    return out


def cmd_repair(args: argparse.Namespace) -> int:
    from .repair import repair_wheel

    out_dir = Path(args.wheel_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    quiet = args.quiet or args.json

    def progress(message: str) -> None:
        if not quiet:
            print(f"muslwheel: {message}", file=sys.stderr)

    results = []
    for wheel in args.wheels:
        result = repair_wheel(
            Path(wheel),
            out_dir,
            plat=args.plat,
            exclude=args.exclude,
            only_plat=args.only_plat,
            lib_sdir=args.lib_sdir,
            update_tags=not args.no_update_tags,
            compresslevel=args.zip_compression_level,
            root=Path(args.root) if args.root else None,
            ldpaths=args.ldpaths.split(":") if args.ldpaths is not None else None,
            strip=args.strip,
            allow_pure=args.allow_pure_python_wheel,
            keep_relr=args.keep_relr,
            progress=progress,
        )
        results.append(result)
        if not args.json:
            grafted = ", ".join(f"{g.needed} -> {g.wheel_path}" for g in result.grafted) or "nothing to graft"
            print(f"{result.output}: {grafted}")
    if args.json:
        _print_json([r.to_json() for r in results] if len(results) > 1 else results[0].to_json())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    if args.import_:
        return cmd_check_import(args)
    if args.kit:
        raise MuslwheelError("--kit goes with --import (for the loader check, give the kit's root as --root)")
    if len(args.wheels) != 1:
        raise MuslwheelError("check takes one wheel (or several with --import)")
    from .check import check_wheel

    result = check_wheel(Path(args.wheels[0]), root=Path(args.root) if args.root else None)
    if args.json:
        _print_json(result.to_json())
    else:
        how = {
            "loader": "musl's loader",
            "loader+qemu": "musl's loader under qemu-user",
            "static": "static analysis",
            "none": "nothing to load",
        }[result.method]
        target = f"{result.arch}, musl {result.target_musl or 'unknown'}"
        print(f"{result.wheel} on {target} ({how}): {'loads' if result.loads else 'does NOT load'}")
        for p in result.problems:
            print(f"  {p.kind}: {p.file + ': ' if p.file else ''}{p.subject}: {p.why}")
        for note in result.notes:
            print(f"  note: {note}")
    return 0 if result.loads else 1


def _size(text: str) -> int:
    """A byte count: 1000000, 500M, 2G (powers of 1000), 1GiB (powers of 1024)."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (such as 500M or 2G)")
    scale = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}[m.group(2)]
    return int(float(m.group(1)) * (1024 if m.group(3) else 1000) ** scale)


def _at_least(minimum: float, kind: type[int] | type[float] = int) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is less than {minimum}")
        return value

    return parse


def cmd_scan(args: argparse.Namespace) -> int:
    from .scan import Filter, HttpOptions, scan
    from .scan.runner import stderr_progress
    from .scan.sources import parse_python, read_projects_file

    projects = list(args.project)
    if args.projects_file:
        projects += read_projects_file(Path(args.projects_file))
    filt = Filter(
        platform=args.platform,
        arches=tuple(args.arch),
        python=parse_python(args.python) if args.python else None,
        all_versions=args.all_versions,
    )
    options = HttpOptions(rate=args.rate, timeout=args.timeout, retries=args.retries, backoff=args.backoff)
    summary = scan(
        args.sources,
        args.db,
        projects=projects,
        filt=filt,
        workers=args.workers,
        downloads=args.downloads,
        dask=args.dask,
        options=options,
        max_bytes=args.max_bytes,
        progress=None if (args.quiet or args.json) else stderr_progress,
    )
    if args.json:
        _print_json(summary.to_json())
    else:
        for message in summary.messages[:20]:
            print(f"muslwheel: scan: error: {message}", file=sys.stderr)
        if len(summary.messages) > 20:
            print(f"muslwheel: scan: … and {len(summary.messages) - 20} more errors", file=sys.stderr)
        read = (
            f"{summary.bytes_read / 1e6:.1f} MB read of {summary.remote_size / 1e6:.1f} MB"
            if summary.remote_size
            else "local"
        )
        print(
            f"{args.db}: {summary.wheels} wheels, {summary.skipped} already done, {summary.audited} audited "
            f"({summary.errors} errors, {summary.dishonest} not honest), {summary.page_errors} index pages failed, "
            f"{summary.left} left for the budget; {read}; {summary.seconds:.1f} s"
        )
    if summary.errors or summary.page_errors or summary.left:
        return 1
    return 1 if summary.dishonest else 0


def cmd_report(args: argparse.Namespace) -> int:
    from .scan.report import load, render

    fmt = args.format or ("json" if args.json else None)
    if fmt is None:
        suffix = Path(args.output).suffix.lower() if args.output else ""
        fmt = {".html": "html", ".htm": "html", ".csv": "csv", ".json": "json"}.get(suffix, "md")
    text = render(load(Path(args.db)), fmt)
    if args.output:
        out = Path(args.output)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)  # complete or absent
    else:
        sys.stdout.write(text)
    return 0


def _build_targets(args: argparse.Namespace) -> list:  # type: ignore[type-arg]
    from .arch import ARCHES
    from .builder.target import select_targets, target_from_kit, target_from_prefix

    targets = [target_from_prefix(Path(p)) for p in args.cpython]
    if args.kit:
        from .builder.target import find_kit

        targets += [target_from_kit(find_kit(k)) for k in args.kit]
    if args.arch or args.python:
        if not (args.arch and args.python):
            raise MuslwheelError("build: give both --arch and --python (or --kit / --cpython)")
        arches = [a for spec in args.arch for a in (ARCHES if spec == "all" else spec.split(","))]
        pythons = [p for spec in args.python for p in spec.split(",")]
        targets += select_targets(list(dict.fromkeys(arches)), list(dict.fromkeys(pythons)), args.musl)
    if not targets:
        raise MuslwheelError("build: no targets: give --arch ARCH --python X.Y (or --kit / --cpython)")
    return targets


def cmd_build(args: argparse.Namespace) -> int:
    from .builder import BuildOptions, build
    from .builder.run import ProgressPrinter

    settings: dict[str, str | list[str]] = {}
    for item in args.config_setting:
        key, sep, value = item.partition("=")
        if not sep:
            raise MuslwheelError(f"build: --config-setting {item!r} is not KEY=VALUE")
        old = settings.get(key)
        settings[key] = value if old is None else [*([old] if isinstance(old, str) else old), value]
    targets = _build_targets(args)
    options = BuildOptions(
        source=Path(args.source),
        out_dir=Path(args.wheel_dir),
        targets=targets,
        jobs=args.jobs,
        before_build=args.before_build,
        config_settings=settings,
        test_command=args.test,
        import_check=not args.no_import,
        keep_work=args.keep_work,
    )
    progress = None if args.quiet else ProgressPrinter(targets)
    summary = build(options, progress)
    if args.json:
        _print_json(summary.to_json())
    else:
        for r in summary.results:
            if r.ok:
                how = f"imported {len(r.imported)} module(s)" if r.imported else f"check: {r.check}"
                print(f"{r.target.name}: ok: {r.wheel} ({how}, {sum(r.seconds.values()):.1f}s)")
                for note in r.notes:
                    print(f"    note: {note}")
            else:
                print(f"{r.target.name}: FAILED at {r.stage}: {r.error}")
                for line in r.log_tail:
                    print(f"    | {line}")
                if r.log:
                    print(f"    full log: {r.log}")
        failed = sum(not r.ok for r in summary.results)
        print(f"{len(summary.results) - failed} of {len(summary.results)} targets built in {summary.seconds:.1f}s")
    return 0 if summary.ok else 1


def cmd_check_import(args: argparse.Namespace) -> int:
    from .check_import import check_imports

    if args.root:
        raise MuslwheelError("--import runs in a kit: give --kit NAME-or-ROOT instead of --root")
    reports = check_imports([Path(w) for w in args.wheels], args.kit or None, timeout=args.timeout)
    if args.json:
        _print_json([r.to_json() for r in reports])
    else:
        for r in reports:
            if not r.kit:
                print(f"{r.wheel}: {r.summary()}")
                continue
            print(f"{r.wheel} in {r.kit}: {r.summary()} ({r.seconds:.1f}s)")
            for m in r.modules:
                where = f" ({m.file})" if m.file else ""
                print(f"  {m.result:13} {m.module}{where}{': ' + m.detail if m.detail else ''}")
    return 0 if all(r.ok for r in reports) else 1


def cmd_kit_list(args: argparse.Namespace) -> int:
    from .kits import kits_dir, list_kits

    kits = list_kits()
    if args.json:
        _print_json([k.to_json() for k in kits])
        return 0
    if not kits:
        print(f"no kits in {kits_dir()} (`muslwheel kit build --arch ARCH --musl VERSION [--python X.Y]`)")
    for k in kits:
        print(f"{k.name:32} {k.root}")
    return 0


def cmd_kit_build(args: argparse.Namespace) -> int:
    from .kits.build import StderrProgress, build_kit

    def quiet(message: str) -> None:
        pass

    kit = build_kit(
        args.arch,
        args.musl,
        args.python,
        musl_source=Path(args.musl_source) if args.musl_source else None,
        cpython_source=Path(args.cpython_source) if args.cpython_source else None,
        jobs=args.jobs,
        progress=quiet if args.quiet else StderrProgress(),
    )
    if args.json:
        _print_json(kit.to_json())
    else:
        print(f"{kit.name}: {kit.root}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="muslwheel",
        description="Audit, repair and check binary wheels for musl libc Linux (PEP 656).",
    )
    parser.add_argument("--version", action="version", version=f"muslwheel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("detect", help="libc, musl version and architecture of an interpreter, executable or root")
    p.add_argument("--executable", metavar="PATH", help="an ELF executable (default: this Python)")
    p.add_argument("--root", metavar="DIR", help="a root filesystem of any architecture (never executed)")
    p.add_argument("--arch", help="with --root holding several musl loaders: which one")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_detect)

    p = sub.add_parser("tags", help="wheel tags a target accepts, best first; pip download arguments")
    p.add_argument(
        "--target", metavar="TAG_OR_SPEC", help="musllinux_1_2_aarch64, or ARCH:MUSL_VERSION such as aarch64:1.2.3"
    )
    p.add_argument("--root", metavar="DIR", help="the target is this root filesystem")
    p.add_argument("--arch", help="with --root holding several musl loaders: which one")
    p.add_argument("--python", metavar="X.Y", help="list interpreter-abi-platform tags for CPython X.Y")
    p.add_argument(
        "--pip-args", action="store_true", help="print the arguments for `pip download` that fetch exactly these wheels"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_tags)

    p = sub.add_parser("show", help="audit wheels: the tag each can honestly claim, and why not a better one")
    p.add_argument("wheels", nargs="+", metavar="WHEEL")
    p.add_argument("-v", "--verbose", action="store_true", help="also the symbols behind the floor and each file")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 also when a wheel needs more than its tag's X.Y.0 (1.2.4 under musllinux_1_2), for CI gates",
    )
    p.add_argument(
        "--distro",
        action="append",
        metavar="DISTRO:RELEASE",
        help="judge the wheel against this distro release instead (alpine:3.17, void:64-bit; repeatable); "
        "exit 1 if one cannot load it",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output (schema: docs/json.md)")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("repair", help="vendor external libraries, patch, retag; one output wheel per input")
    p.add_argument("wheels", nargs="+", metavar="WHEEL")
    p.add_argument("-w", "--wheel-dir", default="wheelhouse", help="output directory (default: wheelhouse)")
    p.add_argument("--plat", metavar="TAG", help="platform tag to claim (default: the best honest one)")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave libraries matching this wildcard external (repeatable)",
    )
    p.add_argument("--only-plat", action="store_true", help="claim only --plat, drop other musllinux tags")
    p.add_argument(
        "-L", "--lib-sdir", default=".libs", help="suffix of the vendored library directory (default: .libs)"
    )
    p.add_argument("--no-update-tags", action="store_true", help="keep the file name and WHEEL tags as they are")
    p.add_argument(
        "-z",
        "--zip-compression-level",
        type=int,
        default=6,
        choices=range(10),
        metavar="0-9",
        help="compression level for changed members (default: 6)",
    )
    p.add_argument("--root", metavar="DIR", help="the target's root filesystem, where its libraries are")
    p.add_argument("--ldpaths", metavar="DIRS", help="colon-separated directories replacing the target's system path")
    p.add_argument("--strip", action="store_true", help="strip symbol tables (strip -s) from every ELF file")
    p.add_argument("--allow-pure-python-wheel", action="store_true", help="copy a pure wheel instead of refusing it")
    p.add_argument(
        "--keep-relr",
        action="store_true",
        help="leave DT_RELR packed (by default it is unpacked so musl < 1.2.4 loads the libraries)",
    )
    p.add_argument(
        "--disable-isa-ext-check",
        action="store_true",
        help="accepted for auditwheel compatibility: x86 ISA levels are warnings and never block",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_repair)

    p = sub.add_parser("distros", help="the musl release of each Alpine, Void, OpenWrt … release, with sources")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_distros)

    p = sub.add_parser("find-library", help="what ctypes.util.find_library should answer on musl")
    p.add_argument("name", metavar="NAME", help="a library name as ctypes takes it: c, z, ssl")
    p.add_argument("--root", metavar="DIR", help="a root filesystem of any architecture (never executed)")
    p.add_argument("--arch", help="with a root holding several musl loaders: which one")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_find_library)

    p = sub.add_parser("check", help="will this wheel load on the target? (musl's real loader where possible)")
    p.add_argument("wheels", nargs="+", metavar="WHEEL")
    p.add_argument("--root", metavar="DIR", help="the target's root filesystem (default: this host's musl)")
    p.add_argument(
        "--import",
        dest="import_",
        action="store_true",
        help="import every extension module in a kit's CPython (natively or under qemu-user)",
    )
    p.add_argument(
        "--kit",
        action="append",
        metavar="NAME-or-ROOT",
        help="with --import: the kit to import in (repeatable; default: the wheel's arch and Python "
        "at its tag's musl floor and the newest musl)",
    )
    p.add_argument(
        "--timeout",
        type=_at_least(0.01, float),
        default=120.0,
        help="with --import: seconds each module may take to import (the interpreter's start included)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("scan", help="audit a wheelhouse, a list of wheel URLs or a simple index into a database")
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a directory of wheels, a file of wheel URLs, or a PEP 503/691 simple index URL (with --project)",
    )
    p.add_argument("--db", required=True, help="the SQLite results database (created, or resumed)")
    p.add_argument("--project", action="append", default=[], metavar="NAME", help="a project of the index (repeatable)")
    p.add_argument("--projects-file", metavar="FILE", help="project names, one a line")
    p.add_argument(
        "--platform",
        default="musllinux",
        choices=["musllinux", "manylinux", "linux", "any"],
        help="wheels whose platform tag is of this kind (default: musllinux)",
    )
    p.add_argument("--arch", action="append", default=[], help="only this architecture (repeatable)")
    p.add_argument("--python", metavar="X.Y", help="only wheels CPython X.Y can install")
    p.add_argument("--all-versions", action="store_true", help="every version, not only each project's newest")
    p.add_argument("--workers", type=_at_least(1), metavar="N", help="audit processes (default: one per core)")
    p.add_argument("--downloads", type=_at_least(1), default=8, metavar="N", help="concurrent downloads (default: 8)")
    p.add_argument("--dask", metavar="ADDRESS", help="run the tasks on this Dask scheduler (tcp://HOST:8786)")
    p.add_argument(
        "--rate", type=_at_least(0.01, float), default=10.0, help="requests per second at most (default: 10)"
    )
    p.add_argument("--retries", type=_at_least(0), default=4, help="retries after a 429, 5xx or dropped connection")
    p.add_argument(
        "--backoff", type=_at_least(0, float), default=0.5, help="first retry delay in seconds, doubled each time"
    )
    p.add_argument("--timeout", type=_at_least(0.01, float), default=30.0, help="seconds to connect and for each read")
    p.add_argument("--max-bytes", type=_size, metavar="SIZE", help="stop fetching after this much (500M, 2G)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(handler=cmd_scan)

    p = sub.add_parser("report", help="a report over a scan database: HTML, Markdown, CSV or JSON")
    p.add_argument("db", metavar="RESULTS.sqlite")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (format from the suffix; default: stdout)")
    p.add_argument("--format", choices=["html", "md", "csv", "json"], help="output format")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser(
        "build", help="cross-build musllinux wheels for many arches at once, repaired and import-checked"
    )
    p.add_argument("source", nargs="?", default=".", metavar="SRC", help="a source tree or an sdist (default: .)")
    p.add_argument("-w", "--wheel-dir", default="wheelhouse", help="output directory (default: wheelhouse)")
    p.add_argument(
        "--arch",
        action="append",
        default=[],
        metavar="ARCH",
        help="target arch(es), comma-separated or repeated; `all` for the eight",
    )
    p.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="X.Y",
        help="target CPython minor(s), comma-separated or repeated",
    )
    p.add_argument(
        "--musl",
        metavar="VERSION",
        help="the kits' musl release or series (1.1, 1.2, 1.2.3; default: the oldest built)",
    )
    p.add_argument(
        "--kit", action="append", default=[], metavar="NAME_OR_DIR", help="also build for this kit (repeatable)"
    )
    p.add_argument(
        "--cpython",
        action="append",
        default=[],
        metavar="PREFIX",
        help="also build for this installed musl CPython of this host's arch",
    )
    p.add_argument("-j", "--jobs", type=int, default=0, help="targets built at once (default: the core count)")
    p.add_argument(
        "--before-build",
        metavar="CMD",
        help="shell command run once per target in its source copy, with $CC, $MUSLWHEEL_PREFIX, $MUSLWHEEL_HOST set",
    )
    p.add_argument(
        "-C", "--config-setting", action="append", default=[], metavar="KEY=VALUE", help="passed to the build backend"
    )
    p.add_argument("--test", metavar="CODE", help="Python code run in the target's CPython after the import")
    p.add_argument("--no-import", action="store_true", help="check with musl's loader only, import nothing")
    p.add_argument("--keep-work", action="store_true", help="keep each target's work directory and log")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(handler=cmd_build)
    p = sub.add_parser(
        "kit", help="target kits: a real musl and a musl CPython for an arch (a --root for every command)"
    )
    kit_sub = p.add_subparsers(dest="kit_command", metavar="KIT_COMMAND")
    kit_sub.required = True
    k = kit_sub.add_parser("list", help="the kits built in the cache")
    k.add_argument("--json", action="store_true", help="machine-readable output")
    k.set_defaults(handler=cmd_kit_list)
    k = kit_sub.add_parser("build", help="build one kit into the cache (MUSLWHEEL_CACHE moves it)")
    k.add_argument("--arch", required=True, help="x86_64, i686, aarch64, armv7l, ppc64le, s390x, riscv64, loongarch64")
    k.add_argument(
        "--musl", required=True, metavar="VERSION", help="1.2.3 (Debian's packages) or 1.2.6 (built from source)"
    )
    k.add_argument("--python", metavar="X.Y", help="also a musl CPython X.Y in it (3.11, 3.13, 3.14)")
    k.add_argument("--musl-source", metavar="TARBALL", help="musl's source tarball (default: from Debian's archive)")
    k.add_argument(
        "--cpython-source", metavar="TARBALL", help="CPython's source tarball (default: from Debian's archive)"
    )
    k.add_argument("-j", "--jobs", type=int, default=2, help="parallel compile jobs (default: 2)")
    k.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    k.add_argument("--json", action="store_true", help="machine-readable output")
    k.set_defaults(handler=cmd_kit_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except MuslwheelError as exc:
        print(f"muslwheel: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        writer = sys.modules.get("muslwheel.wheelwriter")
        if writer is not None:
            writer.abort_all()
        print("muslwheel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
