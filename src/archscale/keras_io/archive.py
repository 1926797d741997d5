"""Reading a ``.keras`` archive without Keras: a zip holding ``config.json`` (the serialised
model), ``metadata.json`` and the weights. Only the config is read."""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

from archscale.errors import InputFileError

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def check_model_path(path: str) -> None:
    """Refuse a path that is not an existing model file.

    Raises:
        InputFileError: missing, not a file, or not ``.keras``/``.h5``/``.hdf5``.
    """
    if not os.path.isfile(path):
        raise InputFileError(f"model file not found or not a file. Received: {path!r}")
    if not path.endswith(MODEL_SUFFIXES):
        raise InputFileError(f"model files must end in .keras, .h5 or .hdf5. Received: {path!r}")


def read_config(path: str) -> dict[str, Any]:
    """The serialised model (``config.json``) of a ``.keras`` file.

    Raises:
        InputFileError: missing file, or not a valid .keras archive (empty, truncated, not a
            zip, no or unreadable ``config.json``).
    """
    check_model_path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            with archive.open("config.json") as handle:
                config = json.load(handle)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, OSError,
            EOFError, zipfile.LargeZipFile, NotImplementedError, RecursionError) as exc:
        reason = "no config.json" if isinstance(exc, KeyError) else \
            (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputFileError(f"{path!r} is not a valid .keras archive ({reason})") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise InputFileError(f"{path!r} is not a valid .keras archive (config.json holds no "
                             "serialised model)")
    return config
