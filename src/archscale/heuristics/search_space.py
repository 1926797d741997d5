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
from archscale.reference_archs.scaling_plan import Plan
from archscale.training_recipe import Recipe


def __getattr__(name: str) -> Any:
    """``DROPOUT_FAMILIES``: the families whose spec has a dropout field, in registry order,
    read from each family's ``dropout_field`` on first access (PEP 562), so importing this
    module loads no family. Prefer ``families().get(name).has_dropout``."""
    if name == "DROPOUT_FAMILIES":
        registry = families()
        return tuple(n for n in registry if registry.get(n).has_dropout)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _float(name: str, low: float, high: float, default: float, *, step: float | None = None,
           log: bool = False) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "type": "Float", "min_value": low, "max_value": high,
                           "default": default}
    if step is not None:
        row["step"] = step
    row["sampling"] = "log" if log else "linear"
    return row


def search_space(plan: Plan, binding: str, utilisation: dict[str, dict[str, Any]],
                 reg: Regularisation, recipe: Recipe) -> dict[str, Any]:
    """Ranges for width multiplier, depth multiplier, dropout, learning rate and weight decay.

    Multipliers span ``[0.5, 1.0]`` when a user budget binds (the proposal already fills it, so
    larger models would break it) and ``[0.5, 1.5]`` when only the data-derived capacity binds.
    Dropout spans ``[0, 0.5]``; learning rate ``[lr / 10, 3 lr]`` and weight decay
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
    high = 1.0 if utilisation[binding]["user"] else 1.5
    rows = {"width_multiplier": _float("width_multiplier", 0.5, high, 1.0, step=0.125),
            "depth_multiplier": _float("depth_multiplier", 0.5, high, 1.0, step=0.25),
            "dropout": _float("dropout", 0.0, 0.5, reg.dropout, step=0.05)}
    hps = [rows[knob] for knob in families().get(plan.family).tuning_knobs]
    lr = recipe.learning_rate
    hps.append(_float("learning_rate", lr / 10, lr * 3, lr, log=True))
    wd = reg.weight_decay
    hps.append(_float("weight_decay", wd / 10, wd * 10, wd, log=True))
    return {
        "hyperparameters": hps,
        "apply": "Proposal.respec(width_multiplier=..., depth_multiplier=..., dropout=...)",
        "note": "multipliers scale the proposal's widths (multiples of 8) and blocks per stage "
                "(rounded up); re-check the budget of each trial with archscale.profile",
    }
