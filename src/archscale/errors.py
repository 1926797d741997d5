"""Exception hierarchy. Every error archscale raises on bad input is an ``ArchscaleError``.

Messages follow Keras' convention: say what is expected, then ``Received: field=value``.
The CLI prints ``str(error)`` on one line and exits with code 2.
"""

from __future__ import annotations


class ArchscaleError(Exception):
    """Base class for every error archscale raises deliberately."""


class SpecError(ArchscaleError, ValueError):
    """An architecture spec, preset name or override is invalid."""


class ShapeError(ArchscaleError, ValueError):
    """A graph cannot be built: a layer would produce an empty or negative size."""


class UnsupportedModelError(ArchscaleError, ValueError):
    """A model, file or object cannot be profiled."""


class InputFileError(ArchscaleError, ValueError):
    """A file given by the user cannot be read or parsed."""


class StoreWriteError(RuntimeError):
    """The result store cannot take a row (the disk is full, the file became read-only): a run
    failure (CLI exit 1), not bad input, so it is not an ``ArchscaleError``."""
