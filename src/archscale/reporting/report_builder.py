"""Rows -> report: collect (store or pytest-benchmark), merge, filter, frontiers, plots, files.

``collect`` does everything that needs no matplotlib (rows, frontiers, environments, the
reproducing sweep); ``document`` renders the plots and lays out the blocks; ``write_report``
writes ``report.md``, ``report.html``, ``results.csv``, ``results.json``, ``sweep.toml``
(+ ``specs/``) and ``plots/*.png|svg`` into ``--out`` atomically. ``report`` is the Python
entry point (``archscale.report``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from archscale.errors import ArchscaleError
from archscale.profiling import profile
from archscale.reference_archs.registry import spec_from_dict
from archscale.reporting import plots, writers as w
from archscale.reporting.dimensions import scaling_tables
from archscale.reporting.frontiers import Frontier, standard_frontiers
from archscale.reporting.merge import (apply_filters, environments, machine_peaks, matches,
                                       merge_rows, parse_filters, retarget_overridden,
                                       split_status)
from archscale.reporting.reproduce import command, sweep_toml
from archscale.reporting.schema import ReportError, json_ready, resolve_axis, rows_to_csv
from archscale.reporting.sources import Source, load_pytest_benchmark, load_store
from archscale.reporting.tables import (accuracy_table, environment_table, failed_table,
                                        pareto_table, results_table, scaling_table)
from archscale.reporting.study_headline import study_blocks
from archscale.runner.rows import spec_hash
from archscale.version import __version__

from archscale.runner.store import DEFAULT_DB


@dataclass
class ReportData:
    """Everything a report shows, before plotting.

    Attributes:
        name: Report name (the ``--out`` directory's name, or the source's stem).
        source: The raw input.
        rows: Report rows (one per architecture and setting), filtered.
        failed: Failed store rows of the reported architectures (and of filtered names).
        frontiers: Pareto frontiers (``--x``/``--y`` first).
        axes: The headline ``(x, y)`` columns.
        environments: ``{environment_hash: env_* fields}`` of the reported rows.
        specs: ``{spec_hash: spec dict}`` of the reported architectures (store input).
        commands: The commands that reproduce the report.
        files: Extra files (``sweep.toml``, ``specs/*.json``).
    """

    name: str
    source: Source
    rows: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    frontiers: list[Frontier]
    axes: tuple[str, str]
    environments: dict[str, dict[str, Any]]
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: str = ""
    files: dict[str, str] = field(default_factory=dict)
    headline_blocks: list[Any] = field(default_factory=list)


def load_source(db: str | None = None, from_pytest_benchmark: str | None = None) -> Source:
    """The store at ``db`` (default ``archscale.db``) or a pytest-benchmark JSON file.

    Raises:
        ReportError: both given, missing/empty store, unreadable benchmark file.
    """
    if db and from_pytest_benchmark:
        raise ReportError("give either --db or --from-pytest-benchmark, not both. Received: "
                          f"--db={db!r}, --from-pytest-benchmark={from_pytest_benchmark!r}")
    if from_pytest_benchmark:
        return load_pytest_benchmark(from_pytest_benchmark)
    return load_store(db or DEFAULT_DB)


def collect(source: Source, *, filters: Sequence[str] = (), x: str | None = None,
            y: str | None = None, name: str | None = None,
            out: str | None = None) -> ReportData:
    """Merge, filter and analyse the source's rows.

    Args:
        source: From ``load_source``.
        filters: ``field=value`` items (``--filter``).
        x: Headline x column or alias (default ``macs``).
        y: Headline y column or alias (default ``accuracy_mean``).
        name: Report name (default: the ``out`` directory's name, else the source's stem).
        out: Where the report will be written (for the reproduce commands).

    Returns:
        The ``ReportData``.

    Raises:
        ReportError: unknown filter field or axis, no ok rows, or nothing matches the filters.
    """
    parsed = parse_filters(filters)
    axes = (resolve_axis(x or "macs", "--x"), resolve_axis(y or "accuracy_mean", "--y"))
    ok, failed = split_status(source.rows)
    if not ok:
        raise ReportError(f"{source.path!r} holds no successful result ({len(failed)} failed "
                          f"jobs; see 'archscale bench --list'). Received: {source.path!r}")
    ok = retarget_overridden(ok, source.jobs)
    peaks = machine_peaks(source.rows)
    rows = apply_filters(merge_rows(ok, peaks), parsed)
    if not rows:
        given = " ".join(f"--filter {f}" for f in filters)
        raise ReportError(f"no result matches the filters. Received: {given}")
    archs = {(r.get("environment_hash"), r.get("spec_hash")) for r in rows}
    failed = [r for r in failed
              if matches(r, {k: v for k, v in parsed.items() if r.get(k) is not None})]
    envs = environments(r for r in source.rows if r.get("environment_hash") in
                        {a[0] for a in archs})
    for env_hash, peak in peaks.items():
        if env_hash in envs:
            envs[env_hash].setdefault("env_machine_peak_gflops", round(peak, 1))
    name = name or (os.path.basename(os.path.abspath(out)) if out else
                    os.path.splitext(os.path.basename(source.path))[0])
    data = ReportData(name, source, rows, failed,
                      standard_frontiers(rows, [axes] if axes[1] != axes[0] else []),
                      axes, envs)
    envs_kept = {a[0] for a in archs}
    kept = [r for r in ok if (r.get("environment_hash"), r.get("spec_hash")) in archs
            or (r.get("measurement") == "peak" and r.get("environment_hash") in envs_kept)]
    kept += failed
    jobs = [source.jobs[k] for k in dict.fromkeys(str(r.get("job_key")) for r in kept)
            if k in source.jobs]
    data.specs = {spec_hash(j["spec"]): j["spec"] for j in jobs}
    data.commands, data.files = _reproduce(source, jobs, name, filters, x, y, out)
    return data


def _reproduce(source: Source, jobs: Sequence[Mapping[str, Any]], name: str,
               filters: Sequence[str], x: str | None, y: str | None,
               out: str | None) -> tuple[str, dict[str, str]]:
    out = out or f"reports/{name}"
    options = [a for f in filters for a in ("--filter", f)]
    options += (["--x", x] if x else []) + (["--y", y] if y else [])
    lines: list[str] = []
    files: dict[str, str] = {}
    if source.kind == "pytest-benchmark":
        modules = sorted({str(n).split("::")[0] for n in source.meta.get("fullnames") or [] if n})
        lines += ["# the benchmarks (pytest-benchmark)",
                  command(["python", "-m", "pytest", *modules, "--benchmark-only",
                           "--benchmark-json", source.path]),
                  "# this report",
                  command(["archscale", "report", "--from-pytest-benchmark", source.path,
                           "--out", out, *options])]
        return "\n".join(lines), files
    sources = [r.get("source") for r in source.runs if r.get("source")]
    originals = [s for s in dict.fromkeys(sources) if str(s).endswith(".toml")]
    for original in originals:
        lines += ["# the sweep as it was run", command(["archscale", "bench", original,
                                                        "--db", source.path])]
    if jobs:
        text, specs = sweep_toml(jobs, name=name)
        files = {"sweep.toml": text, **specs}
        lines += ["# every job of this report (skips the jobs already in the store)",
                  command(["archscale", "bench", f"{out}/sweep.toml", "--db", source.path])]
    lines += ["# this report", command(["archscale", "report", "--db", source.path, "--out",
                                        out, *options])]
    return "\n".join(lines), files


# ---------------------------------------------------------------------------------------------
# Document
# ---------------------------------------------------------------------------------------------


def _memory_curves(data: ReportData) -> dict[str, dict[str, list[float]]]:
    """Analytic train/inference peaks at powers of two up to twice the largest batch."""
    curves = {}
    batches = [int(r["batch_size"]) for r in data.rows if r.get("batch_size")]
    top = min(max(batches, default=32) * 2, 1024)
    grid = sorted({2 ** i for i in range(11) if 2 ** i <= top} | set(batches))
    with_memory = {r.get("spec_hash") for r in data.rows
                   if r.get("train_peak_bytes_predicted") is not None}
    for spec_hash, spec in data.specs.items():
        if spec_hash not in with_memory:
            continue
        try:
            prof = profile(spec_from_dict(dict(spec)))
        except ArchscaleError:
            continue
        curves[spec_hash] = {"batches": grid,
                             "train": [prof.training_peak_bytes(b) for b in grid],
                             "inference": [prof.inference_peak_bytes(b) for b in grid]}
    return curves


def _summary(data: ReportData) -> str:
    archs = {(r.get("environment_hash"), r.get("spec_hash"), r.get("name")) for r in data.rows}
    runs = len(data.source.runs)
    where = (f"pytest-benchmark file {data.source.path}" if data.source.kind != "store"
             else f"result store {data.source.path} ({runs} run{'s' * (runs != 1)})")
    failed = len(data.failed)
    return (f"{len(archs)} architectures, {len(data.rows)} rows (one per architecture and "
            f"setting), {failed} failed job{'s' * (failed != 1)}, from the {where}. Generated "
            f"by archscale {__version__}. Exact numbers: results.csv and results.json.")


def document(data: ReportData) -> tuple[list[w.Block], list[Any]]:
    """The report's blocks and its plots (this renders every figure with matplotlib)."""
    from archscale.reporting.plots_dimensions import memory_plot, scaling_plot

    colors = plots.family_colors(data.rows)
    blocks: list[w.Block] = [w.Heading(f"archscale report: {data.name}", 1),
                             w.Text(_summary(data))]
    made: list[Any] = []

    def figure(plot: Any) -> None:
        if plot is not None:
            made.append(plot)
            blocks.append(w.Figure(plot))

    headline = [f for f in data.frontiers if (f.x, f.y) == data.axes][:1]
    latency = plots.latency_macs_plots(data.rows, colors)
    blocks += data.headline_blocks
    first = "" if data.headline_blocks else "Headline: "
    if headline:
        blocks.append(w.Heading(f"{first}{headline[0].title}"))
        figure(plots.frontier_plot(headline[0], colors))
    elif latency:
        blocks.append(w.Heading(f"{first}latency vs MACs"))
        figure(latency.pop(0))
    blocks += [w.Heading("Results"), w.TableBlock(results_table(data.rows))]
    accuracy = accuracy_table(data.rows)
    if accuracy is not None:
        blocks += [w.Heading("Accuracy per seed", 3), w.TableBlock(accuracy)]
    blocks.append(w.Heading("Pareto frontiers"))
    if not data.frontiers:
        blocks.append(w.Text("No architecture has both values of any trade-off measured: "
                             "the accuracy frontiers need accuracy results (archscale bench "
                             "... --measure accuracy --dataset mnist1d)."))
    for fr in data.frontiers:
        blocks.append(w.Heading(fr.title, 3))
        if fr is not (headline[0] if headline else None):
            figure(plots.frontier_plot(fr, colors))
        blocks.append(w.TableBlock(pareto_table(fr)))
    if latency:
        blocks.append(w.Heading("Latency vs MACs"))
        for plot in latency:
            figure(plot)
    curves = _memory_curves(data)
    memory = [p for p in (memory_plot(data.rows, curves, k) for k in ("train", "inference")) if p]
    if memory:
        blocks.append(w.Heading("Memory vs batch size"))
        for plot in memory:
            figure(plot)
    scaling = scaling_tables(data.rows, data.specs)
    table = scaling_table(scaling)
    if table is not None:
        blocks += [w.Heading("How dimensions scale"), w.TableBlock(table)]
        for item in scaling:
            figure(scaling_plot(item))
    failed = failed_table(data.failed)
    if failed is not None:
        blocks += [w.Heading("Failed jobs"), w.TableBlock(failed)]
    blocks.append(w.Heading("Environment"))
    for env_hash, env in data.environments.items():
        blocks.append(w.TableBlock(environment_table(env, f"machine {env_hash}"),
                                   show_title=len(data.environments) > 1))
    blocks += [w.Heading("Reproduce"), w.Code(data.commands)]
    return blocks, made


def report_files(data: ReportData) -> dict[str, str | bytes]:
    """Every file of the report directory (renders the plots)."""
    blocks, made = document(data)
    files: dict[str, str | bytes] = {
        "report.md": w.markdown(blocks),
        "report.html": w.html_page(blocks, f"archscale report: {data.name}"),
        "results.csv": rows_to_csv(data.rows),
        "results.json": json.dumps(json_ready(data.rows), indent=1) + "\n",
        **data.files,
    }
    for plot in made:
        files[f"plots/{plot.slug}.png"] = plot.png
        files[f"plots/{plot.slug}.svg"] = plot.svg
    return files


def write_report(data: ReportData, out: str) -> list[str]:
    """Write the report directory atomically; returns the written paths.

    Raises:
        ReportError: ``out`` cannot be written (nothing is left behind).
    """
    w.preflight(out)  # fail before spending time on plots
    return w.write_directory(out, report_files(data))


def report(db: str | None = None, out: str | None = None, *,
           filters: Sequence[str] | Mapping[str, Any] = (),
           x: str | None = None, y: str | None = None,
           from_pytest_benchmark: str | None = None, as_frame: bool = False,
           headline_from: str | None = None) -> Any:
    """Report rows from a result store (or pytest-benchmark JSON), optionally written to disk.

    Args:
        db: The store (default ``archscale.db``).
        out: Report directory to write (``report.md``, ``report.html``, ``results.csv``,
            ``results.json``, plots); ``None`` writes nothing.
        filters: ``field=value`` items, e.g. ``["family=resnet", "batch_size=1"]``, or a
            mapping ``{"family": "resnet", "batch_size": [1, 32]}``.
        x: Headline x column or alias (default ``macs``).
        y: Headline y column or alias (default ``accuracy``).
        from_pytest_benchmark: A ``pytest --benchmark-json`` file instead of a store.
        as_frame: Return a ``pandas.DataFrame`` (needs pandas) instead of a list of dicts.
        headline_from: The optimal-dimensions study's ``results.json``: its proposal table
            becomes the report's headline (``reporting.study_headline``).

    Returns:
        The report rows (``archscale.reporting.schema.COLUMN_NAMES``), as dicts or a DataFrame.

    Raises:
        ReportError: empty store, unknown filter field or axis, unwritable ``out``.
    """
    if as_frame:
        try:
            import pandas
        except ImportError:
            raise ReportError("as_frame=True needs pandas (pip install pandas). "
                              "Received: as_frame=True") from None
    if isinstance(filters, Mapping):
        filters = [f"{k}={','.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                   for k, v in filters.items()]
    headline = study_blocks(headline_from, out) if headline_from else []
    source = load_source(db, from_pytest_benchmark)
    data = collect(source, filters=list(filters), x=x, y=y, out=out)
    data.headline_blocks = headline
    if out is not None:
        write_report(data, out)
    rows = json_ready(data.rows)
    return pandas.DataFrame(rows) if as_frame else rows
