"""Regenerate the generated blocks of README.md and docs/*.md.

Blocks, each between a start and an end marker, and the file each lives in:

- README.md: the optimal-dimensions tables (``<!-- dimensions:start -->``, from
  ``reports/dimensions/results.json`` when the study report exists) and the Keras-coverage
  summary (``<!-- keras-coverage-summary:begin -->``, from ``bench/results/keras_coverage.jsonl``);
- docs/propose.md: propose's rules table (``<!-- propose-rules:start -->``);
- docs/families.md: the catalogue table (``<!-- catalogue:start -->``, what ``archscale
  catalogue`` prints) and the fields of every family (``<!-- families:start -->``,
  ``tools/families_doc.py``);
- docs/profile.md: the Keras-coverage table (``<!-- keras-coverage:begin -->``,
  ``tools/keras_coverage.py``).

The memory tables of docs/costs.md (``<!-- memory-backends:begin -->``) come from
measurements and are written by ``tools/memory_table.py --doc docs/costs.md``.

Usage: ``python tools/update_readme.py [--check] [README.md]``; the docs are found in the
``docs/`` folder beside the README. With ``--check`` nothing is written and the exit code is 1
when any file is out of date (the test suite runs this).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from families_doc import render_families  # noqa: E402  (tools/ is not a package)
from keras_coverage import summary as coverage_summary  # noqa: E402
from keras_coverage import table as coverage_table  # noqa: E402

from archscale.catalogue import catalogue_rows  # noqa: E402
from archscale.cli_verbs.catalogue import catalogue_table  # noqa: E402
from archscale.heuristics.rules_doc import rules_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- catalogue:start -->", "<!-- catalogue:end -->"
RULES_START, RULES_END = "<!-- propose-rules:start -->", "<!-- propose-rules:end -->"
DIM_START, DIM_END = "<!-- dimensions:start -->", "<!-- dimensions:end -->"
FAM_START, FAM_END = "<!-- families:start -->", "<!-- families:end -->"
COV_START, COV_END = "<!-- keras-coverage:begin -->", "<!-- keras-coverage:end -->"
COVSUM_START, COVSUM_END = ("<!-- keras-coverage-summary:begin -->",
                            "<!-- keras-coverage-summary:end -->")
DIM_RESULTS = ROOT / "reports" / "dimensions" / "results.json"
#: The plot of the study report shown in the README, when the report has it.
DIM_PLOT = "reports/dimensions/plots/accuracy_mnist1d-4k.png"


def render_dimensions(path: Path = DIM_RESULTS) -> str | None:
    """The study's proposal and search tables (``archscale.study.report``) with a link to the
    report (and its MNIST-1D 4k plot when present), or ``None`` when the study report is
    absent."""
    if not path.exists():
        return None
    from archscale.study.report import dimensions_markdown

    block = dimensions_markdown(json.loads(path.read_text(encoding="utf-8")))
    if (path.parent.parent.parent / DIM_PLOT).exists():
        block += f"\n\n![accuracy against size, MNIST-1D 4k]({DIM_PLOT})"
    return block


def render_catalogue() -> str:
    """The catalogue table as GitHub markdown (what ``archscale catalogue`` prints)."""
    return catalogue_table(catalogue_rows(), "github", exact=False)


#: file (relative to the README's folder) -> (start, end, renderer) of each block it holds.
#: A renderer returning ``None`` leaves its block as it is.
BLOCKS: dict[str, tuple[tuple[str, str, Callable[[], str | None]], ...]] = {
    "README.md": ((DIM_START, DIM_END, render_dimensions),
                  (COVSUM_START, COVSUM_END, coverage_summary)),
    "docs/propose.md": ((RULES_START, RULES_END, rules_markdown),),
    "docs/families.md": ((START, END, render_catalogue),
                         (FAM_START, FAM_END, render_families)),
    "docs/profile.md": ((COV_START, COV_END, coverage_table),),
}


def _replace(text: str, start: str, end: str, block: str) -> str:
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block}\n{end}{tail}"


def updated(text: str, name: str = "README.md") -> str:
    """``text`` (the file ``name`` of ``BLOCKS``) with every generated block replaced.

    Raises:
        ValueError: a block's start or end marker is missing from ``text``.
    """
    for start, end, render in BLOCKS[name]:
        if start not in text or end not in text:
            raise ValueError(f"{name} lacks the {start} ... {end} markers. Received: a file "
                             "without them")
        block = render()
        if block is not None:
            text = _replace(text, start, end, block)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("readme", nargs="?", default="README.md")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    base = Path(args.readme).parent
    stale = []
    for name in BLOCKS:
        path = Path(args.readme) if name == "README.md" else base / name
        text = path.read_text(encoding="utf-8")
        try:
            new = updated(text, name)
        except ValueError as err:
            print(f"{path}: {err}", file=sys.stderr)
            return 2
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if args.check and stale:
        print(", ".join(map(str, stale)) + " out of date: run `make readme`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
