"""Shared test fixtures. Keras/TensorFlow are imported inside tests that need them only."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (make test-slow)")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run with ``--run-slow`` or ``ARCHSCALE_SLOW_TESTS=1`` only; the
    README's profiler-parity section lists which they are."""
    import pytest

    if config.getoption("--run-slow") or os.environ.get("ARCHSCALE_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (make test-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
