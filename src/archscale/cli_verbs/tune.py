"""``archscale tune``: a keras-tuner search that starts at the proposal, never trains an
over-budget model, and prints the Pareto front."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archscale.cli_verbs.common import UsageError, positive_int, task_options_of
from archscale.cli_verbs.output import print_json, render_table

NAME = "tune"
HELP = "search around the proposal with keras-tuner, within the budget, on a validation split"
DESCRIPTION = """\
Search the proposal's space (width and depth multipliers, dropout, learning rate, weight
decay) with a keras-tuner oracle: random, grid, bayesian or hyperband. The first trial is the
proposal itself. Before a candidate is built, its exact analytic params, MACs and training
memory are checked against the budget: an over-budget candidate is skipped (never trained,
not counted as a failure), and the search still trains --trials candidates (it gives up, exit
1, after 50 skips in a row). Trials are scored on a validation split of the training set; the
test accuracy of each is reported beside it, never used to choose. Every trained trial is
written to the result store (--db), so 'archscale report' shows it beside the catalogue; the
validation-accuracy-vs-MACs Pareto front is printed and written to DIR/<tuner>-<id>/pareto.csv
with the whole result in result.json. Re-running with the same arguments resumes an
interrupted search (Ctrl-C or kill) without training a finished trial again.
--executor ray trains each trial as a Ray task in a fresh worker process (on any node of the
cluster at --address); the oracle, the budget check and the store stay here.

--input, --classes and --samples default from the dataset; given, they must agree with it.
--proposal starts from a saved proposal ('archscale propose ... --json > p.json').
"""
EXAMPLES = """\
examples:
  archscale tune --dataset mnist1d --tuner bayesian --trials 10
  archscale tune --dataset mnist1d --max-params 8K --tuner random --trials 3 --epochs 2
  archscale tune --dataset mnist1d_seq --tuner hyperband --trials 20 --epochs 30 --json
  archscale propose --input 40 --classes 10 --samples 4000 --json > p.json
  archscale tune --dataset mnist1d --proposal p.json --tuner grid --trials 5
  archscale tune --dataset mnist1d --trials 20 --executor ray --address auto --cpus-per-job 2
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``archscale tune``."""
    data = parser.add_argument_group("data and task")
    data.add_argument("--dataset", default="mnist1d", metavar="NAME",
                      help="mnist1d, mnist1d_seq, digits, synthetic or npz:PATH "
                           "(default: mnist1d)")
    data.add_argument("--input", metavar="SHAPE", help="input shape (default: the dataset's)")
    data.add_argument("--classes", type=positive_int, metavar="N",
                      help="classes (default: the dataset's)")
    data.add_argument("--samples", metavar="N",
                      help="training samples (default: the dataset's training set)")
    data.add_argument("--proposal", metavar="PATH",
                      help="start from a saved proposal (archscale propose --json) instead of "
                           "proposing")
    budget = parser.add_argument_group("budget (all optional)")
    budget.add_argument("--max-params", metavar="COUNT", help="parameter ceiling, e.g. 8K")
    budget.add_argument("--max-macs", metavar="COUNT", help="MACs per example ceiling, e.g. 2M")
    budget.add_argument("--max-train-memory", metavar="SIZE",
                        help="training peak memory ceiling at --batch, e.g. 64MiB")
    budget.add_argument("--batch", type=positive_int, metavar="N",
                        help="batch size of --max-train-memory (default: 1)")
    search = parser.add_argument_group("search")
    search.add_argument("--tuner", default="bayesian", metavar="NAME",
                        help="random, grid, bayesian or hyperband (default: bayesian)")
    search.add_argument("--trials", type=int, default=10, metavar="N",
                        help="trained trials (skipped candidates do not count; default: 10)")
    search.add_argument("--epochs", type=int, metavar="N",
                        help="epochs per trial (default: the proposal's recipe; hyperband: "
                             "the most a trial gets)")
    search.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the oracle and of every trial's training (default: 0)")
    search.add_argument("--no-warm-start", dest="warm_start", action="store_false",
                        help="do not make the proposal the first trial: the oracle draws its "
                             "first trial like any other (the unseeded baseline)")
    search.add_argument("--no-probe", dest="probe", action="store_false",
                        help="size the proposal from --input/--classes/--samples alone, "
                             "without probing the dataset's headroom (see 'archscale propose "
                             "--probe')")
    search.add_argument("--db", default="archscale.db", metavar="PATH",
                        help="result store for the trained trials (default: archscale.db)")
    search.add_argument("--dir", default="archscale_tune", metavar="DIR",
                        help="keras-tuner project directories (default: archscale_tune)")
    where = parser.add_argument_group("where trials train")
    where.add_argument("--executor", choices=("local", "ray"), default="local",
                       help="local: in this process (default); ray: each trial a Ray task in "
                            "a fresh worker, the oracle here (pip install 'archscale[ray]')")
    where.add_argument("--address", metavar="ADDR",
                       help="--executor ray: the cluster, auto (started here with 'ray start "
                            "--head') or ray://host:port (default: RAY_ADDRESS, else a new "
                            "local instance)")
    where.add_argument("--cpus-per-job", type=float, metavar="N",
                       help="--executor ray: CPUs each trial reserves (default 1)")
    where.add_argument("--gpus-per-job", type=float, metavar="N",
                       help="--executor ray: GPUs each trial reserves (default 0)")


def _budget(args: argparse.Namespace) -> Any:
    from archscale.specs import Budget
    from archscale.units import parse_bytes, parse_count

    return Budget(
        max_params=None if args.max_params is None else parse_count(args.max_params,
                                                                    "--max-params"),
        max_macs=None if args.max_macs is None else parse_count(args.max_macs, "--max-macs"),
        max_train_memory_bytes=None if args.max_train_memory is None else
        parse_bytes(args.max_train_memory, "--max-train-memory"),
        batch_size=args.batch or 1)


def _given_budget(args: argparse.Namespace) -> bool:
    return any(v is not None for v in (args.max_params, args.max_macs, args.max_train_memory))


def _start(args: argparse.Namespace, data: Any) -> Any:
    """The Task (or loaded Proposal) to tune, checked against the dataset."""
    from archscale.specs import Task

    shape, classes, samples = task_options_of(args, data)
    if args.proposal is not None:
        from archscale.heuristics.saved_proposal import load_proposal

        try:
            return load_proposal(args.proposal)
        except RecursionError:
            raise UsageError(f"the proposal file {args.proposal!r} is not JSON (nested too "
                             f"deeply). Received: --proposal={args.proposal!r}") from None
    return Task(input_shape=shape, classes=classes, samples=samples)


def _check(args: argparse.Namespace) -> dict[str, Any]:
    """Check the options; returns the executor's options (``--address``, ...)."""
    from archscale.cli_verbs.bench import executor_options_of
    from archscale.tuning.oracles import check_tuner
    from archscale.tuning.ray_trials import check_trial_executor

    check_tuner(args.tuner)
    options = executor_options_of(args, args.executor)
    check_trial_executor(args.executor, options)
    for option, value in (("--trials", args.trials), ("--epochs", args.epochs)):
        if value is not None and value < 1:
            raise UsageError(f"{option} must be a positive int. Received: {option}={value}")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative int. Received: --seed={args.seed}")
    if args.batch is not None and args.max_train_memory is None:
        raise UsageError("--batch sets the batch of --max-train-memory, which is missing. "
                         f"Received: --batch={args.batch}")
    return options


def _report(result: Any, tablefmt: str = "simple") -> str:
    from archscale.units import format_count

    front = set(result.pareto)
    best = result.best
    rows = [[t.trial_id, t.status, format_count(t.params) if t.params is not None else "",
             format_count(t.macs) if t.macs is not None else "",
             "" if t.val_accuracy is None else f"{t.val_accuracy:.4f}",
             "" if t.test_accuracy is None else f"{t.test_accuracy:.4f}",
             ("proposal " if t.is_proposal else "") + ("pareto " if t.trial_id in front else "")
             + ("best" if best is not None and t.trial_id == best.trial_id else "")]
            for t in result.trials]
    lines = [render_table(rows, ["trial", "status", "params", "MACs", "val acc", "test acc",
                                 ""], tablefmt),
             "", f"{result.trained} trained, {result.skipped_over_budget} skipped over budget "
                 f"({result.tuner}, {result.dataset})"]
    if best is not None:
        lines.append(f"best (validation): trial {best.trial_id}, val {best.val_accuracy:.4f}, "
                     f"test {best.test_accuracy:.4f}, {format_count(best.params)} params, "
                     f"{format_count(best.macs)} MACs")
    lines.append(f"Pareto front (validation accuracy vs MACs): {', '.join(result.pareto)}")
    lines.append(f"written: {result.directory}/pareto.csv, result.json; rows in "
                 f"{result.store_path}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Validate everything, run the search, print the result.

    Returns:
        0, or 1 when the search stopped before training every requested trial.
    """
    options = _check(args)
    from archscale.measure.datasets import dataset_kind, load_dataset
    from archscale.runner.dataset_entries import parse_dataset

    dataset_kind(args.dataset)
    desc = parse_dataset(args.dataset, "--dataset")
    data = load_dataset(desc["name"], **desc["options"])
    start = _start(args, data)
    budget = _budget(args) if _given_budget(args) or args.proposal is None else None
    from archscale.measure.tensorflow_import import import_tensorflow
    from archscale.tuning.api import tune

    import_tensorflow()
    result = tune(start, budget, dataset=args.dataset, tuner=args.tuner, trials=args.trials,
                  epochs=args.epochs, seed=args.seed, warm_start=args.warm_start,
                  probe=args.probe, db=args.db,
                  directory=args.dir, executor=args.executor, executor_options=options)
    if args.json:
        print_json(result.to_dict())
    else:
        print(_report(result))
    if result.stopped:
        print(f"archscale tune: {result.stopped}", file=sys.stderr)
    return result.exit_code
