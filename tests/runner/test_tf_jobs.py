"""Real TensorFlow jobs through the runner: the machine peak, latency and memory of a tiny
preset, in a fork-server child and in a spawned worker, with the contract's unit-suffixed
columns and the environment."""

from __future__ import annotations

import pytest

from archscale.runner.scheduler import run_sweep
from archscale.runner.jobs import expand
from archscale.runner.store import Store
from archscale.runner.sweep import sweep_from_dict

LATENCY_COLUMNS = ("latency_ms_min", "latency_ms_median", "latency_ms_mean", "latency_ms_p90",
                   "latency_ms_p99", "latency_ms_iqr", "latency_ms_median_ci_low",
                   "latency_ms_median_ci_high", "samples_per_second", "trace_ms",
                   "latency_samples")
MEMORY_COLUMNS = ("inference_peak_bytes_measured", "inference_peak_bytes_predicted",
                  "train_peak_bytes_measured", "train_peak_bytes_predicted",
                  "inference_peak_rel_error", "train_peak_rel_error")
ENV_COLUMNS = ("env_cpu_model", "env_ram_bytes", "env_gpu_name", "env_tensorflow",
               "env_tf_intra_op_threads", "env_xla", "env_dtype")


@pytest.mark.tf
@pytest.mark.parametrize("executor", ["fork", "spawn"])
def test_latency_and_memory_jobs(tmp_path, executor):
    sweep = sweep_from_dict({
        "measure": ["latency", "memory"], "batch_sizes": [4],
        "settings": {"latency": {"min_samples": 10, "min_duration_s": 0.2,
                                 "max_warmup_s": 1.0},
                     "peak": {"size": 256, "repeats": 2}},
        "arch": [{"preset": "mnist1d_mlp"}]})
    jobs = expand(sweep)
    with Store(str(tmp_path / "tf.db")) as store:
        summary = run_sweep(jobs, store, executor=executor)
        peak, latency, memory = store.rows([j.key for j in jobs])
    assert summary.ok == 3, [r.get("error") for r in (peak, latency, memory)]
    assert peak["measurement"] == "peak" and peak["machine_peak_gflops"] > 0
    assert peak["machine_peak_matmul_size"] == 256 and peak["family"] == "machine"
    assert (summary.startup_s > 0) == (executor == "fork")
    assert latency["measurement"] == "latency" and latency["batch_size"] == 4
    assert all(c in latency for c in LATENCY_COLUMNS + ENV_COLUMNS)
    assert latency["latency_ms_min"] <= latency["latency_ms_median"] <= latency["latency_ms_p99"]
    assert len(latency["latency_samples"]) >= 10 and latency["env_xla"] is False
    assert all(c in memory for c in MEMORY_COLUMNS + ENV_COLUMNS)
    assert memory["train_peak_bytes_measured"] > 0 and memory["params"] == 15210
    assert memory["env_tf_cpu_allocator_bfc"] is True  # set before TensorFlow's first op
    assert memory["env_tf_onednn"] in (True, False)  # which CPU kernels TensorFlow ran
    for row in (peak, latency, memory):
        assert row["job_measure_s"] > 0 and row["job_overhead_s"] >= 0
        if executor == "spawn":
            assert row["job_import_s"] > 0  # the TensorFlow import is paid per job
