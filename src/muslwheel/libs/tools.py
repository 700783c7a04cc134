"""The ``*-config`` scripts a wheel build calls, answering for the target's prefixes.

lxml's setup asks ``xml2-config --cflags`` and ``xslt-config --libs``, psycopg2's ``pg_config``,
pycurl's ``curl-config``, shapely's ``geos-config``. The host's answer names the host's glibc
headers of another arch (``-I/usr/include/libxml2``), so each such tool a ``--with`` library
provides is a small script here, first on PATH: it asks ``pkg-config`` for the recipe's module
with ``PKG_CONFIG_LIBDIR`` set to the target's prefixes only. A tool no ``--with`` library
provides is still shadowed, by a script that fails saying so (the host's would answer wrongly).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from . import Prefix, all_recipes

#: every ``*-config`` tool a recipe may answer, so that the host's is never found
SHADOWED = ("xml2-config", "xslt-config", "pg_config", "curl-config", "geos-config")


def write_config_tools(bindir: Path, prefixes: Sequence[Prefix]) -> Path:
    """Write the ``*-config`` scripts for *prefixes* into *bindir* (created); return it."""
    bindir.mkdir(parents=True, exist_ok=True)
    pc = ":".join(str(p.pkgconfig_dir) for p in prefixes)
    by_name = all_recipes()
    answered: dict[str, tuple[str, Prefix]] = {}
    for p in prefixes:
        recipe = by_name.get(p.name)
        for tool, module in recipe.config_tools if recipe else ():
            answered[tool] = (module, p)
    for tool in SHADOWED:
        path = bindir / tool
        if tool in answered:
            module, prefix = answered[tool]
            path.write_text(_answering(tool, module, prefix, pc))
        else:
            path.write_text(
                "#!/bin/sh\n"
                f"echo 'muslwheel: {tool} answers only for a target library: "
                f"give the library with build --with (muslwheel lib list)' >&2\nexit 1\n"
            )
        path.chmod(0o755)
    return bindir


#: how a tool prints ``--version``, where it is not the bare version (psycopg2 parses
#: ``PostgreSQL 18.6``; pycurl ``libcurl 8.21.0``)
VERSION_LINE = {"pg_config": "PostgreSQL {v}", "curl-config": "libcurl {v}"}

#: options some tools answer beyond the common ones, as (options, what to print); ``{include}``
#: and ``{lib}`` are the prefix's directories, ``{libs}``/``{cflags}`` pkg-config's answers
EXTRA_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "pg_config": (
        ("--includedir-server", "{include}/postgresql/server"),
        ("--pkgincludedir", "{include}/postgresql"),
        ("--pkglibdir", "{lib}/postgresql"),
        ("--ldflags|--ldflags_sl", "-L{lib}"),
    ),
    "geos-config": (
        ("--clibs|--static-clibs", "{libs}"),
        ("--cclibs|--static-cclibs", "-L{lib} -lgeos"),
    ),
}


def _version_number(version: str) -> str:
    """curl-config's ``--vernum``: ``8.21.0`` -> ``081500``."""
    parts = [int(p) if p.isdigit() else 0 for p in [*version.split("."), "0", "0"][:3]]
    return "".join(f"{p:02x}" for p in parts)


def _answering(tool: str, module: str, prefix: Prefix, pc: str) -> str:
    """The script: flags from pkg-config for the target's prefixes, directories of *prefix*;
    an option it does not know goes to the library's own script in ``<prefix>/bin`` when that is
    a shell script (curl-config's ``--features``, geos-config's ``--jtslibs``), naming only the
    target prefix, else fails (a guess would answer for the wrong library)."""
    q = shlex.quote
    pkg = f"PKG_CONFIG_LIBDIR={q(pc)} PKG_CONFIG_PATH={q(pc)} pkg-config"
    libs = f"{pkg} --libs {q(module)}"
    cflags = f"{pkg} --cflags {q(module)}"
    version = str(prefix.facts.get("version", ""))
    line = VERSION_LINE.get(tool, "{v}").format(v=version)
    places = {
        "include": str(prefix.include_dir),
        "lib": str(prefix.lib_dir),
        "libs": f"$({libs})",
        "cflags": f"$({cflags})",
    }
    extra = "".join(
        f'    {opts}) out="$out {what.format(**places)}" ;;\n' for opts, what in EXTRA_OPTIONS.get(tool, ())
    )
    own = prefix.path / "bin" / tool
    try:
        delegate = own.is_file() and own.read_bytes()[:64].startswith((b"#! /bin/sh", b"#!/bin/sh", b"#!/bin/bash"))
    except OSError:
        delegate = False
    fallback = (
        f'    *) out="$out $({q(str(own))} "$a")" || exit 1 ;;'
        if delegate
        else f'    *) echo "muslwheel\'s {module} config: unknown option $a" >&2; exit 1 ;;'
    )
    return f"""#!/bin/sh
# written by muslwheel: {module} of the target prefix {prefix.path}
unset PKG_CONFIG_SYSROOT_DIR
out=""
for a; do
  case $a in
{extra}    --cflags|--includes|--cppflags) out="$out $({cflags})" ;;
    --libs|--ldflags|--libs-only-l|--dynamic|--static|--libs-static|--static-libs) out="$out $({libs})" ;;
    --version) out="$out {line}" ;;
    --modversion) out="$out {version}" ;;
    --vernum) out="$out {_version_number(version)}" ;;
    --prefix|--exec-prefix) out="$out {prefix.path}" ;;
    --includedir) out="$out {prefix.include_dir}" ;;
    --libdir) out="$out {prefix.lib_dir}" ;;
    --bindir) out="$out {prefix.path}/bin" ;;
    --plugins|--help) ;;
{fallback}
  esac
done
echo $out
"""
