"""The tiny study end to end (one task, two grid points, one seed, two 2-trial searches), so
the pipeline behind ``reports/dimensions/`` cannot rot: real training, a real store, the
report's files; a re-run trains nothing."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sqlite3
import subprocess
import sys

import pytest

pytestmark = pytest.mark.tf


def run_study(cwd, *args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "archscale.study", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def stored(db):
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT job_key, created_at FROM results ORDER BY job_key").fetchall()


def test_tiny_study_runs_reports_and_resumes(tmp_path):
    done = run_study(tmp_path, "run", "--study", "tiny", "--out", "report")
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "report"
    for name in ("report.md", "report.html", "results.csv", "searches.csv", "results.json",
                 "plots/accuracy_wine.png"):
        assert (out / name).is_file(), name
    with open(out / "results.csv", encoding="utf-8") as handle:
        points = list(csv.DictReader(handle))
    assert [(p["width_multiplier"], p["seeds"]) for p in points] == [("0.5", "1"), ("1.0", "1")]
    assert [p["is_proposal"] for p in points] == ["False", "True"]
    assert sum(p["is_knee"] == "True" for p in points) == 1
    for p in points:
        assert 0 <= float(p["accuracy_mean_pct"]) <= 100 and int(p["params"]) > 0
    with open(out / "searches.csv", encoding="utf-8") as handle:
        trials = list(csv.DictReader(handle))
    assert sorted({t["search"] for t in trials}) == ["archscale", "seed_random"]
    assert len(trials) == 4
    assert [t["is_proposal"] for t in trials if t["search"] == "archscale"][0] == "True"
    data = json.loads((out / "results.json").read_text())
    assert data["proposals"]["wine"]["knee_label"].startswith("wine w")
    # the rule screen: the tiny grid is centred on today's proposal, which it measures
    (fit,) = data["rule_fit"]["ranges"]
    assert fit["task"] == "wine" and fit["span"] == [pytest.approx(
        int(points[0]["params"]) / int(points[1]["params"])), 1.0]
    assert data["rule_fit"]["measured"]["wine"] == {
        "met": data["proposals"]["wine"]["meets_accuracy"]
        and data["proposals"]["wine"]["meets_macs"], "on_grid": True}
    assert fit["meets_at_proposal"] == data["rule_fit"]["measured"]["wine"]["met"]
    assert (out / "plots" / "rule_fit.png").is_file()
    assert "## What the grids ask of the headroom rule" in (out / "report.md").read_text()
    # the proposal is made with the probed headroom of the task's training data
    from archscale import CapacityRule, Task, probe_data, profile, propose
    from archscale.measure.datasets import load_dataset

    wine = load_dataset("wine")
    probe = probe_data(wine.x_train, wine.y_train)
    assert data["probes"]["wine"]["headroom"] == probe.headroom > 0
    expected = propose(Task(input_shape=(13,), classes=3, samples=124),
                       capacity=CapacityRule(headroom=probe.headroom))
    assert int(points[1]["params"]) == profile(expected.spec).params
    assert f"{probe.headroom:.3f} (x{probe.factor:.2f})" in (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    before = stored(tmp_path / "dimensions.db")
    assert len(before) >= 4   # 2 grid jobs + the searches' trials (shared keys count once)

    again = run_study(tmp_path, "run", "--study", "tiny", "--out", "report")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 to run" in again.stderr
    assert stored(tmp_path / "dimensions.db") == before   # nothing trained, nothing rewritten

    # a committed store (journal mode DELETE) is read, never rewritten, by the report
    db = tmp_path / "dimensions.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    committed = db.read_bytes()
    report = run_study(tmp_path, "report", "--study", "tiny", "--out", "report2")
    assert report.returncode == 0, report.stderr[-2000:]
    assert db.read_bytes() == committed
    assert not (tmp_path / "dimensions.db-wal").exists()
    assert (tmp_path / "report2" / "results.csv").read_text() == \
        (out / "results.csv").read_text()


def test_a_report_without_a_store_is_one_line_and_exit_2(tmp_path):
    done = run_study(tmp_path, "report", "--study", "tiny", "--db", "none.db")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: cannot open result store 'none.db'")
    assert len(done.stderr.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_bad_study_name_is_one_line_and_exit_2(tmp_path):
    done = run_study(tmp_path, "run", "--study", "huge")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: unknown study; accepted: full, tiny. Received: study='huge'")
    assert os.listdir(tmp_path) == []


def test_a_rule_change_moves_the_proposal_not_the_grid(tmp_path, monkeypatch):
    """After the headroom rule changes, the measured grid stays (its centre is made with the
    task's ``grid_rule``), today's proposal is trained as one more entry, on the same seeds
    with its own recipe, and scored against that grid."""
    import dataclasses

    from archscale import profile
    from archscale.heuristics import difficulty
    from archscale.study.analysis import knee_of
    from archscale.study.results import collect
    from archscale.study.rule_fit import FactorRule
    from archscale.study.run import centres, proposals, run_grid
    from archscale.study.tasks import TINY

    # today's rule is the grid's
    monkeypatch.setitem(difficulty.HEADROOM_RULES, "signal", FactorRule(0.03, 0.6, 1 / 8, 8.0))
    task = dataclasses.replace(TINY[0], widths=(1.0,), max_epochs=2, searches=(),
                               grid_rule=FactorRule(0.03, 0.6, 1 / 8, 8.0))
    db, work = str(tmp_path / "d.db"), str(tmp_path / "work")
    run_grid([task], db=db, work=work, workers=2)
    before = stored(db)
    assert len(before) == 1
    (old,) = collect([task], proposals([task]), db, work, [], centres([task]))
    assert [(p.on_grid, p.is_proposal) for p in old.points] == [(True, True)]
    assert old.score is not None

    # wine: x1.94 -> x5.9
    monkeypatch.setitem(difficulty.HEADROOM_RULES, "signal", FactorRule(0.03, 1.6, 1 / 8, 8.0))
    moved = run_grid([task], db=db, work=work, workers=2)
    assert len(stored(db)) == 2 and set(before) <= set(stored(db))   # one job: the proposal
    assert moved is not None
    (new,) = collect([task], proposals([task]), db, work, [], centres([task]))
    grid = [p for p in new.points if p.on_grid]
    assert [(p.label, p.accuracies) for p in grid] == [(p.label, p.accuracies)
                                                       for p in old.points]
    assert not any(p.is_proposal for p in grid)
    (off,) = [p for p in new.points if not p.on_grid]
    assert off.is_proposal and off.label == "wine proposal" and off.width is None
    assert off.params == profile(new.proposal.spec).params > 2 * grid[-1].params
    assert new.knee == knee_of(grid)
    assert new.score.proposal_params == off.params
    assert new.score.knee_label == old.score.knee_label


def test_a_store_from_another_machine_is_read_and_only_what_it_lacks_is_trained(
        tmp_path, monkeypatch):
    """A job key holds the machine's environment (CPU model...), so a committed store read on
    another CPU would match none of its rows: the study looks each seed up under this
    machine's environment, then under every environment the store records, and a resumed
    grid trains only the seeds no machine has."""
    import dataclasses

    from archscale.runner import jobs
    from archscale.study.results import collect
    from archscale.study.run import centres, proposals, run_grid
    from archscale.study.tasks import TINY

    task = dataclasses.replace(TINY[0], widths=(1.0,), max_epochs=2, searches=())
    db, work = str(tmp_path / "d.db"), str(tmp_path / "work")
    run_grid([task], db=db, work=work, workers=1)
    before = stored(db)
    (here,) = collect([task], proposals([task]), db, work, [], centres([task]))
    assert [len(p.accuracies) for p in here.points] == [1]

    elsewhere = {**jobs.key_environment(), "cpu_model": "Another CPU"}
    monkeypatch.setattr(jobs, "_environment", lambda: tuple(sorted(elsewhere.items())))
    assert jobs.key_environment()["cpu_model"] == "Another CPU"   # every key differs now
    (there,) = collect([task], proposals([task]), db, work, [], centres([task]))
    assert [(p.label, p.accuracies, p.params) for p in there.points] == \
        [(p.label, p.accuracies, p.params) for p in here.points]
    assert there.score is not None and not there.missing
    assert run_grid([task], db=db, work=work, workers=1) is None   # nothing to train
    assert stored(db) == before

    more = dataclasses.replace(task, seeds=(0, 1))   # seed 1 is new: trained on this machine
    run_grid([more], db=db, work=work, workers=1)
    assert len(stored(db)) == len(before) + 1 and set(before) <= set(stored(db))
    (both,) = collect([more], proposals([more]), db, work, [], centres([more]))
    (point,) = both.points
    assert len(point.accuracies) == 2 and point.accuracies[0] == here.points[0].accuracies[0]


def test_the_seed_style_search_resumed_on_another_machine_trains_nothing(tmp_path, monkeypatch):
    """The seed-style search's oracle resumes its completed trials from its files and looks
    their rows up in the store: under a recorded environment of another machine too, so a
    committed study store does not train them again."""
    from archscale.runner import jobs
    from archscale.study.run import task_proposal
    from archscale.study.searches import run_search
    from archscale.study.tasks import TINY

    task = TINY[0]
    db, work = str(tmp_path / "d.db"), str(tmp_path / "work")
    first = run_search(task, task_proposal(task), "seed_random", 0, db=db, work=work)
    before = stored(db)
    assert len(first) == task.search_trials == len(before)

    elsewhere = {**jobs.key_environment(), "cpu_model": "Another CPU"}
    monkeypatch.setattr(jobs, "_environment", lambda: tuple(sorted(elsewhere.items())))
    again = run_search(task, task_proposal(task), "seed_random", 0, db=db, work=work)
    assert again == first and stored(db) == before
