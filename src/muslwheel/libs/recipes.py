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
            # i686: clang makes __atomic_is_lock_free(8, p) a call to libatomic, which musl and
            # zig lack (libcrypto.so failed to link its proof); OpenSSL's own knob takes its
            # lock-based fallbacks instead
            arch_options=(("i686", ("-DBROKEN_CLANG_ATOMICS",)),),
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
            options=("--without-python", "--without-crypto", "--without-debugger"),
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


# --- issue #34's second set: crypto, images, messaging, HTTP, database, geometry, scientific I/O ---
# (appended apart from the entries above, so that edits to those merge cleanly)

_SODIUM_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <sodium.h>
int main(void) {
    unsigned char md[crypto_hash_sha256_BYTES], key[crypto_secretbox_KEYBYTES], nonce[crypto_secretbox_NONCEBYTES];
    unsigned char boxed[crypto_secretbox_MACBYTES + 5], back[5];
    if (sodium_init() < 0) return 1;
    crypto_hash_sha256(md, (const unsigned char *)"abc", 3);
    randombytes_buf(key, sizeof key); randombytes_buf(nonce, sizeof nonce);
    crypto_secretbox_easy(boxed, (const unsigned char *)"musl!", 5, nonce, key);
    if (crypto_secretbox_open_easy(back, boxed, sizeof boxed, nonce, key) != 0 || memcmp(back, "musl!", 5)) return 2;
    boxed[0] ^= 1;
    if (crypto_secretbox_open_easy(back, boxed, sizeof boxed, nonce, key) == 0) return 3;
    printf("libsodium %s secretbox ok sha256(abc)=", sodium_version_string());
    for (size_t i = 0; i < sizeof md; i++) printf("%02x", md[i]);
    printf("\n");
    return 0;
}
"""

_WEBP_PROOF = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/encode.h>
#include <webp/decode.h>
#include <webp/mux.h>
int main(void) {
    uint8_t rgb[4 * 4 * 3], *packed = NULL;
    for (int i = 0; i < (int)sizeof rgb; i++) rgb[i] = (uint8_t)(i * 5);
    size_t n = WebPEncodeLosslessRGB(rgb, 4, 4, 12, &packed);
    if (!n) return 1;
    int w = 0, h = 0;
    uint8_t *back = WebPDecodeRGB(packed, n, &w, &h);
    if (!back || w != 4 || h != 4 || memcmp(back, rgb, sizeof rgb)) return 2;
    WebPData data = {packed, n};
    WebPMux *mux = WebPMuxCreate(&data, 0);
    if (!mux) return 3;
    WebPMuxDelete(mux);
    printf("libwebp %06x lossless round trip ok\n", WebPGetDecoderVersion());
    WebPFree(back); WebPFree(packed);
    return 0;
}
"""

_LCMS2_PROOF = r"""
#include <stdio.h>
#include <lcms2.h>
int main(void) {
    cmsHPROFILE srgb = cmsCreate_sRGBProfile(), lab = cmsCreateLab4Profile(NULL);
    cmsHTRANSFORM t = cmsCreateTransform(srgb, TYPE_RGB_8, lab, TYPE_Lab_DBL, INTENT_PERCEPTUAL, 0);
    if (!t) return 1;
    unsigned char white[3] = {255, 255, 255};
    cmsCIELab out;
    cmsDoTransform(t, white, &out, 1);
    printf("lcms2 %d white L=%.0f\n", cmsGetEncodedCMMversion(), out.L);
    cmsDeleteTransform(t); cmsCloseProfile(srgb); cmsCloseProfile(lab);
    return 0;
}
"""

_TIFF_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <tiffio.h>
int main(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/muslwheel-tiff-proof-%d.tif", (int)getpid());
    unsigned char row[8 * 3], back[8 * 3];
    for (int i = 0; i < 24; i++) row[i] = (unsigned char)(i * 9);
    TIFF *t = TIFFOpen(path, "w");
    if (!t) return 1;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 8); TIFFSetField(t, TIFFTAG_IMAGELENGTH, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3); TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB); TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
    for (int y = 0; y < 8; y++) if (TIFFWriteScanline(t, row, y, 0) < 0) return 2;
    TIFFClose(t);
    t = TIFFOpen(path, "r");
    if (!t) return 3;
    for (int y = 0; y < 8; y++) /* in order: deflate strips are read sequentially */
        if (TIFFReadScanline(t, back, y, 0) < 0 || memcmp(back, row, sizeof row)) return 4;
    TIFFClose(t);
    unlink(path);
    printf("libtiff deflate round trip ok, jpeg codec %s\n", TIFFIsCODECConfigured(COMPRESSION_JPEG) ? "yes" : "no");
    return 0;
}
"""

_FREETYPE_PROOF = r"""
#include <stdio.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_MODULE_H
int main(void) {
    FT_Library lib; FT_Face face; FT_Int a, b, c;
    static const FT_Byte junk[64] = {1, 2, 3};
    if (FT_Init_FreeType(&lib)) return 1;
    FT_Library_Version(lib, &a, &b, &c);
    int refused = FT_New_Memory_Face(lib, junk, sizeof junk, 0, &face) != 0;
    int truetype = FT_Get_Module(lib, "truetype") != NULL;
    printf("freetype %d.%d.%d truetype=%d junk refused=%d\n", a, b, c, truetype, refused);
    FT_Done_FreeType(lib);
    return 0;
}
"""

_ZMQ_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <zmq.h>
int main(void) {
    int a, b, c; char buf[16] = {0};
    void *ctx = zmq_ctx_new();
    void *rep = zmq_socket(ctx, ZMQ_PAIR), *req = zmq_socket(ctx, ZMQ_PAIR);
    if (zmq_bind(rep, "inproc://proof") || zmq_connect(req, "inproc://proof")) return 1;
    if (zmq_send(req, "musl", 4, 0) != 4 || zmq_recv(rep, buf, sizeof buf - 1, 0) != 4 || strcmp(buf, "musl")) return 2;
    zmq_version(&a, &b, &c);
    printf("libzmq %d.%d.%d pair round trip ok curve=%d\n", a, b, c, zmq_has("curve"));
    zmq_close(req); zmq_close(rep); zmq_ctx_term(ctx);
    return 0;
}
"""

_CURL_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
static size_t got;
static size_t take(char *p, size_t s, size_t n, void *u) { got += s * n; return s * n; }
int main(void) {
    char path[64], url[96];
    snprintf(path, sizeof path, "/tmp/muslwheel-curl-proof-%d", (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    fputs("muslwheel fetched this\n", f); fclose(f);
    snprintf(url, sizeof url, "file://%s", path);
    curl_global_init(CURL_GLOBAL_ALL);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
    CURLcode rc = curl_easy_perform(c);
    unlink(path);
    if (rc != CURLE_OK || got != 23) return 2;
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (!v->ssl_version || strncmp(v->ssl_version, "OpenSSL", 7) || !v->libz_version) return 3;
    printf("libcurl %s %s zlib/%s file fetch ok\n", v->version, v->ssl_version, v->libz_version);
    curl_easy_cleanup(c);
    return 0;
}
"""

_LIBPQ_PROOF = r"""
#include <stdio.h>
#include <string.h>
#include <libpq-fe.h>
int main(void) {
    /* no server here: the client library parses a connection string and fails to connect, in its words */
    PGconn *c = PQconnectdb("host=/nonexistent-muslwheel port=5 dbname=x connect_timeout=1");
    int bad = PQstatus(c) == CONNECTION_BAD;
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse("host=db.example sslmode=require", &err);
    if (!opts || err) return 1;
    PQconninfoFree(opts);
    printf("libpq %d ssl=%d refused=%d\n", PQlibVersion(), PQsslAttribute(NULL, "library") != NULL, bad);
    PQfinish(c);
    return 0;
}
"""

_GEOS_PROOF = r"""
#include <stdio.h>
#include <geos_c.h>
int main(void) {
    GEOSContextHandle_t h = GEOS_init_r();
    GEOSWKTReader *r = GEOSWKTReader_create_r(h);
    GEOSGeometry *a = GEOSWKTReader_read_r(h, r, "POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))");
    GEOSGeometry *b = GEOSWKTReader_read_r(h, r, "POLYGON((2 2, 6 2, 6 6, 2 6, 2 2))");
    if (!a || !b) return 1;
    GEOSGeometry *i = GEOSIntersection_r(h, a, b);
    double area = 0;
    if (!i || !GEOSArea_r(h, i, &area)) return 2;
    printf("geos %s intersection area=%.1f\n", GEOSversion(), area);
    GEOSGeom_destroy_r(h, i); GEOSGeom_destroy_r(h, a); GEOSGeom_destroy_r(h, b);
    GEOSWKTReader_destroy_r(h, r);
    GEOS_finish_r(h);
    return 0;
}
"""

_PROJ_PROOF = r"""
#include <stdio.h>
#include <stdlib.h>
#include <proj.h>
#include <string.h>
int main(void) {
    /* the proof runs before the prefix is in place: proj.db is in <the first LD_LIBRARY_PATH
       entry>/../share/proj, not yet where PROJ was configured to look */
    char data[4096] = "";
    const char *libs = getenv("LD_LIBRARY_PATH"), *path = data;
    if (libs) {
        strncpy(data, libs, 4000);
        char *colon = strchr(data, ':');
        if (colon) *colon = 0;
        strcat(data, "/../share/proj");
    }
    PJ_CONTEXT *c = proj_context_create();
    proj_context_set_search_paths(c, 1, &path);
    PJ *p = proj_create_crs_to_crs(c, "EPSG:4326", "EPSG:3857", NULL);
    if (!p) { printf("proj: no transform (%s)\n", proj_context_errno_string(c, proj_context_errno(c))); return 1; }
    PJ_COORD x = proj_coord(0, 1, 0, 0); /* lat 0, lon 1 (EPSG:4326's axis order) */
    PJ_COORD y = proj_trans(p, PJ_FWD, x);
    printf("proj %s EPSG:4326->3857 x=%.0f\n", proj_info().release, y.xy.x);
    proj_destroy(p); proj_context_destroy(c);
    return 0;
}
"""

_HDF5_PROOF = r"""
#include <stdio.h>
#include <unistd.h>
#include <hdf5.h>
int main(void) {
    char path[64]; int data[6] = {1, 2, 3, 4, 5, 27}, back[6] = {0};
    hsize_t dims[2] = {2, 3};
    unsigned maj, min, rel;
    snprintf(path, sizeof path, "/tmp/muslwheel-hdf5-proof-%d.h5", (int)getpid());
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(plist, 2, dims);
    H5Pset_deflate(plist, 6);
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "x", H5T_NATIVE_INT, space, H5P_DEFAULT, plist, H5P_DEFAULT);
    if (f < 0 || d < 0 || H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) return 1;
    H5Dclose(d); H5Sclose(space); H5Pclose(plist); H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    d = H5Dopen2(f, "x", H5P_DEFAULT);
    if (H5Dread(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) < 0 || back[5] != 27) return 2;
    H5Dclose(d); H5Fclose(f);
    unlink(path);
    H5get_libversion(&maj, &min, &rel);
    printf("hdf5 %u.%u.%u deflate round trip ok\n", maj, min, rel);
    return 0;
}
"""

#: libzmq's CMake runs its Linux feature checks only when not cross-compiling, and leaves
#: every one off otherwise (no CLOEXEC, no TCP keepalive tuning): musl on Linux has them all
_ZMQ_LINUX = tuple(
    f"-DZMQ_HAVE_{f}=1"
    for f in (
        "SOCK_CLOEXEC",
        "EVENTFD_CLOEXEC",
        "O_CLOEXEC",
        "SO_BINDTODEVICE",
        "SO_KEEPALIVE",
        "SO_PRIORITY",
        "TCP_KEEPCNT",
        "TCP_KEEPIDLE",
        "TCP_KEEPINTVL",
        "PTHREAD_SETNAME_2",
        "PTHREAD_SET_AFFINITY",
        "GETRANDOM",
    )
)

SECOND_SET = (
    Recipe(
        name="libsodium",
        debian_source="libsodium",
        version_prefix="1.0",
        system="autotools",
        libraries=("libsodium.so",),
        headers=("sodium.h",),
        proof=_SODIUM_PROOF,
        proof_libs=("-lsodium",),
        proof_expect="secretbox ok sha256(abc)=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        options=("--disable-dependency-tracking",),
    ),
    Recipe(
        name="libwebp",
        debian_source="libwebp",
        version_prefix="1",
        system="autotools",
        libraries=("libwebp.so", "libwebpdemux.so", "libwebpmux.so", "libsharpyuv.so"),
        headers=("webp/encode.h", "webp/decode.h", "webp/mux.h", "webp/demux.h"),
        proof=_WEBP_PROOF,
        proof_libs=("-lwebpmux", "-lwebp", "-lsharpyuv"),
        proof_expect="lossless round trip ok",
        options=(
            "--enable-libwebpmux",
            "--enable-libwebpdemux",
            "--disable-libwebpdecoder",
            "--disable-gl",
            "--disable-sdl",
            "--disable-png",
            "--disable-jpeg",
            "--disable-tiff",
            "--disable-gif",
        ),
    ),
    Recipe(
        name="lcms2",
        debian_source="lcms2",
        version_prefix="2",
        system="autotools",
        libraries=("liblcms2.so",),
        headers=("lcms2.h",),
        proof=_LCMS2_PROOF,
        proof_libs=("-llcms2",),
        proof_expect="white L=100",
        options=("--without-jpeg", "--without-tiff"),
    ),
    Recipe(
        name="libtiff",
        debian_source="tiff",
        version_prefix="4",
        system="cmake",
        libraries=("libtiff.so",),
        headers=("tiffio.h", "tiff.h"),
        proof=_TIFF_PROOF,
        proof_libs=("-ltiff", "-ljpeg", "-lz"),
        proof_expect="round trip ok, jpeg codec yes",
        options=(
            "-Dtiff-tools=OFF",
            "-Dtiff-tests=OFF",
            "-Dtiff-contrib=OFF",
            "-Dtiff-docs=OFF",
            "-Dtiff-opengl=OFF",
            "-Dtiff-cxx=OFF",
            "-Dzlib=ON",
            "-Djpeg=ON",
            "-Dold-jpeg=ON",
            "-Dlzma=OFF",
            "-Dzstd=OFF",
            "-Dwebp=OFF",
            "-Djbig=OFF",
            "-Dlerc=OFF",
            "-Dlibdeflate=OFF",
        ),
        depends=("zlib", "libjpeg-turbo"),
    ),
    Recipe(
        name="freetype",
        debian_source="freetype",
        version_prefix="2",
        system="cmake",
        libraries=("libfreetype.so",),
        headers=("freetype2/ft2build.h", "freetype2/freetype/freetype.h"),
        proof=_FREETYPE_PROOF,
        proof_libs=("-I{prefix}/include/freetype2", "-lfreetype", "-lpng16", "-lz"),
        proof_expect="truetype=1 junk refused=1",
        options=(
            "-DFT_REQUIRE_ZLIB=ON",
            "-DFT_REQUIRE_PNG=ON",
            "-DFT_DISABLE_BZIP2=ON",
            "-DFT_DISABLE_HARFBUZZ=ON",
            "-DFT_DISABLE_BROTLI=ON",
        ),
        depends=("zlib", "libpng"),
    ),
    Recipe(
        name="libzmq",
        debian_source="zeromq3",
        version_prefix="4.3",
        system="cmake",
        libraries=("libzmq.so",),
        headers=("zmq.h",),
        proof=_ZMQ_PROOF,
        proof_libs=("-lzmq", "-lsodium"),
        proof_expect="pair round trip ok curve=1",
        options=(
            "-DZMQ_BUILD_TESTS=OFF",
            "-DWITH_PERF_TOOL=OFF",
            "-DWITH_DOCS=OFF",
            "-DBUILD_STATIC=ON",
            "-DBUILD_SHARED=ON",
            "-DENABLE_DRAFTS=OFF",
            "-DWITH_LIBSODIUM=ON",
            "-DENABLE_CURVE=ON",
            "-DENABLE_CPACK=OFF",
            *_ZMQ_LINUX,
        ),
        depends=("libsodium",),
    ),
    Recipe(
        name="libcurl",
        debian_source="curl",
        version_prefix="8",
        system="autotools",
        libraries=("libcurl.so",),
        headers=("curl/curl.h",),
        proof=_CURL_PROOF,
        proof_libs=("-lcurl", "-lssl", "-lcrypto", "-lz"),
        proof_expect="file fetch ok",
        options=(
            "--with-openssl",
            "--with-zlib",
            # Alpine's CA bundle, read at run time on the target (never the build host's)
            "--with-ca-bundle=/etc/ssl/certs/ca-certificates.crt",
            "--with-ca-path=/etc/ssl/certs",
            "--without-libpsl",
            "--without-brotli",
            "--without-zstd",
            "--without-nghttp2",
            "--without-nghttp3",
            "--without-ngtcp2",
            "--without-libidn2",
            "--without-librtmp",
            "--without-libssh2",
            "--without-libssh",
            "--without-gssapi",
            "--disable-ldap",
            "--disable-ldaps",
            "--disable-manual",
            "--disable-docs",
        ),
        depends=("openssl", "zlib"),
        config_tools=(("curl-config", "libcurl"),),
    ),
    Recipe(
        name="libpq",
        debian_source="postgresql-18",
        version_prefix="18",
        system="libpq",
        libraries=("libpq.so",),
        headers=("libpq-fe.h", "postgres_ext.h", "pg_config.h"),
        proof=_LIBPQ_PROOF,
        proof_libs=("-lpq", "-lssl", "-lcrypto"),
        proof_expect="ssl=1 refused=1",
        options=(
            "--with-openssl",
            "--without-icu",
            "--without-readline",
            "--without-zlib",
            "--without-zstd",
            "--without-lz4",
            "--without-gssapi",
            "--without-ldap",
            "--without-libcurl",
            "--disable-nls",
        ),
        depends=("openssl",),
        config_tools=(("pg_config", "libpq"),),
    ),
    Recipe(
        name="geos",
        debian_source="geos",
        version_prefix="3",
        system="cmake",
        libraries=("libgeos_c.so", "libgeos.so"),
        headers=("geos_c.h",),
        proof=_GEOS_PROOF,
        proof_libs=("-lgeos_c",),
        proof_expect="intersection area=4.0",
        # BUILD_TESTING: GEOS builds its ~400 C++ unit tests by default (most of its build time)
        options=("-DBUILD_TESTING=OFF", "-DBUILD_BENCHMARKS=OFF", "-DBUILD_DOCUMENTATION=OFF", "-DBUILD_GEOSOP=OFF"),
        config_tools=(("geos-config", "geos"),),
    ),
    Recipe(
        name="proj",
        debian_source="proj",
        version_prefix="9",
        system="cmake",
        libraries=("libproj.so",),
        headers=("proj.h",),
        proof=_PROJ_PROOF,
        proof_libs=("-lproj", "-lsqlite3"),
        proof_expect="EPSG:4326->3857 x=111319",
        # proj.db is made at build time by running sqlite3's program on PROJ's SQL: the host's
        # (found on PATH; the database is the same file for every arch). Named, not searched:
        # find_program looks in CMAKE_PREFIX_PATH's bin first, where the sqlite3 recipe's prefix
        # holds the *target's* program, which runs here only for x86_64 and i686
        options=(
            "-DEXE_SQLITE3:STRING=sqlite3",
            "-DBUILD_APPS=OFF",
            "-DENABLE_TIFF=OFF",
            "-DENABLE_CURL=OFF",
            "-DBUILD_TESTING=OFF",
            "-DBUILD_EXAMPLES=OFF",
            "-DEMBED_RESOURCE_FILES=ON",
            "-DUSE_ONLY_EMBEDDED_RESOURCE_FILES=ON",
        ),
        depends=("sqlite3",),
    ),
    Recipe(
        name="hdf5",
        debian_source="hdf5",
        version_prefix="1.14",
        system="cmake",
        libraries=("libhdf5.so", "libhdf5_hl.so"),
        headers=("hdf5.h", "H5public.h"),
        proof=_HDF5_PROOF,
        proof_libs=("-lhdf5", "-lz"),
        proof_expect="deflate round trip ok",
        options=(
            "-DBUILD_TESTING=OFF",  # its test programs: not installed, and most of its build
            "-DHDF5_BUILD_TOOLS=OFF",
            "-DHDF5_BUILD_EXAMPLES=OFF",
            "-DHDF5_BUILD_UTILS=OFF",
            "-DHDF5_BUILD_CPP_LIB=OFF",
            "-DHDF5_BUILD_FORTRAN=OFF",
            "-DHDF5_BUILD_JAVA=OFF",
            "-DHDF5_BUILD_HL_LIB=ON",
            "-DHDF5_ENABLE_Z_LIB_SUPPORT=ON",
            "-DHDF5_ENABLE_SZIP_SUPPORT=OFF",
            "-DHDF5_ENABLE_THREADSAFE=OFF",
            "-DHDF5_USE_PREGEN=OFF",
            "-DBUILD_STATIC_LIBS=OFF",  # its ~400 C files once, not twice (h5py links the shared one)
        ),
        depends=("zlib",),
    ),
)
RECIPES.update((r.name, r) for r in SECOND_SET)
