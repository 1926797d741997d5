"""Import TensorFlow and Keras quietly: one helper for every process that measures.

The CLI promises one-line errors, so TensorFlow's native start-up log lines (absl's "before
InitializeLog" messages ignore ``TF_CPP_MIN_LOG_LEVEL``) are sent to /dev/null while it loads.
Used by the CLI verbs that measure and by the runner's job processes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null inside the block (not with ``ARCHSCALE_DEBUG=1``).

    TensorFlow's native libraries log several lines on import (absl's "before InitializeLog"
    messages ignore ``TF_CPP_MIN_LOG_LEVEL``); the CLI promises one-line errors.
    """
    if os.environ.get("ARCHSCALE_DEBUG") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow() -> None:
    """Import TensorFlow and Keras and find the devices without their start-up log lines.

    Call it inside a verb's ``run`` before anything that imports TensorFlow.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    with quiet_native_stderr():
        import keras  # noqa: F401
        import tensorflow

        tensorflow.config.list_physical_devices()  # device start-up logs (cuInit) happen here
