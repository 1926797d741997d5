"""Running one trial: budget check first, then the store, then training (in this process).

``TrialRunner(trial)`` is what the tuner's ``run_trial`` calls:

1. the point becomes a spec (``space.candidate_spec``) and its exact analytic costs are checked
   against the budget (``budget.BudgetFilter``); an over-budget candidate is never built: it is
   recorded as ``skipped_over_budget`` with the reason and ended as skipped (not a failure);
2. the trial's accuracy job is looked up in the store; a row written by a search (an
   interrupted run resumed, or another search that trained the same spec with the same recipe,
   dataset and seed) is used as it is, so a finished trial is never trained twice;
3. otherwise ``measure_accuracy`` trains it with the trial's recipe and one seed (``train``:
   in this process; ``ray_trials.RayTrialRunner`` trains it in a fresh Ray worker), and its
   row goes into the store in one transaction. The score is the validation accuracy (a hold-out of
   the training set); the test accuracy is recorded beside it.
"""

from __future__ import annotations

import time
from typing import Any, Callable, NamedTuple

from archscale.errors import ArchscaleError
from archscale.heuristics.proposal import Proposal
from archscale.measure.accuracy import measure_accuracy
from archscale.measure.datasets import Dataset
from archscale.runner.store import Store
from archscale.tuning.budget import BudgetFilter
from archscale.tuning.records import FAILED, OK, SKIPPED, TrialRecord
from archscale.tuning.space import candidate_spec, is_proposal_point, model_values, trial_recipe
from archscale.tuning.store_rows import put_trial, stored_trial, trial_job, trial_row


class Trained(NamedTuple):
    """What training one candidate gave: ``AccuracyResult.to_row()``, the seed's validation
    and test accuracy, the ``env_*`` columns of the process that trained it, and the seconds
    of training."""

    row: dict[str, Any]
    val_accuracy: float | None
    test_accuracy: float | None
    environment: dict[str, Any]
    train_seconds_total: float


class TrialSkipped(Exception):
    """An over-budget candidate (ended as skipped, never built)."""


class TrialFailed(Exception):
    """A trial that could not be trained or diverged."""


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())[:300]


class TrialRunner:
    """Runs trials of one search (see the module docstring).

    Args:
        proposal: The starting proposal.
        dataset: The loaded dataset; ``dataset_desc`` its canonical description.
        budget_filter: The budget check.
        seed: Training seed of every trial.
        epochs: ``--epochs`` (default: the recipe's).
        store: The result store.
        tune: ``tune_run`` and ``tune_tuner`` values for the rows.
        on_record: Called with every finished ``TrialRecord`` (progress).
    """

    def __init__(self, proposal: Proposal, dataset: Dataset, dataset_desc: dict[str, Any],
                 budget_filter: BudgetFilter, seed: int, epochs: int | None, store: Store,
                 tune: dict[str, Any], on_record: Callable[[TrialRecord], None]) -> None:
        self.proposal, self.dataset, self.dataset_desc = proposal, dataset, dataset_desc
        self.budget_filter, self.seed, self.epochs = budget_filter, seed, epochs
        self.store, self.tune, self.on_record = store, tune, on_record
        self.oracle: Any = None
        self.trained_now = 0

    def _finish(self, record: TrialRecord) -> TrialRecord:
        self.oracle.records[record.trial_id] = record.to_state()
        self.on_record(record)
        return record

    def __call__(self, trial: Any) -> dict[str, float]:
        values = dict(trial.hyperparameters.values)
        base = {"trial_id": trial.trial_id, "hyperparameters": values,
                "is_proposal": is_proposal_point(self.proposal, values)}
        try:
            spec = candidate_spec(self.proposal, model_values(values))
            verdict = self.budget_filter.check(spec)
        except ArchscaleError as exc:
            self._finish(TrialRecord(status=FAILED, reason=_one_line(exc), **base))
            raise TrialFailed(str(exc)) from None
        costs = {"params": verdict.costs.params, "macs": verdict.costs.macs,
                 "flops": verdict.costs.flops}
        base.update(costs, spec=spec.to_dict())
        if not verdict.fits:
            self._finish(TrialRecord(status=SKIPPED, reason=verdict.reason, **base))
            raise TrialSkipped(verdict.reason)
        recipe = trial_recipe(self.proposal.recipe, values, self.epochs)
        job = trial_job(spec, recipe, self.dataset_desc,
                        self.seed, f"tune {self.tune['tune_run']}#{trial.trial_id}")
        row = stored_trial(self.store, job)
        if row is None:
            row = self._train(job, spec, recipe, costs, values, base["is_proposal"],
                              trial.trial_id)
        record = TrialRecord(
            status=OK, job_key=job.key, val_accuracy=row.get("val_accuracy"),
            test_accuracy=row.get("accuracy_mean"), train_seconds=row.get("train_seconds"),
            train_flops=row.get("train_flops"), epochs=recipe.epochs,
            epochs_run=(row.get("epochs_run_per_seed") or [None])[0], **base)
        if row.get("diverged") or record.val_accuracy is None:
            reasons = row.get("divergence_reasons") or ["no validation accuracy"]
            self._finish(TrialRecord(**{**record.to_state(), "status": FAILED,
                                        "reason": _one_line(reasons[0])}))
            raise TrialFailed(reasons[0])
        self._finish(record)
        return {"val_accuracy": float(record.val_accuracy)}

    def close(self) -> None:
        """Release what the runner holds (nothing in-process; the Ray runner disconnects)."""

    def train(self, spec: Any, recipe: Any) -> Trained:
        """Train one candidate in this process (the Ray runner trains it in a Ray worker).

        Raises:
            Exception: whatever training raises (the trial fails with it).
        """
        import keras

        from archscale.measure.device import record_environment

        try:
            result = measure_accuracy(spec, self.dataset, seeds=(self.seed,), recipe=recipe)
        finally:
            keras.backend.clear_session()
        run = result.runs[0]
        return Trained(result.to_row(), run.val_accuracy, run.test_accuracy,
                       dict(record_environment(xla=False, dtype="float32")),
                       result.total_seconds)

    def _train(self, job: Any, spec: Any, recipe: Any, costs: dict[str, Any],
               values: dict[str, Any], is_proposal: bool, trial_id: str) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            trained = self.train(spec, recipe)
        except Exception as exc:  # noqa: BLE001 - any training failure fails only this trial
            reason = str(exc) if isinstance(exc, TrialFailed) else f"{type(exc).__name__}: {exc}"
            self._finish(TrialRecord(trial_id=trial_id, status=FAILED, hyperparameters=values,
                                     is_proposal=is_proposal, spec=spec.to_dict(),
                                     reason=_one_line(reason), **costs))
            raise TrialFailed(reason) from None
        wall = time.perf_counter() - start
        tune = {**self.tune, "tune_trial": trial_id, "tune_is_proposal": is_proposal,
                "val_accuracy": trained.val_accuracy, "test_accuracy": trained.test_accuracy,
                "hyperparameters": values}
        row = trial_row(job, trained.row, costs, tune, trained.environment, wall,
                        trained.train_seconds_total)
        put_trial(self.store, job, row)
        self.trained_now += 1
        return row
