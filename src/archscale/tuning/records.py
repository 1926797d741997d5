"""What a search produced: one ``TrialRecord`` per trial and the ``TuneResult`` (pure Python).

``TuneResult.to_dict()`` is what ``archscale tune --json`` prints: ``tuner``, ``trials`` (in
trial order), ``skipped_over_budget``, ``best`` and ``pareto``. Selection is honest: the best
trial is the one with the highest *validation* accuracy (a hold-out carved from the training
set; ties go to fewer MACs, then the earlier trial), and the Pareto front is validation
accuracy against MACs (``archscale.pareto``); the test accuracy of each trial is reported
beside it and never used to choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from archscale.pareto import front_indices, pareto_front

OK, SKIPPED, FAILED = "ok", "skipped_over_budget", "failed"
STATUSES = (OK, SKIPPED, FAILED)

#: The keys of one trial in the JSON (in order).
TRIAL_KEYS = ("trial_id", "status", "hyperparameters", "params", "macs", "val_accuracy",
              "test_accuracy", "train_seconds", "train_flops", "is_proposal", "reason")

#: Objectives of the search's Pareto front.
PARETO_OBJECTIVES = {"val_accuracy": "max", "macs": "min"}


@dataclass(frozen=True)
class TrialRecord:
    """One trial.

    Attributes:
        trial_id: keras-tuner's trial id.
        status: ``ok`` (trained), ``skipped_over_budget`` (never built) or ``failed``.
        hyperparameters: The point (keras-tuner's values, Hyperband keys included).
        params / macs / flops: Exact analytic costs of the candidate (per example).
        val_accuracy: Accuracy on the validation hold-out at the tested epoch.
        test_accuracy: Accuracy on the test set (reported, never used for selection).
        train_seconds: Wall time of ``fit``.
        train_flops: Analytic training FLOPs (3 x forward FLOPs x examples x epochs run).
        is_proposal: The point is the proposal's own.
        reason: Why it was skipped or failed (``None`` when ok).
        spec: The candidate's ``spec.to_dict()``.
        job_key: Key of its row in the result store (ok and diverged trials).
        epochs: Epochs the recipe allowed; ``epochs_run``: epochs trained.
    """

    trial_id: str
    status: str
    hyperparameters: dict[str, Any]
    params: int | None = None
    macs: int | None = None
    flops: int | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    train_seconds: float | None = None
    train_flops: int | None = None
    is_proposal: bool = False
    reason: str | None = None
    spec: dict[str, Any] | None = None
    job_key: str | None = None
    epochs: int | None = None
    epochs_run: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the trial (``TRIAL_KEYS``)."""
        return {key: getattr(self, key) for key in TRIAL_KEYS}

    def to_state(self) -> dict[str, Any]:
        """Every field (saved in the tuner's project directory for resuming)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "TrialRecord":
        """Inverse of ``to_state``."""
        return cls(**{k: v for k, v in state.items() if k in cls.__dataclass_fields__})


def best_trial(trials: Sequence[TrialRecord]) -> TrialRecord | None:
    """The ok trial with the highest validation accuracy (ties: fewer MACs, then earlier)."""
    scored = [(i, t) for i, t in enumerate(trials) if t.status == OK and t.val_accuracy is not None]
    if not scored:
        return None
    return max(scored, key=lambda it: (it[1].val_accuracy, -(it[1].macs or 0), -it[0]))[1]


def pareto_ids(trials: Sequence[TrialRecord]) -> list[str]:
    """Ids of the ok trials on the validation-accuracy-vs-MACs front, in trial order."""
    ok = [t for t in trials if t.status == OK]
    results = pareto_front([{"name": t.trial_id, "val_accuracy": t.val_accuracy,
                             "macs": t.macs} for t in ok], PARETO_OBJECTIVES)
    return [ok[i].trial_id for i in front_indices(results)]


@dataclass(frozen=True)
class TuneResult:
    """The outcome of ``archscale.tune``.

    Attributes:
        tuner: ``random``, ``grid``, ``bayesian`` or ``hyperband``.
        trials: Every trial, in trial order.
        dataset: The dataset name.
        run_id: The search's id (a hash of its arguments): the store's ``tune_run`` column
            and the project directory's name.
        directory: The keras-tuner project directory (resume state, ``result.json``,
            ``pareto.csv``).
        trials_requested: Trained trials asked for.
        stopped: Why the search ended early (``None`` when it trained every requested
            trial): too many consecutive skips or failures, or an exhausted space.
        store_path: The result store the trials were written to.
    """

    tuner: str
    trials: tuple[TrialRecord, ...]
    dataset: str
    run_id: str
    directory: str
    trials_requested: int
    stopped: str | None = None
    store_path: str | None = None
    extras: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def skipped_over_budget(self) -> int:
        """Candidates skipped because their analytic costs break the budget."""
        return sum(t.status == SKIPPED for t in self.trials)

    @property
    def trained(self) -> int:
        """Trials trained (ok or failed in training)."""
        return sum(t.status != SKIPPED for t in self.trials)

    @property
    def best(self) -> TrialRecord | None:
        """See ``best_trial``."""
        return best_trial(self.trials)

    @property
    def pareto(self) -> list[str]:
        """See ``pareto_ids``."""
        return pareto_ids(self.trials)

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 1 when the search stopped early or no trial trained, else 0."""
        return 1 if self.stopped is not None or self.best is None else 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``archscale tune --json``."""
        best = self.best
        return {"tuner": self.tuner, "trials": [t.to_dict() for t in self.trials],
                "skipped_over_budget": self.skipped_over_budget,
                "best": None if best is None else best.to_dict(), "pareto": self.pareto}
