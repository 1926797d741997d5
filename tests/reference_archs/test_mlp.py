"""The MLP family's identity shortcuts (``residual``): where they go and what they cost."""

import pytest

import archscale
from archscale.errors import SpecError
from archscale.reference_archs.mlp import build_mlp


def _adds(spec):
    graph = build_mlp(spec)
    return {n.name: list(n.inputs) for n in graph.nodes if n.op == "add"}


def test_mnist1d_mlp_is_the_reference_residual_mlp():
    # Greydanus (2020): h = relu(W1 x); h = h + relu(W2 h); logits = W3 h.
    spec = archscale.preset("mnist1d_mlp")
    assert spec.residual is True and spec.widths == (100, 100)
    assert _adds(spec) == {"fc2_add": ["fc1", "fc2"]}
    plain = spec.replace(residual=False)
    prof, plain_prof = archscale.profile(spec), archscale.profile(plain)
    assert prof.params == plain_prof.params == 15_210  # shortcuts add no parameters
    assert prof.macs == plain_prof.macs
    assert prof.flops == plain_prof.flops + 100  # one add per element of the 100-wide layer


def test_shortcuts_only_where_the_width_is_kept():
    spec = archscale.preset("mlp", input_shape=(64,), widths=(64, 32, 32, 16),
                            dropout=(0.1, 0.0, 0.2, 0.0), residual=True, batch_norm=True)
    adds = _adds(spec)
    assert adds == {"fc1_add": ["input", "fc1_dropout"],
                    "fc3_add": ["fc2_relu", "fc3_dropout"]}


def test_residual_must_be_a_bool():
    with pytest.raises(SpecError, match="residual"):
        archscale.preset("mlp", residual="yes")


@pytest.mark.tf
def test_residual_mlp_builds_with_the_profiled_counts():
    spec = archscale.preset("mlp", input_shape=(8, 8, 1), widths=(64, 64, 64),
                            dropout=(0.0, 0.1, 0.0), residual=True)
    model = archscale.build(spec)
    assert model.count_params() == archscale.profile(spec).params
    # the flattened 8x8x1 input is 64 wide too, so every hidden layer gets a shortcut
    assert sum(type(layer).__name__ == "Add" for layer in model.layers) == 3
    assert archscale.profile(model).macs == archscale.profile(spec).macs
