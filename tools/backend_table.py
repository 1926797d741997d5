"""The backend table of docs/costs.md: predicted versus measured training peaks per CPU backend.

Every preset the sweep files measure memory for (``bench/sweeps/catalogue.toml`` and
``families.toml``: the presets up to 30 M parameters, at the sweeps' input sizes), at each
batch size, is measured through
``archscale.bench`` once per backend: ``TF_ENABLE_ONEDNN_OPTS`` is set here to ``1`` (oneDNN)
or ``0`` (Eigen) before the runner starts its processes, which inherit it, and the memory jobs
carry the backend in their key (``archscale.runner.jobs``), so both land in the same store.
The stores (``run0.db``, ``run1.db``, ... under ``store``, one per repeat) make the run
resumable. Predictions are computed when the table is made (``archscale.profile(spec,
backend=...)``), so a changed rule needs no re-measurement.
"""

from __future__ import annotations

import os
import statistics
import tomllib
from pathlib import Path
from typing import Any, Mapping, Sequence

from archscale.profiling import profile
from archscale.reference_archs.registry import preset
from archscale.runner.api import bench

#: ``TF_ENABLE_ONEDNN_OPTS`` of each CPU backend.
FLAGS = {"onednn": "1", "eigen": "0"}
#: Bound of the issue's check on the training peak (predicted / measured - 1).
BOUND = 0.15
#: Presets whose predicted training peak (oneDNN) is under this at every batch size are
#: measured in ``processes`` fresh processes, the others in one: peaks under ~10 MB move by
#: up to +-15 % from process to process (allocator reuse, thread scheduling).
SMALL_BYTES = 10 << 20
#: Why a row misses ``BOUND`` (``"preset/batch"`` -> the table's note column).
NOTES = {
    "tcn/1": "Eigen: each dilated conv (run as space-to-batch) fills a ~26 MB im2col buffer "
             "in both gradients; how many are live at once is TensorFlow's scheduling (4 "
             "processes: 59.1 to 69.5 MiB); the model counts two",
}


def memory_presets(sweep_paths: str | Sequence[str]) -> list[tuple[str, tuple[int, ...] | None]]:
    """``(preset, input_shape or None)`` of every ``[[arch]]`` entry measuring memory, over
    one sweep file or several (in order, each pair once)."""
    paths = [sweep_paths] if isinstance(sweep_paths, str) else list(sweep_paths)
    out: list[tuple[str, tuple[int, ...] | None]] = []
    for path in paths:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        for entry in data.get("arch", []):
            if "memory" not in entry.get("measure", []):
                continue
            names = entry["preset"] if isinstance(entry["preset"], list) else [entry["preset"]]
            shape = entry.get("set", {}).get("input_shape")
            out += [(n, tuple(shape) if shape else None) for n in names]
    return list(dict.fromkeys(out))


def _sweep(presets: Sequence[tuple[str, tuple[int, ...] | None]], batch_sizes: Sequence[int],
           optimizer: str, jobs: int) -> dict[str, Any]:
    arch = [{"preset": n, **({"set": {"input_shape": list(s)}} if s else {})}
            for n, s in presets]
    return {"name": "memory-backends", "measure": ["memory"], "batch_sizes": list(batch_sizes),
            "workers": max(1, min(2, jobs)), "timeout": 1800,
            "settings": {"memory": {"optimizer": optimizer, "batch_sizes": list(batch_sizes)}},
            "arch": arch}


def _small(entry: tuple[str, tuple[int, ...] | None], batch_sizes: Sequence[int]) -> bool:
    """Whether a preset's predicted training peak is under ``SMALL_BYTES`` at every batch."""
    name, shape = entry
    prof = profile(preset(name, **({"input_shape": shape} if shape else {})), backend="onednn")
    return all(prof.training_peak_bytes(b) < SMALL_BYTES for b in batch_sizes)


def measure_backends(presets: Sequence[tuple[str, tuple[int, ...] | None]],
                     batch_sizes: Sequence[int], backends: Sequence[str], store: str, *,
                     optimizer: str = "adam", jobs: int = 1,
                     processes: int = 1) -> list[dict[str, Any]]:
    """Run (or resume) the memory jobs of every backend; their stored job rows."""
    Path(store).mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    before = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    try:
        for backend in backends:
            os.environ["TF_ENABLE_ONEDNN_OPTS"] = FLAGS[backend]
            for k in range(max(1, processes)):
                todo = presets if k == 0 else [p for p in presets if _small(p, batch_sizes)]
                if not todo:
                    break
                result = bench(_sweep(todo, batch_sizes, optimizer, jobs),
                               db=str(Path(store) / f"run{k}.db"))
                rows += [{**r, "table_backend": backend} for r in result.job_rows
                         if r.get("measurement") == "memory"]
    finally:
        if before is None:
            os.environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
        else:
            os.environ["TF_ENABLE_ONEDNN_OPTS"] = before
    return rows


def _cell(runs: Sequence[Mapping[str, Any]], predicted: int, kind: str) -> dict[str, Any]:
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return {"error": (runs[0].get("error") if runs else None) or "not measured"}
    measured = int(statistics.median(int(r[f"{kind}_peak_bytes_measured"]) for r in ok))
    return {"predicted": predicted, "measured": measured,
            "error_pct": 100.0 * (predicted / measured - 1.0)}


def backend_table(sweep_paths: str | Sequence[str], batch_sizes: Sequence[int] = (1, 32),
                  backends: Sequence[str] = ("onednn", "eigen"), store: str = "memtable", *,
                  optimizer: str = "adam", jobs: int = 1,
                  processes: int = 1) -> list[dict[str, Any]]:
    """One row per (preset, batch size): per backend the training and inference peaks.

    Args:
        sweep_paths: The sweep file (or files) whose memory presets and input sizes are
            tabled.
        batch_sizes: Batch sizes.
        backends: ``onednn`` and/or ``eigen`` (each measured with its
            ``TF_ENABLE_ONEDNN_OPTS``).
        store: Folder of the resumable stores.
        optimizer: Optimizer of the training step.
        jobs: Measurements at once (1 or 2).
        processes: Fresh processes per job of the small presets (``SMALL_BYTES``; the median
            peak is reported); the others are measured once.

    Returns:
        Rows with ``preset``, ``input_shape``, ``params``, ``batch_size`` and, per backend
        ``b``, ``train_<b>`` and ``inference_<b>``: ``{"predicted", "measured", "error_pct"}``
        (bytes) or ``{"error": message}``.
    """
    presets = memory_presets(sweep_paths)
    runs = measure_backends(presets, batch_sizes, backends, store, optimizer=optimizer,
                            jobs=jobs, processes=processes)
    table: list[dict[str, Any]] = []
    for name, shape in presets:
        spec = preset(name, **({"input_shape": shape} if shape else {}))
        for batch in batch_sizes:
            row: dict[str, Any] = {"preset": name, "batch_size": batch,
                                   "input_shape": "x".join(map(str, spec.input_shape)),
                                   "params": profile(spec).params}
            for backend in backends:
                prof = profile(spec, backend=backend)
                mine = [r for r in runs if r.get("preset") == name
                        and r["table_backend"] == backend and r.get("batch_size") == batch]
                row[f"train_{backend}"] = _cell(
                    mine, prof.training_peak_bytes(batch, "float32", optimizer), "train")
                row[f"inference_{backend}"] = _cell(
                    mine, prof.inference_peak_bytes(batch, "float32"), "inference")
            table.append(row)
    return table


def _fmt(cell: Mapping[str, Any]) -> tuple[str, str, str]:
    if "error" in cell:
        return ("-", "-", f"failed: {cell['error']}")
    mark = "" if abs(cell["error_pct"]) <= 100 * BOUND else " **miss**"
    return (f"{cell['predicted'] / 2**20:.1f}", f"{cell['measured'] / 2**20:.1f}",
            f"{cell['error_pct']:+.1f} %{mark}")


def format_backend_table(rows: Sequence[Mapping[str, Any]],
                         notes: Mapping[str, str] | None = None) -> str:
    """A Markdown table (MiB) of ``backend_table`` rows: training peaks per backend and the
    inference error; ``notes`` (``"preset/batch" -> why``) fill the last column."""
    backends = [k[len("train_"):] for k in rows[0] if k.startswith("train_")] if rows else []
    head = ["preset (input)", "batch", "params"]
    for b in backends:
        head += [f"train pred. MiB, {b}", f"meas. {b}", f"error {b}"]
    head += [f"inference error {b}" for b in backends] + ["note"]
    lines = ["| " + " | ".join(head) + " |",
             "|---|---:|---:|" + "---:|" * (3 * len(backends) + len(backends)) + "---|"]
    for r in rows:
        cells = [f"{r['preset']} ({r['input_shape']})", str(r["batch_size"]), f"{r['params']:,}"]
        for b in backends:
            cells += list(_fmt(r[f"train_{b}"]))
        cells += [_fmt(r[f"inference_{b}"])[2].replace(" **miss**", "") for b in backends]
        cells.append((notes or {}).get(f"{r['preset']}/{r['batch_size']}", ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
