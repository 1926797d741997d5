"""The report's parts without running a sweep: the reproducing sweep file, the CSV round trip,
row merging, filters, label placement, escaping, the atomic directory write."""

from __future__ import annotations

import os
import statistics

import pytest

from archscale.reporting.merge import (apply_filters, merge_rows, parse_filters,
                                       retarget_overridden)
from archscale.reporting.schema import (COLUMN_NAMES, ReportError, conform, rows_from_csv,
                                        rows_to_csv)


# ---------------------------------------------------------------------------------------------
# sweep.toml re-creates the same jobs
# ---------------------------------------------------------------------------------------------

SWEEPS = {
    "presets, grids, widths, per-measurement batches": {
        "name": "a", "measure": ["cost", "latency", "memory"], "batch_sizes": [1, 4],
        "settings": {"latency": {"xla": True, "min_samples": 7}, "memory": {"batch_sizes": [2]},
                     "peak": {"size": 512}},
        "arch": [{"preset": "resnet20", "width": [0.5, 1.0]},
                 {"preset": "mobilenet_v2", "set": {"input_shape": [64, 64, 3], "classes": 7},
                  "grid": {"alpha": [0.35, 0.5]}, "measure": ["cost"]}],
    },
    "datasets with options, seeds, recipes, timeouts": {
        "name": "b", "measure": ["accuracy"], "seeds": [3, 1], "timeout": 42,
        "datasets": ["mnist1d", {"name": "synthetic", "resolution": 16, "classes": 4}],
        "settings": {"accuracy": {"recipe": {"epochs": 2}}},
        "arch": [{"preset": "mlp", "set": {"input_shape": [16, 16, 3], "classes": 4,
                                           "widths": [32], "dropout": [0.1]},
                  "name": "tiny <mlp> & co"}],
    },
    "several settings of one measurement, a spec file, no peak": {
        "name": "c", "measure": ["latency"], "peak": False,
        "arch": [{"preset": "mnist1d_cnn", "settings": {"latency": {"xla": True}}},
                 {"preset": "mnist1d_cnn"},
                 {"spec": "net.json", "measure": ["cost", "latency"]}],
    },
}


@pytest.mark.parametrize("name", list(SWEEPS))
def test_sweep_toml_expands_to_the_same_job_keys(name, tmp_path):
    import archscale
    from archscale.reporting.reproduce import sweep_toml
    from archscale.runner.jobs import expand
    from archscale.runner.sweep import load_sweep, sweep_from_dict

    spec = archscale.preset("mnist1d_mlp", widths=(8,), dropout=(0.0,))
    (tmp_path / "net.json").write_text(spec.to_json())
    env = {"cpu_model": "test machine"}
    jobs = expand(sweep_from_dict(SWEEPS[name], base_dir=str(tmp_path)), env)
    text, specs = sweep_toml([j.to_dict() for j in jobs], name=name)
    out = tmp_path / "report"
    for rel, content in {"sweep.toml": text, **specs}.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(content)
    again = expand(load_sweep(str(out / "sweep.toml")), env)
    assert sorted(j.key for j in again) == sorted(j.key for j in jobs)
    assert any(j.measurement == "peak" for j in jobs) == (name.startswith("presets"))
    assert {j.key: j.label for j in again} == {j.key: j.label for j in jobs}


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


def test_csv_round_trip_of_awkward_values():
    rows = [conform({"name": 'a,"b"\nc <&> \u00e9\u6f22', "family": "", "batch_size": 3,
                     "xla": False, "params": 10 ** 12, "latency_ms_median": 0.1 + 0.2,
                     "accuracy_mean": 1e-300, "accuracy_per_seed": [0.5, None],
                     "seeds": [0, 1], "dataset": "npz:/x y/z.npz"}),
            conform({"name": "=1+1", "xla": True, "peak_fraction": 0.0})]
    assert rows_from_csv(rows_to_csv(rows)) == rows


def test_csv_rejects_foreign_columns_and_bad_cells():
    from archscale.errors import InputFileError

    with pytest.raises(InputFileError, match="unknown column 'colour'"):
        rows_from_csv("name,colour\nx,red\n")
    with pytest.raises(InputFileError, match="'batch_size' must be int"):
        rows_from_csv("name,batch_size\nx,many\n")


# ---------------------------------------------------------------------------------------------
# Merging store rows
# ---------------------------------------------------------------------------------------------


def _row(measurement, **kw):
    base = {"status": "ok", "measurement": measurement, "name": "net", "family": "mlp",
            "spec_hash": "s1", "environment_hash": "e1", "params": 10, "macs": 1000,
            "flops": 2100, "job_key": f"{measurement}-{kw.get('batch_size')}-"
                                      f"{kw.get('dataset')}-{kw.get('seed')}-{kw.get('xla')}"}
    return {**base, **kw}


def test_merge_one_row_per_batch_xla_and_dataset():
    rows = [_row("cost", batch_size=1, train_peak_bytes_predicted=100),
            _row("cost", batch_size=8, train_peak_bytes_predicted=800),
            _row("latency", batch_size=1, xla=False, latency_ms_median=2.0),
            _row("latency", batch_size=1, xla=True, latency_ms_median=1.0),
            _row("memory", batch_size=8, train_peak_bytes_measured=1000),
            *[_row("accuracy", dataset=d, seed=s, group_key=f"g-{d}", accuracy_per_seed=[a],
                   accuracy_mean=a, diverged=False)
              for d, s, a in (("mnist1d", 0, 0.5), ("mnist1d", 1, 0.7), ("digits", 0, 0.9))],
            {**_row("latency", batch_size=8), "status": "failed", "error": "boom"}]
    merged = merge_rows(rows, peaks={"e1": 4.0})
    keys = [(r["batch_size"], r["xla"], r["dataset"]) for r in merged]
    assert keys == [(1, False, "mnist1d"), (1, False, "digits"), (1, True, "mnist1d"),
                    (1, True, "digits"), (8, None, "mnist1d"), (8, None, "digits")]
    first = merged[0]
    assert first["accuracy_mean"] == pytest.approx(0.6) and first["seeds"] == [0, 1]
    assert first["accuracy_std"] == pytest.approx(statistics.stdev([0.5, 0.7]))
    assert first["achieved_gflops"] == pytest.approx(2 * 1000 * 1 / (2.0 * 1e6))
    assert first["peak_fraction"] == pytest.approx(first["achieved_gflops"] / 4.0)
    assert first["samples_per_second"] == pytest.approx(500.0)
    assert merged[4]["train_peak_bytes_measured"] == 1000 and merged[4]["latency_ms_median"] \
        is None
    assert first["measurements"] == "cost,latency,memory,accuracy"
    assert all(list(r) == list(COLUMN_NAMES) for r in merged)


def test_accuracy_of_an_overridden_spec_is_its_own_architecture():
    import archscale

    spec = archscale.preset("mnist1d_mlp")
    rows = [_row("cost", batch_size=1, spec_hash="orig"),
            _row("accuracy", dataset="digits", seed=0, group_key="g", accuracy_per_seed=[0.9],
                 spec_overridden=True, trained_input_shape=[8, 8, 1], trained_classes=10,
                 spec_hash="orig")]
    jobs = {rows[1]["job_key"]: {"spec": spec.to_dict()}}
    merged = merge_rows(retarget_overridden(rows, jobs))
    assert [(r["name"], r["accuracy_mean"]) for r in merged] == \
        [("net", None), ("net @ 8x8x1/10", 0.9)]
    trained = archscale.profile(spec.replace(input_shape=(8, 8, 1)))
    assert merged[1]["macs"] == trained.macs and merged[1]["input_shape"] == "8x8x1"


def test_machine_peak_from_a_peak_row_or_a_column():
    from archscale.reporting.merge import machine_peaks

    rows = [{"measurement": "peak", "environment_hash": "e1", "machine_peak_gflops": 150.0},
            _row("latency", batch_size=1, latency_ms_median=1.0, env_machine_peak_gflops=90.0,
                 environment_hash="e2"),
            _row("latency", batch_size=1, latency_ms_median=1.0)]
    assert machine_peaks(rows) == {"e1": 150.0, "e2": 90.0}
    merged = merge_rows(rows)
    assert [r["peak_fraction"] for r in merged] == [pytest.approx(2e-3 / 90.0),
                                                     pytest.approx(2e-3 / 150.0)]


@pytest.mark.parametrize("items, names", [
    (["family=resnet"], ["resnet20"]),
    (["name=MNIST*"], ["mnist1d_cnn", "mnist1d_mlp"]),
    (["name=mlp,resnet20"], ["mlp", "resnet20"]),
    (["batch_size=8", "family=mlp"], ["mnist1d_mlp"]),
    (["xla=true"], ["mlp"]),
])
def test_filters(items, names):
    rows = [{"name": "mlp", "family": "mlp", "batch_size": 1, "xla": True},
            {"name": "mnist1d_cnn", "family": "cnn1d", "batch_size": 1},
            {"name": "mnist1d_mlp", "family": "mlp", "batch_size": 8},
            {"name": "resnet20", "family": "resnet", "batch_size": 1}]
    assert [r["name"] for r in apply_filters(rows, parse_filters(items))] == names


@pytest.mark.parametrize("item, message", [("colour=red", "unknown filter field 'colour'"),
                                           ("family", "expects field=value")])
def test_bad_filters(item, message):
    with pytest.raises(ReportError, match=message):
        parse_filters([item])


# ---------------------------------------------------------------------------------------------
# Labels, escaping, the directory
# ---------------------------------------------------------------------------------------------


def test_labels_never_overlap_and_frontier_labels_are_kept():
    import random

    from archscale.reporting.labels import LabelPoint, overlapping_pairs, place_labels
    from archscale.reporting.plots import _figure

    rng = random.Random(0)
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    points = [LabelPoint(rng.uniform(0, 10), rng.uniform(0, 10), f"architecture_{i}",
                         must=i < 5) for i in range(40)]
    ax.scatter([p.x for p in points], [p.y for p in points])
    ax.set_xlim(-1, 11)
    ax.set_ylim(-1, 11)
    texts = place_labels(ax, points)
    assert overlapping_pairs(texts) == []
    placed = {t.get_text().replace("\n", " ") for t in texts}
    assert {f"architecture_{i}" for i in range(5)} <= placed
    assert len(placed) >= 15


def test_markdown_and_html_escape_every_cell():
    from archscale.reporting.tables import Table, html_table, render

    table = Table("t", ("a|b", "<c>"), (("x|y <script>", "&amp; *bold* _u_"),))
    md = render(table, "github")
    assert "x\\|y &lt;script&gt;" in md and "\\*bold\\*" in md and "<script>" not in md
    page = html_table(table)
    assert "&lt;script&gt;" in page and "&amp;amp;" in page and "<script>" not in page


def test_failed_write_leaves_the_old_report_and_no_temporary_files(tmp_path, monkeypatch):
    from archscale.reporting import writers

    out = tmp_path / "reports" / "r"
    writers.write_directory(str(out), {"report.md": "old", "plots/a.png": b"\x89PNG"})
    assert (out / "report.md").read_text() == "old" and writers.is_report_dir(str(out))
    real_rename = os.rename

    def failing_rename(src, dst):
        if ".tmp-" in str(src):
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(ReportError, match="No space left on device"):
        writers.write_directory(str(out), {"report.md": "new"})
    assert (out / "report.md").read_text() == "old"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["r"]
    monkeypatch.undo()
    writers.write_directory(str(out), {"report.md": "new"})
    assert (out / "report.md").read_text() == "new" and not (out / "plots").exists()


def test_new_parents_are_removed_when_writing_fails(tmp_path, monkeypatch):
    import tempfile

    from archscale.reporting import writers

    def no_temp(*args, **kwargs):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", no_temp)
    with pytest.raises(ReportError, match="Permission denied"):
        writers.write_directory(str(tmp_path / "a" / "b" / "r"), {"x": "y"})
    assert list(tmp_path.iterdir()) == []
