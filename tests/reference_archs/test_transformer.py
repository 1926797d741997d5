"""Transformer encoder (numeric or token sequences): exact against the emitted Keras model and
TensorFlow's profiler (with the attention's Einsum contractions)."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import SpecError
from tests.reference_archs.keras_parity import assert_same_as_keras, profiler_mac_flops


def _params_by_formula(width, depth, mlp, front, length, classes, post=False) -> int:
    block = 4 * (width * width + width) + (width * mlp + mlp) + (mlp * width + width) \
        + 2 * 2 * width
    norms = 2 * width  # the final LayerNorm (pre) or the embedding LayerNorm (post)
    return front + length * width + depth * block + norms + width * classes + classes


@pytest.mark.parametrize("overrides", [{}, {"depth": 4, "width": 256, "heads": 8},
                                       {"mlp_ratio": 2, "classes": 3, "norm": "post"}])
def test_numeric_params_closed_form(overrides):
    spec = archscale.preset("transformer_tiny", **overrides)
    length, channels = spec.input_shape
    front = channels * spec.width + spec.width
    assert archscale.profile(spec).params == _params_by_formula(
        spec.width, spec.depth, spec.mlp_ratio * spec.width, front, length, spec.classes)


def test_bert_tiny_is_within_one_percent_of_the_published_count():
    spec = archscale.preset("bert_tiny")
    prof = archscale.profile(spec)
    assert prof.params == _params_by_formula(128, 2, 512, 30_522 * 128, 512, 2)
    assert abs(prof.params - 4.4e6) / 4.4e6 < 0.01
    # + token-type embedding (2 x 128) + pooler (128 x 128 + 128) - 2-class head = BERT-Tiny
    assert prof.params + 256 + 16_512 - (128 * 2 + 2) == 4_385_920


def test_attention_cost_is_quadratic_in_length():
    def macs(length):
        return archscale.profile(archscale.preset("transformer_tiny",
                                                  input_shape=(length, 16))).macs

    def quadratic(length):  # 2 blocks x 2 heads x L^2 x (key_dim + value_dim)
        return 2 * 2 * length * length * (64 + 64)

    head = 128 * 10  # the classifier after pooling: independent of the length
    # the rest (front end, projections, MLP) is linear in the length
    assert macs(128) - quadratic(128) - head == 2 * (macs(64) - quadratic(64) - head)


@pytest.mark.parametrize("field, value", [
    ("width", 129), ("heads", 0), ("depth", 0), ("mlp_ratio", 0), ("norm", "sandwich"),
    ("pooling", "max"), ("epsilon", 0), ("dropout", 1.0), ("vocab", 0),
    ("input_shape", (64,)), ("input_shape", (8, 8, 3)),
])
def test_invalid_fields_name_the_field(field, value):
    with pytest.raises(SpecError, match=field):
        archscale.preset("transformer_tiny", **{field: value})


def test_token_input_needs_a_one_d_shape():
    with pytest.raises(SpecError, match="vocab"):
        archscale.preset("bert_tiny", input_shape=(64, 2))


def test_family_accepts_the_tokens_modality():
    task = archscale.Task(input_shape=(200,), classes=4, samples=20_000, modality="tokens",
                          vocab=5000, family="transformer")
    proposal = archscale.propose(task)
    assert proposal.spec.family == "transformer" and proposal.spec.vocab == 5000


@pytest.mark.tf
@pytest.mark.parametrize("name, overrides", [
    ("transformer_tiny", {"depth": 1, "dropout": 0.1}),
    ("bert_tiny", {"input_shape": (64,), "vocab": 1000, "classes": 3}),
])
def test_matches_emitted_keras_model_and_profiler(name, overrides):
    spec = archscale.preset(name, **overrides)
    model = archscale.build(spec)
    assert_same_as_keras(spec, model)
    assert profiler_mac_flops(model) == 2 * archscale.profile(spec).macs
