"""A keras-tuner search space around a proposal (used by the tuning verb).

Hyperparameters are written as plain dicts mirroring keras-tuner's ``HyperParameters``
arguments (``hp.Float(name, min_value, max_value, step=..., sampling=..., default=...)``), so
this module needs neither keras-tuner nor TensorFlow. Width and depth are *multipliers of the
proposal* (``Proposal.respec`` turns them into a spec).
"""

from __future__ import annotations

from typing import Any

from archscale.heuristics.capacity import Regularisation
from archscale.reference_archs.registry import families
from archscale.reference_archs.scaling_plan import QUANTUM, Knobs, Plan, ResolutionPlan
from archscale.training_recipe import Recipe


#: Upper ends of the width and depth multipliers when only the data-derived capacity binds.
DATA_BOUND_WIDTH_HIGH = 2.0
DATA_BOUND_DEPTH_HIGH = 1.5


def __getattr__(name: str) -> Any:
    """``DROPOUT_FAMILIES``: the families whose spec has a dropout field, in registry order,
    read from each family's ``dropout_field`` on first access (PEP 562), so importing this
    module loads no family. Prefer ``families().get(name).has_dropout``."""
    if name == "DROPOUT_FAMILIES":
        registry = families()
        return tuple(n for n in registry if registry.get(n).has_dropout)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _round(value: float) -> float:
    """``value`` to 6 significant digits (no ``0.15000000000000002`` in a search space)."""
    return float(f"{value:.6g}")


def _float(name: str, low: float, high: float, default: float, *, step: float | None = None,
           log: bool = False) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "type": "Float", "min_value": _round(low),
                           "max_value": _round(high), "default": _round(default)}
    if step is not None:
        row["step"] = step
    row["sampling"] = "log" if log else "linear"
    return row


def _distinct_range(plan: Plan, knobs: Knobs, row: dict[str, Any]) -> dict[str, Any]:
    """Narrow a multiplier's grid to the contiguous run around its default whose grid points
    all give different specs (family floors and ceilings collapse neighbouring points)."""
    step = row["step"]
    count = int(round((row["max_value"] - row["min_value"]) / step))
    grid = [_round(row["min_value"] + i * step) for i in range(count + 1)]
    width = row["name"] == "width_multiplier"

    def key(value: float) -> Knobs:
        return plan.scale(knobs, value, 1.0) if width else plan.scale(knobs, 1.0, value)

    home = min(range(len(grid)), key=lambda i: abs(grid[i] - row["default"]))
    lo = hi = home
    seen = {key(grid[home])}
    while lo > 0 and key(grid[lo - 1]) not in seen:
        lo -= 1
        seen.add(key(grid[lo]))
    while hi < len(grid) - 1 and key(grid[hi + 1]) not in seen:
        hi += 1
        seen.add(key(grid[hi]))
    return {**row, "min_value": grid[lo], "max_value": grid[hi]}


def resolution_axis(plan: Plan, knobs: Knobs, high: float) -> dict[str, Any] | None:
    """The input resolution as a keras-tuner ``Int`` row (pixels, the family's levels), for
    families whose plan scales resolution; ``None`` otherwise. Kept beside the hyperparameters
    (``search_space["resolution_axis"]``); ``Proposal.respec(resolution=...)`` applies it."""
    if not isinstance(plan, ResolutionPlan):
        return None
    current = plan.levels[knobs[-1]]
    top = current if high <= 1.0 else plan.levels[-1]
    low = plan.levels[0]
    return {"name": "resolution", "type": "Int", "min_value": low, "max_value": top,
            "step": QUANTUM, "default": current}


def search_space(plan: Plan, binding: str | None, utilisation: dict[str, dict[str, Any]],
                 reg: Regularisation, recipe: Recipe, knobs: Knobs | None = None) -> \
        dict[str, Any]:
    """Ranges for width multiplier, depth multiplier, dropout, learning rate and weight decay.

    Multipliers span ``[0.5, 1.0]`` when a user budget binds (the proposal already fills it, so
    larger models would break it). When only the data-derived capacity binds, the width spans
    ``[0.5, 2.0]``, a factor of 2 either way on a log scale (archscale's optimal-dimensions
    study found the knee at 2x the proposal's width on four of the ten tasks it measured:
    MNIST-1D at 1 k and 16 k, the medium and hard textures), and the depth ``[0.5, 1.5]``.
    Multiplier ranges are narrowed to the grid points that give distinct specs (family floors
    and ceilings would repeat one spec). Dropout spans ``[0, 0.5]``; learning rate ``[lr / 10, 3 lr]`` and weight decay
    ``[wd / 10, 10 wd]``, both log-sampled (Bergstra & Bengio 2012).

    The architecture knobs are the family's ``tuning_knobs``: the width multiplier, the depth
    multiplier where its plan scales depth, the dropout where its spec has one.

    Args:
        plan: The proposal's plan (its family says which knobs exist).
        binding: Name of the binding limit.
        utilisation: The proposal's utilisation table.
        reg: Regularisation defaults.
        recipe: Training recipe.

    Returns:
        ``{"hyperparameters": [...], "apply": ..., "note": ...}``.
    """
    user_bound = binding is not None and utilisation[binding]["user"]
    width_high = 1.0 if user_bound else DATA_BOUND_WIDTH_HIGH
    depth_high = 1.0 if user_bound else DATA_BOUND_DEPTH_HIGH
    rows = {"width_multiplier": _float("width_multiplier", 0.5, width_high, 1.0, step=0.125),
            "depth_multiplier": _float("depth_multiplier", 0.5, depth_high, 1.0, step=0.25),
            "dropout": _float("dropout", 0.0, 0.5, reg.dropout, step=0.05)}
    if knobs is not None:
        for name in ("width_multiplier", "depth_multiplier"):
            rows[name] = _distinct_range(plan, knobs, rows[name])
    hps = [rows[knob] for knob in families().get(plan.family).tuning_knobs]
    lr = recipe.learning_rate
    hps.append(_float("learning_rate", lr / 10, lr * 3, lr, log=True))
    wd = reg.weight_decay
    hps.append(_float("weight_decay", wd / 10, wd * 10, wd, log=True))
    space = {
        "hyperparameters": hps,
        "apply": "Proposal.respec(width_multiplier=..., depth_multiplier=..., dropout=...)",
        "note": "multipliers scale the proposal's widths (multiples of 8) and blocks per stage "
                "(rounded up); each multiplier's range holds only points that give distinct "
                "specs; re-check the budget of each trial with archscale.profile",
    }
    axis = resolution_axis(plan, knobs, width_high) if knobs is not None else None
    if axis is not None:
        space["resolution_axis"] = axis
        space["apply"] = space["apply"][:-1] + ", resolution=...)"
    return space
