"""The 1-D CNN's Embedding front end for token IDs: exact params (vocab x dim, as Keras counts),
0 MACs for the lookup, validation, and (TensorFlow) the built model and its read-back."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import SpecError
from archscale.reference_archs.cnn1d import CNN1DSpec
from archscale.reference_archs.layout_rules import EMBEDDING_MAX_DIM, embedding_dim_for

SPEC = CNN1DSpec(input_shape=(50,), classes=2, vocab=1000, embedding_dim=16,
                 filters=(8, 16), kernels=(5, 3), strides=(2, 2), pooling="global_max")


def test_profile_counts_the_table_exactly_and_the_lookup_has_no_macs():
    prof = archscale.profile(SPEC)
    rows = {r.name: r for r in prof.layers}
    emb = rows["embedding"]
    assert (emb.op, emb.output_shape, emb.params, emb.macs) == ("embedding", (50, 16),
                                                               1000 * 16, 0)
    # conv1: 5*16*8 + 8, conv2: 3*8*16 + 16, head 16*2 + 2 (no batch norm in this spec)
    assert prof.params == 16_000 + (5 * 16 * 8 + 8) + (3 * 8 * 16 + 16) + (16 * 2 + 2)
    assert prof.macs == 25 * 5 * 16 * 8 + 13 * 3 * 8 * 16 + 16 * 2


def test_spec_round_trips_through_json():
    again = archscale.spec_from_dict(__import__("json").loads(SPEC.to_json()))
    assert again == SPEC and again.spec_hash() == SPEC.spec_hash()


@pytest.mark.parametrize("changes, fragment", [
    ({"input_shape": (50, 1)}, r"\(length,\) of token IDs .* Received: input_shape=\(50, 1\)"),
    ({"vocab": None}, r"\(length, channels\) .* Received: input_shape=\(50,\)"),
    ({"vocab": 0}, r"Received: vocab=0"),
    ({"embedding_dim": 0}, r"Received: embedding_dim=0"),
])
def test_bad_token_specs_are_refused_naming_the_field(changes, fragment):
    with pytest.raises(SpecError, match=fragment):
        SPEC.replace(**changes)


def test_embedding_dim_rule_is_the_fourth_root_rounded_up_to_8_and_capped():
    assert [embedding_dim_for(v) for v in (2, 100, 10_000, 20_000, 1_000_000)] == [8, 8, 16,
                                                                                   16, 32]
    assert embedding_dim_for(10 ** 12) == EMBEDDING_MAX_DIM == 300


@pytest.mark.tf
def test_built_model_counts_what_the_profile_says_and_reads_back():
    spec = SPEC.replace(batch_norm=True, dense_widths=(8,), dropout=0.25)
    prof = archscale.profile(spec)
    model = archscale.build(spec)
    assert model.count_params() == prof.params
    assert model.inputs[0].dtype == "int32"
    back = archscale.profile(model)
    assert back.unsupported == ()
    assert [(r.op, r.output_shape, r.params, r.macs) for r in back.layers] == [
        (r.op, r.output_shape, r.params, r.macs) for r in prof.layers]
    assert (back.params, back.macs, back.flops) == (prof.params, prof.macs, prof.flops)
