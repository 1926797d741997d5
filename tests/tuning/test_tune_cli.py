"""``archscale tune`` end to end: a tiny search through the CLI, its JSON, the report, and a
search killed with SIGKILL that resumes without training a finished trial again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from archscale.cli import main
from archscale.tuning.records import TRIAL_KEYS

pytestmark = pytest.mark.tf


def test_a_tiny_tune_through_the_cli(tmp_path, capsys):
    db, folder = str(tmp_path / "t.db"), str(tmp_path / "d")
    code = main(["tune", "--dataset", "mnist1d", "--tuner", "random", "--trials", "3",
                 "--epochs", "2", "--max-params", "8K", "--db", db, "--dir", folder, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert list(out) == ["tuner", "trials", "skipped_over_budget", "best", "pareto"]
    assert out["tuner"] == "random" and len(out["trials"]) == 3
    assert all(list(t) == list(TRIAL_KEYS) for t in out["trials"])
    assert out["trials"][0]["is_proposal"] and out["skipped_over_budget"] == 0
    assert all(t["status"] == "ok" and t["params"] <= 8000 for t in out["trials"])
    best = max(out["trials"], key=lambda t: t["val_accuracy"])
    assert out["best"]["trial_id"] == best["trial_id"] and out["pareto"]
    project = os.path.join(folder, os.listdir(folder)[0])
    assert json.load(open(os.path.join(project, "result.json"))) == out
    assert open(os.path.join(project, "pareto.csv")).read().count("\n") == len(out["pareto"]) + 1
    code = main(["report", "--db", db, "--out", str(tmp_path / "rep")])
    report = (tmp_path / "rep" / "report.md").read_text()
    assert code == 0 and report.count("tune ") >= 3


def _rows(db: str) -> dict[str, str]:
    """``{job_key: row JSON}`` of the store (empty while it does not exist yet)."""
    if not os.path.exists(db):
        return {}
    with sqlite3.connect(db) as conn:
        try:
            return dict(conn.execute("SELECT job_key, row FROM results"))
        except sqlite3.Error:
            return {}


def test_a_killed_search_resumes_without_training_a_finished_trial_again(tmp_path,
                                                                         record_property):
    db, folder = str(tmp_path / "t.db"), str(tmp_path / "d")
    argv = [sys.executable, "-m", "archscale", "tune", "--dataset", "mnist1d", "--tuner",
            "random", "--trials", "3", "--epochs", "3", "--max-params", "8K", "--db", db,
            "--dir", folder, "--json"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 240
    while not _rows(db) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _rows(db)
    assert 1 <= len(before) < 3
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [t["trial_id"] for t in out["trials"]] == ["0000", "0001", "0002"]
    after = _rows(db)
    assert len(after) == 3  # one row per trial, none twice
    # a finished trial is not trained again: its row (times, accuracies) is untouched
    assert all(after[key] == text for key, text in before.items())
    record_property("ledger", {"expected": 3, "stored": len(after), "unique": len(set(after)),
                               "rerun": sum(after[k] != t for k, t in before.items())})
