"""Analytic memory model: which tensors TensorFlow keeps for the backward pass, and the
schedules that turn tensor sizes into inference and training peaks. Pure Python.

The rules were derived from TensorFlow's allocator statistics (TF 2.21, Keras 3, one
``tf.function`` training step, see ``archscale.measure.memory``): chains of one block repeated
8 and 16 times give the bytes each op keeps per block, whole catalogue models check the sum.

**What a training step holds** (``training_peak_bytes``):

- weights, optimizer slots (``OPTIMIZER_SLOTS`` per trainable weight) and the input batch, all
  the step long;
- the tensors the backward pass reads (``SAVED_RULES``, see ``archscale.saved_rules``): held
  from the forward op that makes them to the backward op that last reads them; every other
  forward output is freed after its last forward reader;
- activation gradients: one per tensor, from the first backward op that writes it to the
  backward op of its producer; a second write (a tensor read twice, e.g. a residual input)
  needs a temporary of the same size for the sum;
- weight gradients, counted to the end of the step (TensorFlow may free one as soon as the
  optimizer has applied it; counting them all fits the measurements better), and, once the
  backward pass is done, the optimizer's element-wise temporaries
  (``OPTIMIZER_TEMPORARIES`` x the bytes of the largest layer's weights);
- ``STEP_RUNTIME_BYTES`` of bookkeeping (labels, loss, step counter, ...).

The peak is the maximum over a forward walk and a backward walk of the graph in (reverse)
topological order, and the end of the step (all weight gradients plus the optimizer update of
the largest layer), times ``ALLOCATOR_OVERHEAD``.

**What a forward op keeps** is ``archscale.saved_rules`` (one ``Saved`` rule per op, found
through ``archscale.ops.OP_RULES``; its docstring tables them).
"""

from __future__ import annotations

from dataclasses import dataclass

from archscale.nodes import Graph, Node
from archscale.ops import INFERENCE_VIEW_OPS, SAVED_RULES, TRAIN_VIEW_OPS
from archscale.saved_rules import ACTIVATION_SAVES, Saved

__all__ = ["ACTIVATION_SAVES", "ALLOCATOR_OVERHEAD", "INFERENCE_VIEW_OPS",
           "OPTIMIZER_TEMPORARIES", "SAVED_RULES", "STEP_RUNTIME_BYTES", "Saved",
           "TRAIN_VIEW_OPS", "inference_live_peak_elements", "saved_elements_bytes",
           "saved_for_backward", "training_curve"]

#: Bytes TensorFlow's BFC allocator holds per byte of tensors it serves: it rounds requests up
#: to multiples of 256 bytes and splits a reused free chunk only when the chunk is at least
#: twice the request. Median of measured / unscaled estimate over the catalogue table with the
#: allocator grown up front (``archscale.measure.memory.reserve_allocator``): 1.025 (1.00 to
#: 1.05 for every preset above 10 MB). The GPU allocator and the >= 256 KiB allocations of
#: TensorFlow's default oneDNN CPU allocator are BFC allocators too.
ALLOCATOR_OVERHEAD = 1.025

#: Bytes a training step holds whatever the model: labels, loss and metric scalars, the
#: optimizer's step counter and learning rate, random-generator state, shape constants
#: (measured: 23 to 31 kB above weights + slots + input batch for the MNIST-1D presets).
STEP_RUNTIME_BYTES = 24 << 10

#: Temporaries of a weight's size that an optimizer update holds besides the gradient (Keras 3
#: ``update_step`` element-wise ops after TensorFlow's in-place buffer forwarding). Measured on
#: one 2048 x 2048 dense layer (peak above weights and slots = gradient + k x weight bytes; two
#: runs differ by up to one weight size with the executor's scheduling, the mean is taken;
#: Adam is rounded up to 2, which also fits the catalogue MLPs).
OPTIMIZER_TEMPORARIES: dict[str, float] = {
    "sgd": 0.0, "momentum": 1.0, "rmsprop": 2.5, "adagrad": 1.5, "adam": 2.0, "adamw": 2.0,
    "nadam": 2.5, "adamax": 3.0,
}


def saved_for_backward(node: Node) -> Saved:
    """The ``Saved`` rule of ``node`` (``Saved()`` for ops that keep nothing)."""
    rule = SAVED_RULES.get(node.op)
    return rule(node) if rule else Saved()


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------


def _owners(graph: Graph, views: frozenset[str]) -> dict[str, str]:
    owner: dict[str, str] = {}
    for n in graph.nodes:
        owner[n.name] = owner[n.inputs[0]] if n.op in views and n.inputs else n.name
    return owner


def _last_forward_use(graph: Graph, owner: dict[str, str]) -> dict[str, int]:
    last: dict[str, int] = {owner[n.name]: i for i, n in enumerate(graph.nodes)}
    for i, n in enumerate(graph.nodes):
        for name in n.inputs:
            last[owner[name]] = i
    for name in graph.outputs:
        last[owner[name]] = len(graph.nodes)
    return last


def inference_live_peak_elements(graph: Graph) -> int:
    """Peak elements of simultaneously live activations over a sequential schedule.

    A tensor lives from its producer to its last reader (graph outputs to the end); views
    (``INFERENCE_VIEW_OPS``) share their input's buffer; the inputs count too.
    """
    owner = _owners(graph, INFERENCE_VIEW_OPS)
    frees: dict[int, int] = {}
    for buffer, step in _last_forward_use(graph, owner).items():
        frees[step] = frees.get(step, 0) + graph.node(buffer).elements
    live = peak = 0
    for step, n in enumerate(graph.nodes):
        if owner[n.name] == n.name:
            live += n.elements
        peak = max(peak, live)
        live -= frees.get(step, 0)
    return peak


@dataclass(frozen=True)
class _Plan:
    """Per-buffer bytes and release steps of a training step (one example, one dtype)."""

    owner: dict[str, str]
    size: dict[str, float]
    release: dict[str, int]    # saved buffer -> index of the backward op that frees it
    private: dict[int, float]  # node index -> bytes of its private saved tensors
    needs_grad: dict[str, bool]


def _plan(graph: Graph, trainable: dict[str, int], item: int) -> _Plan:
    owner = _owners(graph, TRAIN_VIEW_OPS)
    size = {n.name: float(n.elements * item) for n in graph.nodes}
    needs: dict[str, bool] = {}
    release: dict[str, int] = {}
    private: dict[int, float] = {}
    for i, n in enumerate(graph.nodes):
        needs[n.name] = trainable.get(n.name, 0) > 0 or any(needs[x] for x in n.inputs)
        if not needs[n.name]:
            continue
        rule = saved_for_backward(n)
        kept = [owner[n.inputs[k]] for k in rule.inputs] + ([owner[n.name]] if rule.output else [])
        for buffer in kept:
            release[buffer] = min(release.get(buffer, i), i)
        first_in = size[n.inputs[0]] if n.inputs else 0.0
        private[i] = (rule.private * size[n.name] + rule.private_input * first_in
                      + rule.mask_bytes * n.elements)
    return _Plan(owner, size, release, private, needs)


def training_curve(graph: Graph, trainable: dict[str, int], item: int,
                   temporaries: float) -> tuple[tuple[float, float], ...]:
    """Memory of a training step above the persistent part, as ``(a, b)`` points.

    At each step of the forward and backward walks the step holds ``a * batch_size + b``
    bytes besides weights, optimizer slots and the input batch: ``a`` is the activations and
    activation gradients of one example, ``b`` the weight gradients so far. The last point is
    the optimizer update after the backward pass: every weight gradient plus the update's
    temporaries for the largest layer.

    Args:
        graph: The graph.
        trainable: Trainable parameters per node name.
        item: Bytes per element of the dtype.
        temporaries: ``OPTIMIZER_TEMPORARIES`` of the optimizer.
    """
    plan = _plan(graph, trainable, item)
    owner, size, inputs = plan.owner, plan.size, set(graph.inputs)
    frees: dict[int, list[str]] = {}
    for buffer, step in _last_forward_use(graph, owner).items():
        if buffer not in plan.release and buffer not in inputs:
            frees.setdefault(step, []).append(buffer)
    releases: dict[int, list[str]] = {}
    for buffer, step in plan.release.items():
        if buffer not in inputs:
            releases.setdefault(step, []).append(buffer)
    points: list[tuple[float, float]] = []
    live = 0.0
    for i, n in enumerate(graph.nodes):  # forward
        if owner[n.name] == n.name and n.name not in inputs:
            live += size[n.name]
        live += plan.private.get(i, 0.0)
        points.append((live, 0.0))
        live -= sum(size[b] for b in frees.get(i, ()))
    grads = {owner[o]: size[o] for o in graph.outputs}
    live_grads = sum(grads.values())
    weight_grads = largest = 0.0
    for i in range(len(graph.nodes) - 1, -1, -1):  # backward
        n = graph.nodes[i]
        if not plan.needs_grad[n.name] or n.op == "input":
            continue
        extra = 0.0
        for name in n.inputs if n.op not in TRAIN_VIEW_OPS else ():
            if plan.needs_grad[name] and name not in inputs:
                if owner[name] in grads:
                    extra += size[name]  # summing two gradients needs a temporary
                else:
                    grads[owner[name]] = size[name]
                    live_grads += size[name]
        w = trainable.get(n.name, 0) * item
        weight_grads += w
        largest = max(largest, w)
        points.append((live + live_grads + extra, weight_grads))
        if n.name in grads:
            live_grads -= grads.pop(n.name)
        live -= sum(size[b] for b in releases.get(i, ())) + plan.private.get(i, 0.0)
    points.append((0.0, weight_grads + temporaries * largest))
    return tuple(points)


def saved_elements_bytes(graph: Graph, trainable: dict[str, int], item: int) -> float:
    """Bytes per example of every tensor kept for the backward pass (inputs included)."""
    plan = _plan(graph, trainable, item)
    return sum(plan.size[b] for b in plan.release) + sum(plan.private.values())
