"""A full disk and an unwritable directory: a clear one-line error, earlier results and
reports intact, nothing half-written, and a re-run after space is freed loses nothing.

The disk is a real 2 MiB tmpfs mounted by the test (needs root or CAP_SYS_ADMIN; skipped
otherwise); the unwritable directory is that tmpfs remounted read-only (root ignores file
modes), or a ``chmod 555`` directory when not root."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest

from archscale.cli import main

#: Fault kinds this module injects (read by tools/reliability.py).
FAULTS = ("disk full (tmpfs) while writing a report", "disk full (tmpfs) mid-sweep",
          "disk full (tmpfs) when opening the store", "read-only report directory",
          "read-only store directory")


def _mount(path, *options):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs",
                           str(path)], capture_output=True).returncode == 0


@pytest.fixture
def small_fs(tmp_path):
    path = tmp_path / "fs"
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None or not _mount(path, "size=2m"):
        pytest.skip("mounting a tmpfs needs root")
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(path):
    """Write zeros into ``path/filler`` until the file system is full."""
    fd = os.open(os.path.join(path, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def _snapshot(root):
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                out[os.path.relpath(path, root)] = handle.read()
    return out


def _count(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM results").fetchone()[0]


@pytest.fixture
def store(tmp_path):
    db = str(tmp_path / "s.db")
    assert main(["bench", "mlp", "--measure", "cost", "--db", db, "--executor", "spawn"]) == 0
    return db


def _one_line(capsys):
    (line,) = capsys.readouterr().err.strip().splitlines()
    return line


def test_a_report_on_a_full_disk_fails_clearly_and_keeps_the_previous_one(small_fs, store,
                                                                          capsys):
    out = str(small_fs / "rep")
    assert main(["report", "--db", store, "--out", out]) == 0
    before = _snapshot(out)
    _fill(small_fs)
    capsys.readouterr()
    assert main(["report", "--db", store, "--out", out]) == 2
    assert _one_line(capsys) == (f"archscale report: error: cannot write the report to "
                                 f"{out!r}: No space left on device. Received: --out={out!r}")
    assert _snapshot(out) == before
    assert sorted(os.listdir(small_fs)) == ["filler", "rep"]  # no temporary left behind


def test_a_store_on_a_full_disk_keeps_its_rows_and_resumes(small_fs, capsys, record_property):
    db = str(small_fs / "m.db")
    argv = ["bench", "mnist1d_*", "mlp", "--measure", "cost", "--batch", "1,2,3", "--db", db,
            "--executor", "spawn"]

    def fill_after_the_first_row():
        while True:
            time.sleep(0.05)
            try:
                if _count(db):
                    return _fill(small_fs)
            except sqlite3.Error:
                continue

    filler = threading.Thread(target=fill_after_the_first_row)
    filler.start()
    code = main(argv)
    filler.join()
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1
    assert line == (f"archscale bench: error: StoreWriteError: cannot write to result store "
                    f"{db!r}: database or disk is full; the results stored before are kept "
                    "(re-run to resume)")
    kept = _count(db)
    # again while the disk is still full: one line naming the store, nothing changed (exit 2
    # when SQLite cannot even open it, 1 when it opens and the first write fails)
    assert main(argv) in (1, 2)
    line = _one_line(capsys)
    assert f"result store {db!r}: " in line and ("disk" in line or "full" in line)
    os.remove(small_fs / "filler")
    assert _count(db) == kept
    assert kept >= 1
    assert main([*argv, "--json"]) == 0
    assert f"{kept} skipped (already stored)" in capsys.readouterr().err
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute("SELECT job_key FROM results")]
    assert len(keys) == len(set(keys)) == _expected_jobs(argv)  # one row per job
    record_property("ledger", {"expected": _expected_jobs(argv), "stored": len(keys),
                               "unique": len(set(keys)), "rerun": 0})


def _expected_jobs(argv):
    from archscale.cli import build_parser
    from archscale.cli_verbs.bench import sweep_from_args
    from archscale.runner.jobs import expand

    args, _ = build_parser("bench").parse_known_args(argv)
    return len(expand(sweep_from_args(args)))


def _read_only(path):
    """Make ``path`` unwritable: remount its tmpfs read-only (root), else ``chmod 555``."""
    if os.geteuid() == 0:
        assert subprocess.run(["mount", "-o", "remount,ro", str(path)]).returncode == 0
    else:
        os.chmod(path, 0o555)


@pytest.fixture
def writable_then_ro(tmp_path):
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() == 0 and not _mount(path, "size=4m"):
        pytest.skip("mounting a tmpfs failed")
    yield path
    if os.geteuid() == 0:
        subprocess.run(["umount", "-l", str(path)], check=False)
    else:
        os.chmod(path, 0o755)


def test_an_unwritable_report_directory_fails_clearly_and_keeps_the_report(writable_then_ro,
                                                                           store, capsys):
    out = str(writable_then_ro / "rep")
    assert main(["report", "--db", store, "--out", out]) == 0
    before = _snapshot(out)
    _read_only(writable_then_ro)
    capsys.readouterr()
    assert main(["report", "--db", store, "--out", out]) == 2
    line = _one_line(capsys)
    assert line.startswith("archscale report: error: cannot write the report")
    assert f"Received: --out={out!r}" in line
    assert _snapshot(out) == before
    new_db = str(writable_then_ro / "new.db")
    assert main(["bench", "mlp", "--measure", "cost", "--db", new_db]) == 2
    assert _one_line(capsys).startswith(f"archscale bench: error: cannot open result store "
                                        f"{new_db!r}")
    assert sorted(os.listdir(writable_then_ro)) == ["rep"]
