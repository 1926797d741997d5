"""Faults around the result store: a corrupted file, a foreign SQLite file or a store of a
newer schema exit 2 with one line and leave the file untouched; two ``archscale bench``
processes writing one store at once lose nothing and duplicate nothing.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from archscale.cli import main
from archscale.runner.jobs import expand
from archscale.runner.store import Store
from archscale.runner.sweep import load_sweep


def _newer_schema(path):
    Store(str(path)).close()
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    con.close()


def _foreign(path):
    con = sqlite3.connect(path)
    with con:
        con.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    con.close()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"SQLite format 3\x00" + os.urandom(4080)), "cannot open result "
                                                                          "store"),
    (lambda p: p.write_bytes(b"not a database at all\n" * 50), "cannot open result store"),
    (_foreign, "is not an archscale result store (it has the tables photos)"),
    (_newer_schema, "has schema version '2'; this archscale reads version '1'"),
])
def test_a_bad_store_exits_2_and_stays_untouched(tmp_path, capsys, make, message):
    db = tmp_path / "bad.db"
    make(db)
    before = db.read_bytes()
    assert main(["bench", "mlp", "--measure", "cost", "--db", str(db)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("archscale bench: error: ") and message in line
    assert db.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["bad.db"]  # no -wal / -shm side files left


SWEEP = """
name = "shared"
measure = ["sleep"]
seeds = [0, 1, 2, 3, 4, 5]
executor = "spawn"
[settings.sleep]
seconds = 0.3
[[arch]]
preset = "mlp"
"""


def test_two_bench_processes_on_one_store_lose_and_duplicate_nothing(tmp_path, monkeypatch,
                                                                     record_property):
    monkeypatch.setenv("ARCHSCALE_TEST_MEASUREMENTS", "1")
    sweep = tmp_path / "shared.toml"
    sweep.write_text(SWEEP)
    db = str(tmp_path / "shared.db")
    cmd = [sys.executable, "-m", "archscale", "bench", str(sweep), "--db", db, "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    keys = sorted(j.key for j in expand(load_sweep(str(sweep))))
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = sorted(k for (k,) in con.execute("SELECT job_key FROM results "
                                                   "WHERE status='ok'"))
        assert stored == keys and con.execute("SELECT COUNT(*) FROM results").fetchone() == (6,)
        runs = con.execute("SELECT ok + skipped, finished_at IS NOT NULL FROM runs").fetchall()
    finally:
        con.close()
    assert runs == [(6, 1), (6, 1)]  # each run accounts for every job, both finished
    record_property("ledger", {"expected": len(keys), "stored": len(stored),
                               "unique": len(set(stored)), "rerun": 0})
