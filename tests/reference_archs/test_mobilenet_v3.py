"""MobileNetV3: exact agreement with keras.applications.MobileNetV3Small/Large over size, alpha,
minimalistic, input shape and classes; the tables; validation; the plan's fill move."""

from __future__ import annotations

import pytest

import archscale
from archscale import Budget, Task
from archscale.errors import SpecError
from archscale.reference_archs.mobilenet_v3 import LARGE, SMALL

from .keras_parity import assert_matches_keras, assert_profiler_parity, keras_model

PUBLISHED = {"mobilenet_v3_small": (2_554_968, 2_542_856), "mobilenet_v3_large": (5_507_432,
                                                                                  5_483_032)}


@pytest.mark.parametrize("name, macs", [("mobilenet_v3_small", 56e6),
                                        ("mobilenet_v3_large", 219e6)])
def test_presets_are_keras_counts_and_paper_macs(name, macs):
    prof = archscale.profile(archscale.preset(name))
    assert (prof.params, prof.trainable_params) == PUBLISHED[name]
    assert prof.macs == pytest.approx(macs, rel=0.02)


def test_tables_are_the_paper_tables():
    assert (len(SMALL), len(LARGE)) == (11, 15)
    assert [b.stride for b in SMALL].count(2) == 4 and [b.stride for b in LARGE].count(2) == 4
    assert sum(b.se for b in SMALL) == 9 and sum(b.se for b in LARGE) == 8


def test_minimalistic_drops_se_and_hard_swish():
    graph = archscale.build_graph(archscale.preset("mobilenet_v3_large", minimalistic=True))
    fns = {n.attrs["fn"] for n in graph.nodes if n.op == "activation"}
    assert "hard_swish" not in fns and "hard_sigmoid" not in fns
    assert not any(n.op == "multiply" for n in graph.nodes)
    assert {n.attrs["kernel"] for n in graph.nodes if n.op == "depthwise_conv"} == {(3, 3)}


@pytest.mark.parametrize("field, value", [
    ("size", "medium"), ("alpha", 0), ("minimalistic", "yes"), ("dropout_rate", 1.0),
    ("include_preprocessing", "yes"), ("input_shape", (224, 3))])
def test_invalid_fields_raise_spec_error_naming_the_field(field, value):
    with pytest.raises(SpecError, match=f"Received: {field}="):
        archscale.preset("mobilenet_v3_small", **{field: value})


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 9, 1)])
def test_tiny_inputs_build(shape):
    assert archscale.profile(archscale.preset("mobilenet_v3_small", input_shape=shape)).params


def test_plan_fills_300m_between_width_jumps():
    task = Task(input_shape=(224, 224, 3), classes=1000, samples=1_281_167)
    p = archscale.propose(task, Budget(max_macs=300_000_000))
    assert p.family == "mobilenet_v3" and p.utilisation["max_macs"]["fraction"] >= 0.9
    assert "alpha + 0.025, resolution - 8 px" in p.scaling["moves"]


@pytest.mark.tf
@pytest.mark.parametrize("size, alpha, minimalistic, shape, classes", [
    ("small", 0.75, True, (65, 47, 1), 7),
    ("large", 0.75, False, (64, 64, 3), 3),
    pytest.param("small", 1.0, False, (224, 224, 3), 1000, marks=pytest.mark.slow),
    pytest.param("large", 1.0, False, (96, 96, 3), 10, marks=pytest.mark.slow),
    pytest.param("large", 1.3, True, (33, 33, 3), 2, marks=pytest.mark.slow),
])
def test_matches_keras_application(size, alpha, minimalistic, shape, classes):
    import keras

    ctor = {"small": keras.applications.MobileNetV3Small,
            "large": keras.applications.MobileNetV3Large}[size]
    spec = archscale.preset(f"mobilenet_v3_{size}", alpha=alpha, minimalistic=minimalistic,
                            input_shape=shape, classes=classes)
    assert_matches_keras(spec, keras_model(ctor, alpha=alpha, minimalistic=minimalistic,
                                           input_shape=shape, classes=classes))


@pytest.mark.tf
@pytest.mark.slow
def test_macs_equal_profiler_at_a_reduced_size():
    # every block kind: 3x3 and 5x5, ReLU and hard swish, with and without SE
    assert_profiler_parity(archscale.preset("mobilenet_v3_large", alpha=0.75,
                                            input_shape=(64, 64, 3)))
