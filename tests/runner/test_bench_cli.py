"""``archscale bench``: options, --json rows, --list, exit codes, plain progress lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from archscale.cli import VERBS, main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


STABLE_COLUMNS = ("job_key", "group_key", "status", "name", "preset", "family", "measurement",
                  "dataset", "batch_size", "seed", "input_shape", "classes", "spec_hash",
                  "params", "macs", "flops", "weight_bytes", "inference_peak_bytes_predicted",
                  "train_peak_bytes_predicted", "error", "error_kind", "job_wall_s",
                  "job_overhead_s", "created_at", "run_id", "environment_hash",
                  "env_cpu_model", "env_tensorflow", "env_xla", "env_dtype")


def test_bench_is_a_verb():
    assert "bench" in VERBS


def test_cost_run_json_default_db_and_rerun(capsys, in_tmp):
    code, out, err = run_cli(capsys, "bench", "resnet20", "mlp", "--measure", "cost",
                             "--batch", "1,32", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["name"], r["batch_size"]) for r in rows] == [
        ("resnet20", 1), ("resnet20", 32), ("mlp", 1), ("mlp", 32)]
    for row in rows:
        assert all(c in row for c in STABLE_COLUMNS), set(STABLE_COLUMNS) - set(row)
        assert row["status"] == "ok" and row["measurement"] == "cost"
    assert rows[0]["params"] == 271098 and rows[0]["input_shape"] == "32x32x3"
    assert rows[1]["train_peak_bytes_predicted"] > rows[0]["train_peak_bytes_predicted"]
    assert "4 jobs: 0 already in the store (skipped), 4 to run" in err  # progress on stderr
    assert (in_tmp / "archscale.db").exists()
    code, out, err = run_cli(capsys, "bench", "resnet20", "mlp", "--measure", "cost",
                             "--batch", "1,32", "--json")
    assert code == 0 and json.loads(out) == rows
    assert "4 already in the store (skipped), 0 to run" in err


def test_tables_plain_progress_and_list(capsys, tmp_path):
    db = str(tmp_path / "t.db")
    code, out, _ = run_cli(capsys, "bench", "mnist1d_*", "--measure", "cost",
                           "--input-shape", "40x1", "--set", "classes=4", "--db", db)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "2 jobs: 0 already in the store (skipped), 2 to run"
    assert lines[1].startswith("[1/2] ok ") and "params=" in lines[1]
    assert "mnist1d_mlp classes=4 input_shape=40x1" in out and "cost (2)" in out
    code, out, _ = run_cli(capsys, "bench", "--list", "--db", db)
    assert code == 0 and out.startswith(f"{db}: 2 results (2 ok, 0 failed) from 1 runs")
    code, out, _ = run_cli(capsys, "bench", "--list", "*cnn*", "--db", db, "--json")
    (row,) = json.loads(out)
    assert row["preset"] == "mnist1d_cnn" and row["classes"] == 4
    code, out, _ = run_cli(capsys, "bench", "--list", "--measure", "latency", "--db", db)
    assert code == 0 and "0 results" in out


def test_failed_job_exit_1_and_seed_aggregation(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSCALE_TEST_MEASUREMENTS", "1")
    db = str(tmp_path / "f.db")
    code, out, err = run_cli(capsys, "bench", "mlp", "--measure", "crash,sleep",
                             "--seeds", "0,1", "--db", db, "--json")
    assert code == 1
    rows = json.loads(out)
    assert [r["measurement"] for r in rows] == ["sleep", "crash"]
    assert rows[0]["seeds"] == [0, 1] and len(rows[0]["job_keys"]) == 2
    assert rows[1]["status"] == "failed" and "code 3" in rows[1]["error"]
    assert "FAILED" in err
    code, out, _ = run_cli(capsys, "bench", "mlp", "--measure", "crash,sleep", "--seeds", "0,1",
                           "--db", db, "--json", "--per-seed", "--skip-failed")
    assert code == 1 and len(json.loads(out)) == 3
    code, out, _ = run_cli(capsys, "bench", "--list", "--db", db)
    assert "FAILED" not in out and "failed" in out and "error" in out


def test_sweep_file_with_timeout_override(capsys, tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(textwrap.dedent("""
        measure = ["cost"]
        [[arch]]
        preset = "regnetx_*"
        set = { input_shape = [32, 32, 3] }
        grid.depth = [8, 13]
    """))
    code, out, _ = run_cli(capsys, "bench", str(sweep), "--db", str(tmp_path / "s.db"),
                           "--timeout", "60", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 8
    assert {r["timeout_s"] for r in rows} == {60.0}
    assert rows[0]["name"] == "regnetx_002 input_shape=32x32x3 depth=8"


@pytest.mark.parametrize("argv, fragment", [
    (["bench"], "give a sweep file, presets or spec files, or --list"),
    (["bench", "nope"], "unknown preset 'nope'"),
    (["bench", "mlp", "--batch", "0"], "--batch must be positive ints"),
    (["bench", "mlp", "--batch", "1,,2"], "--batch must be a comma-separated list"),
    (["bench", "mlp", "--seeds", "x"], "--seeds must be ints >= 0"),
    (["bench", "mlp", "--measure", "speed"], "unknown measurement 'speed'"),
    (["bench", "mlp", "--measure", "accuracy"], "needs datasets"),
    (["bench", "mlp", "--measure", "accuracy", "--dataset", "cifar"], "unknown dataset"),
    (["bench", "mlp", "--timeout", "0"], "--timeout must be a positive number"),
    (["bench", "mlp", "--set", "widths=[-1]"], "widths[0] must be a positive int"),
    (["bench", "model.keras"], "not saved Keras models"),
    (["bench", "a.toml", "b.toml"], "give one sweep file alone"),
    (["bench", "SWEEP", "--measure", "cost"], "--measure cannot be combined with a sweep file"),
    (["bench", "--list", "--db", "DIR/none.db"], "no result store at"),
    (["bench", "mlp", "--workers", "3"], "argument --workers"),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, argv, fragment):
    sweep = tmp_path / "s.toml"
    sweep.write_text("[[arch]]\npreset = 'mlp'\n")
    argv = [str(sweep) if a == "SWEEP" else a.replace("DIR", str(tmp_path)) for a in argv]
    code, out, err = run_cli(capsys, *argv, "--db", str(tmp_path / "x.db"))
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("archscale bench: error: ")
    assert fragment in err
    assert out == ""


NO_TF_SCRIPT = textwrap.dedent("""
    import contextlib, io, sys
    from archscale.cli import main
    with contextlib.redirect_stdout(io.StringIO()):
        codes = [main(["bench", "resnet20", "--measure", "cost", "--db", sys.argv[1]]),
                 main(["bench", "--list", "--db", sys.argv[1]])]
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
    print(codes, heavy)
""")


def test_parent_never_imports_tensorflow(tmp_path):
    proc = subprocess.run([sys.executable, "-c", NO_TF_SCRIPT, str(tmp_path / "n.db")],
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "[0, 0] []", proc.stderr


@pytest.mark.parametrize("live", [True, False])
def test_progress_displays(tmp_path, live):
    import io

    from archscale.runner.scheduler import run_sweep
    from archscale.runner.jobs import expand
    from archscale.runner.progress import RichProgress, make_progress
    from archscale.units import format_seconds
    from archscale.runner.store import Store
    from archscale.runner.sweep import sweep_from_dict

    stream = io.StringIO()
    progress = make_progress(stream, live=live)
    assert isinstance(progress, RichProgress) == live
    jobs = expand(sweep_from_dict({"measure": ["cost"], "arch": [{"preset": "mnist1d_*"}]}))
    with Store(str(tmp_path / "p.db")) as store:
        run_sweep(jobs, store, progress=progress)
    progress.close()
    text = stream.getvalue()
    assert "2 jobs: 0 already in the store (skipped), 2 to run" in text
    assert ("2 ok" in text and "0 failed" in text) if live else "[2/2] ok" in text
    assert [format_seconds(s) for s in (None, 5, 75.2, 3725)] == ["?", "5s", "1m15s", "1h02m"]
