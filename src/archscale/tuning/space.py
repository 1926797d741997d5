"""The search space of a proposal, and how one point of it becomes a spec and a recipe.

Pure Python (no keras-tuner, no TensorFlow). The hyperparameters are the proposal's own
(``Proposal.search_space``, written by ``archscale.heuristics.search_space``): the family's
tuning knobs (width multiplier; depth multiplier where its plan scales depth; dropout where
its spec has one) and the recipe's learning rate and weight decay. Their defaults are the
proposal's values, so the default point is the proposal itself. A point maps to a spec through
the family's own scaling plan (``Proposal.respec``: widths rounded to multiples of 8, blocks
per stage rounded up), so every candidate is a real archscale spec with exact costs.
"""

from __future__ import annotations

from typing import Any, Mapping

from archscale.errors import SpecError
from archscale.heuristics.proposal import Proposal
from archscale.specs import ArchSpec
from archscale.training_recipe import Recipe

#: Declaration order: recipe knobs first, the width last, so that a grid search (which varies
#: the last-declared hyperparameter fastest) walks the widths first.
ORDER = ("weight_decay", "learning_rate", "dropout", "depth_multiplier", "width_multiplier")

#: Hold-out used for selection when the proposal's recipe holds nothing out.
SELECTION_SPLIT = 0.1

#: keras-tuner's Hyperband bookkeeping values (not hyperparameters of the model).
HYPERBAND_KEYS = ("tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round",
                  "tuner/trial_id")


def hyperparameter_rows(proposal: Proposal) -> list[dict[str, Any]]:
    """The proposal's hyperparameter rows, in declaration order (see ``ORDER``).

    Raises:
        SpecError: the search space has no hyperparameters, or an unknown one.
    """
    rows = list((proposal.search_space or {}).get("hyperparameters") or ())
    if not rows:
        raise SpecError("the proposal has an empty search space. Received: "
                        f"search_space={proposal.search_space!r}")
    unknown = [r.get("name") for r in rows if r.get("name") not in ORDER]
    if unknown:
        raise SpecError(f"unknown hyperparameter {unknown[0]!r} in the proposal's search space; "
                        f"accepted: {', '.join(ORDER)}. Received: {unknown[0]!r}")
    return sorted(rows, key=lambda r: ORDER.index(r["name"]))


def proposal_values(proposal: Proposal) -> dict[str, Any]:
    """The proposal's point: every hyperparameter at its default."""
    return {row["name"]: row["default"] for row in hyperparameter_rows(proposal)}


def declare(hp: Any, rows: list[dict[str, Any]]) -> None:
    """Register ``rows`` on a keras-tuner ``HyperParameters`` object (``hp.Float``...)."""
    for row in rows:
        kwargs = {k: v for k, v in row.items() if k not in ("name", "type")}
        getattr(hp, row["type"])(row["name"], **kwargs)


def model_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without keras-tuner's Hyperband bookkeeping keys."""
    return {k: v for k, v in values.items() if k not in HYPERBAND_KEYS}


def candidate_spec(proposal: Proposal, values: Mapping[str, Any]) -> ArchSpec:
    """The spec at one point of the search space (the family's own scaling rules).

    Raises:
        SpecError: the point cannot be built (e.g. widths that the family refuses).
    """
    dropout = values.get("dropout")
    return proposal.respec(width_multiplier=float(values.get("width_multiplier", 1.0)),
                           depth_multiplier=float(values.get("depth_multiplier", 1.0)),
                           dropout=None if dropout is None else round(float(dropout), 4))


def trial_recipe(recipe: Recipe, values: Mapping[str, Any], epochs: int | None = None) -> Recipe:
    """The recipe one trial trains with.

    The learning rate and weight decay come from the point; ``epochs`` (``--epochs``, or
    Hyperband's ``tuner/epochs``) replaces the recipe's; a recipe that holds nothing out gets a
    ``SELECTION_SPLIT`` hold-out (trials are scored on it, never on the test set).

    Args:
        recipe: The proposal's recipe.
        values: The point.
        epochs: Epochs to train (default: the recipe's).

    Returns:
        The trial's recipe.
    """
    changes: dict[str, Any] = {}
    if "learning_rate" in values:
        changes["learning_rate"] = float(values["learning_rate"])
    if "weight_decay" in values:
        changes["weight_decay"] = float(values["weight_decay"])
    epochs = int(values.get("tuner/epochs") or epochs or recipe.epochs)
    changes["epochs"] = epochs
    if recipe.warmup_epochs >= epochs:
        changes["warmup_epochs"] = 0
    if not recipe.validation_split:
        changes["validation_split"] = SELECTION_SPLIT
    return recipe.replace(**changes)


def is_proposal_point(proposal: Proposal, values: Mapping[str, Any]) -> bool:
    """Whether ``values`` is the proposal's own point (every knob at its default)."""
    point = model_values(values)
    return all(_close(point.get(k), v) for k, v in proposal_values(proposal).items())


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return a == b
