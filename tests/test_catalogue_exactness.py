"""Every preset: analytic params equal the built Keras model's, ``from_keras`` reads the built
model back to the same profile, and 2 x MACs equal TensorFlow's profiler on the frozen graph.

Models are built at a reduced input size where the preset allows it: parameter counts of the
catalogue families do not depend on the spatial size (global pooling heads), and this keeps the
suite inside its time budget. The reduced spec is profiled too, so both sides see one graph.
"""

from __future__ import annotations

import math

import pytest

import archscale
from archscale.reference_archs import presets

#: Smallest input side each preset is built at in these tests (Inception v3 needs 75).
_SMALL_SIDE = {"inception_v3": 75}
_SMALL_SIDE |= {"inception_resnet_v2": 75, "vit_tiny": 32, "vit_small": 32}  # fam17b


def _small(name: str) -> archscale.ArchSpec:
    spec = archscale.preset(name)
    shape = spec.input_shape
    if len(shape) == 3:
        side = _SMALL_SIDE.get(name, 32)
        return spec.replace(input_shape=(side, side, shape[-1]))
    return spec


def _weight_count(weights) -> int:
    return sum(math.prod(w.shape) for w in weights)


ALL = archscale.list_presets()


def test_catalogue_has_every_required_preset():
    required = {
        "mlp", "mnist1d_cnn", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
        "resnet50v2", "resnet101v2", "resnet152v2", "resnet20", "resnet32", "resnet44",
        "resnet56", "resnet110", "googlenet", "inception_v3", "mobilenet_v2",
        *(f"efficientnet_b{i}" for i in range(8)),
        "regnetx_002", "regnetx_004", "regnetx_008", "regnetx_016",
    }
    assert required <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_preset_spec_round_trips_through_json(name):
    spec = archscale.preset(name)
    again = archscale.spec_from_dict(__import__("json").loads(spec.to_json()))
    assert again == spec and again.spec_hash() == spec.spec_hash()
    assert hash(again) == hash(spec)


@pytest.mark.parametrize("name", ALL)
def test_catalogue_profiles_have_no_unsupported_layers(name):
    prof = archscale.profile(archscale.preset(name))
    assert prof.unsupported == ()
    assert prof.params == sum(r.params for r in prof.layers) > 0
    assert prof.macs > 0 and prof.flops > 2 * prof.macs - 1


#: Issue 17 presets whose build-and-read-back takes 4-20 s each on 2 cores; the other members
#: of their families (and each family's test file) cover the same layers in the default suite.
SLOW_BUILD = {*(f"efficientnet_v2_{v}" for v in ("b0", "b1", "b2", "b3", "s", "m", "l")),
              "convnext_small", "convnext_base", "regnety_004", "regnety_008", "regnety_016"}


@pytest.mark.tf
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_BUILD
                                  else n for n in ALL])
def test_built_model_matches_profile_and_reads_back(name):
    spec = _small(name)
    prof = archscale.profile(spec)
    model = archscale.build(spec)
    assert model.count_params() == prof.params
    assert _weight_count(model.trainable_weights) == prof.trainable_params
    assert _weight_count(model.non_trainable_weights) == prof.non_trainable_params
    back = archscale.profile(model)
    assert back.unsupported == ()
    # Keras orders parallel branches its own way: compare layers by name.
    assert {r.name: (r.op, r.output_shape, r.params, r.macs, r.flops) for r in back.layers} == {
        r.name: (r.op, r.output_shape, r.params, r.macs, r.flops) for r in prof.layers
    }
    assert (back.params, back.trainable_params, back.macs, back.flops, back.depth) == (
        prof.params, prof.trainable_params, prof.macs, prof.flops, prof.depth)


#: Presets whose profiler comparison takes over ~20 s each on 2 cores (the deepest members of
#: families whose blocks the other presets already cover): compared with --run-slow only.
SLOW_PROFILER = {"resnet101", "resnet152", "resnet101v2", "resnet152v2", "efficientnet_b4",
                 "efficientnet_b5", "efficientnet_b6", "efficientnet_b7"}
SLOW_PROFILER |= {"densenet169", "densenet201", "vgg16", "vgg19", "xception",  # fam17b
                  "inception_resnet_v2", "vit_small"}
#: Issue 17 families at native size: 5-100 s each on 2 cores (each family's own test file
#: compares a reduced member with the profiler in the default suite).
SLOW_PROFILER |= {"mobilenet", "mobilenet_v3_small", "mobilenet_v3_large",
                  *(f"efficientnet_v2_{v}" for v in ("b0", "b1", "b2", "b3", "s", "m", "l")),
                  "convnext_tiny", "convnext_small", "convnext_base",
                  *(f"regnety_00{i}" for i in (2, 4, 8)), "regnety_016"}
#: Every preset at its native input size; the slow ones under the ``slow`` marker.
MAC_PRESETS = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_PROFILER else n
               for n in ALL]


@pytest.mark.tf
@pytest.mark.parametrize("name", MAC_PRESETS)
def test_macs_equal_tensorflow_profiler(name):
    """2 x MACs equal the profiler's Conv2D + DepthwiseConv2dNative + MatMul (+ Conv1D as
    Conv2D) FLOPs on the frozen inference graph, for every preset at its native size."""
    from archscale.measure.tf_profiler import MAC_OP_TYPES, profiler_flops_by_op_type

    import keras

    keras.backend.clear_session()
    spec = archscale.preset(name)
    by_type = profiler_flops_by_op_type(archscale.build(spec))
    assert sum(v for k, v in by_type.items() if k in MAC_OP_TYPES) == 2 * archscale.profile(
        spec).macs


@pytest.mark.tf
def test_macs_equal_profiler_for_one_d_resnet():
    from archscale.measure.tf_profiler import profiler_mac_flops

    spec = archscale.preset("resnet20", input_shape=(64, 4))
    assert profiler_mac_flops(archscale.build(spec)) == 2 * archscale.profile(spec).macs


@pytest.mark.tf
def test_profiler_macs_scale_with_batch():
    from archscale.measure.tf_profiler import profiler_mac_flops

    spec = archscale.preset("mnist1d_cnn")
    assert profiler_mac_flops(archscale.build(spec), batch_size=4) == 8 * archscale.profile(
        spec).macs


@pytest.mark.parametrize("name", ALL)
def test_preset_descriptions_and_families(name):
    row = presets().get(name)
    assert row.description and row.spec.family
