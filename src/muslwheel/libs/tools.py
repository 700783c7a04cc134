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
            path.write_text(_answering(module, prefix, pc))
        else:
            path.write_text(
                "#!/bin/sh\n"
                f"echo 'muslwheel: {tool} answers only for a target library: "
                f"give the library with build --with (muslwheel lib list)' >&2\nexit 1\n"
            )
        path.chmod(0o755)
    return bindir


def _answering(module: str, prefix: Prefix, pc: str) -> str:
    q = shlex.quote
    pkg = f"PKG_CONFIG_LIBDIR={q(pc)} PKG_CONFIG_PATH={q(pc)} pkg-config"
    libs = f"{pkg} --libs {q(module)}"
    cflags = f"{pkg} --cflags {q(module)}"
    version = str(prefix.facts.get("version", ""))
    return f"""#!/bin/sh
# written by muslwheel: {module} of the target prefix {prefix.path}
unset PKG_CONFIG_SYSROOT_DIR
out=""
for a; do
  case $a in
    --cflags|--includes|--cppflags) out="$out $({cflags})" ;;
    --libs|--ldflags|--libs-only-l|--dynamic|--static|--libs-static) out="$out $({libs})" ;;
    --version|--modversion|--vernum) out="$out {version}" ;;
    --prefix|--exec-prefix) out="$out {prefix.path}" ;;
    --includedir|--pkgincludedir) out="$out {prefix.include_dir}" ;;
    --libdir|--pkglibdir) out="$out {prefix.lib_dir}" ;;
    --bindir) out="$out {prefix.path}/bin" ;;
    --plugins|--help) ;;
    *) echo "muslwheel's {module} config: unknown option $a" >&2; exit 1 ;;
  esac
done
echo $out
"""
