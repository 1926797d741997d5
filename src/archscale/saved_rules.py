"""Which tensors each forward op keeps for the backward pass: one ``Saved`` rule per op, found
through ``archscale.ops.OP_RULES``; the schedules that turn them into peaks are
``archscale.memory_model``.

**What a forward op keeps** (Keras 3 on TensorFlow, training mode):

==================  ====================================================================
op                  saved for the backward pass
==================  ====================================================================
conv, dense,        its input (the kernel gradient reads it), plus what its fused
depthwise_conv      activation keeps (next table). A grouped conv runs in an XLA-compiled
                    call whose gradient keeps a private copy of the input instead.
batch_norm          its input (Keras' training BN is ``x * inv + (beta - mean * inv)``,
                    whose gradient reads ``x``; the normalised output is not kept)
layer_norm          its input and one more tensor of its size
activation          its output or its input, per the activation table
max_pool            its input, its output and a 1-byte-per-element argmax workspace (oneDNN)
global_max_pool     its input and its output
multiply            all its inputs (each factor's gradient reads the other)
elementwise         nothing for add/subtract/average, all its inputs otherwise
separable_conv,     as conv (its input plus its activation's)
conv_transpose,
einsum_dense
prelu, scale        its input
group_norm          as layer norm; unit_norm: its input and output
rnn, attention,     its inputs and its output (a guess: the per-step gate tensors are not
multi_head_attn.    modelled)
dropout             a boolean keep-mask, one byte per element
unsupported         its inputs and its output (a guess)
everything else     nothing (add, concat, padding, pooling by average, reshape, rescaling,
                    embedding, slicing, transposes, up-sampling, identities)
==================  ====================================================================

==================================================  =========================================
activation                                          keeps
==================================================  =========================================
relu, relu6, sigmoid, tanh, softmax, elu, selu      its output
swish/silu, leaky_relu                              its input (fused: the pre-activation)
gelu                                                its input + 1 tensor
hard_sigmoid                                        1 tensor (the ``relu6(x + 3)``)
hard_swish                                          its input + 2 tensors
linear                                              nothing
==================================================  =========================================

A tensor kept by several ops (a ReLU output that is the next conv's input) is counted once.
The conv, depthwise, grouped-conv, batch-norm, ReLU, ReLU6, sigmoid, swish, max-pool,
dropout, multiply (squeeze-excitation), add, concat and padding rules are measured; the others
follow TensorFlow's registered gradients (which inputs or outputs each gradient function reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from archscale.nodes import Node


@dataclass(frozen=True)
class Saved:
    """What one op's gradient reads, besides its weights.

    Attributes:
        inputs: Indices of the inputs it keeps (shared with other ops that keep them).
        output: Whether it keeps its output (shared likewise).
        private: Extra tensors of its output's size only it keeps (a fused pre-activation).
        private_input: Private copies of its first input (a grouped conv's XLA call).
        mask_bytes: Bytes per output element of a mask it keeps (dropout: 1).
    """

    inputs: tuple[int, ...] = ()
    output: bool = False
    private: int = 0
    private_input: int = 0
    mask_bytes: int = 0


#: activation -> (keeps its output, keeps its input, extra tensors of its size)
ACTIVATION_SAVES: dict[str, tuple[bool, bool, int]] = {
    "linear": (False, False, 0), "relu": (True, False, 0), "relu6": (True, False, 0),
    "sigmoid": (True, False, 0), "tanh": (True, False, 0), "softmax": (True, False, 0),
    "elu": (True, False, 0), "selu": (True, False, 0), "swish": (False, True, 0),
    "silu": (False, True, 0), "leaky_relu": (False, True, 0), "gelu": (False, True, 1),
    "hard_sigmoid": (False, False, 1), "hard_swish": (False, True, 2),
    "softplus": (False, True, 0), "softsign": (False, True, 0), "mish": (False, True, 1),
    "exponential": (True, False, 0), "hard_tanh": (False, True, 0),
    "log_softmax": (True, False, 0),
}

#: Element-wise functions whose gradient reads none of the operands.
LINEAR_FNS = frozenset({"add", "subtract", "average", "negative"})


def saved_weighted(node: Node) -> Saved:
    """Conv, depthwise conv, dense: the input (a grouped conv: a private copy) plus what the
    fused activation keeps (its input as a private pre-activation)."""
    keeps_out, keeps_in, extra = ACTIVATION_SAVES[node.attrs["activation"]]
    private = extra + int(keeps_in)  # a fused activation's input is the private pre-activation
    if node.op == "conv" and node.attrs["groups"] > 1:
        return Saved((), keeps_out, private, private_input=1)
    return Saved((0,), keeps_out, private)


def saved_activation(node: Node) -> Saved:
    """Standalone activation: its output or its input, per ``ACTIVATION_SAVES``."""
    keeps_out, keeps_in, extra = ACTIVATION_SAVES[node.attrs["fn"]]
    return Saved((0,) if keeps_in else (), keeps_out, extra)


def saved_input(node: Node) -> Saved:
    """Batch norm: its input (the gradient of ``x * inv + (beta - mean * inv)`` reads ``x``)."""
    return Saved((0,))


def saved_layer_norm(node: Node) -> Saved:
    """Layer norm: its input and one more tensor of its size."""
    return Saved((0,), private=1)


def saved_max_pool(node: Node) -> Saved:
    """Max pooling: its input, its output and a 1-byte-per-element argmax workspace."""
    return Saved((0,), True, mask_bytes=1)


def saved_input_and_output(node: Node) -> Saved:
    """Global max pooling: its input and output (``reduce_max``'s gradient reads both)."""
    return Saved((0,), True)


def saved_all_inputs(node: Node) -> Saved:
    """Multiply: every input (each factor's gradient reads the others)."""
    return Saved(tuple(range(len(node.inputs))))


def saved_all_inputs_and_output(node: Node) -> Saved:
    """Unsupported layers: every input and the output (a guess)."""
    return Saved(tuple(range(len(node.inputs))), True)


def saved_dropout_mask(node: Node) -> Saved:
    """Dropout: a boolean keep-mask, one byte per element (nothing at rate 0)."""
    return Saved(mask_bytes=1 if node.attrs["rate"] > 0 else 0)


def saved_broadcast(node: Node) -> Saved:
    """Element-wise ops of Keras operations and merge layers: add/subtract/average keep
    nothing, every other function its inputs."""
    if node.attrs["fn"] in LINEAR_FNS:
        return Saved()
    return Saved(tuple(range(len(node.inputs))))


def saved_nothing(node: Node) -> Saved:
    """Ops whose gradient reads no activation (add, concat, padding, average pooling, ...)."""
    return Saved()


#: ``node -> Saved``.
SavedRule = Callable[[Node], Saved]
