"""CLI output: JSON, ``tabulate`` tables and human-readable counts and bytes (no TensorFlow)."""

from __future__ import annotations

import json
import math
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


def format_shape(shape: Sequence[int] | None) -> str:
    """``(32, 32, 3)`` -> ``"32x32x3"``."""
    return "x".join(str(v) for v in shape) if shape else "-"


_SI = ("", "K", "M", "G", "T", "P", "E")
_IEC = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _scaled(value: float, base: int, units: Sequence[str], digits: int) -> tuple[str, str]:
    magnitude = abs(value)
    index = 0
    while magnitude >= base and index < len(units) - 1:
        magnitude /= base
        index += 1
    if index and magnitude:
        # After rounding, 999.96K shows as 1M and 1020 KiB as 0.996 MiB (never 1e+03K).
        rounded = float(f"{magnitude:.{digits}g}")
        if rounded >= min(base, 10 ** digits) and index < len(units) - 1:
            magnitude, index = magnitude / base, index + 1
    text = f"{magnitude:.{digits}g}" if index else f"{magnitude:g}"
    return ("-" if value < 0 else "") + text, units[index]


def human_count(value: float, digits: int = 3) -> str:
    """Human-readable count with SI suffixes: 25636712 -> ``"25.6M"``, 3.86e9 -> ``"3.86G"``.

    Args:
        value: The number (params, MACs, FLOPs...).
        digits: Significant digits of the scaled value.

    Returns:
        Values under 1000 as plain numbers; otherwise 3 significant digits and K/M/G/T.
    """
    if not math.isfinite(value):
        return str(value)
    text, unit = _scaled(value, 1000, _SI, digits)
    return text + unit


def human_bytes(value: float, digits: int = 3) -> str:
    """Human-readable bytes with binary units: 1288490189 -> ``"1.2 GiB"``.

    Args:
        value: Bytes.
        digits: Significant digits of the scaled value.

    Returns:
        e.g. ``"512 B"``, ``"97.8 MiB"``.
    """
    if not math.isfinite(value):
        return str(value)
    text, unit = _scaled(value, 1024, _IEC, digits)
    return f"{text} {unit}"
