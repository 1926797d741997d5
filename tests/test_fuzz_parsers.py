"""Hypothesis fuzz of the three parsers of untrusted input: spec files (JSON), sweep files
(TOML) and ``--set`` overrides. Random structures and strings, and valid documents with one
field replaced by a random value, must either parse or raise archscale's own errors
(``ArchscaleError``: a one-line message), never a bare ``TypeError``/``KeyError``/crash.

Derandomized (the same examples on every run, as CI needs) and modest (``max_examples``) so the
module runs in seconds; no TensorFlow."""

from __future__ import annotations

import json
import os
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archscale
from archscale.cli_verbs.common import apply_overrides, parse_set
from archscale.errors import ArchscaleError
from archscale.profiling import load_spec
from archscale.runner.jobs import expand
from archscale.runner.sweep import load_sweep, sweep_from_dict

#: Examples per test (``ARCHSCALE_FUZZ_EXAMPLES`` raises it for a longer hunt; CI keeps 120).
EXAMPLES = int(os.environ.get("ARCHSCALE_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

#: Small JSON values: what a spec field, a sweep key or a --set value can be set to.
SCALARS = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
#: Small positive ints, so a value that parses stays cheap to profile.
SMALL = st.integers(1, 64)
PRESETS = ("mlp", "mnist1d_cnn", "resnet20", "mobilenet_v2", "efficientnet_b0", "regnetx_002",
           "googlenet")


def _only_archscale_errors(call):
    """Run ``call``; an ``ArchscaleError`` (one line) is fine, anything else fails the test."""
    try:
        return call()
    except ArchscaleError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip(), str(exc)
        return None


def _profile_if_valid(spec):
    if spec is not None:
        _only_archscale_errors(lambda: archscale.profile(spec))


# -- spec files --------------------------------------------------------------------------------


@FUZZ
@given(data=JSON)
def test_random_json_documents_as_spec_files(tmp_path, data):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(data))
    _profile_if_valid(_only_archscale_errors(lambda: load_spec(str(path))))


@FUZZ
@given(name=st.sampled_from(PRESETS), field=st.data(), value=JSON | SMALL | st.lists(SMALL))
def test_a_preset_with_one_field_replaced(tmp_path, name, field, value):
    data = archscale.preset(name).to_dict()
    key = field.draw(st.sampled_from(sorted(data)))
    data[key] = value
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(data))
    _profile_if_valid(_only_archscale_errors(lambda: load_spec(str(path))))


@FUZZ
@given(text=st.text(max_size=80) | st.binary(max_size=80))
def test_random_bytes_and_strings_as_spec_files(tmp_path, text):
    path = tmp_path / "spec.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    _only_archscale_errors(lambda: load_spec(str(path)))


# -- --set overrides ---------------------------------------------------------------------------


FIELD_NAMES = st.sampled_from(["widths", "dropout", "classes", "input_shape", "depth",
                               "alpha", "width", "stem_width", "activation", "residual",
                               "family", "x"]) | st.text(max_size=6)


@FUZZ
@given(name=st.sampled_from(PRESETS),
       items=st.lists(st.tuples(FIELD_NAMES, JSON.map(json.dumps) | st.text(max_size=10)),
                      min_size=1, max_size=3),
       raw=st.lists(st.text(max_size=12), max_size=2))
def test_random_set_options(name, items, raw):
    options = [f"{k}={v}" for k, v in items] + raw

    def apply():
        return apply_overrides(archscale.preset(name), parse_set(options))

    _profile_if_valid(_only_archscale_errors(apply))


# -- sweep files -------------------------------------------------------------------------------


SWEEP_KEYS = st.sampled_from(["name", "measure", "batch_sizes", "datasets", "seeds", "timeout",
                              "xla", "workers", "executor", "peak", "settings", "arch"])
ARCH_KEYS = st.sampled_from(["preset", "name", "set", "grid", "width", "measure",
                             "batch_sizes", "datasets", "seeds", "timeout", "settings", "spec"])
VALID_SWEEP = {"name": "fuzz", "measure": ["cost"], "batch_sizes": [1],
               "arch": [{"preset": "mlp", "set": {"classes": 3}}]}


def _small(value):
    """Keep grids and lists from expanding into thousands of variants."""
    return value if not isinstance(value, list) else value[:3]


@FUZZ
@given(data=st.dictionaries(SWEEP_KEYS, JSON, max_size=4))
def test_random_sweep_documents(data):
    _only_archscale_errors(lambda: expand(sweep_from_dict(data)))


@FUZZ
@given(top=st.data(), value=JSON, arch_key=ARCH_KEYS, arch_value=JSON)
def test_a_valid_sweep_with_keys_replaced(top, value, arch_key, arch_value):
    data = json.loads(json.dumps(VALID_SWEEP))
    data[top.draw(SWEEP_KEYS)] = _small(value)
    if isinstance(data.get("arch"), list) and data["arch"] and isinstance(data["arch"][0], dict):
        data["arch"][0][arch_key] = _small(arch_value)
    _only_archscale_errors(lambda: expand(sweep_from_dict(data)))


@FUZZ
@given(text=st.text(max_size=120))
def test_random_text_as_sweep_files(tmp_path, text):
    path = tmp_path / "sweep.toml"
    path.write_text("[[arch]]\npreset = 'mlp'\n" + text, encoding="utf-8", errors="replace")
    _only_archscale_errors(lambda: expand(load_sweep(str(path))))


def test_the_fuzz_is_seeded_for_ci():
    assert FUZZ.derandomize and (FUZZ.max_examples <= 200 or "ARCHSCALE_FUZZ_EXAMPLES" in
                                 os.environ)
    with pytest.raises(tomllib.TOMLDecodeError):  # the TOML layer itself is not what we test
        tomllib.loads("[[arch]")
