"""A keras-tuner ``HyperModel`` built from a ``Proposal``.

``proposal_hypermodel(proposal)`` declares the proposal's search space
(``archscale.tuning.space``) and maps each point to an archscale spec through the family's
scaling plan. ``spec(values)`` gives the spec without TensorFlow (what the budget filter
checks); ``build(hp)`` returns the Keras model compiled with the point's recipe, so the
hypermodel also works with keras-tuner's stock tuners
(``keras_tuner.RandomSearch(proposal_hypermodel(p), objective="val_accuracy", ...)``).
"""

from __future__ import annotations

from typing import Any, Mapping

from archscale.heuristics.proposal import Proposal
from archscale.specs import ArchSpec
from archscale.tuning.space import (candidate_spec, declare, hyperparameter_rows, model_values,
                                    trial_recipe)


def proposal_hypermodel(proposal: Proposal) -> Any:
    """A ``keras_tuner.HyperModel`` over the proposal's search space (imports keras-tuner).

    Args:
        proposal: A proposal with its plan (made by ``propose`` or loaded with
            ``archscale.heuristics.saved_proposal``).

    Returns:
        The hypermodel; ``.proposal``, ``.rows``, ``.spec(values)``, ``.recipe(values)``.
    """
    import keras_tuner

    class ProposalHyperModel(keras_tuner.HyperModel):
        """The proposal's search space; every point is a real archscale spec."""

        def __init__(self) -> None:
            super().__init__(name=f"archscale_{proposal.family}")
            self.proposal = proposal
            self.rows = hyperparameter_rows(proposal)

        def declare_hyperparameters(self, hp: Any) -> None:
            declare(hp, self.rows)

        def spec(self, values: Mapping[str, Any]) -> ArchSpec:
            """The spec at ``values`` (no TensorFlow)."""
            return candidate_spec(self.proposal, model_values(values))

        def recipe(self, values: Mapping[str, Any], epochs: int | None = None) -> Any:
            """The training recipe at ``values``."""
            return trial_recipe(self.proposal.recipe, values, epochs)

        def build(self, hp: Any) -> Any:
            from archscale.measure.accuracy import compile_with_recipe
            from archscale.profiling import build

            declare(hp, self.rows)
            model = build(self.spec(hp.values))
            compile_with_recipe(model, self.recipe(hp.values), False, 1, "auto")
            return model

    return ProposalHyperModel()
