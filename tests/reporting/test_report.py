"""``archscale report`` on a store filled by a real small sweep (see conftest.py): the files,
the CSV round trip, escaping in the HTML, the frontier rows, the reproducing sweep, errors."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from archscale.cli import main
from archscale.reporting.report_builder import collect, load_source
from archscale.reporting.schema import COLUMN_NAMES, rows_from_csv

from .bruteforce import brute_force
from .conftest import EVIL_DATASET, EVIL_NAME


@pytest.fixture(scope="module")
def written(sweep_store):
    """The report directory written by ``archscale report --db DB --out DIR``."""
    root, db = sweep_store
    out = root / "reports" / "small"
    assert main(["report", "--db", db, "--out", str(out)]) == 0
    return out


def read(path):
    return path.read_text(encoding="utf-8")


def test_files_exist_and_the_markdown_refers_to_them(written):
    names = {p.name for p in written.iterdir()}
    assert {"report.md", "report.html", "results.csv", "results.json", "sweep.toml",
            "plots"} <= names
    md = read(written / "report.md")
    images = re.findall(r"!\[[^\]]*\]\((plots/[^)]+\.png)\)", md)
    assert len(images) >= 4  # latency vs MACs x2, memory, scaling per family
    for image in images:
        assert (written / image).stat().st_size > 1000
        svg = read(written / image.replace(".png", ".svg"))
        assert svg.lstrip().startswith(("<?xml", "<svg"))
    assert not [p for p in written.parent.iterdir() if p.name.startswith(".small.")]
    for section in ("## Results", "## Pareto frontiers", "## Latency vs MACs",
                    "## Memory vs batch size", "## How dimensions scale", "## Failed jobs",
                    "## Environment", "## Reproduce"):
        assert section in md


def test_csv_parses_back_to_the_same_rows(written, sweep_store):
    rows = json.loads(read(written / "results.json"))
    assert rows and all(list(r) == list(COLUMN_NAMES) for r in rows)
    assert rows_from_csv(read(written / "results.csv")) == rows
    import archscale.reporting

    assert archscale.reporting.report(sweep_store[1]) == rows
    resnet = archscale.reporting.report(sweep_store[1], filters={"family": "resnet",
                                                                 "batch_size": [1, 8]})
    assert resnet == [r for r in rows if r["family"] == "resnet"] and len(resnet) == 2


def test_rows_carry_every_measurement_and_derived_columns(written):
    rows = json.loads(read(written / "results.json"))
    by = {(r["name"], r["batch_size"]): r for r in rows}
    assert {b for (n, b) in by if n == "resnet20"} == {1, 8}
    for row in rows:
        assert row["params"] > 0 and row["macs"] > 0 and row["flops"] >= 2 * row["macs"]
        assert row["latency_ms_median_ci_low"] <= row["latency_ms_median"] \
            <= row["latency_ms_median_ci_high"]
        assert row["latency_ms_p90"] >= row["latency_ms_median"]
        assert row["achieved_gflops"] == pytest.approx(
            2 * row["macs"] * row["batch_size"] / (row["latency_ms_median"] * 1e6))
        assert row["train_peak_bytes_predicted"] > 0
        # the sweep measures latency, so the runner adds one machine-peak job
        assert row["machine_peak_gflops"] > 0 and row["peak_fraction"] == pytest.approx(
            row["achieved_gflops"] / row["machine_peak_gflops"])
    assert "machine\\_peak\\_gflops" in read(written / "report.md")  # environment block
    evil = by[(EVIL_NAME, 8)]
    assert evil["train_peak_bytes_measured"] > 0 and evil["measurements"] == \
        "cost,latency,memory"
    assert evil["train_peak_rel_error"] == pytest.approx(
        evil["train_peak_bytes_predicted"] / evil["train_peak_bytes_measured"] - 1, rel=1e-6)


def test_html_is_self_contained_and_escapes_user_strings(written):
    page = read(written / "report.html")
    assert EVIL_NAME not in page and "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in page
    assert html.escape(EVIL_DATASET) in page and EVIL_DATASET not in page
    assert "<b>" not in page  # the name's <b> never becomes markup
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", page)  # nothing external
    assert page.count('src="data:image/') == read(written / "report.md").count("![")
    md = read(written / "report.md")
    assert EVIL_NAME not in md and "&lt;script&gt;" in md


def test_frontier_rows_are_right(sweep_store):
    data = collect(load_source(sweep_store[1]), x="latency", y="params")
    rows = data.rows
    custom = [f for f in data.frontiers if (f.x, f.y) == ("latency_ms_median", "params")]
    assert {f.group["batch_size"] for f in custom} == {1, 8}
    for fr in custom:
        batch = fr.group["batch_size"]
        expected_rows = [r for r in rows if r["batch_size"] == batch]
        front, dominated_by, _ = brute_force(expected_rows,
                                             {"params": "min", "latency_ms_median": "min"})
        assert sorted(expected_rows[i]["name"] for i in front) == \
            sorted(r["name"] for r in fr.front())
        for res in fr.results:
            if res.status == "dominated":
                index = expected_rows.index(next(r for r in expected_rows
                                                 if r["name"] == fr.rows[res.index]["name"]))
                assert sorted(res.dominated_by) == \
                    sorted(expected_rows[i]["name"] for i in dominated_by[index])
    # params is batch-independent, latency is not: an architecture appears once per group
    assert all(len({r["name"] for r in f.rows}) == len(f.rows) for f in custom)


def test_accuracy_frontiers(sweep_store, written):
    """Accuracy vs MACs / latency / params on mnist1d (needs working accuracy jobs)."""
    source = load_source(sweep_store[1])
    jobs = [r for r in source.rows
            if r["measurement"] == "accuracy" and r["dataset"] == "mnist1d_seq"]
    errors = {r.get("error", "")[:160] for r in jobs if r["status"] != "ok"}
    assert any(r["status"] == "ok" for r in jobs), \
        f"no successful mnist1d_seq accuracy job: {errors or 'not run'}"
    data = collect(source)
    by_pair = {}
    for fr in data.frontiers:
        by_pair.setdefault((fr.x, fr.y), []).append(fr)
    (macs,) = by_pair[("macs", "accuracy_mean")]
    assert macs.group == {"dataset": "mnist1d_seq"}
    assert {r["name"] for r in macs.rows} == {"mnist1d_cnn", "mnist1d_mlp seq"}
    for (x, y), frontiers in by_pair.items():
        for fr in frontiers:
            front, _, missing = brute_force(fr.rows, fr.objectives)
            assert [r.index for r in fr.results if r.on_front] == front
            assert [r.index for r in fr.results if r.status == "missing"] == missing
    assert {f.group["batch_size"] for f in by_pair[("latency_ms_median", "accuracy_mean")]} \
        == {1, 8}
    md = read(written / "report.md")
    assert "## Headline: test accuracy vs MACs per example (dataset mnist1d\\_seq)" in md
    assert "### Accuracy per seed" in md


def test_sweep_toml_reproduces_the_stored_jobs(written, sweep_store):
    import sqlite3

    from archscale.runner.jobs import expand
    from archscale.runner.sweep import load_sweep

    keys = {j.key for j in expand(load_sweep(str(written / "sweep.toml")))}
    with sqlite3.connect(sweep_store[1]) as conn:
        stored = {k for (k,) in conn.execute("SELECT job_key FROM results")}
    assert keys == stored
    md = read(written / "report.md")
    assert f"archscale bench {written}/sweep.toml --db {sweep_store[1]}" in md


def test_rewriting_replaces_the_report(written, sweep_store):
    (written / "stale.txt").write_text("from an earlier report")
    assert main(["report", "--db", sweep_store[1], "--out", str(written),
                 "--filter", "family=resnet"]) == 0  # (the filter keeps it quick)
    assert not (written / "stale.txt").exists() and (written / "report.html").exists()
    assert {r["name"] for r in json.loads(read(written / "results.json"))} == {"resnet20"}
    assert [p.name for p in written.parent.iterdir()] == ["small"]


def test_filter_and_json(sweep_store, capsys):
    assert main(["report", "--db", sweep_store[1], "--filter", "family=resnet",
                 "--filter", "batch_size=1,8", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == {"resnet20"} and len(rows) == 2
    assert main(["report", "--db", sweep_store[1], "--filter", "name=mnist1d*",
                 "--format", "github", "--x", "latency", "--y", "params"]) == 0
    out = capsys.readouterr().out
    assert "| mnist1d\\_cnn" in out and "resnet20" not in out and "Pareto status" in out


def _empty_store(tmp_path):
    from archscale.runner.store import Store

    path = str(tmp_path / "empty.db")
    Store(path).close()
    return path


@pytest.mark.parametrize("case, message", [
    ("empty", "is empty"),
    ("missing", "no result store"),
    ("filter", "unknown filter field 'colour'; accepted: name, family"),
    ("axis", "unknown axis 'speed'; accepted:"),
    ("unwritable", "is not a directory"),
    ("foreign", "not an archscale report"),
    ("nomatch", "no result matches the filters"),
])
def test_errors_exit_2_with_one_line_and_write_nothing(case, message, sweep_store, tmp_path,
                                                       capsys):
    db = sweep_store[1]
    out = tmp_path / "out" / "report"
    args = ["report", "--db", db, "--out", str(out)]
    if case == "empty":
        args[2] = _empty_store(tmp_path)
    elif case == "missing":
        args[2] = str(tmp_path / "nothing.db")
    elif case == "filter":
        args += ["--filter", "colour=red"]
    elif case == "axis":
        args += ["--x", "speed"]
    elif case == "unwritable":
        (tmp_path / "a_file").write_text("x")
        out = tmp_path / "a_file" / "report"
        args[4] = str(out)
    elif case == "foreign":
        (tmp_path / "out" / "report").mkdir(parents=True)
        (tmp_path / "out" / "report" / "mine.txt").write_text("keep me")
    elif case == "nomatch":
        args += ["--filter", "family=nothing"]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("archscale report: error:") and len(err.splitlines()) == 1
    assert message in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not os.path.exists(args[2]) or case != "missing"


def test_from_pytest_benchmark(tmp_path, capsys):
    (tmp_path / "test_speed.py").write_text(textwrap.dedent("""
        def test_sum(benchmark):
            benchmark.extra_info.update(macs=5000, params=12, batch_size=4, family="toy")
            benchmark(sum, range(200))

        def test_sorted(benchmark):
            benchmark(sorted, list(range(500)))
    """))
    bench = tmp_path / "bench.json"
    # Not an xdist worker's variables: pytest-benchmark would take the inner run for one and
    # disable its benchmarks.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "test_speed.py", f"--benchmark-json={bench}", "--benchmark-max-time=0.05",
                    "--benchmark-min-rounds=5"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120, env=env)
    doc = json.loads(bench.read_text())
    assert main(["report", "--from-pytest-benchmark", str(bench), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"test_sum", "test_sorted"}
    stats = {b["name"]: b["stats"] for b in doc["benchmarks"]}
    for name, row in rows.items():
        assert row["latency_ms_median"] == pytest.approx(stats[name]["median"] * 1e3)
        assert row["latency_ms_min"] == pytest.approx(stats[name]["min"] * 1e3)
    assert rows["test_sum"]["achieved_gflops"] == pytest.approx(
        2 * 5000 * 4 / (rows["test_sum"]["latency_ms_median"] * 1e6))
    out_dir = tmp_path / "bench-report"
    assert main(["report", "--from-pytest-benchmark", str(bench), "--format", "github",
                 "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "| test\\_sum" in out and "latency ms median" in out
    md = (out_dir / "report.md").read_text()
    assert "latency_vs_macs" in md and "--from-pytest-benchmark" in md
    assert rows_from_csv((out_dir / "results.csv").read_text()) == \
        json.loads((out_dir / "results.json").read_text())
    assert main(["report", "--from-pytest-benchmark", str(tmp_path / "nope.json")]) == 2
    assert "cannot read pytest-benchmark file" in capsys.readouterr().err


def test_python_api_as_frame(sweep_store):
    import importlib.util

    import archscale.reporting

    if importlib.util.find_spec("pandas") is None:
        with pytest.raises(archscale.reporting.ReportError, match="needs pandas"):
            archscale.reporting.report(sweep_store[1], as_frame=True)
    else:  # pragma: no cover - pandas is optional
        frame = archscale.reporting.report(sweep_store[1], as_frame=True)
        assert list(frame.columns) == list(COLUMN_NAMES)
