"""Shared test fixtures. Keras/TensorFlow are imported inside tests that need them only."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (make test-slow)")


# Test files whose tests share one session fixture: one xdist group, so that it runs once.
SHARED_GROUPS = {
    "tests/reporting/test_report.py": "reporting-sweep-store",
    "tests/reporting/test_predictions.py": "reporting-sweep-store",
}


def _xdist_group(item) -> str:
    """The parallel pass's unit of distribution (``--dist loadgroup``): the test's file, so that
    a module fixture is built once, or the group of files that share a session fixture."""
    path = item.nodeid.split("::", 1)[0]
    return SHARED_GROUPS.get(path, path)


@pytest.hookimpl(tryfirst=True)  # before xdist's hook reads the groups
def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run with ``--run-slow`` or ``ARCHSCALE_SLOW_TESTS=1`` only; the
    README's profiler-parity section lists which they are. Every test gets an ``xdist_group``
    (its file, see ``_xdist_group``) for ``make test``'s parallel pass."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_xdist_group(item)))
    if config.getoption("--run-slow") or os.environ.get("ARCHSCALE_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (make test-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
