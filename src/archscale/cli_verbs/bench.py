"""``archscale bench``: run a sweep (a TOML file, or presets on the command line), each job in
its own subprocess, and keep every result in a SQLite store; ``--list`` shows the store."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Mapping, Sequence

from archscale.cli_verbs.common import (UsageError, add_format_argument, overrides_of,
                                        positive_int, target_kind)
from archscale.cli_verbs.output import print_json, render_table
from archscale.runner.api import run_bench, stored_results, sweep_of
from archscale.runner.executors import executor_choices, executor_help
from archscale.runner.measurements import MEASUREMENTS
from archscale.runner.progress import make_progress
from archscale.runner.store import DEFAULT_DB
from archscale.runner.sweep import Sweep
from archscale.units import format_bytes, format_count, format_seconds

NAME = "bench"
HELP = "measure latency, memory, accuracy and cost of presets or a sweep file; resumable"
DESCRIPTION = """\
Benchmark architectures and keep every result. TARGETS are one sweep file (.toml, its format
is in docs/bench.md) or presets, preset globs ('resnet*') and spec files (.json) measured with
--measure. Each job (one measurement of one architecture at one batch size / dataset / seed)
runs in its own subprocess with a timeout; a crash, out-of-memory kill or timeout is recorded
as a failed job and the sweep goes on. Results go to a SQLite store (--db, default
archscale.db); a job whose key (spec, settings, dataset, seed, environment) is stored as ok is
skipped, so re-running a killed sweep resumes it. Failed jobs are retried unless --skip-failed;
--force re-measures everything. Exit codes: 0 every job ok, 1 some job failed or a training
run diverged (each listed on stderr with its reason), 2 bad input.
"""
EXAMPLES = """\
examples:
  archscale bench bench/sweeps/catalogue.toml
  archscale bench resnet20 mlp --measure latency,memory --batch 1,32
  archscale bench mnist1d_cnn --measure accuracy --dataset mnist1d_seq --seeds 0,1,2
  archscale bench 'regnetx_*' --measure cost --input-shape 64x64x3 --json
  archscale bench --list
  archscale bench --list 'resnet*' --measure latency --json
"""

_GLOB = "*?["
_SWEEP_ONLY_CONFLICTS = ("measure", "batch", "dataset", "seeds", "xla", "set", "input_shape",
                         "classes")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``archscale bench``."""
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="a sweep .toml file, or presets / globs / spec .json files; "
                             "with --list, globs that filter the listed names")
    parser.add_argument("--measure", metavar="M[,M...]",
                        help="measurements: cost, latency, memory, accuracy "
                             "(default: cost,latency,memory)")
    parser.add_argument("--batch", metavar="N[,N...]",
                        help="batch sizes of cost/latency/memory (default: 1; memory 32)")
    parser.add_argument("--dataset", metavar="D[,D...]",
                        help="datasets of accuracy: mnist1d, mnist1d_seq, digits, synthetic, "
                             "npz:PATH")
    parser.add_argument("--seeds", metavar="S[,S...]",
                        help="seeds of accuracy, one job each (default: 0,1,2)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="wall-clock limit per job (default: 900; overrides a sweep's)")
    parser.add_argument("--xla", action="store_true", help="latency: compile with XLA")
    parser.add_argument("--input-shape", metavar="SHAPE", help="override the input shape")
    parser.add_argument("--classes", type=positive_int, metavar="N", help="override the classes")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override any spec field (JSON value); repeatable")
    parser.add_argument("--db", metavar="PATH", help=f"result store (default: ./{DEFAULT_DB})")
    parser.add_argument("--force", action="store_true",
                        help="re-measure jobs that are already stored")
    parser.add_argument("--skip-failed", action="store_true",
                        help="do not retry jobs stored as failed (default: retry them)")
    parser.add_argument("--workers", type=int, choices=(1, 2), metavar="N",
                        help="jobs at once for cost/memory/accuracy (1 or 2; latency and peak "
                             "jobs always run alone; default 1 or the sweep's)")
    parser.add_argument("--executor", choices=executor_choices(), help=executor_help())
    parser.add_argument("--address", metavar="ADDR",
                        help="--executor ray: the cluster, auto (started here with 'ray start "
                             "--head') or ray://host:port (default: RAY_ADDRESS, else a new "
                             "local instance)")
    parser.add_argument("--cpus-per-job", type=float, metavar="N",
                        help="--executor ray: CPUs each job reserves (default 1)")
    parser.add_argument("--gpus-per-job", type=float, metavar="N",
                        help="--executor ray: GPUs each job reserves (default 0; fractions "
                             "share a GPU)")
    parser.add_argument("--peak", action=argparse.BooleanOptionalAction, default=None,
                        help="add one machine-peak job (large matmul GFLOP/s) that reports use "
                             "for achieved/peak; default: when latency is measured")
    parser.add_argument("--list", action="store_true", help="show what the store holds")
    parser.add_argument("--per-seed", action="store_true",
                        help="one row per seed instead of seeds aggregated (accuracy)")
    add_format_argument(parser)


# ---------------------------------------------------------------------------------------------
# Options -> sweep
# ---------------------------------------------------------------------------------------------


def split_list(text: str | None, option: str, *, kind: type = str, low: int = 1) -> list[Any]:
    """``"1,32"`` -> ``[1, 32]``; ``None`` -> ``[]``.

    Raises:
        UsageError: an empty item or (for ints) a non-int or a value below ``low``.
    """
    if text is None:
        return []
    items = [p.strip() for p in text.split(",")]
    if not all(items):
        raise UsageError(f"{option} must be a comma-separated list. Received: {option}={text!r}")
    if kind is int:
        try:
            values = [int(p) for p in items]
        except ValueError:
            values = [low - 1]
        if any(v < low for v in values):
            what = "positive ints" if low >= 1 else "ints >= 0"
            raise UsageError(f"{option} must be {what} separated by commas. "
                             f"Received: {option}={text!r}")
        return values
    return items


def _check_target(target: str) -> None:
    """The CLI's own messages for a TARGET that bench does not take (see ``arch_entry``)."""
    lowered = target.lower()
    if any(c in target for c in _GLOB) or lowered.endswith(".json"):
        return
    if lowered.endswith(".toml"):
        raise UsageError("give one sweep file alone, without presets or spec files. "
                         f"Received: TARGET={target!r}")
    if target_kind(target) == "model":
        raise UsageError("bench measures presets and spec files (.json), not saved Keras "
                         f"models; use archscale.measure from Python. Received: TARGET={target!r}")


def sweep_from_args(args: argparse.Namespace) -> Sweep:
    """The sweep described by TARGETS and the options (a .toml TARGET: that file).

    Raises:
        ArchscaleError: bad options, unknown presets, invalid overrides or sweep file.
    """
    if args.timeout is not None and not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds. "
                         f"Received: --timeout={args.timeout:g}")
    common = dict(timeout_s=args.timeout, peak=args.peak, workers=args.workers,
                  executor=args.executor)
    if len(args.targets) == 1 and args.targets[0].lower().endswith(".toml"):
        given = [o for o in _SWEEP_ONLY_CONFLICTS if getattr(args, o) not in (None, False, [])]
        if given:
            option = "--" + given[0].replace("_", "-")
            raise UsageError(f"{option} cannot be combined with a sweep file; put it in the "
                             f"file. Received: {option}={getattr(args, given[0])!r}")
        return sweep_of(args.targets[0], **common)
    overrides = overrides_of(args)
    for target in args.targets:
        _check_target(target)
    lists = {key: split_list(getattr(args, option), f"--{option}", kind=kind, low=low)
             if getattr(args, option) is not None else None
             for option, key, kind, low in (("measure", "measure", str, 1),
                                            ("batch", "batch_sizes", int, 1),
                                            ("seeds", "seeds", int, 0),
                                            ("dataset", "datasets", str, 1))}
    return sweep_of(list(args.targets), xla=args.xla, overrides=overrides, **lists, **common)


_EXECUTOR_OPTIONS = ("address", "cpus_per_job", "gpus_per_job")


def executor_options_of(args: argparse.Namespace, executor: str) -> dict[str, Any]:
    """``--address``, ``--cpus-per-job``, ``--gpus-per-job`` as the executor's options.

    Raises:
        UsageError: one given without ``--executor ray`` (or a sweep's ``executor = "ray"``),
            a CPU count that is not positive or a GPU count below 0.
    """
    options = {k: getattr(args, k) for k in _EXECUTOR_OPTIONS if getattr(args, k) is not None}
    for key, value in options.items():
        option = "--" + key.replace("_", "-")
        if executor != "ray":
            raise UsageError(f"{option} needs --executor ray. Received: {option}={value!r}, "
                             f"executor={executor!r}")
        if key == "address":
            continue
        low_ok = value > 0 if key == "cpus_per_job" else value >= 0
        if not (low_ok and value != float("inf")):
            what = "a positive number" if key == "cpus_per_job" else "a number >= 0"
            raise UsageError(f"{option} must be {what}. Received: {option}={value:g}")
    return options


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def _cell(key: str, value: Any) -> Any:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(_cell(key, v)) for v in value)
    if isinstance(value, (int, float)) and "bytes" in key and "error" not in key:
        return format_bytes(value)
    if isinstance(value, int) and key in ("params", "macs", "flops", "train_flops"):
        return format_count(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


def result_tables(rows: Sequence[Mapping[str, Any]], tablefmt: str) -> str:
    """One table per measurement: identity columns, the headline numbers, status/error."""
    blocks = []
    for name in dict.fromkeys(r["measurement"] for r in rows):
        group = [r for r in rows if r["measurement"] == name]
        m = MEASUREMENTS.get(name)
        cols = ["name", "family"]
        if m is not None and m.uses_dataset:
            cols.append("dataset")
        if m is not None and m.uses_batch:
            cols.append("batch_size")
        if m is not None and m.uses_seed:
            cols.append("seeds" if any("seeds" in r for r in group) else "seed")
        cols += list(m.headline if m is not None else ()) + ["status"]
        failed = any(r.get("status") != "ok" for r in group)
        if failed:
            cols.append("error")
        table = [[_cell(c, r.get(c)) for c in cols] for r in group]
        headers = [c.replace("_", " ") for c in cols]
        blocks.append(f"{name} ({len(group)})\n" + render_table(table, headers, tablefmt))
    return "\n\n".join(blocks)


def run_list(args: argparse.Namespace) -> int:
    """``--list``: the store's rows (filtered by TARGET globs and --measure)."""
    stored = stored_results(args.db, patterns=args.targets,
                            measures=split_list(args.measure, "--measure"),
                            per_seed=args.per_seed)
    rows = stored.rows
    if args.json:
        print_json(rows)
        return 0
    ok = sum(1 for r in rows if r.get("status") == "ok")
    print(f"{stored.path}: {len(rows)} results ({ok} ok, {len(rows) - ok} failed) from "
          f"{len(stored.runs)} runs")
    if rows:
        print()
        print(result_tables(rows, args.format))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the sweep (or ``--list``); exit 1 when a job of the sweep is stored as failed.

    Raises:
        ArchscaleError: bad input (see ``sweep_from_args``), an unusable --db.
        KeyboardInterrupt: Ctrl-C (the jobs finished until then are stored).
    """
    if args.list:
        return run_list(args)
    if not args.targets:
        raise UsageError("give a sweep file, presets or spec files, or --list. "
                         "Received: no TARGET")
    if args.force and args.skip_failed:
        raise UsageError("--force re-measures every job and --skip-failed keeps failed ones: "
                         "give one. Received: --force --skip-failed")
    sweep = sweep_from_args(args)
    options = executor_options_of(args, sweep.executor)
    stream = sys.stderr if args.json else sys.stdout
    result = run_bench(sweep, db=args.db, force=args.force, skip_failed=args.skip_failed,
                       per_seed=args.per_seed, progress=make_progress(stream),
                       executor_options=options)
    if result.interrupted:
        raise KeyboardInterrupt
    overhead = result.overhead_s_median
    note = f"; per-job overhead median {overhead:.2f}s" if overhead is not None else ""
    if result.startup_s:
        what = "Ray connection" if sweep.executor == "ray" else "fork server"
        note += f" (+ {result.startup_s:.1f}s once to start the {what})"
    if result.note:
        print(result.note, file=stream)
    print(f"{result.jobs} jobs: {result.ok} ok and {result.failed} failed in this run, "
          f"{result.skipped} skipped (already stored); {result.failed_total} failed in all; "
          f"wall time {format_seconds(result.wall_s)}{note}; store {result.store_path}",
          file=stream)
    if args.json:
        print_json(result.rows)
    else:
        print()
        print(result_tables(result.rows, args.format))
    summary = failure_summary(result.rows)
    for line in summary:
        print(line, file=sys.stderr)
    return max(result.exit_code, 1 if summary else 0)


def _job_name(row: Mapping[str, Any]) -> str:
    parts = [str(row.get("name")), str(row.get("measurement"))]
    for key in ("dataset", "batch_size", "seed", "seeds"):
        value = row.get(key)
        if value is not None:
            text = ",".join(map(str, value)) if isinstance(value, list) else value
            parts.append(f"{key.replace('_size', '')}={text}")
    return " ".join(parts)


def failure_summary(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Lines naming every failed job (its kind and error) and every diverged training run
    (its reason), after a count; empty when every job is ok and nothing diverged."""
    failed = [r for r in rows if r.get("status") != "ok"]
    diverged = [r for r in rows if r.get("status") == "ok" and r.get("diverged")]
    if not failed and not diverged:
        return []
    lines = [f"failures: {len(failed)} failed, {len(diverged)} diverged"]
    lines += [f"  {_job_name(r)}: {r.get('error_kind') or 'error'}: {r.get('error')}"
              for r in failed]
    lines += [f"  {_job_name(r)}: diverged: "
              f"{'; '.join(map(str, r.get('divergence_reasons') or ['no reason recorded']))}"
              for r in diverged]
    return lines
