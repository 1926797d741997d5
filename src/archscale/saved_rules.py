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
separable_conv      as conv, plus its depthwise step's output (the pointwise conv's input)
conv_transpose,     as conv (its input plus its activation's)
einsum_dense
prelu, scale        its input
group_norm          as layer norm; unit_norm: its input and output
rnn, attention      its inputs and its output (a guess: the per-step gate tensors are not
                    modelled)
multi_head_attn.    its inputs and output, the scaled queries, keys, values, attended values
                    and the softmax probabilities (self-attention lengths)
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
gelu                                                3 tensors (not its input)
hard_sigmoid                                        1 tensor (the ``relu6(x + 3)``)
hard_swish                                          its input + 2 tensors
linear                                              nothing
==================================================  =========================================

A tensor kept by several ops (a ReLU output that is the next conv's input) is counted once.
The conv, depthwise, grouped-conv, batch-norm, layer-norm, ReLU, ReLU6, sigmoid, swish, GELU,
max-pool, dropout, multiply (squeeze-excitation), LayerScale, add, concat and padding rules are
measured; the others follow TensorFlow's registered gradients (which inputs or outputs each
gradient function reads).

**GELU, LayerNorm, LayerScale** (``tools/block_memory.py``: stacks of 2 and 6 ConvNeXt blocks
and of 1 and 3 Transformer MLP blocks, oneDNN, batch 32, measured peak minus the model's, per
block, with one layer swapped at a time): Keras' exact GELU is ``0.5 x * (1 + erf(x /
sqrt 2))``, whose gradient reads ``x / sqrt 2`` (erf's), ``1 + erf(.)`` and ``0.5 x`` (the
product's), not ``x``: with "its input + 1 tensor" the blocks were short by 0.95 to 1.6 of
the GELU's tensors each, with 3 tensors within 0.4 (-0.27 to +0.37; ReLU in its place:
-0.06). With attention in the block (2 heads, 128 wide, 128 long) the block is over-predicted
by about one such tensor (a 1-block stack -4.8 %, 3 blocks +6.1 %).
Keras' LayerNorm computes ``x * (rsqrt(var + eps) * gamma) + res``, a full-size factor the
product's gradient reads with ``x``: its input + 1 tensor (LayerNorm in place of batch norm
measured +0.3 of a tensor more per block, within the probe's noise; with its input alone the
Transformer presets fall 3 to 6 points lower, bert_tiny -6.9 %). LayerScale
(``x * gamma``) keeps its input, which ``gamma``'s gradient reads (removing it lowered the
measured block by 0.2 of a tensor against the rule's 1, within the probe's noise of about
0.5 a block; ConvNeXt's whole models are within 2 % with it).
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
        private_input: Private copies of its first input (a grouped conv's XLA call; a
            fraction for a separable conv's strided depthwise output).
        mask_bytes: Bytes per output element of a mask it keeps (dropout: 1).
        private_elements: Elements (per example, of the dtype) of further tensors only it
            keeps, whatever their shapes (attention's projections and probabilities).
    """

    inputs: tuple[int, ...] = ()
    output: bool = False
    private: int = 0
    private_input: float = 0
    mask_bytes: int = 0
    private_elements: int = 0


#: activation -> (keeps its output, keeps its input, extra tensors of its size)
ACTIVATION_SAVES: dict[str, tuple[bool, bool, int]] = {
    "linear": (False, False, 0), "relu": (True, False, 0), "relu6": (True, False, 0),
    "sigmoid": (True, False, 0), "tanh": (True, False, 0), "softmax": (True, False, 0),
    "elu": (True, False, 0), "selu": (True, False, 0), "swish": (False, True, 0),
    "silu": (False, True, 0), "leaky_relu": (False, True, 0), "gelu": (False, False, 3),
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


def saved_separable(node: Node) -> Saved:
    """Separable conv: as ``saved_weighted``, plus the depthwise step's output, which the
    pointwise conv's kernel gradient reads (``depth_multiplier`` x the input's size over the
    strides' product, as with same padding).

    Measured (``tools/block_memory.py``: stacks of 2 and 6 ``SeparableConv2D`` 3x3 -> batch
    norm -> ReLU blocks, 16x16x128, batch 32): without it 0.95 of a block's input short per
    block on oneDNN and on Eigen alike (a plain 3x3 conv in its place: -0.26); Xception at
    71x71, batch 32: -17.6 %.
    """
    stride = 1
    for s in node.attrs.get("strides", (1,)):
        stride *= s
    base = saved_weighted(node)
    return Saved(base.inputs, base.output, base.private,
                 private_input=node.attrs.get("depth_multiplier", 1) / stride)


def saved_activation(node: Node) -> Saved:
    """Standalone activation: its output or its input, per ``ACTIVATION_SAVES``."""
    keeps_out, keeps_in, extra = ACTIVATION_SAVES[node.attrs["fn"]]
    return Saved((0,) if keeps_in else (), keeps_out, extra)


def saved_input(node: Node) -> Saved:
    """Batch norm: its input (the gradient of ``x * inv + (beta - mean * inv)`` reads ``x``)."""
    return Saved((0,))


def saved_layer_norm(node: Node) -> Saved:
    """Layer norm: its input and one more tensor of its size (Keras' ``rsqrt(var + eps) *
    gamma`` factor, broadcast to the input's shape; see the module docstring)."""
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


def saved_multi_head_attention(node: Node) -> Saved:
    """Multi-head attention (Keras ``MultiHeadAttention``, self-attention: the key length is
    taken as the query's): its inputs and output, plus what its inner products' gradients read:
    the scaled queries and the keys (``L x heads x key_dim`` each), the values and the
    attended values before the output projection (``L x heads x value_dim`` each), and the
    softmax probabilities (``heads x L x L``)."""
    length = node.shape[0]
    heads, key_dim = node.attrs["num_heads"], node.attrs["key_dim"]
    value_dim = node.attrs.get("value_dim") or key_dim
    extra = length * heads * (2 * key_dim + 2 * value_dim) + heads * length * length
    return Saved(tuple(range(len(node.inputs))), True, private_elements=extra)


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


# ---------------------------------------------------------------------------------------------
# Working buffers of backward kernels (per backend): what a gradient op holds while it runs
# ---------------------------------------------------------------------------------------------

#: TensorFlow's Eigen convolution gradients (``Conv2DCustomBackpropInputOp`` and
#: ``Conv2DCustomBackpropFilterOp``) size their im2col buffer for an L3 cache of this many
#: bytes, whatever the machine's (a constant in TensorFlow's source).
EIGEN_TARGET_WORKING_SET_BYTES = 30 << 20
#: The per-thread work below which the input gradient shards images instead of running one
#: parallel contraction (TensorFlow's assumed L2 cache).
EIGEN_MIN_THREAD_WORK_BYTES = 256 << 10


@dataclass(frozen=True)
class Workspace:
    """Bytes a backward op holds while it runs, besides its operands and result.

    Attributes:
        input_grad: The gradient with respect to the op's input (held only if that input
            needs a gradient).
        weight_grad: The gradient with respect to its weights (only if they are trainable).
        macs: Multiply-accumulates of one example's weight gradient (how long it runs).
    """

    input_grad: float = 0.0
    weight_grad: float = 0.0
    macs: int = 0


def _im2col(out_pixels: int, patch: int, filters: int, batch: int, item: int, threads: int,
            input_grad: bool) -> float:
    """Bytes of the im2col buffer of one Eigen convolution gradient (``col_buffer``).

    ``shard = ceil(target / work_unit)`` images share one buffer of ``shard x out_pixels x
    patch`` elements, where ``work_unit = out_pixels x patch + out_pixels x filters + patch x
    filters`` and ``target`` = 30 MiB / item. The filter gradient always shards so; the input
    gradient runs one parallel contraction on one image's buffer (``shard = 1``) at batch 1 or
    when ``work_unit / threads`` reaches 256 KiB / item.
    """
    work = out_pixels * patch + out_pixels * filters + patch * filters
    target = EIGEN_TARGET_WORKING_SET_BYTES // item
    parallel = input_grad and (batch == 1
                               or work // threads >= EIGEN_MIN_THREAD_WORK_BYTES // item)
    shard = 1 if parallel else -(-target // work)
    return float(shard * out_pixels * patch * item)


def _conv_geometry(node: Node, in_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(output pixels, patch elements, filters) of a conv-like node's convolution."""
    out_pixels = 1
    for size in node.shape[:-1]:
        out_pixels *= size
    patch = in_shape[-1]
    for k in node.attrs["kernel"]:
        patch *= k
    return out_pixels, patch, node.shape[-1]


def xla_depthwise_conv_workspace(node: Node, in_shape: tuple[int, ...], batch: int, item: int,
                                 threads: int) -> Workspace:
    """A grouped conv with one input channel per group (ConvNeXt's 7x7 depthwise conv, which
    Keras writes as ``Conv2D(groups=channels)``): on a CPU Keras runs it in an XLA call, whose
    filter gradient is a batch-grouped convolution that XLA's CPU compiler expands to a dense
    ``kh x kw x C_in x C_out`` filter; it holds about two such tensors while it runs.

    Measured (``tools/block_memory.py``, one grouped conv, training peak minus the model's):
    7x7 with 128 and 256 channels, batch 1 and 32, 2x2 and 8x8 inputs: 1.96 x that filter's
    bytes (25.1 MiB at 256 channels, the same at batch 1 and 32 and on oneDNN and Eigen);
    3x3 at 256 channels: 1.75 x; 8 channels per group (RegNet's): nothing (-0.2 MB).
    """
    groups = node.attrs.get("groups", 1)
    if groups <= 1 or in_shape[-1] != groups:
        return Workspace()
    dense = in_shape[-1] * node.shape[-1]
    for k in node.attrs["kernel"]:
        dense *= k
    return Workspace(0.0, float(2 * dense * item))


def eigen_conv_workspace(node: Node, in_shape: tuple[int, ...], batch: int, item: int,
                         threads: int) -> Workspace:
    """Eigen conv (1-D and 2-D, one group): the im2col buffers of both gradients.

    Measured (``tools/eigen_workspace.py``: one ``Conv2DBackpropInput`` / ``...Filter`` call,
    allocator peak minus operands and result, TF 2.21, 2 cores) on 1x1 to 7x7 kernels,
    strides 1 and 2, same and valid padding, 8x8 to 112x112, 1 to 256 channels, batch 1 to
    32: equal to ``_im2col`` to the 256-byte rounding, 0.25 to 28 MiB per call, the same at
    batch 1 and 32 for the filter gradient. A grouped conv runs in an XLA call (no such
    buffer; ``xla_depthwise_conv_workspace``); rank-3 convs are not modelled. A dilated conv
    runs as space-to-batch -> conv -> batch-to-space (``tf.nn.convolution``; the CPU kernels
    take no dilation): its gradients are those of a conv on ``batch x dilation`` images of
    ``1 / dilation`` the pixels (measured on TCN's 7-tap, 25-channel convs at dilations 2, 8
    and 128, batch 1 and 32: equal to ``_im2col`` on that geometry, 7.4 to 26.6 MB, but 12.4
    MB against 7.4 for the filter gradient at 4096 images).
    """
    if node.attrs.get("groups", 1) > 1:
        return xla_depthwise_conv_workspace(node, in_shape, batch, item, threads)
    if len(node.attrs["kernel"]) > 2:
        return Workspace()
    out_pixels, patch, filters = _conv_geometry(node, in_shape)
    dilation = 1
    for d in node.attrs.get("dilation", (1,)):
        dilation *= d
    if dilation > 1:  # space-to-batch: dilation x the images, each 1 / dilation the pixels
        batch, out_pixels = batch * dilation, -(-out_pixels // dilation)
    return Workspace(_im2col(out_pixels, patch, filters, batch, item, threads, True),
                     _im2col(out_pixels, patch, filters, batch, item, threads, False),
                     out_pixels * patch * filters * dilation)


def eigen_separable_workspace(node: Node, in_shape: tuple[int, ...], batch: int, item: int,
                              threads: int) -> Workspace:
    """Separable conv: the pointwise 1x1 conv's buffers (on the depthwise output; the
    depthwise step's are ``eigen_depthwise_workspace``'s, negligible next to them)."""
    out_pixels = 1
    for size in node.shape[:-1]:
        out_pixels *= size
    patch = in_shape[-1] * node.attrs.get("depth_multiplier", 1)
    return Workspace(_im2col(out_pixels, patch, node.shape[-1], batch, item, threads, True),
                     _im2col(out_pixels, patch, node.shape[-1], batch, item, threads, False),
                     out_pixels * patch * node.shape[-1])


def eigen_depthwise_workspace(node: Node, in_shape: tuple[int, ...], batch: int, item: int,
                              threads: int) -> Workspace:
    """Depthwise conv: the filter gradient sums one partial filter gradient per image
    (measured: (batch + 1) x the filter's bytes, 3x3 and 5x5, 96 and 512 channels, batch 1
    and 32); the input gradient holds nothing measurable."""
    weights = in_shape[-1] * node.attrs.get("depth_multiplier", 1)
    for k in node.attrs["kernel"]:
        weights *= k
    return Workspace(0.0, float((batch + 1) * weights * item))


#: ``(node, first input's shape, batch, item, threads) -> Workspace``.
WorkspaceRule = Callable[[Node, tuple[int, ...], int, int, int], Workspace]

#: Backend -> op -> working-buffer rule. oneDNN's gradients measured nothing beyond their
#: operands (the same single-call measurement: under 0.1 MiB), but for the XLA call of a
#: depthwise grouped conv, which is the same on both CPU backends; the GPU rules are the same
#: saved-tensor rules, with cuDNN's workspaces (and XLA's on a GPU) not modelled.
WORKSPACE_RULES: dict[str, dict[str, WorkspaceRule]] = {
    "onednn": {"conv": xla_depthwise_conv_workspace},
    "gpu": {},
    "eigen": {"conv": eigen_conv_workspace, "separable_conv": eigen_separable_workspace,
              "depthwise_conv": eigen_depthwise_workspace},
}
