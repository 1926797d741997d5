"""The SQLite store: schema, WAL mode, one row per job key, round trip, runs; row shaping."""

from __future__ import annotations

import sqlite3

import pytest

from archscale.errors import InputFileError
from archscale.runner.outcome import Outcome
from archscale.runner.planner import plan
from archscale.runner.jobs import expand
from archscale.runner.rows import aggregate_rows, make_row
from archscale.runner.store import Store, open_store
from archscale.runner.sweep import sweep_from_dict


@pytest.fixture
def jobs():
    sweep = sweep_from_dict({"measure": ["cost"], "batch_sizes": [1, 8],
                             "arch": [{"preset": "mlp"}, {"preset": "resnet20"}]})
    return expand(sweep)


def ok_outcome(**row):
    return Outcome("ok", row={"params": 1, **row}, environment={"env_cpu_count": 2},
                   returncode=0, wall_s=1.5, measure_s=0.5)


def failed_outcome():
    return Outcome("failed", error="worker exited with code 3", error_kind="crash",
                   returncode=3, wall_s=0.2)


def test_schema_wal_and_round_trip(tmp_path, jobs):
    path = str(tmp_path / "a.db")
    with Store(path) as store:
        assert store.journal_mode() == "wal"
        run_id = store.start_run("t", "test", len(jobs), 0)
        rows = [make_row(job, ok_outcome(latency_ms_median=1.25), run_id) for job in jobs]
        for job, row in zip(jobs, rows):
            store.put(row, job.to_dict(), job.environment)
        store.finish_run(run_id, ok=len(jobs), failed=0, wall_s=3.0, overhead_s_median=1.0)
    with Store(path) as store:  # reopen: everything is there
        back = store.rows([j.key for j in jobs])
        assert back == rows
        assert store.count() == len(jobs)
        assert list(store.environments()) == [rows[0]["environment_hash"]]
        (run,) = store.runs()
        assert run["ok"] == len(jobs) and run["wall_s"] == 3.0 and run["finished_at"]
    con = sqlite3.connect(path)
    columns = {r[1] for r in con.execute("PRAGMA table_info(results)")}
    assert {"job_key", "status", "family", "name", "preset", "measurement", "dataset",
            "batch_size", "seed", "created_at", "environment_hash", "row"} <= columns
    indexed = {r[1] for r in con.execute("PRAGMA index_list(results)")}
    assert {"results_family", "results_measurement", "results_dataset"} <= indexed
    assert con.execute("SELECT COUNT(DISTINCT job_key) FROM results").fetchone()[0] == len(jobs)


def test_put_replaces_and_plan_skips_ok_retries_failed(tmp_path, jobs):
    with Store(str(tmp_path / "b.db")) as store:
        store.put(make_row(jobs[0], failed_outcome()), jobs[0].to_dict(), jobs[0].environment)
        store.put(make_row(jobs[1], ok_outcome()), jobs[1].to_dict(), jobs[1].environment)
        todo, skip = plan(jobs, store)
        assert [j.key for j in skip] == [jobs[1].key]
        assert len(todo) == len(jobs) - 1 and todo[0].key == jobs[0].key
        todo, skip = plan(jobs, store, skip_failed=True)
        assert {j.key for j in skip} == {jobs[0].key, jobs[1].key}
        todo, skip = plan(jobs, store, force=True)
        assert len(todo) == len(jobs) and not skip
        store.put(make_row(jobs[0], ok_outcome()), jobs[0].to_dict(), jobs[0].environment)
        assert store.count() == 2
        assert store.statuses([jobs[0].key]) == {jobs[0].key: "ok"}
        assert len(store.rows(status="ok")) == 2 and store.rows(measurement="latency") == []


def test_failed_row_has_error_and_no_measurement_columns(jobs):
    row = make_row(jobs[0], failed_outcome())
    assert row["status"] == "failed" and row["error_kind"] == "crash"
    assert "params" not in row and row["returncode"] == 3
    ok = make_row(jobs[0], ok_outcome())
    assert ok["job_overhead_s"] == 1.0 and ok["env_cpu_count"] == 2
    keys = list(ok)
    assert keys[:5] == ["job_key", "group_key", "status", "name", "preset"]
    assert keys.index("params") < keys.index("job_wall_s") < keys.index("env_cpu_count")


def test_accuracy_rows_aggregate_over_seeds():
    sweep = sweep_from_dict({"measure": ["accuracy"], "datasets": ["mnist1d"],
                             "seeds": [2, 0, 1], "arch": [{"preset": "mnist1d_mlp"}]})
    jobs = expand(sweep)
    per_seed = {0: (0.60, 3), 1: (0.70, 5), 2: (None, None)}  # seed 2 diverged

    def seed_row(seed):
        acc, epoch = per_seed[seed]
        return {"seeds": [seed], "accuracy_mean": acc, "accuracy_std": None,
                "accuracy_per_seed": [acc], "best_epoch_mean": epoch,
                "best_epoch_per_seed": [epoch], "train_seconds": 2.0 + seed,
                "train_seconds_per_seed": [2.0 + seed], "train_seconds_total": 3.0,
                "train_flops": 10, "train_flops_total": 10, "diverged": acc is None,
                "diverged_seeds": [seed] if acc is None else [],
                "divergence_reasons": ["loss is NaN"] if acc is None else []}

    rows = [make_row(j, ok_outcome(**seed_row(j.seed))) for j in jobs]
    rows.append(make_row(jobs[0], failed_outcome()) | {"job_key": "x"})
    merged = aggregate_rows(rows)
    assert len(merged) == 2 and merged[1]["status"] == "failed"
    acc = merged[0]
    assert acc["seeds"] == [0, 1, 2] and acc["accuracy_per_seed"] == [0.60, 0.70, None]
    assert acc["accuracy_mean"] == pytest.approx(0.65)
    assert acc["accuracy_std"] == pytest.approx(0.0707107)  # sample std of 0.6, 0.7
    assert acc["diverged"] is True and acc["diverged_seeds"] == [2]
    assert acc["divergence_reasons"] == ["loss is NaN"]
    assert acc["best_epoch_mean"] == 4 and acc["best_epoch_per_seed"] == [3, 5, None]
    assert acc["train_seconds"] == 3.0 and acc["train_seconds_total"] == 9.0
    assert acc["train_flops"] == 10 and acc["train_flops_total"] == 30
    assert sorted(acc["job_keys"]) == sorted(j.key for j in jobs) and "seed" not in acc


@pytest.mark.parametrize("make_path, fragment", [
    (lambda tmp: str(tmp), "must be a file, not a directory"),
    (lambda tmp: str(tmp / "no" / "such" / "dir.db"), "directory of --db does not exist"),
])
def test_open_store_bad_paths(tmp_path, make_path, fragment):
    with pytest.raises(InputFileError, match=fragment):
        open_store(make_path(tmp_path))


def test_not_a_database_is_input_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputFileError, match="cannot open result store"):
        Store(str(path))
