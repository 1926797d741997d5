"""Predicted versus measured memory peaks over catalogue presets: the README's error table.

``python tools/memory_table.py PRESET... --batch-size 32 [--input P=64x64x3] [--jobs 2]``
measures each preset with
``archscale.measure.memory.measure_memory`` in its own subprocess and prints a Markdown table
(``--json`` for rows).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Mapping, Sequence

from archscale.measure.memory import MemoryMeasurementError, measure_memory
from archscale.specs import ArchSpec
from archscale.profiling import profile
from archscale.reference_archs.registry import preset


def _table_row(name: str, spec: ArchSpec, batch_size: int, optimizer: str,
               processes: int) -> dict[str, Any]:
    row: dict[str, Any] = {"preset": name, "input_shape": "x".join(map(str, spec.input_shape)),
                           "params": profile(spec).params, "error": None}
    try:
        res = measure_memory(spec, batch_size, optimizer=optimizer, processes=processes)
    except MemoryMeasurementError as exc:
        row["error"] = str(exc)
        return row
    for key in ("train_peak", "inference_peak"):
        row[f"{key}_bytes_predicted"] = getattr(res, f"{key}_bytes_predicted")
        row[f"{key}_bytes_measured"] = getattr(res, f"{key}_bytes_measured")
        row[f"{key}_error_pct"] = 100.0 * getattr(res, f"{key}_rel_error")
    return row


def memory_error_table(presets: Iterable[str], batch_size: int = 32,
                       input_overrides: Mapping[str, Sequence[int]] | None = None, *,
                       optimizer: str = "adam", jobs: int = 1,
                       processes: int = 1) -> list[dict[str, Any]]:
    """Predicted versus measured peaks for catalogue presets, one row per preset.

    Every preset is measured in its own subprocess (allocator statistics are per process, so
    ``jobs`` > 1 runs several at once without changing the peaks, only the wall time).

    Args:
        presets: Preset names.
        batch_size: Batch size of every measurement.
        input_overrides: ``{preset: input_shape}`` for presets measured at a reduced size.
        optimizer: Optimizer of the training step.
        jobs: Measurements running at once.
        processes: Fresh processes per preset (median reported, see ``measure_memory``).

    Returns:
        Rows, in ``presets`` order, with ``preset``, ``input_shape``, ``params``,
        ``train_peak_bytes_predicted``, ``train_peak_bytes_measured``,
        ``train_peak_error_pct``, the same three for inference, and ``error`` (a message, or
        ``None``) for a failed measurement.
    """
    overrides = dict(input_overrides or {})
    specs = {name: preset(name, **({"input_shape": tuple(overrides[name])}
                                             if name in overrides else {}))
             for name in presets}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(
            lambda n: _table_row(n, specs[n], batch_size, optimizer, processes), specs))


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
    args = parser.parse_args(argv)
    overrides = dict((k, _parse_shape(v)) for k, v in (s.split("=", 1) for s in args.input))
    rows = memory_error_table(args.presets, args.batch_size, overrides,
                              optimizer=args.optimizer, jobs=args.jobs,
                              processes=args.processes)
    print(json.dumps(rows, indent=1) if args.json else format_error_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
