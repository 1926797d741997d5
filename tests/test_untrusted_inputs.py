"""Untrusted inputs are data, never code.

- No module parses input with ``eval``/``exec``/``pickle``/``marshal``/``shelve``/``yaml.load``,
  ``np.load`` always has ``allow_pickle=False`` and Keras always loads with ``safe_mode=True``
  (an AST scan of the whole package).
- Spec and sweep files whose strings are Python code are read as data: the code never runs.
- An ``.npz`` dataset holding a pickled object array is refused without unpickling it.
- A ``.keras`` (and legacy ``.h5``) model with a Lambda layer whose code would write a marker
  file: ``profile`` reads its config (the Lambda listed as unsupported), ``inspect`` refuses to
  load it, the Python API raises ``InputFileError``; the marker is never written.
- A ``--filter`` value with markup reaches the HTML report escaped (the other free-text fields
  are covered by ``tests/reporting/test_escaping.py``).
"""

from __future__ import annotations

import ast
import json
import os
import pathlib

import numpy as np
import pytest

import archscale
from archscale.cli import main
from archscale.errors import ArchscaleError, InputFileError

SRC = pathlib.Path(archscale.__file__).parent
#: Calls and imports that would run code from input.
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve", "yaml", "cloudpickle"}

#: Fault kinds / untrusted inputs this module tries (read by tools/reliability.py).
UNTRUSTED = ("code in spec strings", "code in sweep strings", "pickled npz",
             "Lambda .keras", "Lambda .h5", "markup in --filter")


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_no_module_can_execute_input():
    problems = []
    for path, tree in _modules():
        rel = path.relative_to(SRC)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if isinstance(func, ast.Name) and name in FORBIDDEN_CALLS:
                    problems.append(f"{rel}:{node.lineno} {name}()")
                keywords = {k.arg: k.value for k in node.keywords}
                if name == "load" and isinstance(func, ast.Attribute) and \
                        getattr(func.value, "id", None) == "np":
                    flag = keywords.get("allow_pickle")
                    if not (isinstance(flag, ast.Constant) and flag.value is False):
                        problems.append(f"{rel}:{node.lineno} np.load without "
                                        "allow_pickle=False")
                if name == "load_model" and "keras" in ast.unparse(func):  # Keras' own
                    flag = keywords.get("safe_mode")
                    if not (isinstance(flag, ast.Constant) and flag.value is True):
                        problems.append(f"{rel}:{node.lineno} load_model without "
                                        "safe_mode=True")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""]
                problems += [f"{rel}:{node.lineno} import {n}" for n in names
                             if n.split(".")[0] in FORBIDDEN_MODULES]
    assert problems == []


CODE = "__import__('pathlib').Path({marker!r}).touch()"


def test_code_in_spec_and_sweep_strings_is_data(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    marker = str(tmp_path / "pwned")
    code = CODE.format(marker=marker)
    spec = archscale.preset("mlp").to_dict()
    spec["activation"] = code
    (tmp_path / "s.json").write_text(json.dumps(spec))
    assert main(["profile", "s.json"]) == 2
    assert "activation" in capsys.readouterr().err
    good = archscale.preset("mlp").to_dict()
    (tmp_path / "g.json").write_text(json.dumps(good))
    assert main(["profile", "g.json", "--set", f"widths={code}"]) == 2
    (tmp_path / "w.toml").write_text(
        f"name = {json.dumps(code)}\nmeasure = [{json.dumps(code)}]\n"
        f"[[arch]]\npreset = {json.dumps(code)}\n")
    assert main(["bench", "w.toml", "--list"]) in (0, 2)
    assert main(["bench", "w.toml"]) == 2
    capsys.readouterr()
    assert not os.path.exists(marker)


class _Evil:
    """Unpickling an instance would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_a_pickled_npz_dataset_is_refused_unread(tmp_path):
    marker = tmp_path / "pwned"
    objects = np.empty(2, dtype=object)
    objects[:] = [_Evil(str(marker)), _Evil(str(marker))]
    path = tmp_path / "evil.npz"
    np.savez(path, x_train=objects, y_train=np.zeros(2, int), x_test=objects,
             y_test=np.zeros(2, int))
    from archscale.measure.datasets import load_dataset

    with pytest.raises(ArchscaleError, match="pickled|object"):
        load_dataset(f"npz:{path}")
    assert not marker.exists()


@pytest.fixture(scope="module")
def lambda_models(tmp_path_factory):
    import keras

    root = tmp_path_factory.mktemp("lambda")
    marker = root / "pwned"

    def touch(x):
        pathlib.Path(marker).touch()  # runs once here while the model is built
        return x * 2

    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2)(keras.layers.Lambda(touch, name="double")(inputs))
    model = keras.Model(inputs, outputs)
    model.save(root / "lambda.keras")
    model.save(root / "lambda.h5")
    marker.unlink()
    return root, marker


@pytest.mark.tf
def test_a_lambda_keras_file_is_read_as_data_and_never_executed(lambda_models, capsys):
    root, marker = lambda_models
    path = str(root / "lambda.keras")
    assert main(["profile", path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unsupported"] == ["double (Lambda)"]
    assert main(["inspect", path]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (f"archscale inspect: error: cannot load model file {path!r}: it holds a "
                    "Lambda layer (Python code), and archscale does not execute code from "
                    "model files")
    with pytest.raises(InputFileError, match="Lambda layer"):
        archscale.inspect(path)
    assert not marker.exists()


@pytest.mark.tf
def test_a_lambda_h5_file_is_never_executed(lambda_models, capsys):
    root, marker = lambda_models
    path = str(root / "lambda.h5")
    code = main(["inspect", path])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and path in err[0], err
    assert not marker.exists()


def test_markup_in_a_filter_value_is_escaped_in_the_html(tmp_path, capsys):
    db, out = str(tmp_path / "s.db"), str(tmp_path / "rep")
    assert main(["bench", "mlp", "--measure", "cost", "--db", db, "--executor", "spawn"]) == 0
    evil = "<img src=x onerror=alert(1)>"  # a second alternative of the filter: matches nothing
    assert main(["report", "--db", db, "--out", out, "--filter", f"name=mlp,{evil}"]) == 0
    capsys.readouterr()
    page = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert evil not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
