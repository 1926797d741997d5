"""Counts, bytes and durations: how archscale parses and prints them (pure functions).

One module for every layer: the CLI's options and tables, the proposal's rationale and the
reports all parse and format through these functions, so ``25.6M`` means the same everywhere.

Parsing (errors are ``SpecError`` naming the option):

- counts: a plain number (``2000000``, ``2e6``, ``2_000_000``) or a number with a decimal SI
  suffix ``K`` (1e3), ``M`` (1e6), ``G`` or ``B`` (1e9), ``T`` (1e12); case-insensitive.
- bytes: a plain number of bytes, or a number with a unit: decimal ``KB``/``MB``/``GB``/``TB``
  (powers of 1000, as disk vendors and the SI write them), binary ``KiB``/``MiB``/``GiB``/``TiB``
  (powers of 1024, as ``free -h`` and TensorFlow's memory stats mean them), or ``B``. A bare
  ``K``/``M``/``G`` is read as binary (``512M`` = 512 MiB), as ``ulimit``/``docker`` do.

Formatting: counts with SI suffixes and 3 significant digits (``25.6M``), bytes with binary
units (``97.8 MiB``), durations as ``5s`` / ``1m15s`` / ``1h02m``, shapes as ``32x32x3``.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

from archscale.errors import SpecError

_COUNT_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9, "t": 10**12}

_BYTE_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
}

_NUMBER = r"([0-9][0-9_]*(?:\.[0-9_]*)?(?:e[+-]?[0-9]+)?|\.[0-9]+(?:e[+-]?[0-9]+)?)"
_PATTERN = re.compile(_NUMBER + r"\s*([a-z]*)")


def _split(text: object, option: str, what: str) -> tuple[float, str]:
    """``"4.1G"`` -> ``(4.1, "g")``; raise ``SpecError`` for anything else."""
    raw = str(text).strip().lower()
    match = _PATTERN.fullmatch(raw)
    if not isinstance(text, (str, int, float)) or isinstance(text, bool) or match is None:
        raise SpecError(f"{option} must be {what}. Received: {option}={text!r}")
    try:
        number = float(match.group(1).replace("_", ""))
    except ValueError:
        raise SpecError(f"{option} must be {what}. Received: {option}={text!r}") from None
    return number, match.group(2)


def parse_count(text: str | int | float, option: str = "count") -> int:
    """Parse a count such as ``"200M"``, ``"4.1G"``, ``"2e6"`` or ``"1500000"``.

    Args:
        text: The value as typed.
        option: Option name used in the error message (``--max-macs``).

    Returns:
        The count as a positive int (rounded to the nearest integer).

    Raises:
        SpecError: unparseable, unknown suffix, not finite, or below 1.
    """
    what = "a positive count such as 2000000, 2M, 4.1G or 2e6"
    number, suffix = _split(text, option, what)
    if suffix not in _COUNT_SUFFIX:
        raise SpecError(f"{option} must be {what} (suffixes K, M, G/B, T). "
                        f"Received: {option}={text!r}")
    value = number * _COUNT_SUFFIX[suffix]
    if not math.isfinite(value) or round(value) < 1:
        raise SpecError(f"{option} must be {what}. Received: {option}={text!r}")
    return int(round(value))


def parse_bytes(text: str | int | float, option: str = "size") -> int:
    """Parse a memory size such as ``"512MB"``, ``"2GiB"``, ``"1.5G"`` or ``"1048576"``.

    Args:
        text: The value as typed.
        option: Option name used in the error message (``--max-train-memory``).

    Returns:
        Bytes as a positive int.

    Raises:
        SpecError: unparseable, unknown unit, not finite, or below 1 byte.
    """
    what = "a positive size such as 512MB, 2GiB, 1.5G or 1048576 (bytes)"
    number, unit = _split(text, option, what)
    if unit not in _BYTE_UNITS:
        raise SpecError(f"{option} must be {what} (units B, KB/MB/GB/TB = powers of 1000, "
                        f"KiB/MiB/GiB/TiB = powers of 1024). Received: {option}={text!r}")
    value = number * _BYTE_UNITS[unit]
    if not math.isfinite(value) or round(value) < 1:
        raise SpecError(f"{option} must be {what}. Received: {option}={text!r}")
    return int(round(value))


def parse_positive_float(text: str | int | float, option: str = "value") -> float:
    """Parse a positive finite number (``--max-latency-ms 5``).

    Raises:
        SpecError: unparseable, not finite, or not above zero.
    """
    try:
        value = float(str(text).strip())
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise SpecError(f"{option} must be a positive number. Received: {option}={text!r}")
    return value


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


def format_count(value: float, digits: int = 3) -> str:
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


def format_bytes(value: float, digits: int = 3) -> str:
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


def format_seconds(seconds: float | None) -> str:
    """``75.2`` -> ``"1m15s"``; ``None`` -> ``"?"``."""
    if seconds is None:
        return "?"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_shape(shape: Sequence[int] | None) -> str:
    """``(32, 32, 3)`` -> ``"32x32x3"``; ``"-"`` for no shape."""
    return "x".join(str(v) for v in shape) if shape else "-"
