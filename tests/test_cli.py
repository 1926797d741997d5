"""The ``archscale`` command line: framework, ``catalogue``, ``profile`` and bad input.

Most tests call ``archscale.cli.main`` in-process; a few run the real console script in a
subprocess to check exit codes, one-line stderr and that no TensorFlow is imported.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import archscale
from archscale.catalogue import catalogue_rows
from archscale.cli import VERBS, main
from archscale.cli_verbs.common import (Target, UsageError, add_target_arguments, parse_set,
                                        parse_shape, parse_value, resolve_target)

SCRIPT = Path(sys.executable).parent / "archscale"
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "archscale"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str):
    code, out, err = run_cli(capsys, *argv, "--json")
    assert (code, err) == (0, "")
    return json.loads(out)


def run_subprocess(*argv: str, cli=CLI) -> subprocess.CompletedProcess:
    return subprocess.run([*cli, *argv], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ARCHSCALE_DEBUG": ""})


def assert_one_line_error(code: int, out: str, err: str, verb: str, *fragments: str) -> None:
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"archscale {verb}: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# ---------------------------------------------------------------------------------------------
# Helpers in cli_verbs.common
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, shape", [
    ("32x32x3", (32, 32, 3)), ("40", (40,)), ("128x8", (128, 8)), (" 64X64x1 ", (64, 64, 1)),
    ("8,8,2", (8, 8, 2)),
])
def test_parse_shape(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["32x", "0x3", "abc", "", "x", "-1x4", "3.5", "2xx2"])
def test_parse_shape_rejects(text):
    with pytest.raises(UsageError, match=r"--size must be positive integers.*Received: --size="):
        parse_shape(text, "--size")


@pytest.mark.parametrize("text, value", [
    ("[64,32]", [64, 32]), ("v1.5", "v1.5"), ("false", False), ("0.5", 0.5), ("relu", "relu"),
    ("null", None), ('"7"', "7"), ("", ""),
])
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_parse_set():
    assert parse_set(["widths=[64,32]", "version=v1.5", "conv_bias=false", "widths=[1]"]) == {
        "widths": [1], "version": "v1.5", "conv_bias": False}
    assert parse_set(None) == {}


@pytest.mark.parametrize("item", ["widths", "=3", "2x=3", "a b=1"])
def test_parse_set_rejects(item):
    with pytest.raises(UsageError, match="--set expects field=value"):
        parse_set([item])


def _target_args(*argv: str, models: bool = True) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_target_arguments(parser, models=models)
    return parser.parse_args(list(argv))


def test_resolve_target(tmp_path):
    spec = archscale.preset("mlp", classes=3, widths=(8,), dropout=(0.0,))
    args = _target_args("mlp", "--classes", "3", "--set", "widths=[8]", "--set", "dropout=[0]")
    assert resolve_target(args) == Target("preset", "mlp", spec)
    path = tmp_path / "s.json"
    path.write_text(spec.to_json())
    assert resolve_target(_target_args(str(path))) == Target("spec", str(path), spec)
    model = tmp_path / "m.keras"
    model.write_bytes(b"not opened")
    assert resolve_target(_target_args(str(model))) == Target("model", str(model), None)
    with pytest.raises(UsageError, match="not a saved model"):
        resolve_target(_target_args(str(model), models=False), models=False)


# ---------------------------------------------------------------------------------------------
# Framework
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", VERBS)
def test_verb_module_contract(verb):
    module = importlib.import_module(f"archscale.cli_verbs.{verb}")
    assert module.NAME == verb
    assert module.HELP and "examples:" in module.EXAMPLES
    assert callable(module.add_arguments) and callable(module.run)


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_help_has_an_example_and_json(capsys, verb):
    code, out, _ = run_cli(capsys, verb, "--help")
    assert code == 0
    assert f"usage: archscale {verb}" in out
    assert "--json" in out
    assert f"\n  archscale {verb}" in out  # an example command, layout kept


def test_top_level_help_and_version(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    assert all(verb in out for verb in VERBS) and "Exit codes" in out
    code, out, _ = run_cli(capsys, "--version")
    assert (code, out.strip()) == (0, f"archscale {archscale.__version__}")


@pytest.mark.parametrize("argv, prog, fragment", [
    ([], "archscale", "required: VERB"),
    (["frobnicate"], "archscale", "invalid choice: 'frobnicate'"),
    (["catalogue", "--bogus"], "archscale catalogue", "unrecognized arguments: --bogus"),
    (["profile"], "archscale profile", "required: TARGET"),
])
def test_argparse_errors_are_one_line(capsys, argv, prog, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and err.startswith(f"{prog}: error: ") and fragment in err


def _boom(args):
    raise RuntimeError("disk on fire\nsecond line")


def test_unexpected_exception_is_one_line_and_exit_1(capsys, monkeypatch):
    monkeypatch.setattr("archscale.cli_verbs.catalogue.run", _boom)
    monkeypatch.delenv("ARCHSCALE_DEBUG", raising=False)
    code, out, err = run_cli(capsys, "catalogue")
    assert code == 1
    assert err == "archscale catalogue: error: RuntimeError: disk on fire second line\n"


def test_debug_env_shows_the_traceback(capsys, monkeypatch):
    monkeypatch.setattr("archscale.cli_verbs.catalogue.run", _boom)
    monkeypatch.setenv("ARCHSCALE_DEBUG", "1")
    code, _, err = run_cli(capsys, "catalogue")
    assert code == 1 and "Traceback" in err and "disk on fire" in err


# ---------------------------------------------------------------------------------------------
# catalogue
# ---------------------------------------------------------------------------------------------


def test_catalogue_json_equals_catalogue_rows(capsys):
    assert run_json(capsys, "catalogue") == catalogue_rows()


def test_catalogue_filter_and_exact(capsys):
    assert [r["name"] for r in run_json(capsys, "catalogue", "--filter", "mnist1d_*")] == [
        "mnist1d_mlp", "mnist1d_cnn"]
    code, out, _ = run_cli(capsys, "catalogue", "--filter", "mnist1d_cnn", "--exact",
                           "--format", "github")
    assert code == 0 and "| mnist1d_cnn" in out and "5,210" in out and "31,875" in out


@pytest.mark.parametrize("fmt, marker", [("github", "|---"), ("latex", "\\begin{tabular}"),
                                         ("html", "<table>"), ("plain", "resnet50")])
def test_catalogue_formats(capsys, fmt, marker):
    code, out, _ = run_cli(capsys, "catalogue", "--format", fmt)
    assert code == 0 and marker in out and "mobilenet" in out


def test_catalogue_filter_matching_nothing_is_bad_input(capsys):
    assert_one_line_error(*run_cli(capsys, "catalogue", "--filter", "zzz*"), "catalogue",
                          "Received: --filter='zzz*'")


# ---------------------------------------------------------------------------------------------
# profile: presets and spec files (no TensorFlow)
# ---------------------------------------------------------------------------------------------


def _expected(prof, batch=32, dtype="float32", optimizer="adam"):
    data = prof.to_dict(batch, dtype)
    data.update(prof.memory_summary(batch, dtype, optimizer))
    return data


#: Parameter counts that do not come from archscale's own profile: the mlp by hand
#: (784*256+256 + 256*128+128 + 128*10+10), mnist1d_cnn and regnetx_002 from the built Keras
#: model's count_params() (README memory table), MobileNetV2 from keras.applications (DESIGN 6).
INDEPENDENT_PARAMS = {"mlp": 235_146, "mnist1d_cnn": 5_210, "mobilenet_v2": 3_538_984,
                      "regnetx_002": 2_705_640}


@pytest.mark.parametrize("name", ["mlp", "mnist1d_cnn", "mobilenet_v2", "regnetx_002"])
def test_profile_json_extends_profile_to_dict(capsys, name):
    """Consistency check (the CLI prints what ``profile`` computes), backed by an independent
    parameter count."""
    data = run_json(capsys, "profile", name)
    expected = _expected(archscale.profile(archscale.preset(name)))
    assert {k: data[k] for k in expected} == expected
    assert data["params"] == INDEPENDENT_PARAMS[name]
    assert list(data)[-1] == "layers"
    assert (data["source"], data["source_kind"], data["optimizer"]) == (name, "preset", "adam")
    assert data["spec"] == archscale.preset(name).to_dict()
    assert data["unsupported"] == []


def test_profile_overrides_and_memory_options(capsys):
    data = run_json(capsys, "profile", "mobilenet_v2", "--input-shape", "64x64x3", "--classes",
                    "7", "--batch", "8", "--dtype", "float16", "--optimizer", "sgd",
                    "--no-layers")
    spec = archscale.preset("mobilenet_v2", input_shape=(64, 64, 3), classes=7)
    expected = _expected(archscale.profile(spec), 8, "float16", "sgd")
    expected.pop("layers")
    assert {k: data[k] for k in expected} == expected
    assert "layers" not in data
    assert data["spec"] == spec.to_dict() and data["optimizer"] == "sgd"
    assert data["training_peak_bytes"] != run_json(
        capsys, "profile", "mobilenet_v2", "--input-shape", "64x64x3", "--classes", "7",
        "--batch", "8", "--dtype", "float16")["training_peak_bytes"]  # adam has 2 slots


@pytest.mark.parametrize("sets, field, value", [
    (["widths=[64,32]", "dropout=[0,0]"], "widths", [64, 32]),
    (["batch_norm=true"], "batch_norm", True),
    (["activation=tanh"], "activation", "tanh"),
    (["input_shape=[28,28]"], "input_shape", [28, 28]),
])
def test_profile_set(capsys, sets, field, value):
    """Consistency check of ``--set`` against ``profile``; the widths case is also counted by
    hand."""
    argv = [arg for item in sets for arg in ("--set", item)]
    data = run_json(capsys, "profile", "mlp", *argv)
    assert data["spec"][field] == value
    spec = archscale.preset("mlp", **parse_set(sets))
    assert data["params"] == archscale.profile(spec).params
    if field == "widths":
        assert data["params"] == 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10


def test_profile_table(capsys):
    code, out, err = run_cli(capsys, "profile", "mnist1d_cnn", "--format", "github")
    assert (code, err) == (0, "")
    assert out.startswith("profile of preset mnist1d_cnn: family cnn1d, input 40x1, 10 classes")
    for text in ("| conv1", "| predictions", "20x25", "5,210", "31,875", "65,540",
                 "training peak bytes (batch 32, adam)", "5.21K"):
        assert text in out
    assert "UNSUPPORTED" not in out
    code, out, _ = run_cli(capsys, "profile", "mnist1d_cnn", "--no-layers")
    assert code == 0 and "conv1" not in out and "5,210" in out


def test_profile_spec_file_with_overrides(capsys, tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(archscale.preset("mnist1d_cnn").to_json(indent=2))
    data = run_json(capsys, "profile", str(path))
    assert data["params"] == 5210 and data["source_kind"] == "spec"
    data = run_json(capsys, "profile", str(path), "--classes", "3")
    assert data["params"] == archscale.profile(archscale.preset("mnist1d_cnn", classes=3)).params


def _bad_spec(tmp_path, text, name="bad.json"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("argv, fragments", [
    (["nope"], ["unknown preset 'nope'", "accepted: mlp", "archscale catalogue"]),
    (["resnt50"], ["did you mean resnet50"]),
    (["mlp", "--set", "foo=1"], ["unknown field 'foo'", "Received: foo=1"]),
    (["mlp", "--set", "widths=[-3]"], ["widths[0] must be a positive int", "=-3"]),
    (["mlp", "--set", "widths=[1.5]"], ["widths[0] must be a positive int", "=1.5"]),
    (["mlp", "--set", "widths"], ["--set expects field=value"]),
    (["mlp", "--input-shape", "32x"], ["--input-shape", "Received: --input-shape='32x'"]),
    (["mlp", "--input-shape", "0x3"], ["--input-shape", "'0x3'"]),
    (["mlp", "--input-shape", "abc"], ["--input-shape", "'abc'"]),
    (["inception_v3", "--input-shape", "32x32x3"], ["would produce an empty output"]),
    (["mlp", "--classes", "3", "--set", "classes=4"], ["given twice"]),
    (["mlp", "--batch", "0"], ["--batch", "positive int"]),
    (["mlp", "--classes", "-2"], ["--classes", "positive int"]),
    (["mlp", "--format", "nope"], ["unknown table format 'nope'", "github", "latex"]),
    (["mlp", "--dtype", "int8"], ["--dtype", "float32"]),
    (["mlp", "--optimizer", "lion"], ["--optimizer", "adam"]),
    (["{tmp}/missing.json"], ["cannot read spec file"]),
    (["{tmp}/missing.keras"], ["model file not found"]),
    (["{tmp}/notes.txt"], ["spec files (.json) or Keras models"]),
    (["{malformed}"], ["is not valid JSON"]),
    (["{nofamily}"], ["'family' key"]),
])
def test_profile_bad_input(capsys, tmp_path, argv, fragments):
    (tmp_path / "notes.txt").write_text("hello")
    paths = {"tmp": tmp_path, "malformed": _bad_spec(tmp_path, '{"family": "mlp",'),
             "nofamily": _bad_spec(tmp_path, "[1, 2]", "list.json")}
    argv = [a.format(**paths) for a in argv]
    assert_one_line_error(*run_cli(capsys, "profile", *argv), "profile", *fragments)


def test_unknown_preset_message_is_truncated(capsys):
    _, _, err = run_cli(capsys, "profile", "nope")
    if len(archscale.list_presets()) > 12:
        assert f"({len(archscale.list_presets())} in all" in err
        assert archscale.list_presets()[-1] + "," not in err


# ---------------------------------------------------------------------------------------------
# Real processes
# ---------------------------------------------------------------------------------------------


NO_TF_SCRIPT = textwrap.dedent("""
    import contextlib, io, sys
    from archscale.cli import VERBS, main, verb_modules
    verb_modules()
    spec_path = sys.argv[1]
    with contextlib.redirect_stdout(io.StringIO()):
        codes = [main(["catalogue"]), main(["profile", "resnet50", "--json"]),
                 main(["profile", spec_path, "--set", "classes=3"]),
                 main(["profile", "mlp", "--set", "widths=[-3]"])]
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
    print(codes, heavy)
""")


def test_presets_and_spec_files_never_import_tensorflow(tmp_path):
    spec = tmp_path / "s.json"
    spec.write_text(archscale.preset("mobilenet_v2").to_json())
    proc = subprocess.run([sys.executable, "-c", NO_TF_SCRIPT, str(spec)], capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.strip() == "[0, 0, 0, 2] []", proc.stderr


@pytest.mark.parametrize("argv, fragment", [
    (["profile", "nope"], "unknown preset 'nope'"),
    (["profile", "mlp", "--set", "widths=[-3]"], "widths[0] must be a positive int"),
    (["profile", "mlp", "--batch", "0"], "argument --batch"),
])
def test_console_script_exit_code_and_one_line(argv, fragment):
    proc = run_subprocess(*argv)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and fragment in proc.stderr, proc.stderr


def test_python_dash_m_catalogue_json():
    proc = run_subprocess("catalogue", "--json", "--filter", "mlp",
                          cli=[sys.executable, "-m", "archscale"])
    assert proc.returncode == 0, proc.stderr
    assert [r["name"] for r in json.loads(proc.stdout)] == ["mlp", "mnist1d_mlp"]


# ---------------------------------------------------------------------------------------------
# profile: saved Keras models (TensorFlow)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """A saved mnist1d_cnn, a model with an untranslatable ConvLSTM1D and a garbage .keras
    file."""
    import keras

    root = tmp_path_factory.mktemp("models")
    archscale.build(archscale.preset("mnist1d_cnn")).save(root / "m.keras")
    inputs = keras.Input((10, 6, 4))
    hidden = keras.layers.Flatten()(keras.layers.ConvLSTM1D(8, 3, name="lstm")(inputs))
    outputs = keras.layers.Dense(3)(hidden)
    keras.Model(inputs, outputs, name="lstm_model").save(root / "lstm.keras")
    (root / "garbage.keras").write_bytes(os.urandom(256))
    return root


@pytest.mark.tf
def test_keras_round_trip(capsys, keras_files):
    data = run_json(capsys, "profile", str(keras_files / "m.keras"))
    preset = archscale.profile(archscale.preset("mnist1d_cnn"))
    assert data["params"] == 5210
    assert (data["macs"], data["flops"]) == (preset.macs, preset.flops)
    assert (data["source_kind"], data["spec"], data["unsupported"]) == ("model", None, [])
    assert [r["name"] for r in data["layers"]][-1] == "predictions"


@pytest.mark.tf
def test_keras_unsupported_layers_are_shown(capsys, keras_files):
    path = str(keras_files / "lstm.keras")
    code, out, _ = run_cli(capsys, "profile", path)
    assert code == 0
    assert "UNSUPPORTED ConvLSTM1D" in out
    assert "UNSUPPORTED layers (1)" in out and "lstm (ConvLSTM1D)" in out
    assert "without unsupported layers" in out
    assert "read with Keras (safe mode)" in out  # the config alone cannot give its weights
    data = run_json(capsys, "profile", path)
    assert data["unsupported"] == ["lstm (ConvLSTM1D)"]
    assert data["params"] == 4 * (3 * 4 * 8 + 3 * 8 * 8 + 8) + 4 * 8 * 3 + 3


@pytest.mark.tf
@pytest.mark.parametrize("argv, fragment", [
    (["garbage.keras"], "not a valid .keras archive"),
    (["m.keras", "--classes", "3"], "apply to presets and spec files"),
    (["m.keras", "--set", "widths=[2]"], "not to a saved model"),
])
def test_keras_bad_input(capsys, keras_files, argv, fragment):
    argv = [str(keras_files / argv[0]), *argv[1:]]
    assert_one_line_error(*run_cli(capsys, "profile", *argv), "profile", fragment)


@pytest.mark.tf
def test_console_script_garbage_keras_is_one_line(keras_files):
    proc = run_subprocess("profile", str(keras_files / "garbage.keras"))
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("archscale profile: error: ") and \
        "not a valid .keras archive" in proc.stderr
