"""keras-tuner oracles that start at the proposal and step over candidates that break the budget.

keras-tuner has no public warm-start API and no notion of a candidate that is skipped rather
than failed, so each of its four oracles gets the same mixin (``oracle_class(name)``):

- **Warm start.** The first values an oracle draws are the proposal's: ``_random_values``
  (what ``RandomSearchOracle``, ``BayesianOptimizationOracle`` and ``HyperbandOracle`` draw
  their random points with) returns the proposal's point while no trial has started;
  ``GridSearchOracle`` starts at every hyperparameter's default, which is the proposal's value.
- **Skips are not failures.** The tuner ends an over-budget trial as ``FAILED`` without
  building it and records it in ``records`` as ``skipped_over_budget``;
  ``_check_consecutive_failures`` leaves skipped trials out, so only real training failures
  count towards ``max_consecutive_failed_trials``.
- **Counting trained trials.** ``max_trials`` is unset; ``populate_space`` stops once
  ``trained_target`` trials that were not skipped exist, or after ``max_skips`` skips in a row
  (the search then gives up and says so in ``stop_reason``).
- **Bayesian optimisation** fits its Gaussian process on the completed trials plus every
  skipped point, scored as the worst completed trial, so the acquisition function moves away
  from the infeasible region instead of proposing the same over-budget optimum again.

The mixin's state (records, stop reason) is saved with the oracle's own (``oracle.json``), so
an interrupted search resumes with it.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

from archscale.errors import SpecError
from archscale.tuning.records import SKIPPED

#: ``--tuner`` choices -> keras-tuner oracle class names.
TUNERS: dict[str, str] = {"random": "RandomSearchOracle", "grid": "GridSearchOracle",
                          "bayesian": "BayesianOptimizationOracle",
                          "hyperband": "HyperbandOracle"}

#: Give up after this many over-budget candidates in a row.
MAX_CONSECUTIVE_SKIPS = 50


def check_tuner(name: str) -> str:
    """``name`` if it is a known tuner.

    Raises:
        SpecError: unknown tuner (the message lists the accepted ones).
    """
    if name not in TUNERS:
        raise SpecError(f"unknown tuner; accepted: {', '.join(TUNERS)}. "
                        f"Received: tuner={name!r}")
    return name


class _BudgetAware:
    """The mixin (see the module docstring); call ``setup_archscale`` after ``__init__``."""

    def setup_archscale(self, start_values: Mapping[str, Any], trained_target: int,
                        max_skips: int = MAX_CONSECUTIVE_SKIPS) -> None:
        self.start_values = dict(start_values)
        self.trained_target = trained_target
        self.max_skips = max_skips
        self.records: dict[str, dict[str, Any]] = {}
        self.stop_reason: str | None = None

    # -- bookkeeping --------------------------------------------------------------------------

    def skipped_ids(self) -> set[str]:
        """Trial ids recorded as skipped over budget."""
        return {tid for tid, rec in self.records.items() if rec.get("status") == SKIPPED}

    def trained_count(self) -> int:
        """Trials created that were not skipped (running, completed or failed)."""
        return len(set(self.trials) - self.skipped_ids())

    def trailing_skips(self) -> int:
        """Skips at the end of the finished trials, in a row."""
        skipped, count = self.skipped_ids(), 0
        for tid in reversed(self.end_order):
            if tid not in skipped:
                break
            count += 1
        return count

    # -- keras-tuner hooks ----------------------------------------------------------------------

    def _random_values(self) -> dict[str, Any] | None:
        if self.start_values and not self.start_order:  # the first trial: the proposal
            return dict(self.start_values)
        return super()._random_values()  # type: ignore[misc]

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        if self.trailing_skips() >= self.max_skips:
            self.stop_reason = (f"gave up after {self.max_skips} consecutive candidates over "
                                f"budget ({self.trained_count()} of {self.trained_target} "
                                "trials trained); loosen the budget or narrow the search space")
            return {"status": "STOPPED", "values": None}
        if self.trained_count() >= self.trained_target:
            return {"status": "STOPPED", "values": None}
        return super().populate_space(trial_id)  # type: ignore[misc]

    def _check_consecutive_failures(self) -> None:
        skipped, failures = self.skipped_ids(), 0
        for tid in self.end_order:
            if tid in skipped:
                continue
            failures = failures + 1 if self.trials[tid].status == "FAILED" else 0
            if failures >= self.max_consecutive_failed_trials:
                self.stop_reason = (f"{failures} consecutive trials failed in training; last: "
                                    f"{self.records.get(tid, {}).get('reason')}")
                raise RuntimeError(self.stop_reason)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()  # type: ignore[misc]
        state["archscale"] = {"records": self.records, "stop_reason": self.stop_reason}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)  # type: ignore[misc]
        saved = state.get("archscale") or {}
        self.records = dict(saved.get("records") or {})
        self.stop_reason = saved.get("stop_reason")


class _SkipAwareBayesian:
    """Bayesian optimisation that also learns from skipped points (scored as the worst)."""

    def _vectorize_trials(self) -> Any:
        import numpy as np

        x, y = super()._vectorize_trials()  # type: ignore[misc]
        skipped = [self.trials[t] for t in sorted(self.skipped_ids()) if t in self.trials]
        if not skipped or not len(y):
            return x, y
        space = self._nonfixed_space()
        rows = [[hp.value_to_prob(t.hyperparameters.values.get(hp.name, hp.default))
                 for hp in space] for t in skipped]
        worst = float(np.max(y))
        return (np.vstack([x, np.asarray(rows, dtype=float)]),
                np.concatenate([y, np.full(len(rows), worst)]))


@functools.lru_cache(maxsize=None)
def oracle_class(name: str) -> type:
    """The budget-aware, warm-started subclass of keras-tuner's oracle for ``name``."""
    import keras_tuner

    base = getattr(keras_tuner.oracles, TUNERS[check_tuner(name)])
    mixins = (_BudgetAware, _SkipAwareBayesian) if name == "bayesian" else (_BudgetAware,)
    return type(f"Archscale{base.__name__}", (*mixins, base), {"__module__": __name__})


def make_oracle(name: str, *, start_values: Mapping[str, Any], trained_target: int, seed: int,
                max_epochs: int, hyperparameters: Any = None,
                max_skips: int = MAX_CONSECUTIVE_SKIPS) -> Any:
    """A ready oracle.

    Args:
        name: ``random``, ``grid``, ``bayesian`` or ``hyperband``.
        start_values: The proposal's point (the first trial); empty: no warm start (the
            oracle draws its first trial as keras-tuner's stock oracle does).
        trained_target: Trained trials to run.
        seed: keras-tuner's seed (it treats 0 as "random", so pass a positive one).
        max_epochs: Hyperband's ``max_epochs`` (the recipe's epochs).
        hyperparameters: A declared ``HyperParameters`` (optional).
        max_skips: Consecutive skips before giving up.

    Returns:
        The oracle (objective ``val_accuracy``, maximised).
    """
    import keras_tuner

    cls = oracle_class(name)
    common: dict[str, Any] = {"objective": keras_tuner.Objective("val_accuracy", "max"),
                              "seed": seed, "hyperparameters": hyperparameters}
    if name == "hyperband":
        oracle = cls(max_epochs=max(2, max_epochs), factor=3, hyperband_iterations=None,
                     **common)
    elif name == "bayesian":
        # keras-tuner's default (3 x dimensions random points) would spend a short search on
        # random points; a third of the trials, at least 2 (the proposal and one more).
        oracle = cls(max_trials=None, num_initial_points=max(2, trained_target // 3), **common)
    else:
        oracle = cls(max_trials=None, **common)
    oracle.setup_archscale(start_values, trained_target, max_skips)
    return oracle
