"""``archscale bench``: run a sweep (a TOML file, or presets on the command line), each job in
its own subprocess, and keep every result in a SQLite store; ``--list`` shows the store."""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any, Mapping, Sequence

from archscale.cli_verbs.common import UsageError, add_format_argument, positive_int
from archscale.cli_verbs.output import print_json, render_table
from archscale.units import format_bytes, format_count

NAME = "bench"
HELP = "measure latency, memory, accuracy and cost of presets or a sweep file; resumable"
DESCRIPTION = """\
Benchmark architectures and keep every result. TARGETS are one sweep file (.toml, see
docs/bench.md) or presets, preset globs ('resnet*') and spec files (.json) measured with
--measure. Each job (one measurement of one architecture at one batch size / dataset / seed)
runs in its own subprocess with a timeout; a crash, out-of-memory kill or timeout is recorded
as a failed job and the sweep goes on. Results go to a SQLite store (--db, default
archscale.db); a job whose key (spec, settings, dataset, seed, environment) is stored as ok is
skipped, so re-running a killed sweep resumes it. Failed jobs are retried unless --skip-failed;
--force re-measures everything. Exit codes: 0 every job ok, 1 some job failed, 2 bad input.
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
    parser.add_argument("--db", metavar="PATH", help="result store (default: ./archscale.db)")
    parser.add_argument("--force", action="store_true",
                        help="re-measure jobs that are already stored")
    parser.add_argument("--skip-failed", action="store_true",
                        help="do not retry jobs stored as failed (default: retry them)")
    parser.add_argument("--workers", type=int, choices=(1, 2), metavar="N",
                        help="jobs at once for cost/accuracy (1 or 2; latency and memory jobs "
                             "always run alone; default 1 or the sweep's)")
    parser.add_argument("--executor", choices=("auto", "fork", "spawn"),
                        help="how each job gets its own process: fork (TensorFlow jobs fork "
                             "from a server that imported TensorFlow once), spawn (a fresh "
                             "interpreter per job); default auto = fork on Linux without a GPU")
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


def _arch_entry(target: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    from archscale.cli_verbs.common import target_kind

    lowered = target.lower()
    if any(c in target for c in _GLOB):
        entry: dict[str, Any] = {"preset": target}
    elif lowered.endswith(".toml"):
        raise UsageError("give one sweep file alone, without presets or spec files. "
                         f"Received: TARGET={target!r}")
    elif target_kind(target) == "model":
        raise UsageError("bench measures presets and spec files (.json), not saved Keras "
                         f"models; use archscale.measure from Python. Received: TARGET={target!r}")
    elif lowered.endswith(".json"):
        entry = {"spec": os.path.abspath(target)}
    else:
        entry = {"preset": target}
    if overrides:
        entry["set"] = dict(overrides)
    return entry


def sweep_from_args(args: argparse.Namespace) -> Any:
    """The sweep described by TARGETS and the options (a .toml TARGET: that file).

    Raises:
        ArchscaleError: bad options, unknown presets, invalid overrides or sweep file.
    """
    from archscale.cli_verbs.common import overrides_of
    from archscale.runner.sweep import load_sweep, sweep_from_dict

    if args.timeout is not None and not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds. "
                         f"Received: --timeout={args.timeout:g}")
    if len(args.targets) == 1 and args.targets[0].lower().endswith(".toml"):
        given = [o for o in _SWEEP_ONLY_CONFLICTS if getattr(args, o) not in (None, False, [])]
        if given:
            option = "--" + given[0].replace("_", "-")
            raise UsageError(f"{option} cannot be combined with a sweep file; put it in the "
                             f"file. Received: {option}={getattr(args, given[0])!r}")
        sweep = load_sweep(args.targets[0])
        if args.peak is False:
            sweep = dataclasses.replace(sweep, peak=None)
        elif args.peak and sweep.peak is None:
            from archscale.runner.measurements import MEASUREMENTS, resolve_settings

            sweep = dataclasses.replace(sweep, peak=resolve_settings(MEASUREMENTS["peak"], {}))
        if args.timeout is not None:
            sweep = dataclasses.replace(sweep, peak_timeout_s=float(args.timeout), variants=tuple(
                dataclasses.replace(v, timeout_s=float(args.timeout)) for v in sweep.variants))
    else:
        overrides = overrides_of(args)
        data: dict[str, Any] = {"name": "command line",
                                "arch": [_arch_entry(t, overrides) for t in args.targets]}
        if args.measure is not None:
            data["measure"] = split_list(args.measure, "--measure")
        for option, key, kind, low in (("batch", "batch_sizes", int, 1),
                                       ("seeds", "seeds", int, 0),
                                       ("dataset", "datasets", str, 1)):
            value = getattr(args, option)
            if value is not None:
                data[key] = split_list(value, f"--{option}", kind=kind, low=low)
        if args.timeout is not None:
            data["timeout"] = float(args.timeout)
        if args.xla:
            data["xla"] = True
        if args.peak is not None:
            data["peak"] = args.peak
        sweep = sweep_from_dict(data, base_dir=os.getcwd(), source="command line")
    if args.workers is not None:
        sweep = dataclasses.replace(sweep, workers=args.workers)
    if args.executor is not None:
        sweep = dataclasses.replace(sweep, executor=args.executor)
    return sweep


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
    from archscale.runner.measurements import MEASUREMENTS

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


def _matches(row: Mapping[str, Any], patterns: Sequence[str]) -> bool:
    from archscale.runner.sweep import match_any

    names = [str(row.get(k)) for k in ("name", "preset", "family") if row.get(k)]
    return not patterns or any(match_any(patterns, n) for n in names)


def run_list(args: argparse.Namespace) -> int:
    """``--list``: the store's rows (filtered by TARGET globs and --measure)."""
    from archscale.errors import InputFileError
    from archscale.runner.rows import aggregate_rows
    from archscale.runner.store import DEFAULT_DB, open_store

    path = args.db or DEFAULT_DB
    if not os.path.exists(path):
        raise InputFileError(f"no result store at {path!r}; run a sweep first or pass --db. "
                             f"Received: --db={path!r}")
    measures = split_list(args.measure, "--measure")
    with open_store(path) as store:
        rows = [r for r in store.rows() if _matches(r, args.targets)
                and (not measures or r.get("measurement") in measures)]
        runs = store.runs()
    rows = rows if args.per_seed else aggregate_rows(rows)
    if args.json:
        print_json(rows)
        return 0
    ok = sum(1 for r in rows if r.get("status") == "ok")
    print(f"{path}: {len(rows)} results ({ok} ok, {len(rows) - ok} failed) from "
          f"{len(runs)} runs")
    if rows:
        print()
        print(result_tables(rows, args.format))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the sweep (or ``--list``); exit 1 when a job of the sweep is stored as failed.

    Raises:
        ArchscaleError: bad input (see ``sweep_from_args``), an unusable --db.
    """
    import sys

    from archscale.runner.executor import run_sweep
    from archscale.runner.jobs import expand
    from archscale.runner.progress import format_seconds, make_progress
    from archscale.runner.rows import aggregate_rows
    from archscale.runner.store import open_store

    if args.list:
        return run_list(args)
    if not args.targets:
        raise UsageError("give a sweep file, presets or spec files, or --list. "
                         "Received: no TARGET")
    sweep = sweep_from_args(args)
    jobs = expand(sweep)
    stream = sys.stderr if args.json else sys.stdout
    progress = make_progress(stream)
    with open_store(args.db) as store:
        try:
            summary = run_sweep(jobs, store, name=sweep.name, source=sweep.source,
                                force=args.force, retry_failed=not args.skip_failed,
                                workers=sweep.workers, progress=progress,
                                executor=sweep.executor)
        finally:
            progress.close()
        rows = store.rows([j.key for j in jobs])
    shown = rows if args.per_seed else aggregate_rows(rows)
    failed = sum(1 for r in rows if r.get("status") != "ok")
    overhead = summary.overhead_s_median
    note = f"; per-job overhead median {overhead:.2f}s" if overhead is not None else ""
    if summary.startup_s:
        note += f" (+ {summary.startup_s:.1f}s once to start the fork server)"
    if summary.note:
        print(summary.note, file=stream)
    print(f"{len(jobs)} jobs: {summary.ok} ok and {summary.failed} failed in this run, "
          f"{len(summary.skipped)} skipped (already stored); {failed} failed in all; "
          f"wall time {format_seconds(summary.wall_s)}{note}; store {store.path}", file=stream)
    if args.json:
        print_json(shown)
    else:
        print()
        print(result_tables(shown, args.format))
    return 1 if failed else 0
