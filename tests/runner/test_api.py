"""``archscale.bench`` from Python, the executor table, and the store's read-only reader."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys

import pytest

import archscale
from archscale.cli_verbs import bench as bench_verb
from archscale.errors import SpecError
from archscale.runner.api import BenchResult, stored_results, sweep_of
from archscale.runner.executors import (AUTO, EXECUTORS, ExecutorKind, executor_choices,
                                        executor_help, resolve_executor)
from archscale.runner.executors.base import make_executor
from archscale.runner.store import StoreReadError, open_reader
from archscale.runner.jobs import expand
from archscale.runner.scheduler import run_sweep
from archscale.runner.store import Store
from archscale.runner.sweep import sweep_from_dict


def test_bench_from_python_runs_then_skips(tmp_path):
    db = str(tmp_path / "api.db")
    result = archscale.bench(["mnist1d_mlp", "mlp"], measure=["cost"], batch_sizes=[1, 8],
                             db=db)
    assert isinstance(result, BenchResult)
    assert (result.jobs, result.ok, result.failed, result.skipped) == (4, 4, 0, 0)
    assert result.failed_total == 0 and result.exit_code == 0 and not result.interrupted
    assert result.store_path == db and result.wall_s > 0 and result.run_id == 1
    assert len(result.rows) == len(result.job_rows) == 4
    by_name = {(r["name"], r["batch_size"]): r for r in result.rows}
    assert by_name[("mnist1d_mlp", 1)]["params"] == 15210
    again = archscale.bench(["mnist1d_mlp", "mlp"], measure=["cost"], batch_sizes=[1, 8],
                            db=db)
    assert (again.ok, again.skipped) == (0, 4)
    assert [r["job_key"] for r in again.job_rows] == [r["job_key"] for r in result.job_rows]
    forced = archscale.bench(["mnist1d_mlp"], measure=["cost"], db=db, force=True)
    assert (forced.ok, forced.skipped) == (1, 0)
    listed = stored_results(db, patterns=["mnist1d*"], measures=["cost"])
    assert {r["name"] for r in listed.rows} == {"mnist1d_mlp"} and len(listed.runs) == 3


def test_sweep_of_validates_its_arguments(tmp_path):
    with pytest.raises(SpecError, match="Received: timeout_s=0"):
        sweep_of(["mlp"], timeout_s=0)
    with pytest.raises(SpecError, match="Received: workers=3"):
        sweep_of(["mlp"], workers=3)
    with pytest.raises(SpecError, match="executor must be one of auto, fork, spawn, ray"):
        sweep_of(["mlp"], executor="dask")
    with pytest.raises(SpecError, match="one sweep file alone"):
        sweep_of(["mlp", "x.toml"])
    sweep_file = tmp_path / "s.toml"
    sweep_file.write_text('[[arch]]\npreset = "mlp"\nmeasure = ["cost"]\n')
    with pytest.raises(SpecError, match="measure cannot be combined with a sweep"):
        sweep_of(str(sweep_file), measure=["cost"])
    sweep = sweep_of(str(sweep_file), timeout_s=5, workers=2, executor="spawn", peak=True)
    assert (sweep.workers, sweep.executor, sweep.variants[0].timeout_s) == (2, "spawn", 5.0)
    assert sweep.peak is not None and sweep.peak_timeout_s == 5.0


def test_executors_come_from_one_table():
    assert executor_choices() == (AUTO, *EXECUTORS) == ("auto", "fork", "spawn", "ray")
    parser = argparse.ArgumentParser()
    bench_verb.add_arguments(parser)
    (action,) = [a for a in parser._actions if a.dest == "executor"]
    assert tuple(action.choices) == executor_choices() and action.help == executor_help()
    for name in ("fork", "spawn"):  # ray: tests/runner/test_ray_executor.py
        executor = make_executor(name)
        try:
            assert executor.name == name and executor.startup_s == 0.0
        finally:
            executor.close()
    assert resolve_executor(AUTO) in EXECUTORS
    with pytest.raises(ValueError, match="Received: executor='nope'"):
        make_executor("nope")
    with pytest.raises(SpecError, match="executor must be one of auto, fork, spawn, ray"):
        sweep_from_dict({"executor": "nope", "arch": [{"preset": "mlp"}]})


def test_reader_never_creates_or_writes(tmp_path):
    missing = str(tmp_path / "missing.db")
    with pytest.raises(StoreReadError, match="cannot open result store"):
        open_reader(missing)
    assert not os.path.exists(missing)
    db = str(tmp_path / "r.db")
    archscale.bench(["mlp"], measure=["cost"], db=db)
    with open_reader(db) as reader:
        ((row, job),) = reader.results()
        assert row["name"] == "mlp" and job["measurement"] == "cost"
        assert [r["ok"] for r in reader.runs()] == [1]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._conn.execute("DELETE FROM results")
    assert sorted(os.listdir(tmp_path)) == ["r.db"]  # no -wal/-shm left behind
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    with open_reader(str(other)) as reader, pytest.raises(StoreReadError,
                                                          match="not an archscale result store"):
        reader.results()


FAKE_EXECUTOR = """
from archscale.runner.executors.spawn import SpawnExecutor


class InlineCounting(SpawnExecutor):
    name = "inline"
    runs = 0

    def run(self, job):
        InlineCounting.runs += 1
        return super().run(job)


EXECUTOR = InlineCounting
"""


def test_a_new_executor_is_one_module_and_one_row(tmp_path, monkeypatch):
    (tmp_path / "fake_inline_executor.py").write_text(FAKE_EXECUTOR)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_inline_executor", raising=False)  # a fresh count
    monkeypatch.setitem(EXECUTORS, "inline", ExecutorKind(
        "inline", "fake_inline_executor", "spawn, counted"))
    assert executor_choices()[-1] == "inline" and "inline (spawn, counted)" in executor_help()
    sweep = sweep_from_dict({"executor": "inline", "measure": ["cost"],
                             "arch": [{"preset": "mlp"}]})
    with Store(str(tmp_path / "x.db")) as store:
        summary = run_sweep(expand(sweep), store, executor=sweep.executor)
    assert summary.ok == 1
    assert EXECUTORS["inline"].load().InlineCounting.runs == 1
    assert resolve_executor(AUTO) != "inline"  # not an auto row
