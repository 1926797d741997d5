"""Reading a result store without changing it (``open_reader``).

A ``StoreReader`` opens an existing file with ``query_only`` on and never sets a journal mode,
so a committed store (journal mode DELETE) stays byte-identical after a report reads it.
``select_rows`` is the one query for flat rows, shared with ``Store.rows``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any, Sequence

from archscale.errors import InputFileError


class StoreReadError(InputFileError):
    """An existing file cannot be read as a result store.

    Attributes:
        path: The file.
        detail: SQLite's reason.
        opening: True when the file could not be opened at all, False when it opened but does
            not hold the store's tables.
    """

    def __init__(self, path: str, detail: str, opening: bool) -> None:
        super().__init__(f"cannot open result store {path!r}: {detail}" if opening else
                         f"{path!r} is not an archscale result store ({detail}). "
                         f"Received: --db={path!r}")
        self.path, self.detail, self.opening = path, detail, opening


class StoreReader:
    """Read-only access to an existing store (see ``open_reader``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._conn = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=rw", uri=True,
                                         timeout=30)
            self._conn.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            raise StoreReadError(path, str(exc), opening=True) from None

    def close(self) -> None:
        """Close the connection (SQLite removes its side files)."""
        self._conn.close()

    def __enter__(self) -> "StoreReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _query(self, sql: str) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql)
        except sqlite3.Error as exc:
            raise StoreReadError(self.path, str(exc), opening=False) from None

    def results(self) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Every result as ``(row, job)``, by creation time; ``job`` is None when its JSON
        cannot be read.

        Raises:
            StoreReadError: the file holds no ``results`` table.
        """
        out = []
        for row_text, job_text in self._query(
                "SELECT row, job FROM results ORDER BY created_at, rowid").fetchall():
            try:
                job = json.loads(job_text)
            except (TypeError, ValueError):
                job = None
            out.append((json.loads(row_text), job))
        return out

    def rows(self, keys: Sequence[str] | None = None, *, measurement: str | None = None,
             status: str | None = None) -> list[dict[str, Any]]:
        """Flat rows, as ``Store.rows`` gives them, read without changing the file.

        Raises:
            StoreReadError: the file holds no ``results`` table.
        """
        try:
            return select_rows(self._conn, keys, measurement, status)
        except sqlite3.Error as exc:
            raise StoreReadError(self.path, str(exc), opening=False) from None

    def environments(self) -> dict[str, dict[str, Any]]:
        """``{hash: fingerprint}`` of every environment with results (``Store.environments``).

        Raises:
            StoreReadError: the file holds no ``environments`` table.
        """
        return {h: json.loads(f) for h, f in
                self._query("SELECT hash, fingerprint FROM environments").fetchall()}

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first, as dicts.

        Raises:
            StoreReadError: the file holds no ``runs`` table.
        """
        cur = self._query("SELECT * FROM runs ORDER BY run_id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


def select_rows(conn: sqlite3.Connection, keys: Sequence[str] | None,
                 measurement: str | None, status: str | None) -> list[dict[str, Any]]:
    """The ``results`` rows (parsed), in ``keys`` order (missing keys skipped) or by creation
    time, optionally of one measurement and status."""
    where, params = [], []
    if measurement is not None:
        where.append("measurement = ?")
        params.append(measurement)
    if status is not None:
        where.append("status = ?")
        params.append(status)
    sql = "SELECT job_key, row FROM results"
    if where:
        sql += " WHERE " + " AND ".join(where)
    found = {k: json.loads(r) for k, r in conn.execute(sql + " ORDER BY created_at, rowid",
                                                       params)}
    if keys is None:
        return list(found.values())
    return [found[k] for k in keys if k in found]


def open_reader(path: str) -> StoreReader:
    """Open an existing store for reading only; never creates or changes a file.

    Raises:
        StoreReadError: the file cannot be opened (e.g. it does not exist).
    """
    return StoreReader(path)
