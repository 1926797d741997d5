"""The seed-style keras-tuner baseline vs ``archscale tune`` vs the zero-shot proposal, on MNIST-1D.

    PYTHONPATH=src python bench/tune_mnist1d.py [--seeds 0 1 2] [--trials 10]
        [--work bench/results/tune_work] [--out bench/results/tune_mnist1d.json]

On ``mnist1d`` (the 40-vector form, 4,000 training / 1,000 test examples), for each seed of the
whole search:

- **baseline**: the classic first code, keras-tuner's stock ``RandomSearchOracle`` over
  ``Dense(units=hp.Int('units', 32, 512, step=32), relu) -> Dense(10, softmax)``, ``--trials``
  trials, scored on a validation split of the training set (not on the test set, as the
  classic example does);
- **archscale**: ``archscale.tune(task, tuner="bayesian", trials=--trials)`` from the proposal
  for ``--input 40 --classes 10 --samples 4000`` (no user budget);
- **proposal**: the zero-shot proposal, trained once (the search's first trial).

Every trial trains with the same recipe (the proposal's: Adam, cosine decay, batch 32, early
stopping on the validation split, restore best) and the same training seed, through
``archscale.measure.accuracy.measure_accuracy``. Reported per seed and as mean over seeds:
test accuracy of the trial each search selects (best validation accuracy), trials until the
search's best validation accuracy reaches the baseline's final best, and total training
compute (analytic training FLOPs and fit wall seconds, summed over trials).

Resumable: trials are rows of a result store under ``--work`` (keyed like ``archscale bench``
jobs) and each search has its keras-tuner project directory there, so a killed run re-run with
the same arguments trains nothing twice. Results are rewritten to ``--out`` after every search.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import archscale  # noqa: E402
from archscale.measure.accuracy import measure_accuracy  # noqa: E402
from archscale.measure.datasets import load_dataset  # noqa: E402
from archscale.runner.store import Store  # noqa: E402
from archscale.tuning.store_rows import put_trial, stored_trial, trial_job, trial_row  # noqa: E402

TASK = archscale.Task(input_shape=(40,), classes=10, samples=4000)


def baseline_search(proposal: Any, seed: int, trials: int, work: str, store: Store) -> list[dict]:
    """keras-tuner's RandomSearch over Dense units 32..512 step 32, scored on validation."""
    import keras
    import keras_tuner
    from keras_tuner.engine.base_tuner import BaseTuner

    data = load_dataset("mnist1d")
    recipe = proposal.recipe
    out: list[dict] = []

    class Baseline(BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            units = trial.hyperparameters.values["units"]
            spec = proposal.spec.replace(widths=(units,), dropout=(0.0,))
            job = trial_job(spec, recipe, {"name": "mnist1d", "options": {}}, seed,
                            f"baseline units={units}")
            row = stored_trial(store, job)
            if row is None:
                start = time.perf_counter()
                result = measure_accuracy(spec, data, seeds=(seed,), recipe=recipe)
                keras.backend.clear_session()
                run = result.runs[0]
                prof = archscale.profile(spec)
                row = trial_row(job, result.to_row(),
                                {"params": prof.params, "macs": prof.macs, "flops": prof.flops},
                                {"tune_run": f"baseline-seed{seed}", "tune_tuner": "baseline",
                                 "tune_trial": trial.trial_id, "tune_is_proposal": False,
                                 "val_accuracy": run.val_accuracy,
                                 "test_accuracy": run.test_accuracy,
                                 "hyperparameters": {"units": units}},
                                {}, time.perf_counter() - start, result.total_seconds)
                put_trial(store, job, row)
            out.append({"trial_id": trial.trial_id, "units": units, "params": row["params"],
                        "macs": row["macs"], "val_accuracy": row["val_accuracy"],
                        "test_accuracy": row["accuracy_mean"],
                        "train_flops": row["train_flops"],
                        "train_seconds": row["train_seconds"]})
            print(f"baseline seed {seed} trial {trial.trial_id} units {units} "
                  f"val {row['val_accuracy']:.4f} test {row['accuracy_mean']:.4f}",
                  file=sys.stderr, flush=True)
            return {"val_accuracy": row["val_accuracy"]}

    hp = keras_tuner.HyperParameters()
    hp.Int("units", min_value=32, max_value=512, step=32)
    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("val_accuracy", "max"), max_trials=trials,
        seed=seed + 1, hyperparameters=hp)
    with contextlib.redirect_stdout(io.StringIO()):
        tuner = Baseline(oracle, directory=work, project_name=f"baseline-seed{seed}")
        out.clear()
        tuner.search(verbose=0)
    # trials finished by an earlier, interrupted run are in the oracle, not in ``out``
    done = {t["trial_id"] for t in out}
    for tid in sorted(oracle.trials):
        if tid not in done and oracle.trials[tid].status == "COMPLETED":
            units = oracle.trials[tid].hyperparameters.values["units"]
            spec = proposal.spec.replace(widths=(units,), dropout=(0.0,))
            row = stored_trial(store, trial_job(spec, recipe, {"name": "mnist1d", "options": {}},
                                                seed, ""))
            out.append({"trial_id": tid, "units": units, "params": row["params"],
                        "macs": row["macs"], "val_accuracy": row["val_accuracy"],
                        "test_accuracy": row["accuracy_mean"], "train_flops": row["train_flops"],
                        "train_seconds": row["train_seconds"]})
    return sorted(out, key=lambda t: t["trial_id"])


def summary(trials: list[dict]) -> dict[str, Any]:
    """Selected trial (best validation accuracy), running best, compute."""
    ok = [t for t in trials if t.get("val_accuracy") is not None]
    best = max(ok, key=lambda t: t["val_accuracy"])
    return {"selected": best, "selected_test_accuracy": best["test_accuracy"],
            "best_val_accuracy": best["val_accuracy"],
            "train_flops_total": sum(t["train_flops"] or 0 for t in ok),
            "train_seconds_total": sum(t["train_seconds"] or 0 for t in ok),
            "trained": len(ok)}


def trials_to_reach(trials: list[dict], target: float) -> int | None:
    """1-based count of trained trials until the running best validation accuracy >= target."""
    ok = [t for t in trials if t.get("val_accuracy") is not None]
    for i, _ in enumerate(ok):
        if max(t["val_accuracy"] for t in ok[:i + 1]) >= target:
            return i + 1
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--work", default="bench/results/tune_work")
    parser.add_argument("--out", default="bench/results/tune_mnist1d.json")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    data = load_dataset("mnist1d")
    proposal = archscale.propose(TASK, capacity=archscale.CapacityRule(
        headroom=archscale.probe_data(data.x_train, data.y_train).headroom))  # what tune does
    results: dict[str, Any] = {"task": "mnist1d --input 40 --classes 10 --samples 4000",
                               "proposal": proposal.description, "trials": args.trials,
                               "recipe": proposal.recipe.to_dict(), "seeds": {}}
    db = os.path.join(args.work, "tune_bench.db")
    for seed in args.seeds:
        with Store(db) as store:
            base = baseline_search(proposal, seed, args.trials, args.work, store)
        tuned = archscale.tune(proposal, dataset="mnist1d", tuner="bayesian", trials=args.trials,
                               seed=seed, db=db, directory=args.work)
        tuned_trials = [t.to_dict() for t in tuned.trials]
        ok = [t for t in tuned_trials if t["status"] == "ok"]
        b, a = summary(base), summary(ok)
        first = next(t for t in tuned_trials if t["is_proposal"])
        results["seeds"][str(seed)] = {
            "baseline": {**b, "trials": base},
            "archscale": {**a, "trials": tuned_trials, "skipped": tuned.skipped_over_budget,
                          "pareto": tuned.pareto,
                          "trials_to_reach_baseline_best": trials_to_reach(
                              ok, b["best_val_accuracy"])},
            "proposal": {"test_accuracy": first["test_accuracy"],
                         "val_accuracy": first["val_accuracy"], "params": first["params"],
                         "macs": first["macs"], "train_flops": first["train_flops"],
                         "train_seconds": first["train_seconds"],
                         "beats_baseline_val": first["val_accuracy"] >= b["best_val_accuracy"]},
        }
        results["mean"] = _means(results["seeds"])
        with open(args.out + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
        os.replace(args.out + ".tmp", args.out)
        print(json.dumps(results["mean"], indent=2), file=sys.stderr, flush=True)
    return 0


def _means(seeds: dict[str, Any]) -> dict[str, Any]:
    def mean(path: tuple[str, str]) -> float | None:
        values = [s[path[0]][path[1]] for s in seeds.values()
                  if s[path[0]].get(path[1]) is not None]
        return statistics.fmean(values) if values else None

    return {"seeds": len(seeds),
            **{f"{m}_{k}": mean((m, k)) for m in ("baseline", "archscale")
               for k in ("selected_test_accuracy", "best_val_accuracy", "train_flops_total",
                         "train_seconds_total")},
            "proposal_test_accuracy": mean(("proposal", "test_accuracy")),
            "proposal_train_flops": mean(("proposal", "train_flops")),
            "proposal_train_seconds": mean(("proposal", "train_seconds")),
            "archscale_trials_to_reach_baseline_best": [
                s["archscale"]["trials_to_reach_baseline_best"] for s in seeds.values()]}


if __name__ == "__main__":
    raise SystemExit(main())
