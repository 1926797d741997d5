"""The keras-tuner ``Tuner`` of a search: keras-tuner drives the trials, ``TrialRunner`` runs
them (budget check, store, training) and the oracle (``oracles``) chooses them.

The tuner subclasses keras-tuner's ``BaseTuner`` (not the Keras ``Tuner``): a trial is trained
by ``archscale.measure.accuracy`` with the documented recipe, early stopping and divergence
guard, not by keras-tuner's own ``fit`` loop, so no model checkpoint is written per trial; the
project directory holds keras-tuner's ``oracle.json``, ``tuner0.json`` and one
``trial_*/trial.json`` per trial, which is what resuming needs.
"""

from __future__ import annotations

import functools
from typing import Any

from archscale.tuning.trials import TrialFailed, TrialSkipped


@functools.lru_cache(maxsize=1)
def tuner_class() -> type:
    """``ArchscaleTuner`` (imports keras-tuner)."""
    import keras_tuner
    from keras_tuner.engine.base_tuner import BaseTuner

    class ArchscaleTuner(BaseTuner):
        """Runs each trial through a ``TrialRunner``.

        Args:
            oracle: A budget-aware oracle (``oracles.make_oracle``).
            hypermodel: ``hypermodel.proposal_hypermodel(proposal)``.
            runner: The ``TrialRunner``.
            directory / project_name: keras-tuner's project location.
        """

        def __init__(self, oracle: Any, hypermodel: Any, runner: Any, **kwargs: Any) -> None:
            self.runner = runner
            runner.oracle = oracle
            super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)

        def _populate_initial_space(self) -> None:
            # The space has no conditional hyperparameters: declaring it is enough (the base
            # class would also build a Keras model to discover them).
            hp = self.oracle.get_space()
            self.hypermodel.declare_hyperparameters(hp)
            self.oracle.update_space(hp)

        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
            try:
                return self.runner(trial)
            except (TrialSkipped, TrialFailed) as exc:
                raise keras_tuner.errors.FailedTrialError(str(exc)) from None

        def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
            """Nothing to save: trials keep their results in the store, not as models."""

        def load_model(self, trial: Any) -> Any:
            """Rebuild the (untrained) model of a trial; retrain it with its recipe."""
            return self.hypermodel.build(trial.hyperparameters)

    return ArchscaleTuner
