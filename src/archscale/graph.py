"""A tiny static-shape layer graph: the one representation costs are read from and Keras is
emitted from.

One ``Node`` is one Keras layer (``archscale.nodes``). Shapes never include the batch axis;
tensors are channels-last. The ops, their attributes and rules are ``archscale.ops.OP_RULES``;
``GraphBuilder`` below has one method per op that families build.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from archscale.errors import ShapeError, SpecError
from archscale.nodes import Graph, Node
from archscale.ops import OPS, SHAPE_RULES, WEIGHTED_OPS
from archscale.shapes import Shape

__all__ = ["ACTIVATIONS", "OPS", "PADDINGS", "Graph", "GraphBuilder", "Node", "Shape",
           "weighted_depth"]

ACTIVATIONS = ("linear", "relu", "relu6", "swish", "silu", "sigmoid", "hard_sigmoid",
               "hard_swish", "softmax", "gelu", "tanh", "elu", "selu", "leaky_relu",
               "softplus", "softsign", "mish", "exponential", "hard_tanh", "log_softmax")

PADDINGS = ("same", "valid")


# ---------------------------------------------------------------------------------------------
# Builder
# ---------------------------------------------------------------------------------------------


def _tuple_of(value: int | Iterable[int], rank: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * rank
    out = tuple(value)
    if len(out) != rank:
        raise ShapeError(f"expected {rank} values, got {out}")
    return out


class GraphBuilder:
    """Builds a ``Graph`` node by node, inferring shapes as it goes.

    Every method returns the new node's name, which later calls take as input. Names default
    to ``<op>_<n>``; they must be unique (they become Keras layer names).

    Example::

        g = GraphBuilder("tiny")
        x = g.input((28, 28, 1))
        x = g.conv(x, 8, 3, activation="relu")
        x = g.global_avg_pool(x)
        graph = g.build(g.dense(x, 10, activation="softmax"))
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._nodes: dict[str, Node] = {}
        self._inputs: list[str] = []
        self._counters: dict[str, int] = {}

    # -- generic -----------------------------------------------------------------------------

    def shape(self, ref: str) -> Shape:
        """Output shape of the node called ``ref``."""
        return self._nodes[ref].shape

    def _name(self, op: str, name: str | None) -> str:
        if name is None:
            n = self._counters.get(op, 0)
            while f"{op}_{n}" in self._nodes:
                n += 1
            self._counters[op] = n + 1
            name = f"{op}_{n}"
        if name in self._nodes:
            raise ShapeError(f"duplicate layer name. Received: name={name!r}")
        return name

    def _add(self, op: str, inputs: Sequence[str], name: str | None, shape: Shape,
             attrs: Mapping[str, Any]) -> str:
        name = self._name(op, name)
        self._nodes[name] = Node(name, op, tuple(inputs), tuple(shape), dict(attrs))
        return name

    def layer(self, op: str, inputs: str | Sequence[str], *, name: str | None = None,
              **attrs: Any) -> str:
        """Add a node of any op in ``SHAPE_RULES`` with already-normalised attributes."""
        if op not in SHAPE_RULES:
            raise ShapeError(f"unknown op. Accepted: {', '.join(SHAPE_RULES)}. Received: {op!r}")
        inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        for i in inputs:
            if i not in self._nodes:
                raise ShapeError(f"unknown input node. Received: {i!r}")
        name_for_msg = name or op
        shape = SHAPE_RULES[op](name_for_msg, attrs, [self._nodes[i].shape for i in inputs])
        return self._add(op, inputs, name, shape, attrs)

    def unsupported(self, inputs: Sequence[str], shape: Shape, *, name: str, class_name: str,
                    params: int, trainable_params: int) -> str:
        """Record a layer that cannot be translated; its shape is taken as given."""
        return self._add("unsupported", inputs, name, shape,
                         {"class_name": class_name, "params": params,
                          "trainable_params": trainable_params})

    def build(self, outputs: str | Sequence[str]) -> Graph:
        """Freeze the graph (nodes in insertion order, which is topological) with its outputs."""
        outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        return Graph(self.name, tuple(self._nodes.values()), tuple(self._inputs), outputs)

    # -- layers ------------------------------------------------------------------------------

    def input(self, shape: Sequence[int], *, name: str = "input") -> str:
        """An input of ``shape`` (no batch axis)."""
        shape = tuple(shape)
        if not shape or any((not isinstance(s, int)) or s <= 0 for s in shape):
            raise SpecError(f"input_shape must be positive ints. Received: input_shape={shape}")
        ref = self._add("input", (), name, shape, {})
        self._inputs.append(ref)
        return ref

    def conv(self, x: str, filters: int, kernel: int | Sequence[int], strides: int |
             Sequence[int] = 1, *, padding: str = "same", dilation: int | Sequence[int] = 1,
             groups: int = 1, use_bias: bool = True, activation: str = "linear",
             name: str | None = None) -> str:
        """Convolution over the spatial axes of ``x`` (1-D or 2-D from the input's rank)."""
        rank = len(self.shape(x)) - 1
        return self.layer("conv", x, name=name, filters=filters, kernel=_tuple_of(kernel, rank),
                          strides=_tuple_of(strides, rank), padding=padding,
                          dilation=_tuple_of(dilation, rank), groups=groups, use_bias=use_bias,
                          activation=activation)

    def depthwise_conv(self, x: str, kernel: int | Sequence[int], strides: int |
                       Sequence[int] = 1, *, padding: str = "same",
                       dilation: int | Sequence[int] = 1, depth_multiplier: int = 1,
                       use_bias: bool = True, activation: str = "linear",
                       name: str | None = None) -> str:
        """Depthwise convolution (one filter per input channel times ``depth_multiplier``)."""
        rank = len(self.shape(x)) - 1
        return self.layer("depthwise_conv", x, name=name, kernel=_tuple_of(kernel, rank),
                          strides=_tuple_of(strides, rank), padding=padding,
                          dilation=_tuple_of(dilation, rank), depth_multiplier=depth_multiplier,
                          use_bias=use_bias, activation=activation)

    def dense(self, x: str, units: int, *, use_bias: bool = True, activation: str = "linear",
              name: str | None = None) -> str:
        """Fully connected layer on the last axis."""
        return self.layer("dense", x, name=name, units=units, use_bias=use_bias,
                          activation=activation)

    def embedding(self, x: str, input_dim: int, output_dim: int, *,
                  name: str | None = None) -> str:
        """Keras ``Embedding``: one trainable ``output_dim`` vector per integer ID in
        ``[0, input_dim)`` (``input_dim x output_dim`` params, no MACs: a table lookup)."""
        return self.layer("embedding", x, name=name, input_dim=input_dim,
                          output_dim=output_dim)

    def batch_norm(self, x: str, *, epsilon: float = 1e-3, momentum: float = 0.99,
                   center: bool = True, scale: bool = True, name: str | None = None) -> str:
        """Batch normalisation over the channel axis."""
        return self.layer("batch_norm", x, name=name, epsilon=epsilon, momentum=momentum,
                          center=center, scale=scale)

    def layer_norm(self, x: str, *, epsilon: float = 1e-3, center: bool = True,
                   scale: bool = True, name: str | None = None) -> str:
        """Layer normalisation over the last axis."""
        return self.layer("layer_norm", x, name=name, epsilon=epsilon, center=center,
                          scale=scale)

    def act(self, x: str, fn: str, *, name: str | None = None) -> str:
        """A standalone activation layer."""
        if fn not in ACTIVATIONS:
            raise SpecError(f"activation must be one of {', '.join(ACTIVATIONS)}. "
                            f"Received: activation={fn!r}")
        return self.layer("activation", x, name=name, fn=fn)

    def _pool(self, op: str, x: str, pool: int | Sequence[int], strides: int | Sequence[int]
              | None, padding: str, name: str | None) -> str:
        rank = len(self.shape(x)) - 1
        pool_t = _tuple_of(pool, rank)
        strides_t = pool_t if strides is None else _tuple_of(strides, rank)
        return self.layer(op, x, name=name, pool=pool_t, strides=strides_t, padding=padding)

    def max_pool(self, x: str, pool: int | Sequence[int] = 2, strides: int | Sequence[int]
                 | None = None, *, padding: str = "valid", name: str | None = None) -> str:
        """Max pooling (strides default to the pool size, as in Keras)."""
        return self._pool("max_pool", x, pool, strides, padding, name)

    def avg_pool(self, x: str, pool: int | Sequence[int] = 2, strides: int | Sequence[int]
                 | None = None, *, padding: str = "valid", name: str | None = None) -> str:
        """Average pooling (strides default to the pool size, as in Keras)."""
        return self._pool("avg_pool", x, pool, strides, padding, name)

    def global_avg_pool(self, x: str, *, keepdims: bool = False, name: str | None = None) -> str:
        """Mean over all spatial axes."""
        return self.layer("global_avg_pool", x, name=name, keepdims=keepdims)

    def global_max_pool(self, x: str, *, keepdims: bool = False, name: str | None = None) -> str:
        """Max over all spatial axes."""
        return self.layer("global_max_pool", x, name=name, keepdims=keepdims)

    def zero_pad(self, x: str, padding: int | Sequence[int] | Sequence[Sequence[int]], *,
                 name: str | None = None) -> str:
        """Zero padding of the spatial axes: an int, one int per axis, or (lo, hi) per axis."""
        rank = len(self.shape(x)) - 1
        if isinstance(padding, int):
            pairs = ((padding, padding),) * rank
        else:
            items = tuple(padding)
            pairs = tuple((p, p) if isinstance(p, int) else tuple(p) for p in items)
        if len(pairs) != rank:
            raise ShapeError(f"zero_pad needs {rank} (lo, hi) pairs. Received: {padding}")
        return self.layer("zero_pad", x, name=name, padding=pairs)

    def channel_pad(self, x: str, before: int, after: int, *, name: str | None = None) -> str:
        """Zeros added before/after the channels (parameter-free shortcut widening)."""
        return self.layer("channel_pad", x, name=name, before=before, after=after)

    def flatten(self, x: str, *, name: str | None = None) -> str:
        """Flatten all non-batch axes."""
        return self.layer("flatten", x, name=name)

    def reshape(self, x: str, target: Sequence[int], *, name: str | None = None) -> str:
        """Reshape to ``target`` (no batch axis)."""
        return self.layer("reshape", x, name=name, target=tuple(target))

    def dropout(self, x: str, rate: float, *, name: str | None = None) -> str:
        """Dropout (identity at inference)."""
        return self.layer("dropout", x, name=name, rate=rate)

    def add(self, inputs: Sequence[str], *, name: str | None = None) -> str:
        """Element-wise sum (residual connection)."""
        return self.layer("add", inputs, name=name)

    def multiply(self, inputs: Sequence[str], *, name: str | None = None) -> str:
        """Element-wise product with broadcasting of size-1 axes (squeeze-excitation)."""
        return self.layer("multiply", inputs, name=name)

    def concat(self, inputs: Sequence[str], *, name: str | None = None) -> str:
        """Concatenation on the channel axis."""
        return self.layer("concat", inputs, name=name)

    def rescaling(self, x: str, scale: float, offset: float = 0.0, *,
                  name: str | None = None) -> str:
        """``x * scale + offset``."""
        return self.layer("rescaling", x, name=name, scale=scale, offset=offset)

    def normalization(self, x: str, *, name: str | None = None) -> str:
        """Keras ``Normalization``: per-channel mean/variance (non-trainable) plus a count."""
        return self.layer("normalization", x, name=name)


def weighted_depth(graph: Graph) -> int:
    """Longest chain of conv/depthwise/dense layers from an input to an output.

    ResNet-50 gives 50, MobileNetV2 53: the depth papers quote.
    """
    depth: dict[str, int] = {}
    for n in graph.nodes:
        best = max((depth[i] for i in n.inputs), default=0)
        depth[n.name] = best + (1 if n.op in WEIGHTED_OPS else 0)
    return max(depth[o] for o in graph.outputs)
