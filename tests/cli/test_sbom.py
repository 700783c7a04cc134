"""repair's SBOM (PEP 770, CycloneDX 1.6): each graft named with the purl of where it came from."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

from conftest import Toolchain, checkout_env, muslwheel_cmd, run, run_ok, write_c
from wheelmaker import make_wheel

#: each library, the directory of the root it is put in, and what it needs
LIBS = {
    "libapk.so.1": ("usr/lib", []),
    "librecipe.so.1": ("opt/recipe/lib", ["apk"]),
    "libkit.so.1": ("opt/kit/root/usr/lib", []),
    "libnone.so.1": ("opt/other", []),
}
APK_DB = """C:Q1aaaaaaaaaaaaaaaaaaaaaaaaaaaaa=
P:musl
V:1.2.5-r1
A:x86_64
o:musl
F:lib
R:ld-musl-x86_64.so.1

C:Q1bbbbbbbbbbbbbbbbbbbbbbbbbbbbb=
P:libapk-libs
V:1.2.3-r4
A:x86_64
S:1234
I:5678
T:a library from an apk
L:MIT
o:libapk
D:so:libc.musl-x86_64.so.1
F:usr
F:usr/lib
R:libapk.so.1
a:0:0:777
Z:Q1ccccccccccccccccccccccccccccc=
R:libapk.so.1.2.3
Z:Q1ddddddddddddddddddddddddddddd=

"""
RECIPE = {
    "schema": 1,
    "name": "librecipe",
    "version": "2.9.14",
    "debian_source": "librecipe",
    "debian_version": "2.9.14+dfsg-1.3",
    "arch": "x86_64",
    "musl": "1.2.3",
    "recipe": "0123abcd",
    "depends": [],
    "libraries": ["lib/librecipe.so.1"],
}
KIT = {
    "name": "x86_64-musl1.2.3",
    "arch": "x86_64",
    "musl": "1.2.3",
    "debian_packages": [{"source": "libkit", "version": "1:1.3.dfsg-3", "files": ["usr/lib/libkit.so.1"]}],
}


def make_root(toolchain: Toolchain, tmp: Path) -> Path:
    """An Alpine-like root: apk's database owning libapk (through its versioned file), a
    recipe's prefix, a kit, and a library nothing knows; the path file names all four."""
    root = tmp / "root"
    built = tmp / "built"
    built.mkdir()
    for soname, (where, deps) in LIBS.items():
        stem = soname.split(".")[0]
        code = "".join(f"int {d}(int);\n" for d in deps)
        code += f"int {stem[3:]}(int x) {{ return x{''.join(f' + {d}(x)' for d in deps)}; }}\n"
        toolchain.build(
            "x86_64",
            built / soname,
            [write_c(tmp / f"{stem}.c", code)],
            shared=True,
            args=[f"-L{built}", *(f"-l:lib{d}.so.1" for d in deps)],
        )
        (root / where).mkdir(parents=True, exist_ok=True)
    (root / "usr/lib/libapk.so.1.2.3").write_bytes((built / "libapk.so.1").read_bytes())
    os.symlink("libapk.so.1.2.3", root / "usr/lib/libapk.so.1")
    for soname in ("librecipe.so.1", "libkit.so.1", "libnone.so.1"):
        (root / LIBS[soname][0] / soname).write_bytes((built / soname).read_bytes())
    (root / "lib/apk/db").mkdir(parents=True)
    (root / "lib/apk/db/installed").write_text(APK_DB)
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\n')
    dirs = ":".join(f"/{d}" for d, _ in LIBS.values())
    (root / "etc/ld-musl-x86_64.path").write_text(dirs + "\n")
    (root / "opt/recipe/muslwheel-lib.json").write_text(json.dumps(RECIPE))
    (root / "opt/kit/kit.json").write_text(json.dumps(KIT))
    use = "".join(f"int {s.split('.')[0][3:]}(int);\n" for s in LIBS)
    use += "int use(int x) { return apk(x) + recipe(x) + kit(x) + none(x); }\n"
    links = [f"-l:{s}" for s in LIBS]
    toolchain.build(
        "x86_64", tmp / "libuse.so", [write_c(tmp / "use.c", use)], shared=True, args=[f"-L{built}", *links]
    )
    return root


def schema_validate(doc: bytes) -> None:
    """CycloneDX 1.6's own JSON schema (as cyclonedx-python-lib ships it) accepts *doc*."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(doc.decode())
    assert error is None, error


def test_repair_writes_a_reproducible_cyclonedx_sbom_naming_each_graft_by_its_origin(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    root = make_root(toolchain, tmp_path)
    dist = tmp_path / "dist"
    dist.mkdir()
    maturin = (
        b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "pyo3", "version": "0.22.0"}]}\n'
    )
    wheel = make_wheel(
        dist,
        "Use_It",
        "1.0",
        "py3-none-linux_x86_64",
        {
            "use_it/libuse.so": (tmp_path / "libuse.so").read_bytes(),
            "Use_It-1.0.dist-info/sboms/maturin.cdx.json": maturin,
        },
    )
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        proc = run_ok([*muslwheel_cmd(), "repair", "--json", "-w", out, "--root", root, wheel], env=checkout_env())
        outs.append(Path(json.loads(proc.stdout)["output"]))
    assert outs[0].read_bytes() == outs[1].read_bytes()  # no timestamp, no random serial
    result = json.loads(proc.stdout)
    assert result["sbom"] == "Use_It-1.0.dist-info/sboms/muslwheel.cdx.json"
    with zipfile.ZipFile(outs[0]) as zf:
        data = zf.read(result["sbom"])
        assert zf.read("Use_It-1.0.dist-info/sboms/maturin.cdx.json") == maturin  # kept as it was
        assert (zf.getinfo(result["sbom"]).external_attr >> 16) & 0o777 == 0o644
        members = {n: zf.read(n) for n in zf.namelist()}
    schema_validate(data)
    doc = json.loads(data)
    assert doc["serialNumber"].startswith("urn:uuid:")
    wheel_purl = f"pkg:pypi/use-it@1.0?file_name={outs[0].name}"
    assert doc["metadata"]["component"]["purl"] == wheel_purl
    by_path = {g["path"]: g["needed"] for g in result["grafted"]}
    components = {}
    for c in doc["components"]:
        props = {p["name"]: p["value"] for p in c["properties"]}
        path = props["muslwheel:path"]
        assert c["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(members[path]).hexdigest()}]
        components[by_path[path]] = (c, props)
    apk, props = components["libapk.so.1"]
    assert (apk["name"], apk["version"]) == ("libapk-libs", "1.2.3-r4")
    assert apk["purl"] == "pkg:apk/alpine/libapk-libs@1.2.3-r4?arch=x86_64&distro=alpine-3.20.3"
    assert props["muslwheel:apk-origin"] == "libapk" and props["muslwheel:origin"] == "apk"
    recipe, props = components["librecipe.so.1"]
    assert (recipe["name"], recipe["version"]) == ("librecipe", "2.9.14")
    assert recipe["purl"] == "pkg:deb/debian/librecipe@2.9.14%2Bdfsg-1.3?arch=source"
    assert props["muslwheel:recipe"] == "0123abcd"
    kit, props = components["libkit.so.1"]
    assert kit["purl"] == "pkg:deb/debian/libkit@1%3A1.3.dfsg-3?arch=source" and kit["version"] == "1:1.3.dfsg-3"
    assert props["muslwheel:kit"] == "x86_64-musl1.2.3"
    none, props = components["libnone.so.1"]
    assert none["name"] == "libnone.so.1" and "purl" not in none and "version" not in none
    assert props["muslwheel:origin"] == "unknown"
    # who needs whom: the wheel needs all four, the recipe's library needs apk's
    deps = {d["ref"]: d["dependsOn"] for d in doc["dependencies"]}
    assert len(deps[wheel_purl]) == 4
    assert deps[recipe["bom-ref"]] == [apk["bom-ref"]] and deps[apk["bom-ref"]] == []

    shown = run_ok([*muslwheel_cmd(), "show", "-v", outs[0]], env=checkout_env()).stdout
    assert "  sbom Use_It-1.0.dist-info/sboms/maturin.cdx.json: pyo3 0.22.0" in shown
    assert f"  sbom {result['sbom']}: libapk-libs 1.2.3-r4 {apk['purl']}" in shown
    assert f"  sbom {result['sbom']}: libnone.so.1 (version unknown)" in shown
    quiet = run_ok([*muslwheel_cmd(), "show", outs[0]], env=checkout_env()).stdout
    assert "sbom" not in quiet


def test_a_damaged_apk_database_is_refused_in_one_line(toolchain: Toolchain, tmp_path: Path) -> None:
    root = make_root(toolchain, tmp_path)
    (root / "lib/apk/db/installed").write_text("P:libapk-libs\nV:1\nR:libapk.so.1\n")  # R: before any F:
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = make_wheel(
        dist, "use", "1.0", "py3-none-linux_x86_64", {"use/libuse.so": (tmp_path / "libuse.so").read_bytes()}
    )
    out = tmp_path / "out"
    proc = run([*muslwheel_cmd(), "repair", "-q", "-w", out, "--root", root, wheel], env=checkout_env())
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "lib/apk/db/installed: line 3: R: before any F:" in proc.stderr
    assert not out.exists() or list(out.iterdir()) == []
