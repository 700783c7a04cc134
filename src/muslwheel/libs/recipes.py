"""The recipes: one :class:`~muslwheel.libs.Recipe` per library (data; hooks are small functions).

Each proof is the library's smallest real use, printed: a round trip through its codec, a
digest of ``abc``, a parsed or transformed document, a query.
"""

from __future__ import annotations

from pathlib import Path

from . import Recipe

_ZLIB_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <zlib.h>
int main(void) {
    const char *text = "muslwheel muslwheel muslwheel muslwheel";
    unsigned char packed[256], back[256];
    uLongf n = sizeof packed, m = sizeof back;
    if (compress(packed, &n, (const Bytef *)text, strlen(text) + 1) != Z_OK) return 1;
    if (uncompress(back, &m, packed, n) != Z_OK || strcmp((char *)back, text)) return 2;
    printf("zlib %s round trip ok\n", zlibVersion());
    return 0;
}
"""

_FFI_PROOF = r"""
#include <stdio.h>
#include <ffi.h>
static int add(int a, int b) { return a + b; }
int main(void) {
    ffi_cif cif; ffi_type *args[2] = {&ffi_type_sint, &ffi_type_sint};
    int a = 40, b = 2; void *values[2] = {&a, &b}; ffi_arg result = 0;
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, args) != FFI_OK) return 1;
    ffi_call(&cif, FFI_FN(add), &result, values);
    printf("libffi call add(40, 2)=%d\n", (int)result);
    return 0;
}
"""

_OPENSSL_PROOF = r"""
#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
int main(void) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest("abc", 3, md, &n, EVP_sha256(), NULL)) return 1;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return 2;
    SSL_CTX_free(ctx);
    printf("%s sha256(abc)=", OpenSSL_version(OPENSSL_VERSION));
    for (unsigned int i = 0; i < n; i++) printf("%02x", md[i]);
    printf("\n");
    return 0;
}
"""

_LIBXML2_PROOF = r"""
#include <stdio.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
int main(void) {
    const char *doc = "<a><b>musl</b></a>";
    xmlDocPtr d = xmlReadMemory(doc, 18, "proof.xml", NULL, 0);
    if (!d) return 1;
    xmlChar *s = xmlNodeGetContent(xmlDocGetRootElement(d));
    printf("libxml2 %s parsed: %s\n", LIBXML_DOTTED_VERSION, (char *)s);
    xmlFree(s);
    xmlFreeDoc(d);
    return 0;
}
"""

_LIBXSLT_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxslt/xsltutils.h>
#include <libxslt/transform.h>
#include <libexslt/exslt.h>
int main(void) {
    const char *style = "<xsl:stylesheet version='1.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'>"
        "<xsl:output method='text'/><xsl:template match='/'>got <xsl:value-of select='a/b'/></xsl:template>"
        "</xsl:stylesheet>";
    exsltRegisterAll();
    xmlDocPtr sd = xmlReadMemory(style, strlen(style), "s.xsl", NULL, 0);
    xsltStylesheetPtr ss = xsltParseStylesheetDoc(sd);
    xmlDocPtr d = xmlReadMemory("<a><b>musl</b></a>", 18, "d.xml", NULL, 0);
    if (!ss || !d) return 1;
    xmlDocPtr r = xsltApplyStylesheet(ss, d, NULL);
    xmlChar *out; int len;
    if (!r || xsltSaveResultToString(&out, &len, r, ss) < 0) return 2;
    printf("libxslt %s transformed: %s\n", LIBXSLT_DOTTED_VERSION, (char *)out);
    return 0;
}
"""

_ZSTD_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <zstd.h>
int main(void) {
    const char *text = "muslwheel muslwheel muslwheel muslwheel";
    char packed[256], back[256];
    size_t n = ZSTD_compress(packed, sizeof packed, text, strlen(text) + 1, 3);
    if (ZSTD_isError(n)) return 1;
    size_t m = ZSTD_decompress(back, sizeof back, packed, n);
    if (ZSTD_isError(m) || strcmp(back, text)) return 2;
    printf("zstd %s round trip ok\n", ZSTD_versionString());
    return 0;
}
"""

_YAML_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <yaml.h>
int main(void) {
    yaml_parser_t p; yaml_event_t e; int scalars = 0;
    const char *doc = "a: [1, 2, musl]\n";
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)doc, strlen(doc));
    do {
        if (!yaml_parser_parse(&p, &e)) return 1;
        if (e.type == YAML_SCALAR_EVENT) scalars++;
        if (e.type == YAML_STREAM_END_EVENT) { yaml_event_delete(&e); break; }
        yaml_event_delete(&e);
    } while (1);
    yaml_parser_delete(&p);
    printf("yaml %s scalars=%d\n", yaml_get_version_string(), scalars);
    return 0;
}
"""

_BZIP2_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <bzlib.h>
int main(void) {
    char text[] = "muslwheel muslwheel muslwheel muslwheel", packed[512], back[512];
    unsigned int n = sizeof packed, m = sizeof back;
    if (BZ2_bzBuffToBuffCompress(packed, &n, text, sizeof text, 9, 0, 0) != BZ_OK) return 1;
    if (BZ2_bzBuffToBuffDecompress(back, &m, packed, n, 0, 0) != BZ_OK || strcmp(back, text)) return 2;
    printf("bzip2 %s round trip ok\n", BZ2_bzlibVersion());
    return 0;
}
"""

_XZ_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <lzma.h>
int main(void) {
    const char *text = "muslwheel muslwheel muslwheel muslwheel";
    uint8_t packed[512], back[512]; size_t n = 0, m = 0, in = 0;
    uint64_t limit = UINT64_MAX;
    if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)text, strlen(text) + 1,
                                packed, &n, sizeof packed) != LZMA_OK) return 1;
    if (lzma_stream_buffer_decode(&limit, 0, NULL, packed, &in, n, back, &m, sizeof back) != LZMA_OK) return 2;
    if (strcmp((char *)back, text)) return 3;
    printf("xz %s round trip ok\n", lzma_version_string());
    return 0;
}
"""

_SQLITE_PROOF = r"""
#include <stdio.h>
#include <sqlite3.h>
static int row(void *u, int n, char **v, char **c) { printf("sqlite %s answer=%s\n", sqlite3_libversion(), v[0]); return 0; }
int main(void) {
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
    if (sqlite3_exec(db, "create table t(x); insert into t values (40), (2); select sum(x) from t;", row, 0, 0)) return 2;
    sqlite3_close(db);
    return 0;
}
"""

_EXPAT_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <expat.h>
static int elements;
static void XMLCALL start(void *u, const XML_Char *n, const XML_Char **a) { elements++; }
int main(void) {
    const char *doc = "<a><b>musl</b><c/></a>";
    XML_Parser p = XML_ParserCreate(NULL);
    XML_SetStartElementHandler(p, start);
    if (XML_Parse(p, doc, strlen(doc), 1) != XML_STATUS_OK) return 1;
    XML_ParserFree(p);
    printf("%s elements=%d\n", XML_ExpatVersion(), elements);
    return 0;
}
"""

_JPEG_PROOF = r"""
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
int main(void) {
    struct jpeg_compress_struct c; struct jpeg_error_mgr e;
    unsigned char *buf = NULL; unsigned long size = 0;
    unsigned char row[8 * 3];
    for (int i = 0; i < 24; i++) row[i] = (unsigned char)(i * 10);
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = 8; c.image_height = 8; c.input_components = 3; c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < 8) { JSAMPROW r = row; jpeg_write_scanlines(&c, &r, 1); }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    printf("libjpeg %d wrote a jpeg: %s\n", JPEG_LIB_VERSION, (size > 100 && buf[0] == 0xFF && buf[1] == 0xD8) ? "yes" : "no");
    free(buf);
    return 0;
}
"""

_PNG_PROOF = r"""
#include <stdio.h>
#include <png.h>
int main(void) {
    png_image img = {0};
    img.version = PNG_IMAGE_VERSION; img.width = 2; img.height = 2; img.format = PNG_FORMAT_RGB;
    unsigned char px[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9}, out[256];
    png_alloc_size_t n = sizeof out;
    if (!png_image_write_to_memory(&img, out, &n, 0, px, 0, NULL)) return 1;
    printf("libpng %s wrote %s\n", png_get_libpng_ver(NULL), (out[1] == 'P' && out[2] == 'N') ? "a png" : "junk");
    return 0;
}
"""


_BZIP2_MAKEFILE = """\
# written by muslwheel: bzip2's library only (its Makefile builds programs; Makefile-libbz2_so
# only the shared library, with gcc's flags), static and shared, and a .pc file
OBJS = blocksort.o huffman.o crctable.o randtable.o compress.o decompress.o bzlib.o
VERSION = 1.0.8
all: libbz2.a libbz2.so.$(VERSION)
%.o: %.c
\t$(CC) $(CFLAGS) -D_FILE_OFFSET_BITS=64 -c $< -o $@
libbz2.a: $(OBJS)
\t$(AR) rc $@ $(OBJS)
\t$(RANLIB) $@
libbz2.so.$(VERSION): $(OBJS)
\t$(CC) -shared -Wl,-soname,libbz2.so.1.0 -o $@ $(OBJS)
install: all
\tmkdir -p $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
\tcp bzlib.h $(DESTDIR)$(PREFIX)/include/
\tcp libbz2.a libbz2.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
\tln -sf libbz2.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libbz2.so.1.0
\tln -sf libbz2.so.1.0 $(DESTDIR)$(PREFIX)/lib/libbz2.so
\tprintf 'prefix=%s\\nlibdir=$${prefix}/lib\\nincludedir=$${prefix}/include\\n\\nName: bzip2\\nDescription: bzip2 compression library\\nVersion: $(VERSION)\\nLibs: -L$${libdir} -lbz2\\nCflags: -I$${includedir}\\n' '$(PREFIX)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/bzip2.pc
"""


def _bzip2_makefile(tree: Path) -> None:
    """bzip2's own Makefile builds its programs with gcc's flags: replace it with one that
    builds the library, static and shared, and installs a ``.pc`` file."""
    (tree / "Makefile").write_text(_BZIP2_MAKEFILE)


_YAML_CMAKE = """
# added by muslwheel: a SONAME (libyaml.so.2) and the .pc file libyaml's autotools build gives
set_target_properties(yaml PROPERTIES VERSION 2.0.9 SOVERSION 2)
file(WRITE ${CMAKE_BINARY_DIR}/yaml-0.1.pc "prefix=${CMAKE_INSTALL_PREFIX}
libdir=\\${prefix}/lib
includedir=\\${prefix}/include

Name: LibYAML
Description: Library to parse and emit YAML
Version: 0.2.5
Cflags: -I\\${includedir}
Libs: -L\\${libdir} -lyaml
")
install(FILES ${CMAKE_BINARY_DIR}/yaml-0.1.pc DESTINATION lib/pkgconfig)
"""


def _yaml_soname(tree: Path) -> None:
    """libyaml's CMake build (its autotools one needs autoreconf) sets no SONAME and writes no
    ``.pc`` file: give it both, as its autotools build has them."""
    with open(tree / "CMakeLists.txt", "a") as f:
        f.write(_YAML_CMAKE)


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            name="zlib",
            debian_source="zlib",
            version_prefix="1.3",
            system="configure",
            libraries=("libz.so",),
            headers=("zlib.h", "zconf.h"),
            proof=_ZLIB_PROOF,
            proof_libs=("-lz",),
            proof_expect="round trip ok",
            # Debian's tarball leaves out contrib/, where the s390x CRC code lives
            arch_options=(("s390x", ("--disable-crcvx",)),),
        ),
        Recipe(
            name="libffi",
            debian_source="libffi",
            # 3.4.4: Debian's later tarballs (3.4.8) come without a generated configure
            version_prefix="3.4.4",
            system="autotools",
            libraries=("libffi.so",),
            headers=("ffi.h", "ffitarget.h"),
            proof=_FFI_PROOF,
            proof_libs=("-lffi",),
            proof_expect="add(40, 2)=42",
            options=(
                "--with-pic",
                "--disable-docs",
                "--disable-multi-os-directory",
                "--disable-exec-static-tramp",
                # its test runs `cc -Werror -S`, which zig fails ("argument unused: -c"); without
                # hidden visibility i386's sysv.S calls a preemptible pc thunk
                "libffi_cv_hidden_visibility_attribute=yes",
            ),
        ),
        Recipe(
            name="openssl",
            debian_source="openssl",
            version_prefix="3",
            system="openssl",
            libraries=("libssl.so", "libcrypto.so"),
            headers=("openssl/ssl.h", "openssl/evp.h"),
            proof=_OPENSSL_PROOF,
            proof_libs=("-lssl", "-lcrypto"),
            proof_expect="sha256(abc)=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            options=("no-apps", "no-module", "no-legacy", "no-engine"),
        ),
        Recipe(
            name="libxml2",
            debian_source="libxml2",
            version_prefix="2",
            system="autotools",
            libraries=("libxml2.so",),
            headers=("libxml2/libxml/parser.h", "libxml2/libxml/xmlversion.h"),
            proof=_LIBXML2_PROOF,
            proof_libs=("-I{prefix}/include/libxml2", "-lxml2"),
            proof_expect="parsed: musl",
            options=("--without-python", "--without-icu", "--without-readline", "--without-history", "--with-zlib"),
            depends=("zlib",),
            config_tools=(("xml2-config", "libxml-2.0"),),
        ),
        Recipe(
            name="libxslt",
            debian_source="libxslt",
            version_prefix="1.1",
            system="autotools",
            libraries=("libxslt.so", "libexslt.so"),
            headers=("libxslt/xslt.h", "libexslt/exslt.h"),
            proof=_LIBXSLT_PROOF,
            proof_libs=("-I{libxml2}/include/libxml2", "-lexslt", "-lxslt", "-lxml2", "-lz"),
            proof_expect="transformed: got musl",
            options=("--without-python", "--without-crypto", "--without-debugger", "--without-profiler"),
            depends=("libxml2",),
            config_tools=(("xslt-config", "libxslt"),),
        ),
        Recipe(
            name="zstd",
            debian_source="libzstd",
            version_prefix="1.5",
            system="cmake",
            subdir="build/cmake",
            libraries=("libzstd.so",),
            headers=("zstd.h", "zdict.h", "zstd_errors.h"),
            proof=_ZSTD_PROOF,
            proof_libs=("-lzstd",),
            proof_expect="round trip ok",
            options=(
                "-DZSTD_BUILD_PROGRAMS=OFF",
                "-DZSTD_BUILD_TESTS=OFF",
                "-DZSTD_BUILD_STATIC=ON",
                "-DZSTD_BUILD_SHARED=ON",
                "-DZSTD_LEGACY_SUPPORT=OFF",
            ),
        ),
        Recipe(
            name="libyaml",
            debian_source="libyaml",
            version_prefix="0.2",
            system="cmake",
            libraries=("libyaml.so",),
            headers=("yaml.h",),
            proof=_YAML_PROOF,
            proof_libs=("-lyaml",),
            proof_expect="scalars=4",
            options=("-DINSTALL_CMAKE_DIR=lib/cmake/yaml",),
            prepare=_yaml_soname,
        ),
        Recipe(
            name="bzip2",
            debian_source="bzip2",
            version_prefix="1.0",
            system="make",
            libraries=("libbz2.so",),
            headers=("bzlib.h",),
            proof=_BZIP2_PROOF,
            proof_libs=("-lbz2",),
            proof_expect="round trip ok",
            options=("PREFIX={prefix}", "DESTDIR={stage}"),
            prepare=_bzip2_makefile,
        ),
        Recipe(
            name="xz",
            debian_source="xz-utils",
            version_prefix="5",
            system="autotools",
            libraries=("liblzma.so",),
            headers=("lzma.h",),
            proof=_XZ_PROOF,
            proof_libs=("-llzma",),
            proof_expect="round trip ok",
            options=(
                "--disable-xz",
                "--disable-xzdec",
                "--disable-lzmadec",
                "--disable-lzmainfo",
                "--disable-scripts",
                "--disable-doc",
                "--disable-nls",
            ),
        ),
        Recipe(
            name="sqlite3",
            debian_source="sqlite3",
            version_prefix="3",
            system="autotools",
            libraries=("libsqlite3.so",),
            headers=("sqlite3.h",),
            proof=_SQLITE_PROOF,
            proof_libs=("-lsqlite3",),
            proof_expect="answer=42",
            # --soname=legacy: libsqlite3.so.0, as Debian's and Alpine's (its autosetup sets none
            # by default, and a consumer then records the library's path as found)
            options=("--disable-readline", "--disable-tcl", "--soname=legacy"),
        ),
        Recipe(
            name="expat",
            debian_source="expat",
            version_prefix="2",
            system="cmake",
            subdir="expat",
            libraries=("libexpat.so",),
            headers=("expat.h",),
            proof=_EXPAT_PROOF,
            proof_libs=("-lexpat",),
            proof_expect="elements=3",
            options=(
                "-DEXPAT_BUILD_TOOLS=OFF",
                "-DEXPAT_BUILD_EXAMPLES=OFF",
                "-DEXPAT_BUILD_TESTS=OFF",
                "-DEXPAT_BUILD_DOCS=OFF",
                "-DEXPAT_SHARED_LIBS=ON",
            ),
        ),
        Recipe(
            name="libjpeg-turbo",
            debian_source="libjpeg-turbo",
            version_prefix="3",
            system="cmake",
            libraries=("libjpeg.so", "libturbojpeg.so"),
            headers=("jpeglib.h", "turbojpeg.h"),
            proof=_JPEG_PROOF,
            proof_libs=("-ljpeg",),
            proof_expect="wrote a jpeg: yes",
            options=("-DENABLE_STATIC=ON", "-DENABLE_SHARED=ON", "-DWITH_JAVA=OFF", "-DREQUIRE_SIMD=OFF"),
        ),
        Recipe(
            name="libpng",
            debian_source="libpng1.6",
            version_prefix="1.6",
            system="autotools",
            libraries=("libpng16.so",),
            headers=("png.h", "libpng16/png.h"),
            proof=_PNG_PROOF,
            proof_libs=("-lpng16", "-lz"),
            proof_expect="wrote a png",
            options=("--disable-tools", "--disable-tests"),
            depends=("zlib",),
        ),
    )
}
