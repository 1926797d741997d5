"""CLI output: JSON and ``tabulate`` tables (no TensorFlow). Counts, bytes, durations and shapes
are formatted by ``archscale.units``."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence, TextIO

#: Default ``--format`` of every table.
DEFAULT_TABLE_FORMAT = "simple"


def print_json(obj: Any, file: TextIO | None = None) -> None:
    """Print ``obj`` as JSON with indent 2 (tuples become lists)."""
    print(json.dumps(obj, indent=2), file=file or sys.stdout)


def render_table(rows: Sequence[Sequence[Any]], headers: Sequence[str],
                 tablefmt: str = DEFAULT_TABLE_FORMAT, *,
                 colalign: Sequence[str] | None = None) -> str:
    """Render rows with ``tabulate`` (ints get thousands separators).

    Args:
        rows: Table rows.
        headers: Column names.
        tablefmt: A ``tabulate`` format name.
        colalign: Optional per-column alignment ("left", "right", ...).

    Returns:
        The table text.
    """
    from tabulate import tabulate

    kwargs: dict[str, Any] = {"headers": list(headers), "tablefmt": tablefmt, "intfmt": ","}
    if colalign is not None and rows:
        kwargs["colalign"] = list(colalign)
    return tabulate([list(r) for r in rows], **kwargs)
