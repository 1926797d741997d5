"""Bad input across every CLI verb, table-driven: each case exits 2 with ONE stderr line that
names the offending input, no traceback, nothing on stdout and no file written (the working
directory, where the fixtures live and the default store/project would go, is unchanged).
The Python API equivalents raise the matching archscale exception.

The CLI runs in-process (``archscale.cli.main``) as in ``tests/test_cli.py``. Only ``tune``
cases that get past the dataset check import TensorFlow (once per process)."""

from __future__ import annotations

import json
import math
import os
import zipfile

import numpy as np
import pytest

import archscale
from archscale.cli import main
from archscale.errors import ArchscaleError, InputFileError, SpecError

#: ``(verb, argv after the verb, fragment the one line must contain)``.
CASES = [
    # catalogue
    ("catalogue", ["--filter", "zzz*"], "Received: --filter='zzz*'"),
    ("catalogue", ["--filter", ""], "Received: --filter=''"),
    ("catalogue", ["--format", "nope"], "unknown table format 'nope'"),
    ("catalogue", ["--bogus"], "unrecognized arguments: --bogus"),
    # profile: presets, sizes, shapes, fields, numbers
    ("profile", ["nope"], "unknown preset 'nope'"),
    ("profile", ["mlp", "--input-shape", "32x"], "Received: --input-shape='32x'"),
    ("profile", ["mlp", "--input-shape", "-3"], "Received: --input-shape='-3'"),
    ("profile", ["mlp", "--input-shape", "nanx3"], "Received: --input-shape='nanx3'"),
    ("profile", ["mlp", "--classes", "0"], "argument --classes"),
    ("profile", ["mlp", "--classes", "nan"], "argument --classes"),
    ("profile", ["mlp", "--batch", "inf"], "argument --batch"),
    ("profile", ["mlp", "--set", "widths=[nan]"], "widths must be a list of positive ints"),
    ("profile", ["mlp", "--set", "widths=[inf]"], "widths must be a list of positive ints"),
    ("profile", ["mlp", "--set", "widths=[1e30]"], "widths[0] must be a positive int"),
    ("profile", ["mlp", "--set", "widths=[[1]]"], "widths[0] must be a positive int"),
    ("profile", ["mlp", "--set", 'widths={"a":1}'], "Received: widths={'a': 1}"),
    ("profile", ["mlp", "--set", "widths=" + "[" * 5000], "widths must be a list"),
    ("profile", ["mlp", "--set", "dropout=nan"], "Received: dropout='nan'"),
    ("profile", ["mlp", "--set", "dropout=1.5"], "Received: dropout=1.5"),
    ("profile", ["mlp", "--set", "=3"], "--set expects field=value"),
    ("profile", ["mlp", "--set", "family=resnet"], "unknown field 'family'"),
    ("profile", ["mlp", "--classes", "3", "--set", "classes=4"], "given twice"),
    ("profile", ["mlp", "--dtype", "int8"], "--dtype"),
    ("profile", ["inception_v3", "--input-shape", "32x32x3"], "would produce an empty output"),
    # profile: files
    ("profile", ["bad.json"], "spec file 'bad.json' is not valid JSON"),
    ("profile", ["deep.json"], "spec file 'deep.json' is not valid JSON"),
    ("profile", ["binary.json"], "spec file 'binary.json' is not valid JSON"),
    ("profile", ["list.json"], "a spec must be a JSON object with a 'family' key"),
    ("profile", ["nanwidth.json"], "widths[0] must be a positive int. Received: widths[0]=nan"),
    ("profile", ["huge.json"], "Received: len(widths)=1000000"),
    ("profile", ["adir"], "Received: TARGET='adir'"),
    ("profile", ["broken.json"], "cannot read spec file 'broken.json'"),
    ("profile", ["nul\0.json"], "NUL bytes"),
    ("profile", ["notes.txt"], "Received: TARGET='notes.txt'"),
    ("profile", ["adir/x.keras"], "Received: 'adir/x.keras'"),
    ("profile", ["garbage.keras"], "'garbage.keras' is not a valid .keras archive"),
    ("profile", ["noconfig.keras"], "'noconfig.keras' is not a valid .keras archive"),
    # propose
    ("propose", ["--input", "40"], "--classes and --samples are required"),
    ("propose", ["--input", "40x", "--classes", "10", "--samples", "100"],
     "Received: --input='40x'"),
    ("propose", ["--input", "40", "--classes", "0", "--samples", "100"], "argument --classes"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "-5"],
     "Received: --samples='-5'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "nan"],
     "Received: --samples='nan'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "inf"],
     "Received: --samples='inf'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k", "--max-params", "nan"],
     "Received: --max-params='nan'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k", "--max-params", "1"],
     "max_params=1 binds"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k",
                 "--max-train-memory", "12XB"], "Received: --max-train-memory='12XB'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k",
                 "--max-latency-ms", "nan"], "Received: --max-latency-ms='nan'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k",
                 "--max-latency-ms", "-1"], "Received: --max-latency-ms='-1'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k", "--family", "nope"],
     "unknown family 'nope'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k", "--modality",
                 "tokens"], "needs vocab"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k", "--vocab", "100"],
     "vocab applies only to modality 'tokens'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k", "--train-batch", "8"],
     "--train-batch sets the batch of --max-train-memory, which is missing"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k", "--out", "adir"],
     "cannot write --out 'adir'"),
    ("propose", ["--input", "40", "--classes", "10", "--samples", "1k",
                 "--params-per-sample", "nan"], "Received: --params-per-sample='nan'"),
    # bench: sweep files and options
    ("bench", [], "Received: no TARGET"),
    ("bench", ["bad.toml"], "sweep file 'bad.toml' is not valid TOML"),
    ("bench", ["deep.toml"], "sweep file 'deep.toml' is not valid TOML"),
    ("bench", ["unknown_key.toml"], "unknown key 'foo'"),
    ("bench", ["noarch.toml"], "a sweep needs at least one [[arch]] table"),
    ("bench", ["nanbatch.toml"], "Received: batch_sizes[0]=nan"),
    ("bench", ["inftimeout.toml"], "Received: timeout=inf"),
    ("bench", ["negtimeout.toml"], "Received: timeout=-5"),
    ("bench", ["badpreset.toml"], "arch[0].preset: unknown preset 'nope'"),
    ("bench", ["badds.toml"], "Received: datasets[0]='imagenet'"),
    ("bench", ["missing.toml"], "cannot read sweep file 'missing.toml'"),
    ("bench", ["adir"], "Received: TARGET='adir'"),
    ("bench", ["mlp", "--measure", "speed"], "unknown measurement 'speed'"),
    ("bench", ["mlp", "--measure", "cost", "--batch", "0"], "Received: --batch='0'"),
    ("bench", ["mlp", "--measure", "cost", "--batch", "nan"], "Received: --batch='nan'"),
    ("bench", ["mlp", "--measure", "accuracy", "--dataset", "imagenet"],
     "Received: datasets[0]='imagenet'"),
    ("bench", ["mlp", "--measure", "cost", "--timeout", "nan"], "Received: --timeout=nan"),
    ("bench", ["mlp", "--measure", "cost", "--timeout", "-1"], "Received: --timeout=-1"),
    ("bench", ["mlp", "--measure", "cost", "--workers", "3"], "argument --workers"),
    ("bench", ["mlp", "--measure", "cost", "--seeds", "-1"], "Received: --seeds='-1'"),
    ("bench", ["mlp", "--measure", "cost", "--force", "--skip-failed"],
     "Received: --force --skip-failed"),
    ("bench", ["mlp", "--measure", "cost", "--db", "adir"], "Received: --db='adir'"),
    ("bench", ["mlp", "--measure", "cost", "--db", "bad.json"],
     "cannot open result store 'bad.json'"),
    ("bench", ["mlp", "--measure", "cost", "--address", "auto"],
     "--address needs --executor ray"),
    ("bench", ["mlp", "--measure", "cost", "--executor", "ray", "--cpus-per-job", "nan"],
     "--cpus-per-job must be a positive number"),
    # report
    ("report", ["--db", "missing.db"], "Received: --db='missing.db'"),
    ("report", ["--db", "adir"], "Received: --db='adir'"),
    ("report", ["--db", "bad.json"], "'bad.json' is not an archscale result store"),
    ("report", ["--from-pytest-benchmark", "bad.json"], "'bad.json' is not valid JSON"),
    ("report", ["--from-pytest-benchmark", "deep.json"], "'deep.json' is not valid JSON"),
    ("report", ["--from-pytest-benchmark", "list.json"], "'list.json' holds no pytest-benchmark"),
    ("report", ["--db", "good.db", "--filter", "nofield"], "Received: --filter='nofield'"),
    ("report", ["--db", "good.db", "--out", "bad.json"], "--out must be a directory"),
    ("report", ["--db", "good.db", "--out", "adir/../notes.txt/r"], "is not a directory"),
    # tune: datasets with wrong shapes / labels, options, contradictions
    ("tune", ["--dataset", "imagenet"], "Received: dataset='imagenet'"),
    ("tune", ["--dataset", "npz:shape.npz"], "Received: len(x_train)=50, len(y_train)=40"),
    ("tune", ["--dataset", "npz:labels.npz"], "y_train has labels outside"),
    ("tune", ["--dataset", "npz:floatlab.npz"], "y_train must hold integer class ids"),
    ("tune", ["--dataset", "npz:nokeys.npz"], "lacks array 'x_train'"),
    ("tune", ["--dataset", "npz:nanx.npz"], "x_train contains NaN or infinite values"),
    ("tune", ["--dataset", "npz:notnpz.npz"], "is not an .npz archive"),
    ("tune", ["--dataset", "npz:adir"], "Received: --dataset='npz:adir'"),
    ("tune", ["--tuner", "genetic"], "Received: tuner='genetic'"),
    ("tune", ["--trials", "0"], "Received: --trials=0"),
    ("tune", ["--epochs", "-1"], "Received: --epochs=-1"),
    ("tune", ["--seed", "-1"], "Received: --seed=-1"),
    ("tune", ["--input", "32x32x3"], "Received: --input=32x32x3"),
    ("tune", ["--classes", "3"], "Received: --classes=3"),
    ("tune", ["--samples", "10"], "Received: --samples=10"),
    ("tune", ["--max-params", "nan"], "Received: --max-params='nan'"),
    ("tune", ["--batch", "4"], "--batch sets the batch of --max-train-memory"),
    ("tune", ["--proposal", "bad.json"], "the proposal file 'bad.json' is not JSON"),
    ("tune", ["--proposal", "deep.json"], "the proposal file 'deep.json' nests too deeply"),
    ("tune", ["--proposal", "list.json"], "--proposal 'list.json' is not an archscale proposal"),
    ("tune", ["--proposal", "adir"], "cannot read the proposal file 'adir'"),
    ("tune", ["--dir", "bad.json"], "Received: --dir='bad.json'"),
    ("tune", ["--db", "adir"], "Received: --db='adir'"),
    ("tune", ["--executor", "ray", "--gpus-per-job", "-1"], "--gpus-per-job must be"),
    ("tune", ["--max-params", "10"], "max_params=10 binds"),
    # inspect
    ("inspect", ["nope"], "unknown preset 'nope'"),
    ("inspect", ["mlp", "--dataset", "imagenet"], "Received: dataset='imagenet'"),
    ("inspect", ["mlp", "--samples", "0"], "argument --samples"),
    ("inspect", ["mlp", "--train-epochs", "0"], "argument --train-epochs"),
    ("inspect", ["mlp", "--seed", "-1"], "Received: --seed=-1"),
    ("inspect", ["bad.json"], "spec file 'bad.json' is not valid JSON"),
    ("inspect", ["mlp", "--set", "widths=[nan]"], "Received: widths='[nan]'"),
    ("inspect", ["mlp", "--out", "bad.json"], "--out must be a directory"),
    ("inspect", ["mlp", "--apply", "adir"], "Received: --apply='adir'"),
    ("inspect", ["adir"], "Received: TARGET='adir'"),
]

VERBS = ("catalogue", "profile", "propose", "bench", "report", "tune", "inspect")


def _arrays(rng, n=50, x_shape=(40,)):
    return rng.normal(size=(n, *x_shape)).astype("float32")


def make_fixtures(root) -> None:
    """The bad files every case refers to (relative to ``root``)."""
    rng = np.random.default_rng(0)
    (root / "adir").mkdir()
    (root / "notes.txt").write_text("hello")
    (root / "bad.json").write_text('{"family": "mlp",')
    (root / "deep.json").write_text("[" * 100000 + "]" * 100000)
    (root / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (root / "list.json").write_text("[1, 2]")
    (root / "nanwidth.json").write_text(
        '{"family": "mlp", "input_shape": [40], "classes": 10, "widths": [NaN]}')
    (root / "huge.json").write_text(
        '{"family": "mlp", "input_shape": [40], "classes": 10, "widths": ['
        + ",".join(["8"] * 1_000_000) + "]}")
    os.symlink("nowhere.json", root / "broken.json")
    (root / "garbage.keras").write_bytes(os.urandom(256))
    with zipfile.ZipFile(root / "noconfig.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    sweeps = {
        "bad.toml": "[[arch]\npreset = 'mlp'\n",
        "deep.toml": "a = " + "[" * 50000 + "]" * 50000 + "\n[[arch]]\npreset = 'mlp'\n",
        "unknown_key.toml": "foo = 1\n[[arch]]\npreset = 'mlp'\n",
        "noarch.toml": "name = 'x'\n",
        "nanbatch.toml": "batch_sizes = [nan]\n[[arch]]\npreset = 'mlp'\n",
        "inftimeout.toml": "timeout = inf\n[[arch]]\npreset = 'mlp'\n",
        "negtimeout.toml": "timeout = -5\n[[arch]]\npreset = 'mlp'\n",
        "badpreset.toml": "[[arch]]\npreset = 'nope'\n",
        "badds.toml": "measure = ['accuracy']\ndatasets = ['imagenet']\n[[arch]]\n"
                      "preset = 'mlp'\n"}
    for name, text in sweeps.items():
        (root / name).write_text(text)
    labels = rng.integers(0, 10, 50)
    test = {"x_test": _arrays(rng, 10), "y_test": rng.integers(0, 10, 10)}
    np.savez(root / "shape.npz", x_train=_arrays(rng), y_train=labels[:40], **test)
    np.savez(root / "labels.npz", x_train=_arrays(rng), y_train=labels - 3, **test)
    np.savez(root / "floatlab.npz", x_train=_arrays(rng), y_train=labels + 0.5, **test)
    np.savez(root / "nokeys.npz", a=np.zeros(3))
    np.savez(root / "nanx.npz", x_train=np.full((50, 40), np.nan, "float32"), y_train=labels,
             **test)
    (root / "notnpz.npz").write_text("hello")
    db = str(root / "good.db")  # a store with one real row
    assert main(["bench", "mlp", "--measure", "cost", "--db", db, "--executor", "spawn"]) == 0


def snapshot(root) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of everything under ``root``."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            out[os.path.relpath(path, root)] = (info.st_size, info.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_inputs")
    make_fixtures(root)
    return root


def test_the_table_covers_every_verb_with_at_least_60_cases():
    assert len(CASES) >= 60
    assert {verb for verb, _, _ in CASES} == set(VERBS)
    assert len({(verb, tuple(argv)) for verb, argv, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("verb, argv, fragment", CASES,
                         ids=[f"{v}-{'_'.join(a)[:40]}" for v, a, _ in CASES])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(workdir, monkeypatch, capsys,
                                                             verb, argv, fragment):
    monkeypatch.chdir(workdir)
    before = snapshot(workdir)
    code = main([verb, *argv])
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2, err
    assert out == "" and len(lines) == 1, err
    assert lines[0].startswith(f"archscale {verb}: error: ") and "Traceback" not in err
    assert fragment in lines[0], lines[0]
    assert snapshot(workdir) == before


#: ``(call, exception)``: the Python API on the same kinds of bad input.
API_CASES = [
    (lambda: archscale.preset("nope"), SpecError),
    (lambda: archscale.preset("mlp", widths=[math.nan]), SpecError),
    (lambda: archscale.preset("mlp", widths=[-3]), SpecError),
    (lambda: archscale.preset("mlp", nonsense=1), SpecError),
    (lambda: archscale.profile("deep.json"), InputFileError),
    (lambda: archscale.profile("bad.json"), InputFileError),
    (lambda: archscale.profile("nul\0.json"), InputFileError),
    (lambda: archscale.profile("garbage.keras"), InputFileError),
    (lambda: archscale.load_spec("binary.json"), InputFileError),
    (lambda: archscale.spec_from_dict({"family": "mlp", "widths": "x"}), SpecError),
    (lambda: archscale.Task(input_shape=(40,), classes=0, samples=100), SpecError),
    (lambda: archscale.Budget(max_params=math.inf), SpecError),
    (lambda: archscale.Budget(max_params=-1), SpecError),
    (lambda: archscale.bench({"arch": [{"preset": "nope"}]}, db="x.db"), SpecError),
    (lambda: archscale.bench({"timeout": math.nan, "arch": [{"preset": "mlp"}]}, db="x.db"),
     SpecError),
    (lambda: archscale.bench("deep.toml", db="x.db"), InputFileError),
    (lambda: archscale.report(db="missing.db"), ArchscaleError),
    (lambda: archscale.report(db="x", from_pytest_benchmark="deep.json"), ArchscaleError),
    (lambda: archscale.inspect("nope"), SpecError),
    (lambda: archscale.tune(archscale.Task(input_shape=(40,), classes=10, samples=4000),
                            dataset="npz:labels.npz"), InputFileError),
    (lambda: archscale.tune(archscale.Task(input_shape=(40,), classes=10, samples=4000),
                            tuner="genetic"), SpecError),
    (lambda: archscale.tune(archscale.Task(input_shape=(40,), classes=10, samples=4000),
                            executor="dask"), SpecError),
]


@pytest.mark.parametrize("index", range(len(API_CASES)))
def test_the_python_api_raises_the_archscale_exception(workdir, monkeypatch, index):
    call, exception = API_CASES[index]
    monkeypatch.chdir(workdir)
    before = snapshot(workdir)
    with pytest.raises(exception) as info:
        call()
    assert "\n" not in str(info.value).strip()
    assert snapshot(workdir) == before


def bad_input_count() -> int:
    """Bad inputs this module tries (CLI cases + API cases; read by tools/reliability.py)."""
    return len(CASES) + len(API_CASES)


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps({"cli": len(CASES), "api": len(API_CASES)}))
