"""The store's exact behaviour: messages, timestamps, JSON of odd values, filters, chunked
lookups, threads, lock waits, closed handles, and the read-only reader. Real SQLite files."""

from __future__ import annotations

import calendar
import os
import re
import sqlite3
import sys
import threading
import time

import numpy as np
import pytest

from archscale.errors import InputFileError
from archscale.runner.store import (DEFAULT_DB, SCHEMA_VERSION, Store, StoreReadError,
                                    open_reader, open_store, utc_now)


def _row(key, *, status="ok", measurement="cost", created_at="2026-01-01T00:00:00Z", **extra):
    return {"job_key": key, "group_key": "g" + key, "status": status,
            "measurement": measurement, "family": "mlp", "name": "n" + key,
            "spec_hash": "s", "environment_hash": "e1", "created_at": created_at, **extra}


LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts fds in /proc")


def _fds_on(path) -> int:
    """Open file descriptors of this process on ``path`` (Linux /proc)."""
    target = os.path.realpath(path)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.path.realpath(os.readlink(f"/proc/self/fd/{fd}")) == target
        except OSError:
            pass
    return count


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="needs time.tzset (POSIX)")
def test_utc_now_is_iso_utc_to_the_second(monkeypatch):
    monkeypatch.setenv("TZ", "IST-05:30")  # POSIX form, no tz database needed
    time.tzset()
    try:
        before = time.time()
        stamp = utc_now()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp
    parsed = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    assert before - 1 <= parsed <= time.time() + 1  # UTC, not local time


def test_runs_are_recorded_field_by_field(tmp_path):
    with Store(str(tmp_path / "r.db")) as store:
        first = store.start_run("sweep-a", "cli", 5, 2)
        second = store.start_run("sweep-b", "python", 1, 0)
        store.finish_run(first, ok=2, failed=1, wall_s=4.5, overhead_s_median=0.25)
        runs = store.runs()
    assert (first, second) == (1, 2)
    started = runs[0].pop("started_at")
    finished = runs[0].pop("finished_at")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", started) and finished >= started
    assert runs[0] == {"run_id": 1, "sweep": "sweep-a", "source": "cli", "jobs": 5,
                       "skipped": 2, "ok": 2, "failed": 1, "wall_s": 4.5,
                       "overhead_s_median": 0.25}
    runs[1].pop("started_at")
    assert runs[1] == {"run_id": 2, "sweep": "sweep-b", "source": "python", "jobs": 1,
                       "skipped": 0, "ok": 0, "failed": 0, "wall_s": None,
                       "overhead_s_median": None, "finished_at": None}


def test_rows_filter_order_and_keys(tmp_path):
    env = {"b": 2, "a": 1}
    with Store(str(tmp_path / "f.db")) as store:
        store.put(_row("k3", created_at="2026-01-03T00:00:00Z"), {}, env)
        store.put(_row("k1", measurement="latency", created_at="2026-01-01T00:00:00Z"), {}, env)
        store.put(_row("k2", status="failed", created_at="2026-01-02T00:00:00Z"), {}, env)
        store.put(_row("k4", measurement="latency", status="failed",
                       created_at="2026-01-02T00:00:00Z"), {}, env)
        assert [r["job_key"] for r in store.rows()] == ["k1", "k2", "k4", "k3"]  # by time, rowid
        assert [r["job_key"] for r in store.rows(measurement="latency")] == ["k1", "k4"]
        assert [r["job_key"] for r in store.rows(status="failed")] == ["k2", "k4"]
        assert [r["job_key"] for r in store.rows(measurement="latency", status="failed")] == \
            ["k4"]
        assert [r["job_key"] for r in store.rows(["k4", "nope", "k3"])] == ["k4", "k3"]
        assert store.rows([]) == [] and store.count() == 4
        assert store.environments() == {"e1": {"a": 1, "b": 2}}
    con = sqlite3.connect(tmp_path / "f.db")
    # the fingerprint is stored once, as key-sorted JSON (the same environment, the same bytes)
    assert con.execute("SELECT fingerprint FROM environments").fetchall() == [
        ('{"a": 1, "b": 2}',)]
    con.close()


class _Boxed:
    """A value with ``item()`` only (as some array libraries' 0-d tensors)."""

    def item(self):
        return 5


def test_odd_values_are_stored_as_json(tmp_path):
    """Sets and tuples as lists, numpy scalars and arrays as numbers and lists (an array of
    more than one element once made ``put`` raise), anything else as its ``str``."""
    row = _row("k", tags={"x"}, pair=(1, 2), frozen=frozenset({3}), scalar=np.float32(0.5),
               array=np.arange(3), other=complex(1, 2), boxed=_Boxed())
    job = {"batch_sizes": (1, 8), "count": np.int64(7)}
    with Store(str(tmp_path / "j.db")) as store:
        store.put(row, job, {"cpu": 2})
        (back,) = store.rows(["k"])
    assert (back["tags"], back["pair"], back["frozen"], back["scalar"], back["array"],
            back["other"], back["boxed"]) == (["x"], [1, 2], [3], 0.5, [0, 1, 2], "(1+2j)", 5)
    with open_reader(str(tmp_path / "j.db")) as reader:
        ((_, stored_job),) = reader.results()
    assert stored_job == {"batch_sizes": [1, 8], "count": 7}


def test_statuses_of_more_keys_than_one_query_takes(tmp_path):
    path = str(tmp_path / "s.db")
    keys = [f"k{i:05d}" for i in range(1200)]
    with Store(path):
        pass
    con = sqlite3.connect(path)
    with con:
        con.executemany("INSERT INTO results (job_key, group_key, status, measurement, family, "
                        "name, spec_hash, environment_hash, created_at, row, job) VALUES "
                        "(?, 'g', ?, 'cost', 'f', 'n', 's', 'e', 't', '{}', '{}')",
                        [(k, "ok" if i % 3 else "failed") for i, k in enumerate(keys)])
    con.close()
    with Store(path) as store:
        found = store.statuses(iter(keys + ["missing"]))  # any iterable, read once
    assert len(found) == 1200 and found["k01199"] == "ok" and found["k01197"] == "failed"
    assert found["k00999"] == "failed" and found["k00000"] == "failed"
    assert sum(s == "failed" for s in found.values()) == 400


def test_the_store_is_usable_from_another_thread(tmp_path):
    store = Store(str(tmp_path / "t.db"))
    errors = []

    def work():
        try:
            store.put(_row("k"), {}, {})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert errors == [] and store.count() == 1
    store.close()


def test_opening_waits_for_another_writer(tmp_path):
    """A second process holding the file's write lock for 6 s (longer than SQLite's default
    5 s busy timeout) delays the store and the reader; neither fails."""
    path = str(tmp_path / "w.db")
    with Store(path) as store:
        store.put(_row("k"), {}, {})
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")  # so that a reader waits too
    holder.execute("BEGIN EXCLUSIVE")
    results = {}

    def read():
        with open_reader(path) as reader:
            results["reader"] = len(reader.results())

    def write():
        with Store(path) as s:
            results["store"] = s.count()

    threads = [threading.Thread(target=read), threading.Thread(target=write)]
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(6.0)
    holder.execute("COMMIT")
    holder.close()
    for t in threads:
        t.join(30)
    assert results == {"reader": 1, "store": 1}
    assert time.monotonic() - start >= 6.0


def test_store_pragmas(tmp_path):
    with Store(str(tmp_path / "p.db")) as store:
        assert store.journal_mode() == "wal"
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    con = sqlite3.connect(tmp_path / "p.db")
    assert con.execute("SELECT value FROM meta").fetchall() == [(SCHEMA_VERSION,)]
    con.close()


# -- files that are not (our) stores ------------------------------------------------------------


@LINUX
def test_a_foreign_sqlite_file_is_refused_by_name_and_left_untouched(tmp_path):
    path = str(tmp_path / "foreign.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (id)")
    con.execute("CREATE TABLE runs (id)")
    con.close()
    before = open(path, "rb").read()
    with pytest.raises(InputFileError) as info:
        Store(path)
    assert str(info.value) == (f"{path!r} is not an archscale result store (it has the tables "
                               f"runs, users); pass another --db. Received: --db={path!r}")
    assert open(path, "rb").read() == before
    assert _fds_on(path) == 0  # the refused connection is closed


def test_a_store_missing_a_table_it_creates_is_completed(tmp_path):
    """meta, results and runs make a store; a missing environments table is created again."""
    path = str(tmp_path / "exact.db")
    with Store(path):
        pass
    con = sqlite3.connect(path)
    con.execute("DROP TABLE environments")
    con.commit()
    con.close()
    with Store(path) as store:
        store.put(_row("k"), {}, {"cpu": 2})
        assert store.count() == 1 and store.environments() == {"e1": {"cpu": 2}}


@LINUX
@pytest.mark.parametrize("version, shown", [("2", "'2'"), (None, "None")])
def test_another_schema_version_is_refused(tmp_path, version, shown):
    path = str(tmp_path / "v.db")
    with Store(path):
        pass
    con = sqlite3.connect(path)
    with con:
        if version is None:
            con.execute("DELETE FROM meta")
        else:
            con.execute("UPDATE meta SET value=?", (version,))
    con.close()
    with pytest.raises(InputFileError) as info:
        Store(path)
    assert str(info.value) == (
        f"result store {path!r} has schema version {shown}; this archscale reads version "
        f"'1' (written by a newer archscale? upgrade, or pass another --db). "
        f"Received: --db={path!r}")
    assert _fds_on(path) == 0


@LINUX
def test_a_file_sqlite_cannot_open_is_refused_and_closed(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(InputFileError) as info:
        Store(str(junk))
    assert str(info.value) == (f"cannot open result store {str(junk)!r}: "
                               "file is not a database")
    assert _fds_on(junk) == 0
    with pytest.raises(InputFileError) as info:  # sqlite3.connect itself fails: a directory
        Store(str(tmp_path))
    assert str(info.value) == (f"cannot open result store {str(tmp_path)!r}: "
                               "unable to open database file")


def test_open_store_messages_and_default(tmp_path, monkeypatch):
    with pytest.raises(InputFileError) as info:
        open_store(str(tmp_path))
    assert str(info.value) == f"--db must be a file, not a directory. Received: --db={str(tmp_path)!r}"
    bad = str(tmp_path / "no" / "x.db")
    with pytest.raises(InputFileError) as info:
        open_store(bad)
    assert str(info.value) == f"the directory of --db does not exist. Received: --db={bad!r}"
    monkeypatch.chdir(tmp_path)
    for path in (None, ""):
        with open_store(path) as store:
            assert store.path == DEFAULT_DB == "archscale.db"
    assert os.path.isfile(tmp_path / "archscale.db")
    with open_store("rel.db") as store:
        assert store.path == "rel.db"


# -- the reader ---------------------------------------------------------------------------------


def test_reader_reads_rows_jobs_and_runs(tmp_path):
    path = str(tmp_path / "r.db")
    with Store(path) as store:
        run = store.start_run("s", "cli", 2, 0)
        store.put(_row("b", created_at="2026-01-02T00:00:00Z"), {"job": "b"}, {})
        store.put(_row("a", created_at="2026-01-01T00:00:00Z"), {"job": "a"}, {})
        store.finish_run(run, ok=2, failed=0, wall_s=1.0, overhead_s_median=None)
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE results SET job='{not json' WHERE job_key='b'")
    con.close()
    with open_reader(path) as reader:
        assert reader.path == path
        assert reader.results() == [(_row("a", created_at="2026-01-01T00:00:00Z"), {"job": "a"}),
                                    (_row("b", created_at="2026-01-02T00:00:00Z"), None)]
        (r,) = reader.runs()
        assert (r["run_id"], r["sweep"], r["ok"], r["wall_s"]) == (1, "s", 2, 1.0)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._conn.execute("DELETE FROM results")


def test_reader_rows_equal_the_stores_and_leave_a_committed_file_byte_identical(tmp_path):
    path = str(tmp_path / "c.db")
    with Store(path) as store:
        store.put(_row("b", created_at="2026-01-02T00:00:00Z"), {"job": "b"}, {})
        store.put(_row("a", status="failed", created_at="2026-01-01T00:00:00Z"), {}, {})
        store.put(_row("c", measurement="latency", created_at="2026-01-03T00:00:00Z"), {}, {})
        queries = [{}, {"keys": ["c", "x", "a"]}, {"keys": []}, {"status": "ok"},
                   {"measurement": "latency"}, {"measurement": "cost", "status": "failed"},
                   {"keys": ["a", "b", "c"], "status": "ok"}]
        expected = [store.rows(**q) for q in queries]
    assert [[r["job_key"] for r in rows] for rows in expected] == [
        ["a", "b", "c"], ["c", "a"], [], ["b", "c"], ["c"], ["a"], ["b", "c"]]
    with sqlite3.connect(path) as con:   # as committed: journal mode DELETE
        assert con.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    con.close()
    committed = open(path, "rb").read()
    with open_reader(path) as reader:
        assert [reader.rows(**q) for q in queries] == expected
    assert open(path, "rb").read() == committed
    assert sorted(os.listdir(tmp_path)) == ["c.db"]


def test_reader_messages(tmp_path):
    missing = str(tmp_path / "missing.db")
    with pytest.raises(StoreReadError) as info:
        open_reader(missing)
    assert str(info.value) == f"cannot open result store {missing!r}: unable to open database file"
    assert (info.value.path, info.value.detail, info.value.opening) == (
        missing, "unable to open database file", True)
    empty = str(tmp_path / "empty.db")
    sqlite3.connect(empty).close()
    with open_reader(empty) as reader:
        for method, table in ((reader.results, "results"), (reader.runs, "runs"),
                              (reader.rows, "results")):
            with pytest.raises(StoreReadError) as info:
                method()
            assert str(info.value) == (f"{empty!r} is not an archscale result store "
                                       f"(no such table: {table}). Received: --db={empty!r}")
            assert (info.value.path, info.value.opening) == (empty, False)
