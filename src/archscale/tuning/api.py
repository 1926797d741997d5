"""``archscale.tune(...)``: a keras-tuner search that starts at the proposal, never trains an
over-budget candidate, scores on a validation split and returns the Pareto front.

Everything is checked before anything is written (a bad tuner, dataset, trial count, epoch
count, a proposal that does not fit the dataset or the budget): the store and the project
directory are only created once the search can run. The search's id (``run_id``) is a hash of
what defines it (proposal, search space, budget, dataset, tuner, epochs, seed; not the number
of trials), and its keras-tuner project lives in ``DIR/<tuner>-<run_id>``: re-running with the
same arguments resumes it (a larger ``trials`` extends it); different arguments start a new one.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
import warnings
from typing import Any, Mapping, TextIO

from archscale.errors import SpecError
from archscale.heuristics.capacity import CapacityRule
from archscale.heuristics.difficulty import probe_data
from archscale.heuristics.proposal import Proposal
from archscale.heuristics.propose import propose
from archscale.measure.datasets import Dataset, dataset_kind, load_dataset
from archscale.runner.dataset_entries import parse_dataset
from archscale.runner.jobs import sha256_hex
from archscale.runner.store import DEFAULT_DB, open_store
from archscale.specs import Budget, Task, check_positive_int
from archscale.tuning.budget import BudgetFilter
from archscale.tuning.hypermodel import proposal_hypermodel
from archscale.tuning.oracles import MAX_CONSECUTIVE_SKIPS, check_tuner, make_oracle
from archscale.tuning.progress import TrialProgress
from archscale.tuning.ray_trials import check_trial_executor, make_trial_runner
from archscale.tuning.records import TrialRecord, TuneResult
from archscale.tuning.space import proposal_values, trial_recipe
from archscale.tuning.tuner import tuner_class

DEFAULT_DIR = "archscale_tune"


def check_fits_dataset(task: Task, data: Dataset, what: str = "the task") -> None:
    """Raise ``SpecError`` unless ``task``'s input shape and classes are the dataset's."""
    if tuple(task.input_shape) != tuple(data.input_shape) or task.classes != data.classes:
        raise SpecError(f"{what} does not fit dataset {data.name!r} (input "
                        f"{'x'.join(map(str, data.input_shape))}, {data.classes} classes). "
                        f"Received: input={'x'.join(map(str, task.input_shape))}, "
                        f"classes={task.classes}")


def _prepare(task_or_proposal: Task | Proposal, budget: Budget | None,
             data: Dataset, probe: bool = True) -> tuple[Proposal, Budget]:
    if isinstance(task_or_proposal, Proposal):
        proposal = task_or_proposal
        if proposal.plan is None:
            raise SpecError("tune needs a proposal with its plan (archscale.propose, or a file "
                            "loaded with load_proposal). Received: a proposal without a plan")
        check_fits_dataset(proposal.task, data, "the proposal")
        return proposal, budget if budget is not None else proposal.budget
    if not isinstance(task_or_proposal, Task):
        raise SpecError("tune takes an archscale.Task or a Proposal. "
                        f"Received: {type(task_or_proposal).__name__}")
    check_fits_dataset(task_or_proposal, data)
    budget = budget if budget is not None else Budget()
    headroom = probe_data(data.x_train, data.y_train).headroom \
        if probe and not task_or_proposal.regression else None
    return propose(task_or_proposal, budget, capacity=CapacityRule(headroom=headroom)), budget


def run_id_of(proposal: Proposal, budget_filter: BudgetFilter, dataset_desc: dict[str, Any],
              tuner: str, epochs: int | None, seed: int, warm_start: bool = True) -> str:
    """The search's id: 12 hex digits of the hash of what defines it (``warm_start`` enters
    the hash only when off, so warm-started searches keep their ids)."""
    what = {"spec": proposal.spec.to_dict(), "space": proposal.search_space,
            "recipe": proposal.recipe.to_dict(), "budget": budget_filter.describe(),
            "dataset": dataset_desc, "tuner": tuner, "epochs": epochs, "seed": seed}
    if not warm_start:
        what["warm_start"] = False
    return sha256_hex(what)[:12]


def _check_args(tuner: str, trials: int, epochs: int | None, seed: int) -> None:
    check_tuner(tuner)
    check_positive_int("trials", trials)
    if epochs is not None:
        check_positive_int("epochs", epochs)
    check_positive_int("seed", seed, allow_zero=True)


def tune(task_or_proposal: Task | Proposal, budget: Budget | None = None, *,
         dataset: str | Mapping[str, Any] = "mnist1d", tuner: str = "bayesian", trials: int = 10,
         epochs: int | None = None, seed: int = 0, warm_start: bool = True, probe: bool = True,
         db: str = DEFAULT_DB, directory: str | None = None, quiet: bool = False,
         progress_stream: TextIO | None = None,
         max_consecutive_skips: int = MAX_CONSECUTIVE_SKIPS, executor: str = "local",
         executor_options: Mapping[str, Any] | None = None) -> TuneResult:
    """Search the proposal's space with a keras-tuner oracle (see the module docstring).

    Args:
        task_or_proposal: A ``Task`` (proposed within ``budget`` first) or a ``Proposal``.
        budget: The ceilings every trained candidate meets (default: the proposal's).
        dataset: A ``load_dataset`` name, or a table with ``name`` and loader options as a
            sweep takes it (``{"name": "mnist1d", "train_samples": 1000}``); its input shape
            and classes must be the task's.
        tuner: ``random``, ``grid``, ``bayesian`` or ``hyperband``.
        trials: Trained trials (over-budget candidates are skipped and not counted).
        epochs: Epochs per trial (default: the proposal's recipe; Hyperband's maximum).
        seed: Seeds the oracle and every trial's training: same seed, same trials.
        warm_start: The proposal is the first trial (default). ``False`` runs keras-tuner's
            oracle unseeded over the same space (its first trial is drawn like any other);
            over-budget candidates are still skipped.
        probe: When proposing from a ``Task``, scale the capacity default by the dataset's
            probed headroom (``heuristics.difficulty.probe_data`` on its training split), as
            ``archscale propose --probe`` does (default); ``False`` proposes from the task
            alone. A ``Proposal`` is used as given.
        db: The result store every trained trial is written to.
        directory: Parent of the keras-tuner project directory (default ``archscale_tune``).
        quiet: No progress lines.
        progress_stream: Where progress lines go (default stderr).
        max_consecutive_skips: Over-budget candidates in a row before the search gives up.
        executor: Where trials train: ``local`` (this process) or ``ray`` (one Ray task per
            trial in a fresh worker; the oracle stays here; see ``tuning.ray_trials``).
        executor_options: ``ray`` only: ``address`` (``auto``, ``ray://host:port``),
            ``cpus_per_job``, ``gpus_per_job``.

    Returns:
        The ``TuneResult`` (``.to_dict()`` is the ``--json`` object).

    Raises:
        SpecError: a bad argument, a dataset that does not fit, a budget the proposal breaks,
            a bad executor option or Ray not installed for ``executor="ray"``.
        ImpossibleBudgetError: no architecture fits the budget.
        InputFileError: the store cannot be opened.
    """
    _check_args(tuner, trials, epochs, seed)
    if not isinstance(warm_start, bool):
        raise SpecError(f"warm_start must be True or False. Received: warm_start={warm_start!r}")
    check_positive_int("max_consecutive_skips", max_consecutive_skips)
    ray_options = check_trial_executor(executor, executor_options)
    if isinstance(dataset, str):
        dataset_kind(dataset)
    desc = parse_dataset(dataset, "dataset")
    data = load_dataset(desc["name"], **desc["options"])
    if not isinstance(probe, bool):
        raise SpecError(f"probe must be True or False. Received: probe={probe!r}")
    proposal, budget = _prepare(task_or_proposal, budget, data, probe)
    if proposal.recipe.loss != "categorical_crossentropy":
        raise SpecError("tune trains classifiers; the proposal's recipe loss must be "
                        f"'categorical_crossentropy'. Received: loss={proposal.recipe.loss!r}")
    budget_filter = BudgetFilter(budget, proposal.recipe.optimizer,
                                 float(proposal.scaling.get("latency_correction") or 1.0))
    verdict = budget_filter.check(proposal.spec)
    if not verdict.fits:
        raise SpecError(f"the proposal does not meet the budget: {verdict.reason}")
    trial_recipe(proposal.recipe, proposal_values(proposal), epochs)  # validates epochs
    run_id = run_id_of(proposal, budget_filter, desc, tuner, epochs, seed, warm_start)
    parent = directory or DEFAULT_DIR
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise SpecError(f"--dir must be a directory. Received: --dir={parent!r}")
    store = open_store(db)
    progress = TrialProgress(trials, progress_stream, quiet)
    try:
        return _search(proposal, data, desc, budget_filter, store, progress, tuner=tuner,
                       trials=trials, epochs=epochs, seed=seed, run_id=run_id, parent=parent,
                       max_skips=max_consecutive_skips, warm_start=warm_start,
                       ray_options=ray_options)
    finally:
        store.close()


def _search(proposal: Proposal, data: Dataset, desc: dict[str, Any],
            budget_filter: BudgetFilter, store: Any, progress: TrialProgress, *, tuner: str,
            trials: int, epochs: int | None, seed: int, run_id: str, parent: str,
            max_skips: int, warm_start: bool = True, ray_options: Any = None) -> TuneResult:
    hypermodel = proposal_hypermodel(proposal)
    max_epochs = epochs or proposal.recipe.epochs
    start = proposal_values(proposal) if warm_start else {}
    oracle = make_oracle(tuner, start_values=start, trained_target=trials,
                         seed=seed + 1, max_epochs=max_epochs, max_skips=max_skips)
    runner = make_trial_runner(ray_options, proposal, data, desc, budget_filter, seed, epochs,
                               store, {"tune_run": run_id, "tune_tuner": tuner}, progress)
    project = f"{tuner}-{run_id}"
    from keras_tuner.src import config as kt_config

    debug, kt_config.DEBUG = kt_config.DEBUG, False  # no traceback per skipped trial
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            # keras-tuner prints to stdout; its Gaussian process warns about length scales
            warnings.filterwarnings("ignore", message="The optimal value found for dimension")
            search = tuner_class()(oracle, hypermodel, runner, directory=parent,
                                   project_name=project)
            search.search(verbose=0)
    except RuntimeError as exc:  # keras-tuner's consecutive-failure limit
        oracle.stop_reason = oracle.stop_reason or str(exc).splitlines()[0]
    finally:
        kt_config.DEBUG = debug
        runner.close()
    records = tuple(TrialRecord.from_state(oracle.records[tid])
                    for tid in sorted(oracle.records))
    stopped = oracle.stop_reason
    trained = sum(r.status != "skipped_over_budget" for r in records)
    if stopped is None and trained < trials:
        stopped = (f"the {tuner} search space is exhausted after {trained} of {trials} "
                   "trained trials")
    result = TuneResult(tuner=tuner, trials=records, dataset=data.name, run_id=run_id,
                        directory=os.path.join(parent, project), trials_requested=trials,
                        stopped=stopped, store_path=store.path,
                        extras={"trained_now": runner.trained_now,
                                "executor": "local" if ray_options is None else "ray"})
    write_outputs(result)
    return result


def _atomic_write(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


PARETO_CSV_COLUMNS = ("trial_id", "val_accuracy", "test_accuracy", "macs", "params",
                      "train_flops", "is_proposal", "hyperparameters")


def write_outputs(result: TuneResult) -> None:
    """Write ``result.json`` (the ``--json`` object) and ``pareto.csv`` (the front's trials)
    into the project directory, each atomically."""
    os.makedirs(result.directory, exist_ok=True)
    _atomic_write(os.path.join(result.directory, "result.json"),
                  json.dumps(result.to_dict(), indent=2) + "\n")
    front = set(result.pareto)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PARETO_CSV_COLUMNS)
    for trial in result.trials:
        if trial.trial_id in front:
            row = trial.to_dict()
            row["hyperparameters"] = json.dumps(row["hyperparameters"], sort_keys=True)
            writer.writerow([row[c] for c in PARETO_CSV_COLUMNS])
    _atomic_write(os.path.join(result.directory, "pareto.csv"), buffer.getvalue())
