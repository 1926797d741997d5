"""Trials as rows of the benchmark store, so ``archscale report`` shows them beside the
catalogue.

A trained trial is an ``accuracy`` measurement like any other: its job is keyed exactly as
``archscale bench`` keys one (``runner.jobs.job_key`` of the spec, the full recipe, the dataset,
the seed and the environment), so the key is stable across a resumed run (no duplicate row)
and an identical measurement is never trained twice. The row is ``measure_accuracy``'s row
plus the candidate's analytic costs (``params``, ``macs``, ``flops``) and the search's columns
(``TUNE_COLUMNS``): ``tune_run`` (the search's id), ``tune_tuner``, ``tune_trial``,
``tune_is_proposal``, ``val_accuracy``, ``test_accuracy`` and ``hyperparameters`` (JSON text).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from archscale.runner.jobs import Job, job_key, key_environment
from archscale.runner.outcome import Outcome
from archscale.runner.rows import make_row
from archscale.runner.store import Store
from archscale.specs import ArchSpec
from archscale.training_recipe import Recipe

TUNE_COLUMNS = ("tune_run", "tune_tuner", "tune_trial", "tune_is_proposal", "val_accuracy",
                "test_accuracy", "hyperparameters")

#: Worker timeout recorded on tune jobs (the search trains in-process, without one).
NO_TIMEOUT = 0.0


def trial_job(spec: ArchSpec, recipe: Recipe, dataset: Mapping[str, Any], seed: int,
              label: str, environment: Mapping[str, Any] | None = None) -> Job:
    """The accuracy ``Job`` of one trial (same key as ``archscale bench`` would give it), on
    this machine's ``key_environment`` unless ``environment`` is given (to look up a row
    another machine wrote)."""
    env = dict(environment) if environment is not None else key_environment()
    spec_dict = spec.to_dict()
    settings = {"recipe": recipe.to_dict()}
    return Job(key=job_key(spec_dict, "accuracy", settings, dict(dataset), seed, env),
               group_key=job_key(spec_dict, "accuracy", settings, dict(dataset), None, env),
               label=label, preset=None, family=spec.family, spec=spec_dict,
               measurement="accuracy", settings=settings, dataset=dict(dataset), seed=seed,
               timeout_s=NO_TIMEOUT, exclusive=False, environment=env)


def stored_trial(store: Store, job: Job) -> dict[str, Any] | None:
    """The stored row of ``job`` when it was written by a search (it has ``val_accuracy``)."""
    rows = store.rows([job.key])
    if rows and rows[0].get("status") == "ok" and "val_accuracy" in rows[0]:
        return rows[0]
    return None


def trial_row(job: Job, measured: Mapping[str, Any], costs: Mapping[str, Any],
              tune: Mapping[str, Any], environment: Mapping[str, Any], wall_s: float,
              measure_s: float) -> dict[str, Any]:
    """The flat row of a trained trial.

    Args:
        job: The trial's job.
        measured: ``AccuracyResult.to_row()``.
        costs: ``params``, ``macs``, ``flops`` of the candidate.
        tune: The ``TUNE_COLUMNS`` values (``hyperparameters`` as a dict).
        environment: ``env_*`` columns.
        wall_s / measure_s: Wall time of the trial and of the training itself.
    """
    extra = dict(tune)
    extra["hyperparameters"] = json.dumps(extra.get("hyperparameters") or {}, sort_keys=True)
    row = {**measured, **costs, **extra}
    outcome = Outcome("ok", row=row, environment=environment, wall_s=wall_s,
                      measure_s=measure_s)
    return make_row(job, outcome)


def put_trial(store: Store, job: Job, row: Mapping[str, Any]) -> None:
    """Write the row (one transaction; ``INSERT OR REPLACE`` on the job key)."""
    store.put(row, job.to_dict(), job.environment)
