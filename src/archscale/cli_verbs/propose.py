"""``archscale propose``: a concrete architecture for a task and a budget, with its reasons.

Pure Python unless ``--calibrate`` or ``--verify`` is given (those time real Keras models).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from archscale.cli_verbs.common import UsageError, parse_shape, positive_int, task_options_of
from archscale.cli_verbs.output import print_json
from archscale.environment import BACKENDS
from archscale.specs import MODALITIES

NAME = "propose"
HELP = "propose an architecture for a task and budget, with every dimension explained"
DESCRIPTION = """\
Propose a concrete architecture from what the data looks like (--input, --classes, --samples)
and what you can afford (any of --max-params, --max-macs, --max-train-memory,
--max-inference-memory, --max-latency-ms; memory and latency at --batch). The family follows
from the modality, the input size and how tight the compute budget is (or --family); the
dimensions are scaled EfficientNet-style and solved against the analytic costs so that the
binding budget is used as fully as possible without exceeding any budget. The output is a
short design note (architecture, costs against the budgets, the rules applied and their
sources, training recipe, tuning search space); --json prints everything, --out writes the
spec JSON that 'archscale profile' and archscale.build accept.

Counts accept SI suffixes (200M, 4.1G, 2e6); sizes accept KB/MB/GB (powers of 1000) and
KiB/MiB/GiB (powers of 1024; a bare 512M is MiB). A latency budget needs this machine's
calibration: run 'archscale propose --calibrate --batch N' once (a few seconds, cached for 30
days under $ARCHSCALE_CACHE_DIR or ~/.cache/archscale). --verify measures the proposal's real
latency and shrinks it until it fits, or grows it while it uses under 80 % of the limit.
Impossible budgets exit with code 2. Without any budget the capacity default (body parameters
per training sample) sizes the proposal; with one, the budget decides.
"""
EXAMPLES = """\
examples:
  archscale propose --input 40 --classes 10 --samples 4000
  archscale propose --input 40x1 --classes 10 --samples 4000
  archscale propose --input 32x32x3 --classes 10 --samples 50000 --max-macs 200M --max-params 2M
  archscale propose --input 224x224x3 --classes 1000 --samples 1281167 --max-macs 4.1G --json
  archscale propose --input 200 --modality tokens --vocab 20000 --classes 2 --samples 25000
  archscale propose --input 224x224x3 --classes 1000 --samples 1281167 --max-macs 4.1G \\
      --max-resolution 380
  archscale propose --input 32x32x3 --classes 10 --samples 50000 --max-train-memory 2GiB \\
      --batch 64 --out spec.json
  archscale propose --calibrate --batch 1
  archscale propose --input 64x64x3 --classes 200 --samples 100000 --max-latency-ms 5 \\
      --batch 1 --verify
"""

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``archscale propose``."""
    task = parser.add_argument_group("task")
    task.add_argument("--input", "--input-shape", dest="input", metavar="SHAPE",
                      help="one example's shape: 40 (vector), 40x1 or 128x8 (sequence: length x "
                           "channels), 32x32x3 (image)")
    task.add_argument("--classes", type=positive_int, metavar="N",
                      help="number of classes (or regression outputs with --regression)")
    task.add_argument("--samples", metavar="N",
                      help="number of training samples (50000, 50k, 1.28M)")
    task.add_argument("--regression", action="store_true",
                      help="--classes counts regression outputs (linear output, MSE loss)")
    task.add_argument("--modality", choices=MODALITIES,
                      help="override the modality implied by the rank of --input ('tokens': "
                           "--input LENGTH of integer IDs, with --vocab)")
    task.add_argument("--vocab", type=positive_int, metavar="N",
                      help="vocabulary size of a --modality tokens input (an Embedding front "
                           "end, then a 1-D CNN)")
    task.add_argument("--family", metavar="NAME",
                      help="use this family instead of the rule's choice (see 'archscale "
                           "catalogue')")
    task.add_argument("--max-resolution", type=positive_int, metavar="PX",
                      help="largest input side compound scaling may raise the resolution to "
                           "(default: the input's own; e.g. 380 lets EfficientNet grow "
                           "B4-like)")
    task.add_argument("--params-per-sample", metavar="N",
                      help="body parameters per training sample of the capacity default "
                           "(default: 25 images; vectors and sequences 6 x class pairs x "
                           "samples^0.75)")
    task.add_argument("--probe", metavar="DATASET",
                      help="probe the training data (a built-in dataset name or npz:PATH): "
                           "how much a linear classifier and nearest neighbours leave "
                           "unsolved scales the capacity default; --input, --classes and "
                           "--samples default to the dataset's")
    task.add_argument("--headroom", metavar="H",
                      help="a probe's headroom (0..1) given directly, instead of --probe")
    task.add_argument("--capacity-scale", metavar="X", dest="capacity_scale",
                      help="multiply the capacity default by X instead of the headroom's "
                           "factor (e.g. 2 for twice the default; with --probe the probe is "
                           "still reported)")
    task.add_argument("--capacity", choices=("on", "off"), default="on",
                      help="'off' drops the data-derived capacity default (it only applies "
                           "without a user budget anyway)")
    budget = parser.add_argument_group("budget (all optional, any combination)")
    budget.add_argument("--max-params", metavar="COUNT", help="parameter ceiling, e.g. 2M")
    budget.add_argument("--max-macs", metavar="COUNT",
                        help="multiply-accumulates per example ceiling, e.g. 200M or 4.1G")
    budget.add_argument("--max-train-memory", metavar="SIZE",
                        help="training peak memory ceiling at --batch (or --train-batch), "
                             "e.g. 2GiB")
    budget.add_argument("--max-inference-memory", metavar="SIZE",
                        help="inference peak memory ceiling at --batch, e.g. 512MB")
    budget.add_argument("--max-latency-ms", metavar="MS",
                        help="inference latency ceiling at --batch on this machine (needs "
                             "--calibrate once)")
    budget.add_argument("--batch", type=positive_int, metavar="N",
                        help="batch size of the memory and latency ceilings (default: 1)")
    budget.add_argument("--train-batch", type=positive_int, metavar="N",
                        help="batch size of --max-train-memory when it differs from --batch")
    budget.add_argument("--backend", type=str.lower, choices=BACKENDS, default=None,
                        help="kernels of the --max-train-memory estimate: onednn, eigen or gpu "
                             "(default: what TensorFlow would run here)")
    action = parser.add_argument_group("actions and output")
    action.add_argument("--calibrate", action="store_true",
                        help="measure this machine's latency calibration at --batch (imports "
                             "TensorFlow; a few seconds) and cache it")
    action.add_argument("--verify", action="store_true",
                        help="build the proposal, measure its real latency and shrink it "
                             "until it fits --max-latency-ms (imports TensorFlow)")
    action.add_argument("--out", metavar="PATH",
                        help="write the proposed spec JSON here (for 'archscale profile PATH' "
                             "and archscale.load_spec)")


def _task_and_budget(args: argparse.Namespace) -> tuple[Any, Any]:
    """Validate the options and build ``Task`` and ``Budget``.

    Raises:
        ArchscaleError: missing, malformed or contradictory options (exit code 2).
    """
    from archscale.units import parse_bytes, parse_count, parse_positive_float
    from archscale.specs import Budget, Task

    missing = [opt for opt, value in (("--classes", args.classes), ("--samples", args.samples))
               if value is None]
    if missing:
        raise UsageError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                         f"required with --input. Received: --input={args.input!r}")
    if args.verify and args.max_latency_ms is None:
        raise UsageError("--verify measures latency against --max-latency-ms, which is "
                         "missing. Received: --verify without --max-latency-ms")
    if args.train_batch is not None and args.max_train_memory is None:
        raise UsageError("--train-batch sets the batch of --max-train-memory, which is "
                         f"missing. Received: --train-batch={args.train_batch}")
    shape = parse_shape(args.input, "--input")
    task = Task(input_shape=shape, classes=args.classes,
                samples=whole_count(args.samples, "--samples"), modality=args.modality,
                vocab=args.vocab, family=args.family, regression=args.regression)
    budget = Budget(
        max_params=None if args.max_params is None else parse_count(args.max_params,
                                                                    "--max-params"),
        max_macs=None if args.max_macs is None else parse_count(args.max_macs, "--max-macs"),
        max_train_memory_bytes=None if args.max_train_memory is None else
        parse_bytes(args.max_train_memory, "--max-train-memory"),
        max_inference_memory_bytes=None if args.max_inference_memory is None else
        parse_bytes(args.max_inference_memory, "--max-inference-memory"),
        max_latency_ms=None if args.max_latency_ms is None else
        parse_positive_float(args.max_latency_ms, "--max-latency-ms"),
        batch_size=args.batch or 1, train_batch_size=args.train_batch, backend=args.backend)
    return task, budget


_WHOLE = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGbBtT]?)\s*")
_MULTIPLIER = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "b": 1e9, "t": 1e12}


def whole_count(text: str, option: str) -> int:
    """``parse_count`` that refuses a fractional count (``2.5``; ``2.5k`` is 2500, fine).

    Raises:
        UsageError: the count is not a whole number.
    """
    from archscale.units import parse_count

    value = parse_count(text, option)
    match = _WHOLE.fullmatch(str(text))
    if match:
        exact = float(match.group(1)) * _MULTIPLIER[match.group(2).lower()]
        if abs(exact - round(exact)) > 1e-6 * max(1.0, exact):
            raise UsageError(f"{option} must be a whole number of samples. Received: "
                             f"{option}={text!r}")
    return value


def propose_options(args: argparse.Namespace,
                    headroom: float | None = None) -> dict[str, Any]:
    """``max_resolution`` and ``capacity`` keyword arguments of ``propose`` from the options
    (``headroom``: from ``probe_option``).

    Raises:
        ArchscaleError: a malformed ``--params-per-sample`` or ``--capacity-scale``, or a
            ``--capacity-scale`` with ``--params-per-sample`` or ``--capacity off`` (exit code 2).
    """
    from archscale.heuristics.capacity import CapacityRule
    from archscale.units import parse_positive_float

    ratio = None if args.params_per_sample is None else \
        parse_positive_float(args.params_per_sample, "--params-per-sample")
    scale = getattr(args, "capacity_scale", None)
    if scale is not None:
        if ratio is not None or args.capacity == "off":
            given = "--params-per-sample" if ratio is not None else "--capacity off"
            raise UsageError("--capacity-scale multiplies the capacity default, which "
                             f"{given} replaces: give one of them. Received: "
                             f"--capacity-scale={scale!r} with {given}")
        scale = parse_positive_float(scale, "--capacity-scale")
    return {"max_resolution": args.max_resolution,
            "capacity": CapacityRule(ratio, args.capacity == "on", headroom, scale)}


def _headroom_option(text: str) -> float:
    from archscale.heuristics.difficulty import check_headroom

    try:
        value: Any = float(text)
    except ValueError:
        value = text
    return check_headroom(value, "--headroom")


def probe_option(args: argparse.Namespace) -> dict[str, Any] | None:
    """Run ``--probe DATASET`` (filling ``--input/--classes/--samples`` from the dataset when
    they are missing), or read ``--headroom``; ``None`` with neither.

    Returns:
        ``{"headroom": ..., "probe": the DataProbe or None, "dataset": name or None}``.

    Raises:
        ArchscaleError: both options, a malformed headroom, an unknown dataset or one whose
            shape, classes or samples contradict the options (exit code 2).
    """
    if args.probe is not None and args.headroom is not None:
        raise UsageError("give --probe DATASET or --headroom H, not both. Received: "
                         f"--probe={args.probe!r} --headroom={args.headroom!r}")
    if args.headroom is not None:
        return {"headroom": _headroom_option(args.headroom), "probe": None, "dataset": None}
    if args.probe is None:
        return None
    from archscale.heuristics.difficulty import probe_data
    from archscale.measure.datasets import load_dataset
    from archscale.runner.dataset_entries import parse_dataset

    desc = parse_dataset(args.probe, "--probe")
    data = load_dataset(desc["name"], **desc["options"])
    shape, classes, samples = task_options_of(args, data, "--probe dataset")
    args.input, args.classes, args.samples = "x".join(map(str, shape)), classes, str(samples)
    probe = probe_data(data.x_train, data.y_train)
    return {"headroom": probe.headroom, "probe": probe, "dataset": data.name}


def _calibrate(args: argparse.Namespace) -> dict[str, Any]:
    from archscale.measure.tensorflow_import import import_tensorflow
    from archscale.heuristics.calibration import save_calibration
    from archscale.measure.latency_calibration import run_calibration

    import_tensorflow()
    rates = run_calibration(args.batch or 1)
    path = save_calibration(rates)
    if not args.json:
        print(f"latency calibration at batch {rates.batch_size} saved to {path}: conv "
              f"{rates.conv_gflops:.1f} GFLOP/s, depthwise {rates.depthwise_gflops:.1f} "
              f"GFLOP/s, dense {rates.dense_gflops:.1f} GFLOP/s, element-wise "
              f"{rates.elementwise_gelements:.2f} Gelem/s, {rates.overhead_ms * 1e3:.1f} us "
              "per layer", file=sys.stderr if args.input else sys.stdout)
    return {"path": str(path), **rates.to_dict()}


def _write_spec(path: str, text: str) -> None:
    from archscale.errors import InputFileError

    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        raise InputFileError(f"cannot write --out {path!r}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    """Calibrate and/or propose; print the design note or JSON.

    Returns:
        0, or 1 when ``--verify`` could not make the proposal fit the latency budget.
    """
    probed = probe_option(args)
    if args.input is None:
        if not args.calibrate:
            raise UsageError("--input is required (or --calibrate alone). Received: no --input")
        calibration = _calibrate(args)
        if args.json:
            print_json({"calibration": calibration})
        return 0
    task, budget = _task_and_budget(args)
    calibration = _calibrate(args) if args.calibrate else None
    from archscale.heuristics.propose import propose
    from archscale.measure.latency_calibration import verify

    proposal = propose(task, budget, **propose_options(
        args, None if probed is None else probed["headroom"]))
    if args.verify:
        from archscale.measure.tensorflow_import import import_tensorflow

        import_tensorflow()
        proposal = verify(proposal)
    if args.out:
        _write_spec(args.out, proposal.spec_json())
    if args.json:
        data = proposal.to_dict()
        if calibration is not None:
            data["calibration"] = calibration
        if probed is not None and probed["probe"] is not None:
            data["probe"] = {"dataset": probed["dataset"], **probed["probe"].to_dict()}
        print_json(data)
    else:
        from archscale.heuristics.design_note import design_note

        if probed is not None and probed["probe"] is not None:
            print(f"probe of {probed['dataset']} ({probed['probe'].holdout} held-out of the "
                  f"training examples): {probed['probe'].summary()}\n")
        print(design_note(proposal))
        if args.out:
            print(f"\nspec written to {args.out} (archscale profile {args.out})")
    failed = proposal.verification is not None and proposal.verification["status"] != "fits"
    return 1 if failed else 0
