"""``propose``: golden cases, the CLI verb, JSON/spec round trips, bad input, no TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import archscale
from archscale.cli import main
from archscale.heuristics.propose import ImpossibleBudgetError, Proposal, propose
from archscale.specs import Budget, Task

IMAGENET = ["--input", "224x224x3", "--classes", "1000", "--samples", "1281167"]


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    """No calibration: latency is not predicted unless a test creates one."""
    monkeypatch.setenv("ARCHSCALE_CACHE_DIR", str(tmp_path / "cache"))


def cli_json(capsys, *argv: str) -> dict:
    code = main(["propose", *argv, "--json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    return json.loads(out)


def check_consistent(data: dict) -> archscale.Profile:
    """The spec JSON rebuilds, and its profile equals the predicted costs."""
    spec = archscale.spec_from_dict(data["spec"])
    prof = archscale.profile(spec)
    assert (prof.params, prof.macs, prof.flops) == (data["predicted"]["params"],
                                                    data["predicted"]["macs"],
                                                    data["predicted"]["flops"])
    for name, row in data["utilisation"].items():
        if row["user"]:
            assert row["value"] <= row["limit"], name
    return prof


# ---------------------------------------------------------------------------------------------
# Golden cases
# ---------------------------------------------------------------------------------------------


def test_golden_vector_task_gives_an_mlp(capsys):
    data = cli_json(capsys, "--input", "40", "--classes", "10", "--samples", "4000")
    assert data["family"] == "mlp" and data["spec"]["family"] == "mlp"
    assert all(w % 8 == 0 for w in data["spec"]["widths"])
    assert data["binding"] == "capacity" and data["utilisation"]["capacity"]["fraction"] >= 0.9
    check_consistent(data)


def test_golden_same_data_as_a_sequence_gives_a_1d_cnn(capsys):
    data = cli_json(capsys, "--input", "40x1", "--classes", "10", "--samples", "4000")
    assert data["family"] == "cnn1d"
    assert data["spec"]["strides"].count(2) == 3  # 40 -> 20 -> 10 -> 5
    check_consistent(data)


def test_golden_imagenet_4g_uses_90_to_100_percent_with_a_practical_family(capsys):
    data = cli_json(capsys, *IMAGENET, "--max-macs", "4.1G")
    # the best published point within 4.1 G at 224 px: EfficientNetV2-B0 (78.7 %), scaled up
    assert data["family"] == "efficientnet_v2" and data["spec"]["base"] == "b"
    used = data["utilisation"]["max_macs"]["fraction"]
    assert 0.9 <= used <= 1.0 and data["binding"] == "max_macs"
    family_step = next(s for s in data["rationale"] if s["rule"] == "family")
    assert "EfficientNetV2-B0" in family_step["result"]["why"] and family_step["source"]
    assert set(family_step["result"]["alternatives"]) == {
        "efficientnet", "mobilenet_v2", "resnet", "inception", "regnet",
        "mobilenet", "mobilenet_v3", "convnext", "regnety", "densenet", "vgg"}
    check_consistent(data)


def test_golden_300m_at_224_picks_a_mobile_family(capsys):
    data = cli_json(capsys, *IMAGENET, "--max-macs", "300M")
    assert data["family"] in ("mobilenet_v2", "efficientnet", "mobilenet_v3")
    assert data["utilisation"]["max_macs"]["fraction"] >= 0.9
    check_consistent(data)


def test_cifar_example_fits_both_budgets(capsys):
    data = cli_json(capsys, "--input", "32x32x3", "--classes", "10", "--samples", "50000",
                    "--max-macs", "200M", "--max-params", "2M")
    assert data["variant"] == "resnet-cifar" and data["spec"]["stem"] == "cifar"
    assert data["utilisation"][data["binding"]]["fraction"] >= 0.9
    check_consistent(data)


def test_training_memory_budget_at_a_batch(capsys):
    data = cli_json(capsys, "--input", "32x32x3", "--classes", "10", "--samples", "50000",
                    "--max-train-memory", "512MiB", "--batch", "64")
    prof = check_consistent(data)
    optimizer = data["recipe"]["optimizer"]
    assert prof.training_peak_bytes(64, optimizer=optimizer) <= 512 * 2**20
    assert data["predicted"]["train_batch_size"] == 64
    assert data["utilisation"][data["binding"]]["fraction"] >= 0.9


def test_inference_memory_with_separate_training_batch(capsys):
    data = cli_json(capsys, "--input", "64x64x3", "--classes", "200", "--samples", "100000",
                    "--max-inference-memory", "64MB", "--max-train-memory", "1GB", "--batch",
                    "8", "--train-batch", "32")
    prof = check_consistent(data)
    assert prof.inference_peak_bytes(8) <= 64e6
    assert prof.training_peak_bytes(32, optimizer=data["recipe"]["optimizer"]) <= 1e9


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------


def test_json_has_every_part_of_a_proposal(capsys):
    data = cli_json(capsys, "--input", "32x32x3", "--classes", "10", "--samples", "50000",
                    "--max-macs", "100M")
    assert {"spec", "rationale", "predicted", "utilisation", "binding", "search_space",
            "recipe", "regularisation", "capacity", "scaling"} <= set(data)
    for step in data["rationale"]:
        assert set(step) == {"rule", "inputs", "result", "source"} and step["source"]
    names = [h["name"] for h in data["search_space"]["hyperparameters"]]
    assert names == ["width_multiplier", "depth_multiplier", "learning_rate", "weight_decay"]
    assert {"optimizer", "learning_rate", "batch_size", "epochs"} <= set(data["recipe"])


def test_human_output_reads_like_a_design_note(capsys):
    code = main(["propose", *IMAGENET, "--max-macs", "4.1G"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    for part in ("Proposal: EfficientNetV2", "Architecture", "Costs against the budget",
                 "<- binding", "Why", "family: efficientnet_v2", "Training recipe",
                 "Search space"):
        assert part in out, part


def test_out_writes_the_spec_profile_accepts(tmp_path, capsys):
    path = tmp_path / "spec.json"
    data = cli_json(capsys, "--input", "32x32x3", "--classes", "10", "--samples", "50000",
                    "--max-params", "300k", "--out", str(path))
    assert json.loads(path.read_text())["family"] == "resnet"
    code = main(["profile", str(path), "--json", "--no-layers"])
    prof, err = capsys.readouterr()
    assert code == 0 and json.loads(prof)["params"] == data["predicted"]["params"] <= 300_000
    assert archscale.load_spec(str(path)) == archscale.spec_from_dict(data["spec"])


def test_python_api_respec_and_regression():
    task = Task(input_shape=(16, 4), classes=3, samples=20_000, regression=True)
    p = propose(task, Budget(max_params=50_000))
    assert isinstance(p, Proposal) and p.spec.output_activation == "linear"
    assert p.recipe.loss == "mean_squared_error"
    smaller = archscale.profile(p.respec(width_multiplier=0.5, depth_multiplier=0.5))
    assert smaller.params < p.predicted["params"] <= 50_000
    assert json.loads(p.to_json())["spec"] == p.spec.to_dict()


@pytest.mark.parametrize("family", ["mlp", "resnet", "mobilenet_v2", "efficientnet", "regnet",
                                    "inception"])
def test_family_override_fits_the_budget(family):
    task = Task(input_shape=(96, 96, 3), classes=10, samples=100_000, family=family)
    p = propose(task, Budget(max_macs=150_000_000, max_params=3_000_000))
    assert p.family == family and p.rationale[2].result["why"].startswith("requested")
    prof = archscale.profile(p.spec)
    assert prof.macs <= 150_000_000 and prof.params <= 3_000_000
    assert p.utilisation[p.binding]["fraction"] >= 0.9 or p.fill_note


def test_resolution_scaled_down_is_reported():
    p = propose(Task(input_shape=(224, 224, 3), classes=1000, samples=1_281_167),
                Budget(max_macs=40_000_000))
    assert p.family == "mobilenet_v3" and p.spec.input_shape[0] < 224
    assert p.preprocessing["resize_to"] == list(p.spec.input_shape[:2])


def test_impossible_budget_names_the_binding_budget_and_the_smallest_cost():
    with pytest.raises(ImpossibleBudgetError, match=r"max_macs=1,000,000 binds, the smallest "
                                                    r"achievable is [\d,]+ macs"):
        propose(Task(input_shape=(224, 224, 3), classes=1000, samples=1_281_167),
                Budget(max_macs=1_000_000))


# ---------------------------------------------------------------------------------------------
# Bad input: exit 2, one line
# ---------------------------------------------------------------------------------------------

BASE = ["--input", "40", "--classes", "10", "--samples", "4000"]


@pytest.mark.parametrize("argv, fragment", [
    (["--input", "32x0x3", "--classes", "10", "--samples", "10"], "--input"),
    (["--input", "32x32x", "--classes", "10", "--samples", "10"], "--input"),
    (["--input", "1x2x3x4", "--classes", "10", "--samples", "10"], "input_shape"),
    (["--input", "40", "--classes", "0", "--samples", "10"], "--classes"),
    (["--input", "40", "--classes", "-3", "--samples", "10"], "--classes"),
    (["--input", "40", "--classes", "10", "--samples", "0"], "--samples"),
    (["--input", "40", "--classes", "10", "--samples", "-5"], "--samples"),
    (["--input", "40", "--classes", "10"], "--samples"),
    (["--classes", "10", "--samples", "10"], "--input"),
    ([*BASE, "--max-macs", "12Q"], "--max-macs"),
    ([*BASE, "--max-params", "lots"], "--max-params"),
    ([*BASE, "--max-train-memory", "2GiBs"], "--max-train-memory"),
    ([*BASE, "--max-inference-memory", "-1MB"], "--max-inference-memory"),
    ([*BASE, "--max-latency-ms", "0"], "--max-latency-ms"),
    ([*BASE, "--verify"], "--max-latency-ms"),
    ([*BASE, "--train-batch", "8"], "--max-train-memory"),
    ([*BASE, "--batch", "0"], "--batch"),
    ([*BASE, "--modality", "sequence"], "modality"),
    ([*BASE, "--modality", "audio"], "--modality"),
    ([*BASE, "--family", "resnet"], "family"),
    ([*BASE, "--family", "nonexistent"], "family"),
    ([*BASE, "--max-params", "100"], "max_params=100 binds"),
    ([*BASE, "--max-latency-ms", "5"], "propose --calibrate --batch 1"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    code = main(["propose", *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("archscale propose: error: "), err
    assert fragment in err


def test_cold_cli_never_imports_tensorflow(tmp_path):
    code = ("import sys; from archscale.cli import main; "
            "rc = main(['propose', '--input', '224x224x3', '--classes', '1000', '--samples', "
            "'1281167', '--max-macs', '4.1G', '--json']); "
            "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "sys.exit(rc if not heavy else 'imported: ' + ', '.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "ARCHSCALE_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["family"] == "efficientnet_v2"
    assert "scipy" not in proc.stderr


def test_design_note_mentions_resizing_and_fill_exceptions(capsys):
    assert main(["propose", *IMAGENET, "--max-macs", "40M"]) == 0
    out = capsys.readouterr().out
    assert "resize inputs to" in out and "MobileNetV2" in out
    assert main(["propose", "--input", "44", "--classes", "2", "--samples", "4000",
                 "--max-params", "1084"]) == 0
    out = capsys.readouterr().out
    assert "below 90 % of the binding limit: granularity" in out


def test_top_level_api():
    p = archscale.propose(archscale.Task(input_shape=(40,), classes=10, samples=4000),
                          archscale.Budget(max_params=10_000))
    assert p.family == "mlp" and p.predicted["params"] <= 10_000
