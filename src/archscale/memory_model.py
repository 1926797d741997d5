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
- weight gradients: each from the backward op that makes it until the optimizer has applied
  it, which TensorFlow does as soon as it exists (each variable's update reads only its own
  gradient): while one layer's gradient is made, the previous layer's (in backward order) is
  being applied with the optimizer's element-wise temporaries (``OPTIMIZER_TEMPORARIES`` x
  its bytes). Measured: holding every weight gradient to the end of the step over-predicted
  the weight-dominated peaks (Inception-v3 at 75x75, batch 1: +25 %, now -1 %; RegNetX at
  batch 1: +13 to +21 %, now -10 to -4 %), while the activation-dominated peaks at batch 32
  hardly move;
- the working buffers of the backward kernels of the chosen backend
  (``archscale.saved_rules.WORKSPACE_RULES``, ``backward_workspace``): none measurable for
  oneDNN (and the GPU, whose rules are oneDNN's); on Eigen, each conv gradient's im2col buffer
  (up to ~30 MiB, batch-independent), held while the kernel runs; a long filter-gradient
  kernel (``OVERLAP_MACS``) is still running, with its buffer, while the next conv's gradient
  kernels start, so its buffer counts there too;
- ``STEP_RUNTIME_BYTES`` of bookkeeping (labels, loss, step counter, ...).

The peak is the maximum over a forward walk and a backward walk of the graph in (reverse)
topological order, and the last optimizer update, times ``ALLOCATOR_OVERHEAD``.

**What a forward op keeps** is ``archscale.saved_rules`` (one ``Saved`` rule per op, found
through ``archscale.ops.OP_RULES``; its docstring tables them).
"""

from __future__ import annotations

from dataclasses import dataclass

from archscale.environment import BACKENDS, usable_cores
from archscale.nodes import Graph, Node
from archscale.ops import INFERENCE_VIEW_OPS, SAVED_RULES, TRAIN_VIEW_OPS
from archscale.saved_rules import ACTIVATION_SAVES, WORKSPACE_RULES, Saved

__all__ = ["ACTIVATION_SAVES", "ALLOCATOR_OVERHEAD", "BACKENDS", "INFERENCE_VIEW_OPS",
           "OPTIMIZER_TEMPORARIES", "SAVED_RULES", "STEP_RUNTIME_BYTES", "Saved",
           "TRAIN_VIEW_OPS", "WORKSPACE_RULES", "backward_workspace",
           "inference_live_peak_elements", "saved_elements_bytes", "saved_for_backward",
           "training_curve"]

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


#: A weight-gradient kernel whose work (batch x ``Workspace.macs``) reaches this many MACs is
#: still running, with its buffer, when the next conv's gradients start (TensorFlow runs
#: independent ops on its inter-op threads): measured on Eigen, CIFAR ResNets (2.4 M MACs per
#: kernel at batch 1) hold two filter-gradient buffers at once, ``mnist1d_cnn`` (0.3 M at batch
#: 32) one. Set between the two.
OVERLAP_MACS = 1_000_000


def backward_workspace(graph: Graph, node: Node, needs_grad: dict[str, bool],
                       trainable: dict[str, int], backend: str, batch_size: int, item: int,
                       threads: int) -> tuple[float, float, bool]:
    """Working buffers of ``node``'s backward kernels on ``backend`` (zeros for most ops).

    Returns:
        ``(held, filter buffer, long)``: ``held`` is the larger of the input- and
        weight-gradient buffers that are needed (the two kernels of one op do not overlap:
        measured, a model's peak rises by the larger); ``filter buffer`` the weight
        gradient's, and ``long`` whether that kernel runs long enough to overlap the next
        op's (``OVERLAP_MACS``).
    """
    rule = WORKSPACE_RULES[backend].get(node.op)
    if rule is None or not node.inputs:
        return 0.0, 0.0, False
    first = node.inputs[0]
    ws = rule(node, graph.node(first).shape, batch_size, item, threads)
    wants_input = needs_grad[first] and first not in graph.inputs
    weights = ws.weight_grad if trainable.get(node.name, 0) > 0 else 0.0
    return (max(ws.input_grad if wants_input else 0.0, weights), weights,
            batch_size * ws.macs >= OVERLAP_MACS)


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
                      + rule.mask_bytes * n.elements + rule.private_elements * item)
    return _Plan(owner, size, release, private, needs)


def training_curve(graph: Graph, trainable: dict[str, int], item: int,
                   temporaries: float, *, backend: str = "onednn", batch_size: int = 1,
                   threads: int | None = None) -> tuple[tuple[float, float], ...]:
    """Memory of a training step above the persistent part, as ``(a, b)`` points.

    At each step of the forward and backward walks the step holds ``a * batch_size + b``
    bytes besides weights, optimizer slots and the input batch: ``a`` is the activations and
    activation gradients of one example, ``b`` the weight gradients being made and applied
    and the backward kernels' working buffers. The last point is the last optimizer update
    (the first layer's gradient plus the update's temporaries).

    Args:
        graph: The graph.
        trainable: Trainable parameters per node name.
        item: Bytes per element of the dtype.
        temporaries: ``OPTIMIZER_TEMPORARIES`` of the optimizer.
        backend: ``onednn``, ``eigen`` or ``gpu``: whose backward kernels' working buffers
            (``archscale.saved_rules.WORKSPACE_RULES``) count, in ``b``, at their op.
        batch_size: The batch the working buffers are sized for (Eigen's input gradient
            switches kernels at batch 1); ``a`` stays per example.
        threads: TensorFlow's intra-op threads (default: this machine's usable cores).
    """
    threads = threads or usable_cores()
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
    running = 0.0  # the filter-gradient buffer of a long kernel still running
    previous = 0.0  # bytes of the weight gradient the optimizer is applying
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
        held, filter_buffer, long = backward_workspace(
            graph, n, plan.needs_grad, trainable, backend, batch_size, item, threads)
        if held:
            held, running = held + running, filter_buffer if long else 0.0
        points.append((live + live_grads + extra, w + previous * (1 + temporaries) + held))
        previous = w or previous
        if n.name in grads:
            live_grads -= grads.pop(n.name)
        live -= sum(size[b] for b in releases.get(i, ())) + plan.private.get(i, 0.0)
    points.append((0.0, previous * (1 + temporaries)))
    return tuple(points)


def saved_elements_bytes(graph: Graph, trainable: dict[str, int], item: int) -> float:
    """Bytes per example of every tensor kept for the backward pass (inputs included)."""
    plan = _plan(graph, trainable, item)
    return sum(plan.size[b] for b in plan.release) + sum(plan.private.values())
