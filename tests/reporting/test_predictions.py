"""A report's memory predictions come from the current memory model, recomputed from each
job's spec (``reporting.predictions``)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from archscale.profiling import profile
from archscale.reference_archs.registry import preset, spec_from_dict
from archscale.reporting.predictions import AT_RUN, CURRENT, refresh_memory_predictions
from archscale.reporting.sources import load_store

SPEC = preset("mnist1d_mlp").to_dict()


def _memory_row(key, backend="eigen", batch=8, measured=(200_000, 1_000_000)):
    return {"job_key": key, "measurement": "memory", "status": "ok", "batch_size": batch,
            "memory_backend": backend, "memory_optimizer": "adam", "memory_dtype": "float32",
            "inference_peak_bytes_predicted": 1, "inference_peak_bytes_measured": measured[0],
            "train_peak_bytes_predicted": 1, "train_peak_bytes_measured": measured[1],
            "train_peak_rel_error": -1.0, "inference_peak_rel_error": -1.0}


def test_memory_rows_get_the_current_rules_for_their_backend_batch_and_optimizer():
    rows = [_memory_row("a"), _memory_row("b", backend="onednn", batch=1),
            _memory_row("c"), {"job_key": "d", "measurement": "cost", "status": "ok",
                               "params": 5}]
    jobs = {"a": {"spec": SPEC}, "b": {"spec": SPEC}, "c": {"spec": "model.keras"},
            "d": {"spec": SPEC}}
    out = refresh_memory_predictions(rows, jobs)
    for row, backend, batch in ((out[0], "eigen", 8), (out[1], "onednn", 1)):
        prof = profile(spec_from_dict(SPEC), backend=backend)
        train = prof.training_peak_bytes(batch, "float32", "adam")
        infer = prof.inference_peak_bytes(batch, "float32")
        assert row["memory_predicted_by"] == CURRENT
        assert (row["train_peak_bytes_predicted"], row["inference_peak_bytes_predicted"]) == \
            (train, infer)
        assert row["train_peak_rel_error"] == pytest.approx(train / 1_000_000 - 1)
        assert row["inference_peak_rel_error"] == pytest.approx(infer / 200_000 - 1)
    # eigen at batch 8 and onednn at batch 1 are different estimates
    assert out[0]["train_peak_bytes_predicted"] != out[1]["train_peak_bytes_predicted"]
    # no spec (a saved model): the stored prediction stays, and the row says so
    assert out[2]["train_peak_bytes_predicted"] == 1 and out[2]["memory_predicted_by"] == AT_RUN
    assert out[3] == rows[3]
    assert rows[0]["train_peak_bytes_predicted"] == 1  # the input rows are not changed


def test_a_store_written_by_older_rules_reports_the_current_prediction(sweep_store, tmp_path):
    path = str(tmp_path / "old.db")
    shutil.copy(sweep_store[1], path)
    with sqlite3.connect(path) as con:  # what an older memory model would have stored
        key, text = con.execute("SELECT job_key, row FROM results WHERE measurement = 'memory'"
                                " AND status = 'ok' LIMIT 1").fetchone()
        row = json.loads(text)
        current = row["train_peak_bytes_predicted"]
        row["train_peak_bytes_predicted"] = current // 2
        con.execute("UPDATE results SET row = ? WHERE job_key = ?", (json.dumps(row), key))
    loaded = {r["job_key"]: r for r in load_store(path).rows}[key]
    assert loaded["train_peak_bytes_predicted"] == current
    assert loaded["memory_predicted_by"] == CURRENT
    assert loaded["train_peak_rel_error"] == pytest.approx(
        current / loaded["train_peak_bytes_measured"] - 1)
