"""Regenerate the generated blocks of README.md (the catalogue table, propose's rules table,
the optimal-dimensions tables from ``reports/dimensions/results.json``).

Usage: ``python tools/update_readme.py [--check] [README.md]``. With ``--check`` nothing is
written and the exit code is 1 when the README is out of date (the test suite runs this).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from archscale.catalogue import catalogue_rows
from archscale.cli_verbs.catalogue import catalogue_table
from archscale.heuristics.rules_doc import rules_markdown

START, END = "<!-- catalogue:start -->", "<!-- catalogue:end -->"
RULES_START, RULES_END = "<!-- propose-rules:start -->", "<!-- propose-rules:end -->"
DIM_START, DIM_END = "<!-- dimensions:start -->", "<!-- dimensions:end -->"
DIM_RESULTS = Path(__file__).resolve().parent.parent / "reports" / "dimensions" / "results.json"


def render_dimensions(path: Path = DIM_RESULTS) -> str | None:
    """The study's proposal and search tables (``archscale.study.report``), or ``None`` when
    the committed study report is absent."""
    if not path.exists():
        return None
    import json

    from archscale.study.report import dimensions_markdown

    return dimensions_markdown(json.loads(path.read_text(encoding="utf-8")))


def render_catalogue() -> str:
    """The catalogue table as GitHub markdown (what ``archscale catalogue`` prints)."""
    return catalogue_table(catalogue_rows(), "github", exact=False)


def _replace(text: str, start: str, end: str, block: str) -> str:
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block}\n{end}{tail}"


def updated(text: str) -> str:
    """``text`` with the blocks between the catalogue and propose-rules markers replaced."""
    text = _replace(text, START, END, render_catalogue())
    if RULES_START in text:
        text = _replace(text, RULES_START, RULES_END, rules_markdown())
    if DIM_START in text and (block := render_dimensions()) is not None:
        text = _replace(text, DIM_START, DIM_END, block)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("readme", nargs="?", default="README.md")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    path = Path(args.readme)
    text = path.read_text(encoding="utf-8")
    new = updated(text)
    if args.check:
        if new != text:
            print(f"{path} is out of date: run `make readme`", file=sys.stderr)
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
