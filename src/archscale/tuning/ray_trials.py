"""Trials as Ray tasks: ``archscale tune ... --executor ray`` (``tune(..., executor="ray")``).

The keras-tuner oracle, the budget check and the store stay on the driver (``TrialRunner``);
only the training of a candidate that fits the budget and is not stored yet runs remotely, as
one task of ``train_trial`` with the trial's resource request (``cpus_per_job``,
``gpus_per_job``) and ``max_calls=1``, so every trial gets a fresh worker process (TensorFlow
never gives memory back inside a process). The worker loads the dataset from its canonical
description (an ``npz`` file is checked against its hash), trains with the trial's recipe and
seed, and returns the accuracy row, the seed's validation and test accuracy and its own
``env_*`` columns (plus ``env_ray_node_ip`` and ``env_ray_worker_pid``); the driver writes the
row into the store with the same job key as a local search, so a search resumed on either
executor trains nothing twice. A worker that dies (segfault, SIGKILL, a lost node) is re-run
``MAX_RETRIES`` times by Ray, then the trial fails with ``worker died ...``; the trial's own
Python error fails it at once (``train_trial`` returns it, and ``retry_exceptions`` is off).
Trials run one at a time, in the oracle's order, as in a local search.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from archscale.errors import SpecError
from archscale.runner.executors.ray import (MAX_RETRIES, RayOptions, check_options,
                                            forwarded_env, import_ray)
from archscale.tuning.trials import Trained, TrialFailed, TrialRunner

__all__ = ["EXECUTORS", "RayTrialRunner", "check_trial_executor", "make_trial_runner",
           "train_trial"]

#: Where trials are trained: ``local`` (this process) or ``ray`` (one Ray task per trial).
EXECUTORS = ("local", "ray")
_OPTION_KEYS = ("address", "cpus_per_job", "gpus_per_job")


def check_trial_executor(executor: str, options: Mapping[str, Any] | None) -> RayOptions | None:
    """Validate ``executor`` and its options before anything is written.

    Args:
        executor: ``local`` or ``ray``.
        options: ``ray`` only: ``address``, ``cpus_per_job``, ``gpus_per_job``.

    Returns:
        The ``RayOptions`` (``ray``) or None (``local``).

    Raises:
        SpecError: an unknown executor or option, options for ``local``, a malformed option,
            or Ray not installed (the message says how to install it).
    """
    if executor not in EXECUTORS:
        raise SpecError(f"executor must be one of {', '.join(EXECUTORS)}. "
                        f"Received: executor={executor!r}")
    options = dict(options or {})
    unknown = sorted(set(options) - set(_OPTION_KEYS))
    if unknown:
        raise SpecError(f"executor_options takes {', '.join(_OPTION_KEYS)}. "
                        f"Received: {unknown[0]!r}")
    if executor == "local":
        if options:
            raise SpecError(f"executor_options need executor='ray'. Received: {options!r}, "
                            "executor='local'")
        return None
    return check_options(**options)


def train_trial(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The Ray task (runs on a worker): train one candidate and return what ``Trained``
    holds, or ``{"status": "failed", "error": ...}`` for the trial's own error (never raises,
    so Ray retries only a worker that died)."""
    import ray  # noqa: PLC0415 - the worker has Ray

    try:
        from archscale.measure.accuracy import measure_accuracy  # noqa: PLC0415 - worker side
        from archscale.measure.device import record_environment  # noqa: PLC0415
        from archscale.measure.tensorflow_import import import_tensorflow  # noqa: PLC0415
        from archscale.reference_archs.registry import spec_from_dict  # noqa: PLC0415
        from archscale.runner.job_runners import open_dataset  # noqa: PLC0415
        from archscale.training_recipe import recipe_from_dict  # noqa: PLC0415

        import_tensorflow()
        spec = spec_from_dict(payload["spec"])
        result = measure_accuracy(spec, open_dataset(payload["dataset"]),
                                  seeds=(payload["seed"],),
                                  recipe=recipe_from_dict(payload["recipe"]))
    except Exception as exc:  # noqa: BLE001 - the trial's own error: not retried
        message = " ".join(str(exc).split()) or type(exc).__name__
        return {"status": "failed", "error": f"{type(exc).__name__}: {message}"[:2000]}
    run = result.runs[0]
    environment = {**record_environment(xla=False, dtype="float32"),
                   "env_ray_node_ip": ray.util.get_node_ip_address(),
                   "env_ray_worker_pid": os.getpid()}
    return {"status": "ok", "row": result.to_row(), "val_accuracy": run.val_accuracy,
            "test_accuracy": run.test_accuracy, "environment": environment,
            "train_seconds_total": result.total_seconds}


class RayTrialRunner(TrialRunner):
    """A ``TrialRunner`` whose ``train`` is a Ray task (see the module docstring).

    Args:
        options: The checked ``RayOptions``.
        *args / **kwargs: ``TrialRunner``'s.

    Raises:
        SpecError: Ray is not installed.
    """

    def __init__(self, options: RayOptions, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = options
        self._ray = ray = import_ray()
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(address=options.address, log_to_driver=False, include_dashboard=False,
                     logging_level="WARNING")
        self._remote = ray.remote(max_calls=1, max_retries=MAX_RETRIES,
                                  retry_exceptions=False)(train_trial)
        self._env = {"TF_CPP_MIN_LOG_LEVEL": "2", **forwarded_env(None)}

    def train(self, spec: Any, recipe: Any) -> Trained:
        """Train the candidate in a fresh Ray worker.

        Raises:
            TrialFailed: the trial's own error, or its worker died after the retries.
        """
        ray = self._ray
        payload = {"spec": spec.to_dict(), "recipe": recipe.to_dict(),
                   "dataset": self.dataset_desc, "seed": self.seed}
        ref = self._remote.options(
            num_cpus=self.options.cpus_per_job, num_gpus=self.options.gpus_per_job,
            runtime_env={"env_vars": self._env}).remote(payload)
        try:
            result = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            raise TrialFailed(f"{type(exc.cause).__name__}: {exc.cause}") from None
        except ray.exceptions.RayError as exc:
            first = next((line.strip() for line in str(exc).splitlines() if line.strip()),
                         type(exc).__name__)
            raise TrialFailed(f"worker died ({type(exc).__name__}, after {MAX_RETRIES} "
                              f"retries): {first}") from None
        except BaseException:
            ray.cancel(ref, force=True)
            raise
        if result.get("status") != "ok":
            raise TrialFailed(result.get("error") or "unknown error")
        return Trained(result["row"], result["val_accuracy"], result["test_accuracy"],
                       result["environment"], float(result["train_seconds_total"]))

    def close(self) -> None:
        """Disconnect from Ray if this runner called ``ray.init``."""
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


def make_trial_runner(options: RayOptions | None, *args: Any, **kwargs: Any) -> TrialRunner:
    """A ``TrialRunner`` (``options`` None: in-process) or a ``RayTrialRunner``."""
    if options is None:
        return TrialRunner(*args, **kwargs)
    return RayTrialRunner(options, *args, **kwargs)
