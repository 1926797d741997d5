"""Shared checks of a catalogue spec against a Keras model (``keras.applications`` or the
emitted one): exact parameter split, the same profile read back, and 2 x MACs equal to
TensorFlow's profiler. Imported by the family test files; Keras is imported by the caller."""

from __future__ import annotations

import math
from collections import Counter

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

