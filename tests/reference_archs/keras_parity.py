"""Shared checks of a catalogue spec against a Keras model (``keras.applications`` or the
emitted one): exact parameter split, the same profile read back (matched by content, or by
layer name for the ``keras.applications`` mirrors), layer output shapes, and 2 x MACs equal to
TensorFlow's profiler. Imported by the family test files; Keras is imported by the caller."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Any, Callable

import archscale


def weight_count(weights) -> int:
    """Number of scalars in a list of Keras weights."""
    return sum(math.prod(w.shape) for w in weights)


def _rows(prof) -> Counter:
    """The profile's layers as a multiset of (op, shape, params, macs, flops): Keras names
    unnamed layers per session, so rows are matched by content, not by name."""
    return Counter((r.op, tuple(r.output_shape), r.params, r.macs, r.flops)
                   for r in prof.layers)


def assert_same_as_keras(spec, model) -> None:
    """``spec``'s profile equals the Keras model's counts and the profile read from it."""
    prof = archscale.profile(spec)
    assert model.count_params() == prof.params
    assert weight_count(model.trainable_weights) == prof.trainable_params
    assert weight_count(model.non_trainable_weights) == prof.non_trainable_params
    back = archscale.profile(model)
    assert back.unsupported == ()
    assert (back.params, back.trainable_params, back.macs, back.flops, back.depth) == (
        prof.params, prof.trainable_params, prof.macs, prof.flops, prof.depth)
    assert _rows(back) == _rows(prof)


def profiler_mac_flops(model) -> int:
    """TensorFlow profiler FLOPs of the MAC op types on the frozen inference graph."""
    from archscale.measure.tf_profiler import profiler_mac_flops as flops

    return flops(model)


def keras_model(ctor: Callable[..., Any], **kwargs: Any):
    """``ctor(weights=None, **kwargs)`` with Keras' input-size warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ctor(weights=None, **kwargs)


def _rows_by_name(prof) -> dict[str, tuple]:
    # Keras nests ConvNeXt's stem and downsampling layers in Sequential models: from_keras
    # names them ``outer.inner``; the graph is flat.
    return {r.name.split(".")[-1]: (r.op, r.output_shape, r.params, r.macs, r.flops)
            for r in prof.layers}


def assert_matches_keras(spec, model) -> None:
    """The spec's profile equals the Keras model's counts and ``from_keras`` of the model.

    Totals (params, trainable, MACs, FLOPs, weighted depth) are equal, and so is every layer
    present under the same name on both sides. Keras writes a few steps as operations on
    tensors (MobileNetV3's hard sigmoid ``relu6(x + 3) / 6``, ConvNeXt's residual ``+``), which
    ``from_keras`` reads as several auto-named nodes where the graph has one layer; those are
    covered by the totals.
    """
    prof = archscale.profile(spec)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    assert (prof.params, prof.trainable_params, prof.non_trainable_params) == (
        model.count_params(), trainable, non_trainable)
    back = archscale.profile(model)
    assert back.unsupported == ()
    assert (back.params, back.trainable_params, back.macs, back.flops, back.depth) == (
        prof.params, prof.trainable_params, prof.macs, prof.flops, prof.depth)
    ours, theirs = _rows_by_name(prof), _rows_by_name(back)
    common = set(ours) & set(theirs)
    weighted = {n for n, row in ours.items() if row[2]}
    assert weighted <= common, sorted(weighted - common)[:5]
    assert {n: ours[n] for n in common} == {n: theirs[n] for n in common}


def assert_profiler_parity(spec) -> None:
    """2 x MACs of the spec equal TensorFlow's profiler on the frozen graph of its model."""
    import keras

    from archscale.measure.tf_profiler import MAC_OP_TYPES, profiler_flops_by_op_type

    keras.backend.clear_session()
    by_type = profiler_flops_by_op_type(archscale.build(spec))
    assert sum(v for k, v in by_type.items() if k in MAC_OP_TYPES) == 2 * archscale.profile(
        spec).macs
