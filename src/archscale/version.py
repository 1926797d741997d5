"""The archscale version (core: every record and report carries it)."""

__version__ = "0.1.0"
