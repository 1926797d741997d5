"""The SQLite result store (stdlib ``sqlite3``, WAL mode): every finished job, kept.

Schema (``SCHEMA_VERSION`` 1)::

    results(job_key TEXT PRIMARY KEY,       -- Job.key: sha256 of spec, settings, dataset,
                                            --   seed and environment
            group_key TEXT,                 -- the key without the seed
            status TEXT ('ok' | 'failed'),
            measurement, family, name, preset, dataset, batch_size, seed,   -- indexed columns
            spec_hash, environment_hash,    -- environment_hash = environments.hash
            created_at TEXT,                -- ISO 8601 UTC
            run_id INTEGER,                 -- runs.run_id of the run that wrote it
            job_wall_s REAL,                -- worker wall time (start to result)
            job_overhead_s REAL,            -- job_wall_s minus the measurement itself
            error TEXT,                     -- one line, failed jobs only
            row TEXT,                       -- the flat row (JSON object)
            job TEXT)                       -- the job (JSON object)
    environments(hash TEXT PRIMARY KEY, fingerprint TEXT)     -- key environment (JSON)
    runs(run_id INTEGER PRIMARY KEY, sweep, source, started_at, finished_at, jobs, skipped,
         ok, failed, wall_s, overhead_s_median)
    meta(key TEXT PRIMARY KEY, value TEXT)                    -- schema_version

Every finished job is written in its own transaction (``INSERT OR REPLACE`` on the key), so a
sweep killed at any moment leaves only complete rows and never two rows for one job.

``open_reader`` opens an existing store for reading only (reports): it never creates a file and
refuses every write (``PRAGMA query_only``). It opens with URI ``mode=rw`` rather than
``mode=ro`` so that closing it removes SQLite's ``-wal``/``-shm`` side files as usual (a
``mode=ro`` connection would leave them behind). This module is the only one that knows the
schema; everything else reads through ``Store`` or ``StoreReader``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sqlite3
import threading
from typing import Any, Iterable, Iterator, Mapping, Sequence

from archscale.errors import InputFileError, StoreWriteError
from archscale.runner.store_reader import (StoreReader, StoreReadError, open_reader,
                                           select_rows)

__all__ = ["DEFAULT_DB", "SCHEMA_VERSION", "Store", "StoreReadError", "StoreReader",
           "open_reader", "open_store", "utc_now"]

SCHEMA_VERSION = "1"
DEFAULT_DB = "archscale.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS environments (hash TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep TEXT NOT NULL, source TEXT, started_at TEXT NOT NULL, finished_at TEXT,
    jobs INTEGER NOT NULL, skipped INTEGER NOT NULL DEFAULT 0,
    ok INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    wall_s REAL, overhead_s_median REAL);
CREATE TABLE IF NOT EXISTS results (
    job_key TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    measurement TEXT NOT NULL,
    family TEXT NOT NULL,
    name TEXT NOT NULL,
    preset TEXT,
    dataset TEXT,
    batch_size INTEGER,
    seed INTEGER,
    spec_hash TEXT NOT NULL,
    environment_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    run_id INTEGER,
    job_wall_s REAL,
    job_overhead_s REAL,
    error TEXT,
    row TEXT NOT NULL,
    job TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS results_measurement ON results (measurement);
CREATE INDEX IF NOT EXISTS results_family ON results (family);
CREATE INDEX IF NOT EXISTS results_name ON results (name);
CREATE INDEX IF NOT EXISTS results_preset ON results (preset);
CREATE INDEX IF NOT EXISTS results_dataset ON results (dataset);
CREATE INDEX IF NOT EXISTS results_status ON results (status);
CREATE INDEX IF NOT EXISTS results_group ON results (group_key);
CREATE INDEX IF NOT EXISTS results_environment ON results (environment_hash);
CREATE INDEX IF NOT EXISTS results_created ON results (created_at);
"""

#: Columns of ``results`` copied from the flat row (same names).
INDEXED = ("job_key", "group_key", "status", "measurement", "family", "name", "preset",
           "dataset", "batch_size", "seed", "spec_hash", "environment_hash", "created_at",
           "run_id", "job_wall_s", "job_overhead_s", "error")


def utc_now() -> str:
    """The current time as ISO 8601 UTC with seconds (``2025-01-31T12:00:00Z``)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _refuse_foreign(conn: sqlite3.Connection, path: str) -> None:
    """Raise before anything is written when ``path`` holds tables but is not an archscale
    store, or was written by a newer schema (reads only: the file stays untouched).

    Raises:
        InputFileError: a foreign SQLite file or a newer schema.
        sqlite3.DatabaseError: not a SQLite file (corrupted).
    """
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE "
                                               "type='table'")}
    if not tables:
        return
    if not {"meta", "results", "runs"} <= tables:
        raise InputFileError(f"{path!r} is not an archscale result store (it has the tables "
                             f"{', '.join(sorted(tables))}); pass another --db. "
                             f"Received: --db={path!r}")
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = row[0] if row else None
    if version != SCHEMA_VERSION:
        raise InputFileError(f"result store {path!r} has schema version {version!r}; this "
                             f"archscale reads version {SCHEMA_VERSION!r} (written by a newer "
                             f"archscale? upgrade, or pass another --db). Received: --db={path!r}")


class Store:
    """A result store in one SQLite file (created on first use, WAL journal).

    Thread-safe for the executor's use: one connection guarded by a lock.

    Args:
        path: Database file (default ``archscale.db`` in the working directory).

    Raises:
        InputFileError: the file cannot be opened or is not an archscale store.
    """

    def __init__(self, path: str = DEFAULT_DB) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
            self._create_or_check(path)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            self._close_quietly()
            raise InputFileError(f"cannot open result store {path!r}: {exc}") from None
        except InputFileError:
            self._close_quietly()
            raise

    def _create_or_check(self, path: str) -> None:
        """Check the file and create the schema in ONE write transaction.

        Two processes opening a new store at once: the second waits for the first's
        transaction, then finds the whole schema (never a half-made one that it would refuse
        as foreign). A foreign file is refused inside the transaction before anything is
        written, so it stays untouched.
        """
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            _refuse_foreign(conn, path)
            for statement in (s.strip() for s in _SCHEMA.split(";")):
                if statement:
                    conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                         (SCHEMA_VERSION,))
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def _close_quietly(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def journal_mode(self) -> str:
        """The journal mode in effect (``"wal"``)."""
        with self._lock:
            return self._conn.execute("PRAGMA journal_mode").fetchone()[0]

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction; SQLite's failure to write becomes ``StoreWriteError``."""
        try:
            with self._lock, self._conn:
                yield
        except sqlite3.OperationalError as exc:
            raise StoreWriteError(f"cannot write to result store {self.path!r}: {exc}; the "
                                  "results stored before are kept (re-run to resume)") from None

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, sweep: str, source: str, jobs: int, skipped: int) -> int:
        """Record the start of a run; returns its ``run_id``."""
        with self._writing():
            cur = self._conn.execute(
                "INSERT INTO runs (sweep, source, started_at, jobs, skipped) VALUES (?,?,?,?,?)",
                (sweep, source, utc_now(), jobs, skipped))
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, *, ok: int, failed: int, wall_s: float,
                   overhead_s_median: float | None) -> None:
        """Record the end of a run."""
        with self._writing():
            self._conn.execute(
                "UPDATE runs SET finished_at=?, ok=?, failed=?, wall_s=?, overhead_s_median=? "
                "WHERE run_id=?", (utc_now(), ok, failed, wall_s, overhead_s_median, run_id))

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first, as dicts."""
        with self._lock:
            cur = self._conn.execute("SELECT * FROM runs ORDER BY run_id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    # -- results -----------------------------------------------------------------------------

    def statuses(self, keys: Iterable[str]) -> dict[str, str]:
        """``{job_key: status}`` for the keys that are stored."""
        keys = list(keys)
        out: dict[str, str] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                out.update(self._conn.execute(
                    f"SELECT job_key, status FROM results WHERE job_key IN ({marks})", chunk))
        return out

    def put(self, row: Mapping[str, Any], job: Mapping[str, Any],
            environment: Mapping[str, Any]) -> None:
        """Store one finished job in one transaction (replacing an earlier result).

        Args:
            row: The flat row; must carry the ``INDEXED`` columns (missing ones are NULL).
            job: ``Job.to_dict()``.
            environment: The key environment (stored once per hash).

        Raises:
            StoreWriteError: SQLite cannot write (disk full); earlier rows are kept.
        """
        values = [row.get(c) for c in INDEXED]
        marks = ",".join("?" * (len(INDEXED) + 2))
        with self._writing():
            self._conn.execute("INSERT OR IGNORE INTO environments VALUES (?, ?)",
                               (row["environment_hash"], json.dumps(dict(environment),
                                                                sort_keys=True)))
            self._conn.execute(
                f"INSERT OR REPLACE INTO results ({', '.join(INDEXED)}, row, job) "
                f"VALUES ({marks})",
                (*values, json.dumps(row, default=_json_default),
                 json.dumps(dict(job), default=_json_default)))

    def rows(self, keys: Sequence[str] | None = None, *, measurement: str | None = None,
             status: str | None = None) -> list[dict[str, Any]]:
        """Flat rows, in ``keys`` order (keys not stored are skipped) or by creation time.

        Args:
            keys: Job keys to fetch; ``None`` for all.
            measurement: Only this measurement.
            status: Only ``"ok"`` or ``"failed"``.
        """
        with self._lock:
            return select_rows(self._conn, keys, measurement, status)

    def count(self) -> int:
        """Number of stored results."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def environments(self) -> dict[str, dict[str, Any]]:
        """``{hash: fingerprint}`` of every environment with results."""
        with self._lock:
            return {h: json.loads(f) for h, f in
                    self._conn.execute("SELECT hash, fingerprint FROM environments")}


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars (an array's .item() would raise)
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def open_store(path: str | None) -> Store:
    """``Store(path or DEFAULT_DB)``; a directory or unwritable place is bad input.

    Raises:
        InputFileError: the path is a directory or its directory does not exist.
    """
    path = path or DEFAULT_DB
    if os.path.isdir(path):
        raise InputFileError(f"--db must be a file, not a directory. Received: --db={path!r}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise InputFileError(f"the directory of --db does not exist. Received: --db={path!r}")
    return Store(path)
