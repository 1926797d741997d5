"""``archscale inspect`` end to end (1 training epoch) and its bad-input cases."""

import json
import os

import pytest

from archscale.cli import main
from archscale.profiling import load_spec, profile

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    import keras

    from archscale.profiling import build
    from archscale.reference_archs.registry import preset

    root = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    build(preset("mnist1d_mlp", widths=(64, 32), residual=False)).save(root / "mlp.keras")
    inp = keras.Input((40,))
    out = keras.layers.Dense(10)(keras.layers.Lambda(lambda t: t * 2.0)(inp))
    keras.Model(inp, out).save(root / "lambda.keras")
    (root / "corrupt.keras").write_bytes(b"not a zip file")
    return root


def test_preset_trained_inspected_report_and_apply(tmp_path, capsys):
    out, applied = tmp_path / "report", tmp_path / "shrunk.json"
    code = main(["inspect", "mnist1d_mlp", "--dataset", "mnist1d", "--train-epochs", "1",
                 "--samples", "300", "--set", "residual=false", "--out", str(out),
                 "--apply", str(applied), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert [layer["layer"] for layer in result["layers"]] == ["fc1", "fc2"]
    assert result["epochs_run"] == 1 and result["samples"] == 300
    shrunk = load_spec(str(applied))
    assert profile(shrunk).params == result["advice"]["shrunk_params"]
    for a in result["advice"]["layers"]:
        assert a["recommended"] % 8 == 0 and a["recommended"] <= a["width"]
    assert shrunk.widths == tuple(a["recommended"] for a in result["advice"]["layers"])
    for name in ("inspect.md", "inspect.html", "plots/dimensions.png", "plots/heatmap_fc1.png",
                 "plots/accuracy_curves.png"):
        assert os.path.getsize(out / name) > 0


def test_saved_model_gets_estimated_advice_without_rewrite(saved_models, capsys):
    code = main(["inspect", str(saved_models / "mlp.keras"), "--dataset", "mnist1d",
                 "--layers", "fc1,2", "--samples", "200"])
    text = capsys.readouterr().out
    assert code == 0
    assert "as saved" in text and "(est.)" in text and "fc2" in text


@pytest.mark.parametrize("args, message", [
    (["mnist1d_mlp", "--layers", "fc1,nope"], "no layer named 'nope'"),
    (["mnist1d_mlp", "--layers", "9"], "layer index out of range"),
    (["mnist1d_cnn", "--dataset", "mnist1d"], "cannot train on dataset 'mnist1d'"),
    (["{models}/mlp.keras", "--dataset", "mnist1d_seq"], "do not fit the model's input"),
    (["{models}/lambda.keras"], "cannot load model file"),
    (["{models}/corrupt.keras"], "not a valid .keras archive"),
    (["{models}/mlp.keras", "--apply", "{tmp}/s.json"], "--apply writes a shrunk spec"),
    (["{models}/missing.keras"], "model file not found"),
    (["mnist1d_mlp", "--dataset", "nope"], "unknown dataset"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, message, saved_models,
                                                            tmp_path, capsys):
    args = [a.format(models=saved_models, tmp=tmp_path) for a in args]
    out = tmp_path / "report"
    code = main(["inspect", *args, "--samples", "100", "--out", str(out),
                 *([] if "--apply" in args or ".keras" in args[0]
                   else ["--apply", str(tmp_path / "s.json")])])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []
