"""The searches a study compares on a task, all with the task's recipe (``grid.study_recipe``).

- ``seed_random``: the seed question's first code, keras-tuner's stock ``RandomSearchOracle``
  over ``Dense(units=hp.Int("units", 32, 512, step=32), relu) -> Dense(classes, softmax)``
  (vector tasks), scored on the recipe's validation split instead of the test set.
- ``bayesian_unseeded`` / ``hyperband_unseeded``: keras-tuner's Bayesian optimisation and
  Hyperband over archscale's search space (``Proposal.search_space``), without the proposal as
  their first trial (``archscale.tune(..., warm_start=False)``).
- ``archscale``: ``archscale tune`` as shipped: Bayesian, the proposal as its first trial,
  over-budget candidates skipped.

Each search of ``trials`` trials is run once per search seed; the 10-trial figures of a
30-trial search are its first 10 trials (keras-tuner's random and Bayesian oracles draw the
same first trials whatever ``max_trials`` is, and Hyperband's brackets depend only on its
``max_epochs``). Trials are rows of the study's store, so a re-run trains nothing twice
(the seed-style search's rows are found under any machine's environment the store records).
Every search returns its trials in order as ``SearchTrial`` rows.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from archscale.errors import SpecError
from archscale.heuristics.proposal import Proposal
from archscale.measure.datasets import load_dataset
from archscale.profiling import profile
from archscale.runner.jobs import recorded_environments, sha256_hex
from archscale.runner.store import Store
from archscale.study.grid import study_recipe
from archscale.study.tasks import StudyTask
from archscale.tuning.store_rows import put_trial, stored_trial, trial_job, trial_row

SEARCHES = ("seed_random", "bayesian_unseeded", "hyperband_unseeded", "archscale")
SEARCH_LABELS = {"seed_random": "keras-tuner RandomSearch, Dense 32..512 (seed-style)",
                 "bayesian_unseeded": "keras-tuner Bayesian, archscale's space, unseeded",
                 "hyperband_unseeded": "keras-tuner Hyperband, archscale's space, unseeded",
                 "archscale": "archscale tune (Bayesian, seeded with the proposal)"}
_TUNE = {"bayesian_unseeded": ("bayesian", False), "hyperband_unseeded": ("hyperband", False),
         "archscale": ("bayesian", True)}


@dataclass(frozen=True)
class SearchTrial:
    """One trained trial of a search, in the search's order."""

    task: str
    search: str
    search_seed: int
    trial: int
    params: int
    macs: int
    val_accuracy: float
    test_accuracy: float
    train_flops: float
    train_seconds: float
    is_proposal: bool
    hyperparameters: str

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready dict."""
        return asdict(self)


def dataset_desc(task: StudyTask) -> dict[str, Any]:
    """``{"name", "options"}`` of the task's dataset (the sweep's canonical form)."""
    options = {k: v for k, v in task.dataset.items() if k != "name"}
    return {"name": task.dataset["name"], "options": dict(sorted(options.items()))}


def run_search(task: StudyTask, proposal: Proposal, search: str, seed: int, *, db: str,
               work: str) -> list[SearchTrial]:
    """Run (or resume) one search and return its trained trials in order.

    Raises:
        SpecError: an unknown search, or ``seed_random`` on a task that is not a vector.
    """
    if search not in SEARCHES:
        raise SpecError(f"unknown search; accepted: {', '.join(SEARCHES)}. "
                        f"Received: search={search!r}")
    if search == "seed_random":
        return _seed_random(task, proposal, seed, db=db, work=work)
    from archscale.tuning.api import tune

    tuner, warm = _TUNE[search]
    recipe = study_recipe(task, proposal)
    result = tune(proposal, dataset=dict(task.dataset), tuner=tuner, trials=task.search_trials,
                  epochs=recipe.epochs, seed=seed, warm_start=warm, db=db,
                  directory=os.path.join(work, "tune", task.name), quiet=True)
    out = []
    for index, record in enumerate(r for r in result.trials if r.status == "ok"):
        out.append(SearchTrial(task.name, search, seed, index + 1, int(record.params),
                               int(record.macs), float(record.val_accuracy),
                               float(record.test_accuracy), float(record.train_flops or 0),
                               float(record.train_seconds or 0), bool(record.is_proposal),
                               _hp_text(record.hyperparameters)))
    return out


def proposal_key(proposal: Proposal) -> str:
    """8 hex digits naming a proposal's spec, recipe and search space: a search's files carry
    it, so a search made for another proposal, or over another space, is never read as this
    one's."""
    return sha256_hex({"spec": proposal.spec.to_dict(), "recipe": proposal.recipe.to_dict(),
                       "space": proposal.search_space})[:8]


def _hp_text(values: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in sorted(values.items()) if not k.startswith("tuner/"))


def _stored_anywhere(store: Store, spec: Any, recipe: Any, desc: Mapping[str, Any], seed: int,
                     label: str) -> dict[str, Any] | None:
    """A trial's search row under this machine's environment or any other the store records
    (``runner.jobs.recorded_environments``): a committed study store read on another
    machine does not train the seed-style search again."""
    for env in recorded_environments(store):
        row = stored_trial(store, trial_job(spec, recipe, desc, seed, label, env))
        if row is not None:
            return row
    return None


def _seed_random(task: StudyTask, proposal: Proposal, seed: int, *, db: str,
                 work: str) -> list[SearchTrial]:
    """keras-tuner's stock RandomSearch over Dense(units), the seed's first example."""
    if len(task.input_shape) != 1:
        raise SpecError("the seed-style random search builds Dense(units) on a vector input. "
                        f"Received: input_shape={task.input_shape}")
    import keras
    import keras_tuner
    from keras_tuner.engine.base_tuner import BaseTuner

    from archscale.measure.accuracy import measure_accuracy
    from archscale.reference_archs.mlp import MLPSpec

    desc = dataset_desc(task)
    data = load_dataset(desc["name"], **desc["options"])
    recipe = study_recipe(task, proposal)
    rows: dict[str, dict[str, Any]] = {}

    def spec_of(units: int) -> Any:
        return MLPSpec(input_shape=task.input_shape, classes=task.classes, widths=(units,),
                       dropout=(0.0,))

    def trained(trial_id: str, units: int, store: Store) -> dict[str, Any]:
        spec = spec_of(units)
        label = f"seed_random units={units}"
        row = _stored_anywhere(store, spec, recipe, desc, seed, label)
        if row is None:
            job = trial_job(spec, recipe, desc, seed, label)
            start = time.perf_counter()
            result = measure_accuracy(spec, data, seeds=(seed,), recipe=recipe)
            keras.backend.clear_session()
            run = result.runs[0]
            prof = profile(spec)
            row = trial_row(job, result.to_row(),
                            {"params": prof.params, "macs": prof.macs, "flops": prof.flops},
                            {"tune_run": f"seed_random-{task.name}-{seed}",
                             "tune_tuner": "seed_random", "tune_trial": trial_id,
                             "tune_is_proposal": False, "val_accuracy": run.val_accuracy,
                             "test_accuracy": run.test_accuracy,
                             "hyperparameters": {"units": units}},
                            {}, time.perf_counter() - start, result.total_seconds)
            put_trial(store, job, row)
        return row

    class SeedRandom(BaseTuner):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
            units = trial.hyperparameters.values["units"]
            with Store(db) as store:
                rows[trial.trial_id] = trained(trial.trial_id, units, store)
            return {"val_accuracy": rows[trial.trial_id]["val_accuracy"]}

    hp = keras_tuner.HyperParameters()
    hp.Int("units", min_value=32, max_value=512, step=32)
    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("val_accuracy", "max"), max_trials=task.search_trials,
        seed=seed + 1, hyperparameters=hp)
    with contextlib.redirect_stdout(io.StringIO()):
        tuner = SeedRandom(oracle, directory=os.path.join(work, "seed_random", task.name),
                           project_name=f"seed{seed}_{proposal_key(proposal)}")
        tuner.search(verbose=0)
    out = []
    with Store(db) as store:
        for index, tid in enumerate(t for t in sorted(oracle.trials)
                                    if oracle.trials[t].status == "COMPLETED"):
            units = oracle.trials[tid].hyperparameters.values["units"]
            row = rows.get(tid) or trained(tid, units, store)
            out.append(SearchTrial(task.name, "seed_random", seed, index + 1,
                                   int(row["params"]), int(row["macs"]),
                                   float(row["val_accuracy"]), float(row["accuracy_mean"]),
                                   float(row.get("train_flops") or 0),
                                   float(row.get("train_seconds") or 0), False,
                                   f"units={units}"))
    return out
