"""muslwheel: binary wheels for musl libc Linux (PEP 656), audited to the symbol."""

__version__ = "0.1.0"
