"""Predicted versus measured memory peaks over catalogue presets: docs/costs.md's error tables.

``python tools/memory_table.py PRESET... --batch-size 32 [--input P=64x64x3] [--jobs 2]
[--processes 3]`` measures each preset through ``archscale.bench`` (a memory job per preset,
each in a fresh process of the runner's) and prints a Markdown table (``--json`` for rows).
``--processes N`` repeats the whole measurement N times, into N throw-away stores, and reports
the median of each peak (peaks under ~10 MB move by up to +-10 % between processes).

``python tools/memory_table.py --sweep bench/sweeps/catalogue.toml --sweep
bench/sweeps/families.toml --batch-sizes 1 32 --backends onednn eigen --store memtable
--processes 3 --jobs 2 --doc docs/costs.md`` is the backend table of docs/costs.md
(``backend_table``; ``--doc`` writes it between the file's ``memory-backends`` markers): every
memory preset of the sweep files (``--sweep`` repeats) at its input size, each batch
size, measured per backend (the runner's processes inherit ``TF_ENABLE_ONEDNN_OPTS``, set here
per backend) into the stores under ``--store`` (``run0.db``, ...: re-running resumes, skipping
stored jobs; presets under 10 MB in ``--processes`` fresh processes, the median reported).
The predictions are computed when the table is printed, so a changed rule needs no
re-measurement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from backend_table import NOTES, backend_table, format_backend_table

from archscale.profiling import profile
from archscale.reference_archs.registry import preset
from archscale.runner.api import bench

#: The measured and predicted columns of a memory row that the table reports.
PEAKS = ("train_peak_bytes_predicted", "train_peak_bytes_measured",
         "inference_peak_bytes_predicted", "inference_peak_bytes_measured")


def _sweep(names: Sequence[str], batch_size: int, optimizer: str, jobs: int,
           overrides: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    arch = [{"preset": n, **({"set": {"input_shape": list(overrides[n])}}
                             if n in overrides else {})} for n in names]
    return {"name": "memory-table", "measure": ["memory"], "batch_sizes": [batch_size],
            "workers": max(1, min(2, jobs)), "timeout": 1800,
            "settings": {"memory": {"optimizer": optimizer, "batch_sizes": [batch_size]}},
            "arch": arch}


def _table_row(name: str, input_shape: Sequence[int],
               runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {"preset": name, "input_shape": "x".join(map(str, input_shape)),
                           "params": runs[0]["params"], "error": None}
    failed = [r for r in runs if r.get("status") != "ok"]
    if failed:
        row["error"] = failed[0].get("error") or "failed"
        return row
    for key in PEAKS:
        row[key] = int(statistics.median(int(r[key]) for r in runs))
    for kind in ("train_peak", "inference_peak"):
        row[f"{kind}_error_pct"] = 100.0 * (row[f"{kind}_bytes_predicted"]
                                            / row[f"{kind}_bytes_measured"] - 1.0)
    return row


def memory_error_table(presets: Iterable[str], batch_size: int = 32,
                       input_overrides: Mapping[str, Sequence[int]] | None = None, *,
                       optimizer: str = "adam", jobs: int = 1,
                       processes: int = 1) -> list[dict[str, Any]]:
    """Predicted versus measured peaks for catalogue presets, one row per preset.

    Every preset is measured by the runner in a fresh process (allocator statistics are per
    process, so ``jobs`` = 2 runs two at a time without changing the peaks, only the wall
    time).

    Args:
        presets: Preset names.
        batch_size: Batch size of every measurement.
        input_overrides: ``{preset: input_shape}`` for presets measured at a reduced size.
        optimizer: Optimizer of the training step.
        jobs: Measurements running at once (1 or 2).
        processes: Fresh processes per preset (the median of each peak is reported).

    Returns:
        Rows, in ``presets`` order, with ``preset``, ``input_shape``, ``params``,
        ``train_peak_bytes_predicted``, ``train_peak_bytes_measured``,
        ``train_peak_error_pct``, the same three for inference, and ``error`` (a message, or
        ``None``) for a failed measurement.
    """
    names = list(presets)
    overrides = dict(input_overrides or {})
    shapes = {n: tuple(overrides.get(n) or preset(n).input_shape) for n in names}
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="memory-table-") as tmp:
        for k in range(max(1, processes)):
            result = bench(_sweep(names, batch_size, optimizer, jobs, overrides),
                           db=str(Path(tmp) / f"run{k}.db"))
            for job in result.job_rows:
                if job.get("measurement") == "memory":
                    runs[job["preset"]].append(job)
    for n in names:
        if not runs[n]:
            runs[n] = [{"status": "failed", "error": "no memory job ran",
                        "params": profile(preset(n, input_shape=shapes[n])).params}]
    return [_table_row(n, shapes[n], runs[n]) for n in names]


def format_error_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table (MB = 10^6 bytes) of ``memory_error_table`` rows."""
    head = ("| preset | input | params | train pred MB | train meas MB | train err % "
            "| infer pred MB | infer meas MB | infer err % |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['preset']} | {r['input_shape']} | {r['params']:,} | "
                         f"failed: {r['error']} ||||||")
            continue
        mb = [r[k] / 1e6 for k in ("train_peak_bytes_predicted", "train_peak_bytes_measured",
                                   "inference_peak_bytes_predicted",
                                   "inference_peak_bytes_measured")]
        lines.append(f"| {r['preset']} | {r['input_shape']} | {r['params']:,} | {mb[0]:.1f} | "
                     f"{mb[1]:.1f} | {r['train_peak_error_pct']:+.1f} | {mb[2]:.1f} | "
                     f"{mb[3]:.1f} | {r['inference_peak_error_pct']:+.1f} |")
    return "\n".join(lines)


README_BEGIN, README_END = "<!-- memory-backends:begin -->", "<!-- memory-backends:end -->"


def _write_between_markers(path: Path, table: str) -> None:
    """Replace the text between ``README_BEGIN`` and ``README_END`` in ``path``."""
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition(README_BEGIN)
    _, _, tail = rest.partition(README_END)
    if not rest or README_END not in rest:
        raise SystemExit(f"{path}: no {README_BEGIN} ... {README_END} block")
    path.write_text(f"{head}{README_BEGIN}\n{table}\n{README_END}{tail}", encoding="utf-8")


def _parse_shape(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.lower().split("x"))


def main(argv: Sequence[str] | None = None) -> int:
    """``python tools/memory_table.py PRESET... [--batch-size N] [--input P=64x64x3]``."""
    parser = argparse.ArgumentParser(prog="python tools/memory_table.py")
    parser.add_argument("presets", nargs="*")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--input", action="append", default=[],
                        help="PRESET=HxWxC input override, repeatable")
    parser.add_argument("--jobs", type=int, default=1, help="measurements at once")
    parser.add_argument("--processes", type=int, default=1,
                        help="fresh processes per preset; the median is reported")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sweep", action="append", default=[],
                        help="the backend table over this sweep file's memory presets "
                             "(repeatable: the union, in order)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--backends", nargs="+", default=["onednn", "eigen"])
    parser.add_argument("--store", default="memtable", help="folder of the resumable stores")
    parser.add_argument("--doc", "--readme", dest="doc",
                        help="write the backend table into this file (docs/costs.md), between "
                             f"{README_BEGIN} and {README_END}")
    args = parser.parse_args(argv)
    if args.sweep:
        rows = backend_table(args.sweep, args.batch_sizes, args.backends, args.store,
                             optimizer=args.optimizer, jobs=args.jobs,
                             processes=args.processes)
        text = json.dumps(rows, indent=1) if args.json else format_backend_table(rows, NOTES)
        if args.doc:
            _write_between_markers(Path(args.doc), format_backend_table(rows, NOTES))
        print(text)
        return 0
    overrides = dict((k, _parse_shape(v)) for k, v in (s.split("=", 1) for s in args.input))
    rows = memory_error_table(args.presets, args.batch_size, overrides,
                              optimizer=args.optimizer, jobs=args.jobs,
                              processes=args.processes)
    print(json.dumps(rows, indent=1) if args.json else format_error_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
