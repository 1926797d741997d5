"""``archscale profile resnet50.keras`` from a cold process: wall time and peak memory, median
of several runs, against loading the file with Keras (what archscale did before it read the
config). Target: under 0.3 s and 100 MiB.

The file is saved once per session (weights included: the reader opens only config.json).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import pytest

ROUNDS = 5
_CHILD = ("import resource, sys; import archscale; p = archscale.profile(sys.argv[1]); "
          "print(p.params, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
          "'tensorflow' in sys.modules or 'keras' in sys.modules)")
_CLI = [sys.executable, "-m", "archscale", "profile", "--no-layers", "--json"]


@pytest.fixture(scope="module")
def resnet50_file(tmp_path_factory):
    # saved in a child: a child forked from a process holding TensorFlow would report that
    # process's peak RSS (Linux keeps ru_maxrss across exec)
    path = str(tmp_path_factory.mktemp("keras") / "resnet50.keras")
    _cold([sys.executable, "-c", "import sys, keras; "
           "keras.applications.ResNet50(weights=None).save(sys.argv[1])", path])
    return path


def _cold(argv: list[str]) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
    return time.perf_counter() - start, out


def test_profile_file_cold_process(resnet50_file):
    runs = [_cold([sys.executable, "-c", _CHILD, resnet50_file]) for _ in range(ROUNDS)]
    seconds = statistics.median(s for s, _ in runs)
    params, max_rss_kib, heavy = runs[0][1].split()
    print(f"\nresnet50.keras, archscale.profile in a cold process: median {seconds:.3f} s over "
          f"{ROUNDS} runs, peak RSS {int(max_rss_kib) / 1024:.0f} MiB, "
          f"tensorflow/keras imported: {heavy}")
    assert params == "25636712" and heavy == "False"
    assert int(max_rss_kib) < 100 * 1024
    assert seconds < 0.3 or os.cpu_count() <= 2  # the target, on a machine that is not shared


def test_cli_profile_file_cold_process(resnet50_file):
    runs = [_cold(_CLI + [resnet50_file]) for _ in range(ROUNDS)]
    seconds = statistics.median(s for s, _ in runs)
    print(f"\narchscale profile resnet50.keras (CLI, cold): median {seconds:.3f} s")
    assert '"params": 25636712' in runs[0][1]
    assert seconds < 0.3 or os.cpu_count() <= 2  # the target, on a machine that is not shared


def test_keras_load_cold_process(resnet50_file):
    code = ("import sys, keras; keras.models.load_model(sys.argv[1], compile=False)")
    seconds = statistics.median(_cold([sys.executable, "-c", code, resnet50_file])[0]
                                for _ in range(2))
    print(f"\nkeras.models.load_model(resnet50.keras), cold: median {seconds:.3f} s")
