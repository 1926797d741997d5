"""Sweep files: parsing, expansion into variants and jobs, job keys, validation errors."""

from __future__ import annotations

import json
import textwrap

import pytest

import archscale
from archscale.errors import ArchscaleError, InputFileError, ShapeError, SpecError
from archscale.runner.jobs import expand, job_key, key_environment
from archscale.runner.scaling import WIDTH_FIELDS, scale_width
from archscale.runner.sweep import load_sweep, sweep_from_dict

EXAMPLE = """
name = "example"
measure = ["cost", "latency"]
batch_sizes = [1, 32]
seeds = [0, 1]
timeout = 120

[settings.latency]
min_samples = 10

[[arch]]
preset = "resnet20"

[[arch]]
preset = "mobilenet_v2"
set = { input_shape = [64, 64, 3], classes = 10 }
grid.alpha = [0.35, 1.0]
measure = ["cost"]

[[arch]]
preset = "mnist1d_*"
measure = ["accuracy", "memory"]
datasets = ["mnist1d", { name = "synthetic", resolution = 8 }]
settings.memory.batch_sizes = [16]

[[arch]]
spec = "net.json"
name = "mine"
width = [0.5, 2.0]
"""


def write(tmp_path, text, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def example(tmp_path):
    (tmp_path / "net.json").write_text(archscale.preset("mnist1d_mlp").to_json())
    return load_sweep(write(tmp_path, EXAMPLE))


def test_example_variants_labels_and_axes(example):
    labels = [v.label for v in example.variants]
    assert labels == ["resnet20",
                      "mobilenet_v2 input_shape=64x64x3 classes=10 alpha=0.35",
                      "mobilenet_v2 input_shape=64x64x3 classes=10 alpha=1.0",
                      "mnist1d_mlp", "mnist1d_cnn", "mine width=0.5", "mine width=2.0"]
    resnet, mbv2 = example.variants[0], example.variants[1]
    assert resnet.measures == ("cost", "latency") and resnet.timeout_s == 120.0
    assert resnet.batch_sizes == {"cost": (1, 32), "latency": (1, 32)}
    assert resnet.settings["latency"]["min_samples"] == 10
    assert resnet.settings["latency"]["xla"] is False
    assert mbv2.spec.alpha == 0.35 and mbv2.spec.input_shape == (64, 64, 3)
    cnn = example.variants[4]
    assert cnn.batch_sizes == {"memory": (16,)} and cnn.seeds == (0, 1)
    assert [d["name"] for d in cnn.datasets] == ["mnist1d", "synthetic"]
    assert example.variants[5].spec.widths == (50, 50)
    assert example.variants[6].spec.widths == (200, 200)


def test_example_jobs(example):
    jobs = expand(example)
    counts = {}
    for job in jobs:
        counts[job.measurement] = counts.get(job.measurement, 0) + 1
    # cost: (resnet20 + 2 mobilenets + 2 widths of mine) x 2 batches; latency: (resnet20 +
    # 2 widths of mine) x 2 batches; accuracy: 2 presets x 2 datasets x 2 seeds; memory: 2
    # presets x batch 16; one machine-peak job because latency is measured
    assert counts == {"cost": 10, "peak": 1, "latency": 6, "accuracy": 8, "memory": 2}
    order = ["cost", "peak", "latency", "memory", "accuracy"]
    assert [j.measurement for j in jobs] == sorted((j.measurement for j in jobs), key=order.index)
    peak = next(j for j in jobs if j.measurement == "peak")
    assert peak.spec == {} and peak.exclusive and peak.describe() == "machine peak"
    assert peak.settings == {"dtype": "float32", "repeats": 5, "size": 0}
    assert len({j.key for j in jobs}) == len(jobs)
    acc = [j for j in jobs if j.measurement == "accuracy"]
    assert {j.seed for j in acc} == {0, 1} and all(j.batch_size is None for j in acc)
    assert len({j.group_key for j in acc}) == 4  # seeds share the group key
    lat = [j for j in jobs if j.measurement == "latency"]
    assert all(j.exclusive and j.seed is None for j in lat)
    assert lat[0].describe() == "resnet20 latency batch=1"
    assert acc[0].describe() == "mnist1d_mlp accuracy mnist1d seed=0"
    payload = json.loads(json.dumps(acc[0].payload()))
    assert payload["dataset"]["name"] == "mnist1d" and payload["seed"] == 0


def test_job_key_is_stable_and_sensitive(example):
    jobs = expand(example)
    again = expand(load_sweep(example.source))
    assert [j.key for j in jobs] == [j.key for j in again]
    env = key_environment()
    base = dict(spec=archscale.preset("resnet20").to_dict(), measurement="latency",
                settings={"batch_size": 1, "xla": False}, dataset=None, seed=None,
                environment=env)
    key = job_key(**base)
    assert len(key) == 64 and key == job_key(**base)
    variations = [
        {"spec": archscale.preset("resnet20", classes=100).to_dict()},
        {"measurement": "memory"},
        {"settings": {"batch_size": 32, "xla": False}},
        {"settings": {"batch_size": 1, "xla": True}},
        {"dataset": {"name": "digits", "options": {}}},
        {"seed": 0},
        {"environment": {**env, "tensorflow": "0.0"}},
    ]
    keys = {job_key(**{**base, **change}) for change in variations}
    assert key not in keys and len(keys) == len(variations)


def test_accuracy_jobs_carry_the_full_recipe():
    from archscale.measure.dataset_recipes import default_recipe

    sweep = sweep_from_dict({"measure": ["accuracy"], "datasets": ["digits", "mnist1d"],
                             "seeds": [0], "settings": {"accuracy": {"recipe": {"epochs": 3}}},
                             "arch": [{"preset": "mlp"}]})
    digits, mnist = expand(sweep)
    assert digits.settings["recipe"] == default_recipe("digits").replace(epochs=3).to_dict()
    assert mnist.settings["recipe"]["learning_rate"] == default_recipe("mnist1d").learning_rate
    assert mnist.settings["recipe"]["epochs"] == 3


def test_key_environment_has_no_volatile_fields():
    env = key_environment()
    assert {"cpu_model", "tensorflow", "keras", "archscale"} <= set(env)
    assert not [k for k in env if "time" in k or "pid" in k]


def test_same_spec_twice_is_one_job():
    sweep = sweep_from_dict({"measure": ["cost"], "arch": [{"preset": "mlp"},
                                                           {"preset": "mlp", "name": "again"}]})
    assert len(sweep.variants) == 2 and len(expand(sweep)) == 1


@pytest.mark.parametrize("top, arch, expected", [
    ({}, {}, {"cost": (1,), "latency": (1,), "memory": (32,)}),
    ({"batch_sizes": [4]}, {}, {"cost": (4,), "latency": (4,), "memory": (4,)}),
    ({"batch_sizes": [4], "settings": {"memory": {"batch_sizes": [8]}}}, {},
     {"cost": (4,), "latency": (4,), "memory": (8,)}),
    ({"settings": {"memory": {"batch_sizes": [8]}}}, {"batch_sizes": [2]},
     {"cost": (2,), "latency": (2,), "memory": (2,)}),
    ({"batch_sizes": [4]}, {"batch_sizes": [2], "settings": {"latency": {"batch_sizes": [1, 64]}}},
     {"cost": (2,), "latency": (1, 64), "memory": (2,)}),
])
def test_batch_size_precedence(top, arch, expected):
    sweep = sweep_from_dict({**top, "arch": [{"preset": "mlp", **arch}]})
    assert dict(sweep.variants[0].batch_sizes) == expected


@pytest.mark.parametrize("data, expected", [
    ({"measure": ["cost"]}, None),
    ({"measure": ["cost"], "peak": True}, 5),
    ({"measure": ["latency"], "peak": False}, None),
    ({"measure": ["latency"], "settings": {"peak": {"repeats": 3}}}, 3),
])
def test_peak_job(data, expected):
    sweep = sweep_from_dict({**data, "arch": [{"preset": "mlp"}]})
    assert (sweep.peak or {}).get("repeats") == expected
    assert sum(j.measurement == "peak" for j in expand(sweep)) == (expected is not None)


def test_top_level_xla_reaches_latency_settings():
    sweep = sweep_from_dict({"xla": True, "measure": ["latency"], "arch": [{"preset": "mlp"}]})
    assert sweep.variants[0].settings["latency"]["xla"] is True


@pytest.mark.parametrize("family", sorted(WIDTH_FIELDS))
def test_width_multiplier_every_family(family):
    name = next(n for n in archscale.list_presets() if archscale.preset(n).family == family)
    spec = archscale.preset(name)
    if len(spec.input_shape) == 3:
        spec = spec.replace(input_shape=(75, 75, 3) if family == "inception" else (64, 64, 3))
    wide, narrow = scale_width(spec, 2.0), scale_width(spec, 0.5)
    assert scale_width(spec, 1.0) == spec
    params = [archscale.profile(s).params for s in (narrow, spec, wide)]
    assert params[0] < params[1] < params[2]


@pytest.mark.parametrize("text, error, fragment", [
    ("[[arch]]\npreset = 'mlp'\nbogus = 1", SpecError, "unknown key 'arch[0].bogus'"),
    ("colour = 1\n[[arch]]\npreset = 'mlp'", SpecError, "unknown key 'colour'"),
    ("name = 'x'", SpecError, "at least one [[arch]]"),
    ("[[arch]]\npreset = 'resnt20'", SpecError, "did you mean resnet20"),
    ("[[arch]]\npreset = 'nomatch*'", SpecError, "matches no preset"),
    ("[[arch]]\nname = 'x'", SpecError, "exactly one of 'preset' or 'spec'"),
    ("measure = ['cost', 'speed']\n[[arch]]\npreset = 'mlp'", SpecError,
     "unknown measurement 'speed'"),
    ("measure = ['crash']\n[[arch]]\npreset = 'mlp'", SpecError, "unknown measurement 'crash'"),
    ("[[arch]]\npreset = 'mlp'\nmeasure = ['peak']", SpecError,
     "peak measures the machine, not an architecture"),
    ("peak = 1\n[[arch]]\npreset = 'mlp'", SpecError, "peak must be true or false"),
    ("batch_sizes = [1, 0]\n[[arch]]\npreset = 'mlp'", SpecError, "batch_sizes[1]=0"),
    ("batch_sizes = ['a']\n[[arch]]\npreset = 'mlp'", SpecError, "batch_sizes"),
    ("batch_sizes = []\n[[arch]]\npreset = 'mlp'", SpecError, "non-empty list"),
    ("seeds = [-1]\n[[arch]]\npreset = 'mlp'", SpecError, "seeds[0]=-1"),
    ("timeout = 0\n[[arch]]\npreset = 'mlp'", SpecError, "timeout must be a number > 0"),
    ("workers = 3\n[[arch]]\npreset = 'mlp'", SpecError, "workers must be at most 2"),
    ("xla = 'yes'\n[[arch]]\npreset = 'mlp'", SpecError, "xla must be true or false"),
    ("[settings.latency]\nmin_samples = 0\n[[arch]]\npreset = 'mlp'", SpecError,
     "settings.latency.min_samples must be a positive int"),
    ("[settings.latency]\nwarmup = 1\n[[arch]]\npreset = 'mlp'", SpecError,
     "unknown setting 'warmup' for measurement 'latency'"),
    ("[settings.speed]\nx = 1\n[[arch]]\npreset = 'mlp'", SpecError, "settings.speed"),
    ("[[arch]]\npreset = 'mlp'\nmeasure = ['accuracy']", SpecError,
     "measurement 'accuracy' needs datasets"),
    ("datasets = ['digits']\n[settings.accuracy]\nrecipe = { epochs = 0 }\n[[arch]]\n"
     "preset = 'mlp'\nmeasure = ['accuracy']", SpecError,
     "settings.accuracy.recipe: epochs must be a positive int"),
    ("datasets = ['digits']\n[[arch]]\npreset = 'mlp'\nmeasure = ['accuracy']\n"
     "settings.accuracy.recipe = { epoch = 3 }", SpecError,
     "arch[0].settings.accuracy.recipe: unknown recipe field 'epoch'"),
    ("datasets = ['cifar10']\n[[arch]]\npreset = 'mlp'", SpecError,
     "unknown dataset 'cifar10'"),
    ("datasets = ['npz:missing.npz']\n[[arch]]\npreset = 'mlp'", InputFileError,
     "dataset file not found"),
    ("[[arch]]\npreset = 'mobilenet_v2'\ngrid.alpha = [1.0, -1.0]", SpecError, "alpha"),
    ("[[arch]]\npreset = 'mlp'\nset = { depth = 3 }", SpecError, "unknown field 'depth'"),
    ("[[arch]]\npreset = 'mlp'\nwidth = [0]", SpecError, "width must be a positive number"),
    ("[[arch]]\npreset = 'inception_v3'\nset = { input_shape = [32, 32, 3] }", ShapeError,
     "arch[0] (inception_v3 input_shape=32x32x3): layer"),
    ("[[arch]]\nspec = 'nope.json'", InputFileError, "nope.json"),
    ("[[arch]\npreset = 'mlp'", InputFileError, "not valid TOML"),
])
def test_validation_errors_name_the_key(tmp_path, text, error, fragment):
    with pytest.raises(error) as info:
        load_sweep(write(tmp_path, text))
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert isinstance(info.value, ArchscaleError)


def test_missing_sweep_file_is_input_error(tmp_path):
    with pytest.raises(InputFileError, match="cannot read sweep file"):
        load_sweep(str(tmp_path / "absent.toml"))


def test_npz_dataset_identity_follows_content(tmp_path):
    data = tmp_path / "d.npz"
    data.write_bytes(b"one")
    text = "datasets = ['npz:d.npz']\nmeasure = ['accuracy']\n[[arch]]\npreset = 'mlp'"
    first = expand(load_sweep(write(tmp_path, text)))
    data.write_bytes(b"two")
    second = expand(load_sweep(write(tmp_path, text)))
    assert first[0].dataset["name"] == "npz:" + str(data)
    assert first[0].dataset_name == "npz:d.npz"
    assert {j.key for j in first}.isdisjoint(j.key for j in second)


def _shipped_sweep_jobs(name):
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "bench" / "sweeps" / f"{name}.toml"
    return expand(load_sweep(str(path)))


def _report_sweeps_jobs():
    """What ``make report`` measures besides memory_large.toml: catalogue.toml + families.toml."""
    return _shipped_sweep_jobs("catalogue") + _shipped_sweep_jobs("families")


@pytest.mark.parametrize("name", ["catalogue", "catalogue_64", "example"])
def test_shipped_sweeps_parse(name):
    jobs = _report_sweeps_jobs() if name == "catalogue" else _shipped_sweep_jobs(name)
    measured = {j.measurement for j in jobs}
    assert {"cost", "latency", "memory", "accuracy"} <= measured
    if name.startswith("catalogue"):
        for measurement in ("cost", "latency"):  # the whole catalogue
            measured = {j.preset for j in jobs if j.measurement == measurement}
            assert measured == set(archscale.list_presets()), measurement
        assert {j.batch_size for j in jobs if j.measurement == "latency"} == {1, 32}
        assert {j.batch_size for j in jobs if j.measurement == "memory"} == {32}
        datasets = {(j.preset, j.dataset_name) for j in jobs if j.measurement == "accuracy"}
        assert {("mnist1d_cnn", "mnist1d_seq"), ("mnist1d_mlp", "mnist1d")} <= datasets
        assert any(d == "digits" for _, d in datasets)


def test_default_sweep_and_memory_large_cover_the_catalogue_memory():
    """catalogue.toml + families.toml measure memory of every preset up to 30 M params;
    memory_large.toml the rest, with the same job keys as the same entries would have in
    catalogue.toml; families.toml's keys are the ones its entries had in catalogue.toml."""
    small = {n for n in archscale.list_presets()
             if archscale.profile(archscale.preset(n)).params <= 30_000_000}
    default = _report_sweeps_jobs()
    large = _shipped_sweep_jobs("memory_large")
    assert len({j.key for j in default}) == len(default)
    assert not any(j.measurement == "peak" for j in _shipped_sweep_jobs("families"))
    assert {j.preset for j in default if j.measurement == "memory"} == small
    assert {j.preset for j in large} == set(archscale.list_presets()) - small
    assert {j.measurement for j in large} == {"memory"}
    assert {j.batch_size for j in large} == {32}
    shapes = {(j.preset, tuple(j.spec["input_shape"])) for j in default
              if j.measurement == "latency"}
    assert all((j.preset, tuple(j.spec["input_shape"])) in shapes for j in large)
    assert default[0].environment == large[0].environment
