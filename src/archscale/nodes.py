"""The frozen data of a layer graph: ``Node`` (one Keras layer) and ``Graph`` (nodes in
topological order). Built by ``archscale.graph.GraphBuilder``; the ops and their attributes are
``archscale.ops.OP_RULES``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from archscale.shapes import Shape


@dataclass(frozen=True)
class Node:
    """One layer: its unique name, op, attributes, input node names and output shape."""

    name: str
    op: str
    inputs: tuple[str, ...]
    shape: Shape
    attrs: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def elements(self) -> int:
        """Number of elements in one example's output tensor."""
        return math.prod(self.shape)


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order, plus the names of the input and output nodes."""

    name: str
    nodes: tuple[Node, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def node(self, name: str) -> Node:
        """The node called ``name``; ``KeyError`` if absent."""
        return self._by_name()[name]

    def _by_name(self) -> dict[str, Node]:
        cache = self.__dict__.get("_index")
        if cache is None:
            cache = {n.name: n for n in self.nodes}
            object.__setattr__(self, "_index", cache)
        return cache

    def input_shapes(self, node: Node) -> list[Shape]:
        """Output shapes of ``node``'s inputs, in order."""
        index = self._by_name()
        return [index[i].shape for i in node.inputs]

    def consumers(self) -> dict[str, list[str]]:
        """Map from each node name to the names of the nodes that read it."""
        out: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                out[i].append(n.name)
        return out
