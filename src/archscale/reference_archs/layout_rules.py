"""Layout rules: a family plan's base structure, small pure functions each citing its source.

The family plans (``Family.plan``) start from these: the MLP's depth and taper, the number of
downsampling stages, stage widths and blocks per stage. The heuristics' family choice
(``archscale.heuristics.rules``) uses them too.
"""

from __future__ import annotations

import math

from archscale.reference_archs.scaling_plan import QUANTUM

#: Images up to this many pixels on their shorter side are small: they get a CIFAR-style
#: network (3x3 stem, no early pooling; He et al. 2015 Sec. 4.2), which keeps the resolution
#: an ImageNet stem would throw away.
SMALL_IMAGE_MAX_SIDE = 64


# ---------------------------------------------------------------------------------------------
# MLP shape
# ---------------------------------------------------------------------------------------------


def mlp_depth(target_params: float) -> int:
    """Number of hidden layers from the parameter target.

    One hidden layer for targets under 5 K parameters, two up to 100 K, three up to 20 M, four
    beyond: one layer approximates any continuous map, two any decision boundary (Heaton 2008,
    "Introduction to Neural Networks for Java", ch. 5). The third layer from 100 K is measured:
    in the optimal-dimensions study three hidden layers beat two of more parameters on MNIST-1D
    (4,000 examples: 79 K params 72.4 % vs 188 K 70.3 %; 16,000: 96 K 89.1 % vs 64 K 87.5 %).

    Args:
        target_params: The capacity target, clamped by the budget.

    Returns:
        1 to 4.
    """
    for depth, limit in ((1, 5e3), (2, 1e5), (3, 20e6)):
        if target_params < limit:
            return depth
    return 4


def mlp_taper(n_in: int, n_out: int, depth: int) -> tuple[float, ...]:
    """Unscaled hidden widths tapering geometrically from the input size to the output size.

    The geometric-pyramid rule (Masters 1993, "Practical Neural Network Recipes in C++"):
    ``h_i = n_out * r**(depth + 1 - i)`` with ``r = (n_in / n_out)**(1 / (depth + 1))``, which
    also keeps every width between the input and output sizes (Heaton 2008's
    between-input-and-output rule). Capacity later scales all widths by one factor.

    Args:
        n_in: Input features (flattened).
        n_out: Output units.
        depth: Hidden layers.

    Returns:
        ``depth`` positive floats, input side first.
    """
    ratio = (max(n_in, 1) / max(n_out, 1)) ** (1.0 / (depth + 1))
    return tuple(n_out * ratio ** (depth + 1 - i) for i in range(1, depth + 1))


def head_min_width(classes: int, quantum: int = QUANTUM) -> int:
    """Narrowest hidden layer in front of a ``classes``-way softmax head.

    ``2 sqrt(classes)`` rounded up to a multiple of ``quantum``, at most ``classes`` rounded
    up: a layer of width ``d`` caps the rank of the logits at ``d + 1`` (Yang et al. 2018, the
    softmax bottleneck), and the published many-class classifiers sit on wider features -
    10,000 face identities on 160 (DeepID, Sun et al. 2014) and 10,575 on 320 (CASIA-WebFace,
    Yi et al. 2014), ImageNet's 1,000 on 512-2048. 10 classes -> 8, 1,000 -> 64,
    10,000 -> 200.

    Args:
        classes: Output units.
        quantum: Width quantum.

    Returns:
        The floor of every hidden width.
    """
    floor = min(2 * math.sqrt(max(classes, 1)), max(classes, 1))
    return quantum * math.ceil(floor / quantum)


def round_width(value: float, quantum: int = QUANTUM) -> int:
    """Round a width to the nearest multiple of ``quantum``, halves up (at least ``quantum``)."""
    return max(quantum, int(value / quantum + 0.5) * quantum)


# ---------------------------------------------------------------------------------------------
# CNN shape
# ---------------------------------------------------------------------------------------------


def downsampling_halvings(size: int, stop: int = 8) -> int:
    """Stride-2 stages needed to bring a resolution down to roughly 4-8.

    Halve (rounding up, as ``same`` padding does) while the size exceeds ``stop``: 32 -> 2
    (8), 40 -> 3 (5), 56 -> 3 (7), 224 -> 5 (7). Classification nets end at a 4-8 feature map
    (ResNet: 7x7 at 224, CIFAR ResNet: 8x8 at 32; Simonyan & Zisserman 2014, He et al. 2015).

    Args:
        size: Input side (after any stem downsampling).
        stop: Largest acceptable final size.

    Returns:
        The number of halvings (>= 0).
    """
    halvings = 0
    while size > stop:
        size = math.ceil(size / 2)
        halvings += 1
    return halvings


def doubling_widths(base: int, stages: int, cap: int = 512) -> tuple[int, ...]:
    """Stage widths that double whenever the resolution halves, capped.

    Keeps the per-layer compute roughly constant across stages (Simonyan & Zisserman 2014;
    He et al. 2015 Sec. 3.3: "if the feature map size is halved, the number of filters is
    doubled").

    Args:
        base: Width of the first stage.
        stages: Number of stages.
        cap: Largest width.

    Returns:
        ``stages`` widths.
    """
    return tuple(min(cap, base * 2**s) for s in range(stages))


def blocks_per_stage(stages: int, kind: str) -> tuple[int, ...]:
    """Base number of blocks in each stage (before depth scaling).

    ``bottleneck``: ResNet-50's (3, 4, 6, 3) pattern, most blocks at the second-to-last stage
    (He et al. 2015 Table 1), generalised to other stage counts; ``basic``: 3 per stage, the
    CIFAR ResNet-20 (He et al. 2015 Sec. 4.2); ``plain``: 2 convs per stage (VGG-style pairs,
    Simonyan & Zisserman 2014).

    Args:
        stages: Number of stages.
        kind: ``bottleneck``, ``basic`` or ``plain``.

    Returns:
        ``stages`` block counts.
    """
    if kind == "basic":
        return (3,) * stages
    if kind == "plain":
        return (2,) * stages
    if stages == 1:
        return (3,)
    middle = [4, 6, 6, 6, 6, 6][:max(0, stages - 2)]
    if stages == 3:
        middle = [6]
    return (3, *middle, 3)


# ---------------------------------------------------------------------------------------------
# Token front end
# ---------------------------------------------------------------------------------------------

#: Largest embedding size the rule proposes: 300, the largest standard word-vector size
#: (word2vec, Mikolov et al. 2013; fastText, Bojanowski et al. 2017).
EMBEDDING_MAX_DIM = 300

EMBEDDING_SOURCE = ("fourth-root rule of thumb, dim ~ vocab ** 0.25 (Google, 'Introducing "
                    "TensorFlow Feature Columns' 2017; Lakshmanan et al. 2020, ML Design "
                    "Patterns, Embeddings), rounded up to a multiple of 8: vocab 10,000 gives "
                    "the 16 of TensorFlow's IMDB text-classification tutorial; capped at 300 "
                    "(word2vec, fastText)")


def embedding_dim_for(vocab: int, quantum: int = QUANTUM) -> int:
    """Embedding size for a vocabulary: ``vocab ** 0.25`` rounded up to a multiple of
    ``quantum``, at most ``EMBEDDING_MAX_DIM`` (``EMBEDDING_SOURCE``).

    Args:
        vocab: Vocabulary size (number of distinct token IDs).
        quantum: Width quantum.

    Returns:
        The embedding dimension: 20,000 -> 16 (11.9 rounded up), 10,000 -> 16, 100 -> 8.
    """
    root = max(1, vocab) ** 0.25
    return min(EMBEDDING_MAX_DIM, quantum * math.ceil(root / quantum - 1e-9))
