"""Target kits: a root filesystem with a real musl (loader and libc at their real paths) and a
musl CPython, per (arch, musl release, CPython minor), built from Debian's sources.

``sources`` fetches Debian source packages into the download cache, judged by the files a build
needs; the rest of the package builds and finds kits.
"""
