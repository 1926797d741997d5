"""Jobs that fail in every way a real one does, in one sweep on the local executor: a native
crash (SIGSEGV), memory exhausted under a limit the worker sets itself (``RLIMIT_AS``), a hang
past the job's timeout and a training run whose loss becomes NaN (a real learning rate that
diverges). Each is recorded once with its reason, the sweep finishes the healthy job, the CLI
exits 1 with a summary of the failures, and a re-run duplicates nothing."""

from __future__ import annotations

import pytest

from archscale.cli import main
from archscale.runner.store import Store

pytestmark = pytest.mark.tf

#: The sweep of ``test_every_fault_is_recorded_once_and_the_sweep_finishes``.
FAULT_SWEEP = """\
name = "faults"
timeout = 120
[[arch]]
preset = "mlp"
name = "segfault"
measure = ["crash"]
settings.crash.mode = "segv"
[[arch]]
preset = "mlp"
name = "out-of-memory"
measure = ["crash"]
settings.crash.mode = "memory"
[[arch]]
preset = "mlp"
name = "hang"
measure = ["sleep"]
seeds = [0]
timeout = 2
settings.sleep.seconds = 60
[[arch]]
preset = "mnist1d_mlp"
name = "nan-loss"
measure = ["accuracy"]
datasets = ["mnist1d"]
seeds = [0]
settings.accuracy.recipe = { learning_rate = 1e12, epochs = 2 }
[[arch]]
preset = "mnist1d_mlp"
name = "fine"
measure = ["cost"]
"""

#: Fault kinds this module injects (read by tools/reliability.py).
FAULTS = ("segfault", "out-of-memory", "hang past timeout", "NaN loss")


@pytest.fixture(autouse=True)
def test_measurements(monkeypatch):
    monkeypatch.setenv("ARCHSCALE_TEST_MEASUREMENTS", "1")


def test_every_fault_is_recorded_once_and_the_sweep_finishes(tmp_path, capsys, record_property):
    sweep, db = tmp_path / "faults.toml", str(tmp_path / "f.db")
    sweep.write_text(FAULT_SWEEP)
    assert main(["bench", str(sweep), "--db", db, "--executor", "spawn"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "failures: 3 failed, 1 diverged"
    assert sorted(err[1:]) == sorted([
        "  hang sleep batch=1 seed=0: timeout: timed out after 2 s",
        "  segfault crash: killed: worker killed by SIGSEGV; last stderr line: test crash: "
        "about to die",
        "  out-of-memory crash: error: MemoryError: out of memory: the worker's address space "
        "is limited to 256 MiB more than at its start",
        "  nan-loss accuracy dataset=mnist1d seeds=0: diverged: "
        + err[-1].split(": diverged: ")[-1]])
    assert "non-finite" in err[-1] or "nan" in err[-1].lower()
    with Store(db) as store:
        rows = {r["name"]: r for r in store.rows()}
        assert store.count() == 5
    assert rows["fine"]["status"] == "ok" and rows["fine"]["params"] > 0
    assert rows["segfault"]["returncode"] == -11 and rows["segfault"]["error_kind"] == "killed"
    assert rows["out-of-memory"]["error"].startswith("MemoryError: out of memory")
    assert rows["hang"]["error_kind"] == "timeout"
    nan = rows["nan-loss"]
    assert nan["status"] == "ok" and nan["diverged"] and nan["accuracy_mean"] is None
    # a re-run keeps the failures, trains nothing again and duplicates nothing
    before = {name: row["created_at"] for name, row in rows.items()}
    assert main(["bench", str(sweep), "--db", db, "--skip-failed", "--json"]) == 1
    captured = capsys.readouterr()
    assert "0 ok and 0 failed in this run, 5 skipped" in captured.err
    with Store(db) as store:
        assert store.count() == 5
        after = {r["name"]: r["created_at"] for r in store.rows()}
        assert after == before
    record_property("ledger", {"expected": 5, "stored": len(after), "unique": len(after),
                               "rerun": sum(after[k] != v for k, v in before.items())})
