"""A result store filled by a real small sweep (shared by the report tests of this folder).

The sweep measures the cost and latency (batch 1 and 8, short timing settings) of four tiny
presets, the memory of one, and one accuracy job on an ``.npz`` file that times out (a
recorded failure: its 0.05 s timeout cannot hold a training run). Names and the dataset path carry HTML (``<script>``, ``&``, ``<b>``) to
check escaping. When ``archscale.measure.accuracy`` exists, ``mnist1d_cnn`` and
``mnist1d_mlp`` (at input 40x1) are also trained on mnist1d_seq (one seed, the default recipe
with early stopping) so that the accuracy frontiers have real rows. As the sweep measures
latency, the runner adds its machine-peak job. About 50-60 s on two cores.
"""

from __future__ import annotations

import os
import textwrap

import pytest

EVIL_NAME = "<script>alert(1)</script> & <b>co</b>"
EVIL_DATASET = "weird&<data>.npz"

SWEEP = """\
name = "report-test"
workers = 2
measure = ["cost", "latency"]
batch_sizes = [1, 8]
timeout = 300

[settings.latency]
min_samples = 10
min_duration_s = 0.2
max_warmup_s = 1.0

[[arch]]
preset = ["mlp", "mnist1d_cnn", "resnet20"]

[[arch]]
preset = "mnist1d_mlp"
name = {evil_name}
measure = ["cost", "latency", "memory"]
settings.memory.batch_sizes = [1, 8]

[[arch]]
preset = "mnist1d_mlp"
name = "bad data"
measure = ["accuracy"]
datasets = [{evil_dataset}]
seeds = [0]
timeout = 0.05
"""

ACCURACY = """
[[arch]]
preset = "mnist1d_cnn"
measure = ["accuracy"]
datasets = ["mnist1d_seq"]
seeds = [0]

[[arch]]
preset = "mnist1d_mlp"
name = "mnist1d_mlp seq"
set = { input_shape = [40, 1] }
measure = ["cost", "latency", "accuracy"]
datasets = ["mnist1d_seq"]
seeds = [0]
"""


def write_small_npz(path) -> None:
    """A valid 40-feature, 10-class dataset file (20 training, 10 test examples)."""
    import numpy as np

    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.normal(size=(20, 40)), y_train=np.arange(20) % 10,
             x_test=rng.normal(size=(10, 40)), y_test=np.arange(10) % 10)


@pytest.fixture(scope="session")
def sweep_store(tmp_path_factory):
    """``(directory, db path)`` of the store after the sweep (run once per session)."""
    from archscale.cli import main

    root = tmp_path_factory.mktemp("sweep")
    write_small_npz(root / EVIL_DATASET)
    text = SWEEP.format(evil_name='"' + EVIL_NAME + '"',
                        evil_dataset='"npz:' + EVIL_DATASET + '"')
    text += ACCURACY
    sweep = root / "sweep.toml"
    sweep.write_text(textwrap.dedent(text))
    db = str(root / "results.db")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        code = main(["bench", str(sweep), "--db", db])
    finally:
        os.chdir(cwd)
    assert code == 1  # the bad-data job times out; everything else is ok
    return root, db
