"""``archscale catalogue``: the table of presets with their exact costs (no TensorFlow)."""

from __future__ import annotations

import argparse
from typing import Any, Sequence

from archscale.catalogue import catalogue_rows
from archscale.cli_verbs.common import UsageError, add_format_argument
from archscale.cli_verbs.output import print_json, render_table
from archscale.units import format_count, format_shape

NAME = "catalogue"
HELP = "list the preset architectures with params, MACs and depth"
DESCRIPTION = """\
List the preset architectures: name, family, input shape, classes, parameters, MACs
(multiply-accumulates per example, the number papers call FLOPs), weighted depth (longest chain
of conv/dense layers) and a one-line description with its source. Pure Python: no TensorFlow.
"""
EXAMPLES = """\
examples:
  archscale catalogue
  archscale catalogue --filter 'resnet*' --format github
  archscale catalogue --filter efficientnet --exact --format latex
  archscale catalogue --json | jq '.[] | {name, params, macs}'
"""

#: Table headers, in the order of ``table_row``.
HEADERS = ("name", "family", "input", "classes", "params", "MACs", "depth", "description")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``archscale catalogue``."""
    parser.add_argument("--filter", default="*", metavar="PATTERN",
                        help="glob over preset or family names, case-insensitive "
                             "(e.g. 'resnet*', efficientnet; default: all)")
    parser.add_argument("--exact", action="store_true",
                        help="print exact integers instead of 25.6M-style numbers")
    add_format_argument(parser)


def table_row(row: dict[str, Any], exact: bool = False) -> list[Any]:
    """One ``catalogue_rows`` row as table cells (see ``HEADERS``)."""
    number = (lambda v: v) if exact else format_count
    return [row["name"], row["family"], format_shape(row["input_shape"]), str(row["classes"]),
            number(row["params"]), number(row["macs"]), row["depth"], row["description"]]


def catalogue_table(rows: Sequence[dict[str, Any]], tablefmt: str = "github",
                    exact: bool = False) -> str:
    """Render ``catalogue_rows`` output as a table (also used by the README generator).

    Args:
        rows: Rows from ``archscale.catalogue.catalogue_rows``.
        tablefmt: Any ``tabulate`` format.
        exact: Exact integers instead of human-readable numbers.

    Returns:
        The table text.
    """
    align = ("left", "left", "right", "right", "right", "right", "right", "left")
    return render_table([table_row(r, exact) for r in rows], HEADERS, tablefmt, colalign=align)


def run(args: argparse.Namespace) -> int:
    """Print the catalogue.

    Raises:
        UsageError: ``--filter`` matches no preset.
    """
    rows = catalogue_rows(args.filter)
    if not rows:
        raise UsageError(f"no preset or family matches --filter (see 'archscale catalogue' for "
                         f"the names). Received: --filter={args.filter!r}")
    if args.json:
        print_json(rows)
    else:
        print(catalogue_table(rows, args.format, args.exact))
    return 0
