"""``archscale report``: tables, Pareto frontiers and plots from the result store (or from
pytest-benchmark JSON), printed and/or written as a report directory."""

from __future__ import annotations

import argparse
import sys

from archscale.cli_verbs.common import add_format_argument
from archscale.cli_verbs.output import print_json
from archscale.reporting.report_builder import collect, load_source, report_files
from archscale.reporting.schema import json_ready
from archscale.reporting.tables import pareto_table, render, results_table
from archscale.reporting.writers import file_size_note, preflight, write_directory
from archscale.reporting.study_headline import study_blocks

NAME = "report"
HELP = "trade-off report (tables, Pareto frontiers, plots) from the benchmark store"
DESCRIPTION = """\
Turn stored benchmark results into a report: one row per architecture and setting (batch
size, XLA, dataset) with params, MACs, FLOPs, predicted and measured memory, latency median
and p90 with the 95% confidence interval, throughput, achieved GFLOP/s and its fraction of
the machine's peak, accuracy mean +- std; the Pareto frontiers of accuracy against MACs,
latency and params (and --y against --x); plots; the environment; the commands that
reproduce it. Without --out the tables are printed (--format); with --out the directory gets
report.md, report.html (one self-contained file), results.csv, results.json, sweep.toml and
plots/ (PNG and SVG), written to a temporary directory first and moved into place.
--filter FIELD=VALUE keeps matching rows (globs, comma-separated alternatives; repeat for
AND). --from-pytest-benchmark reads 'pytest --benchmark-json' output instead of the store.
"""
EXAMPLES = """\
examples:
  archscale report
  archscale report --db archscale.db --out reports/catalogue
  archscale report --filter family=resnet --filter batch_size=1 --format github
  archscale report --x latency --y accuracy --out reports/latency
  archscale report --json > rows.json
  archscale report --from-pytest-benchmark bench.json --out reports/bench
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``archscale report``."""
    parser.add_argument("--db", metavar="PATH",
                        help="result store (default: ./archscale.db)")
    parser.add_argument("--from-pytest-benchmark", metavar="JSON", dest="from_pytest_benchmark",
                        help="read a 'pytest --benchmark-json' file instead of the store")
    parser.add_argument("--out", metavar="DIR",
                        help="write the report directory (e.g. reports/NAME); "
                             "without it the tables are printed")
    parser.add_argument("--filter", action="append", default=[], metavar="FIELD=VALUE",
                        help="keep rows whose FIELD matches (e.g. family=resnet, "
                             "name='resnet*', batch_size=1,32); repeatable")
    parser.add_argument("--x", metavar="COLUMN",
                        help="x of the headline trade-off (default: macs)")
    parser.add_argument("--y", metavar="COLUMN",
                        help="y of the headline trade-off (default: accuracy)")
    parser.add_argument("--headline-from", metavar="JSON", dest="headline_from",
                        help="the optimal-dimensions study's results.json "
                             "(reports/dimensions/results.json): its proposal table becomes "
                             "the headline")
    add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Print the report's tables (or ``--json`` rows) and write ``--out`` if given.

    Raises:
        ArchscaleError: empty or missing store, unknown filter field or axis, unwritable --out.
    """
    headline = study_blocks(args.headline_from, args.out) if args.headline_from else []
    source = load_source(args.db, args.from_pytest_benchmark)
    data = collect(source, filters=args.filter, x=args.x, y=args.y, out=args.out)
    data.headline_blocks = headline
    written = None
    if args.out is not None:
        preflight(args.out)
        files = report_files(data)
        write_directory(args.out, files)
        written = f"wrote {args.out}: {file_size_note(files)} (report.md, report.html, " \
                  f"results.csv, results.json)"
    if args.json:
        print_json(json_ready(data.rows))
        if written:
            print(written, file=sys.stderr)
        return 0
    blocks = [render(results_table(data.rows), args.format)]
    for fr in data.frontiers:
        blocks.append(f"{fr.title}\n{render(pareto_table(fr), args.format)}")
    print("\n\n".join(blocks))
    if written:
        print(f"\n{written}")
    return 0
