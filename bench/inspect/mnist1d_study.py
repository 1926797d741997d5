"""The proof behind ``archscale inspect``'s width advice (README "Looking inside").

On MNIST-1D, an over-wide MLP (two hidden layers of 512) and an over-wide 1-D CNN (128 channels
per conv) are trained with the dataset's recipe and inspected (seed 0); the advice's shrunk spec
and the original are then trained over seeds 0-2 with the same recipe (``measure_accuracy``), and
the zero-shot proposals for both input forms are inspected too.

Resumable: every step writes ``results/<step>.json`` under the report directory and is skipped
when that file exists. Run from the repository root:

    PYTHONPATH=src python bench/inspect/mnist1d_study.py [reports/inspect-mnist1d]
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from archscale.heuristics.propose import propose  # noqa: E402
from archscale.inspection.api import inspect  # noqa: E402
from archscale.measure.accuracy import measure_accuracy  # noqa: E402
from archscale.profiling import load_spec, profile  # noqa: E402
from archscale.reference_archs.registry import preset  # noqa: E402
from archscale.specs import Task  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "reports/inspect-mnist1d"
SEEDS = (0, 1, 2)
CASES = {
    "mlp512": ("mnist1d", lambda: preset("mnist1d_mlp", widths=(512, 512), dropout=(0.0, 0.0),
                                         residual=False)),
    "cnn128": ("mnist1d_seq", lambda: preset("mnist1d_cnn", filters=(128, 128, 128))),
}
PROPOSALS = {"proposal_mnist1d": ("mnist1d", (40,)), "proposal_mnist1d_seq": ("mnist1d_seq", (40, 1))}


def _path(*parts: str) -> str:
    return os.path.join(OUT, *parts)


def _step(name: str, fn) -> dict:
    path = _path("results", f"{name}.json")
    if os.path.exists(path):
        with open(path) as handle:
            return json.load(handle)
    start = time.time()
    value = fn()
    value["seconds"] = round(time.time() - start, 1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as handle:
        json.dump(value, handle, indent=2)
    os.replace(path + ".tmp", path)
    print(f"{name}: done in {value['seconds']} s", flush=True)
    return value


def _inspect(name: str, target: str, dataset: str) -> dict:
    result = inspect(target, dataset, samples=2000, seed=0, out=_path(name),
                     apply=_path("specs", f"{name}_shrunk.json"))
    out = result.to_dict()
    return {"target": target, "dataset": dataset, "epochs_run": result.epochs_run,
            "advice": out["advice"], "layers": out["layers"],
            "regularisation": {k: v for k, v in out["regularisation"].items() if k != "curves"}}


def _accuracy(spec_path: str, dataset: str) -> dict:
    spec = load_spec(spec_path)
    result = measure_accuracy(spec, dataset, seeds=SEEDS)
    row = result.to_row()
    return {"spec": spec_path, "params": profile(spec).params, "macs": profile(spec).macs,
            "accuracy_mean": row["accuracy_mean"], "accuracy_std": row["accuracy_std"],
            "accuracy_per_seed": row["accuracy_per_seed"],
            "epochs_run": [r.epochs_run for r in result.runs]}


def main() -> None:
    os.makedirs(_path("specs"), exist_ok=True)
    for name, (dataset, make) in CASES.items():
        spec_path = _path("specs", f"{name}.json")
        if not os.path.exists(spec_path):
            with open(spec_path, "w") as handle:
                handle.write(make().to_json(indent=2) + "\n")
        _step(f"{name}_inspect", lambda: _inspect(name, spec_path, dataset))
        _step(f"{name}_accuracy", lambda: _accuracy(spec_path, dataset))
        _step(f"{name}_shrunk_accuracy",
              lambda: _accuracy(_path("specs", f"{name}_shrunk.json"), dataset))
    for name, (dataset, shape) in PROPOSALS.items():
        spec_path = _path("specs", f"{name}.json")
        if not os.path.exists(spec_path):
            proposal = propose(Task(input_shape=shape, classes=10, samples=4000))
            with open(spec_path, "w") as handle:
                handle.write(proposal.to_json() + "\n")
        _step(f"{name}_inspect", lambda: _inspect(name, spec_path, dataset))
    print("study complete", flush=True)


if __name__ == "__main__":
    main()
