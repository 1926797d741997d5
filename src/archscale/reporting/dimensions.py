"""How a family's dimensions scale with its width multiplier and its input size (analytic).

For one base spec per family, the spec is re-profiled (pure Python, no TensorFlow) with its
width scaled by ``WIDTHS`` (``archscale.runner.scaling.width_overrides``: the same rule sweep
files use) and with its input's spatial size (sequence length, or the features of a vector
input) scaled by ``SIZES``. The log-log slope of each quantity gives its scaling exponent:
for convolutional families params grow about as ``width²`` and do not depend on the input
size, MACs grow as ``width²·size²`` for images and ``width²·size`` for sequences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from archscale.errors import ArchscaleError
from archscale.profiling import profile
from archscale.reference_archs.registry import preset, spec_from_dict
from archscale.runner.scaling import width_overrides

WIDTHS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
SIZES = (0.5, 0.75, 1.0, 1.5, 2.0)
QUANTITIES = ("params", "macs", "activation_bytes")
QUANTITY_LABELS = {"params": "params", "macs": "MACs",
                   "activation_bytes": "activation peak (batch 1)"}


@dataclass
class Scaling:
    """One family's scaling table.

    Attributes:
        family: Family name.
        base: Label of the base spec (preset or row name).
        input_shape: The base input shape.
        width: ``{multiplier: {quantity: value or None}}`` (None: the variant is invalid).
        size: ``{factor: {quantity: value or None}}``, with ``size_shapes`` the input shapes.
        size_shapes: ``{factor: input shape}``.
    """

    family: str
    base: str
    input_shape: tuple[int, ...]
    width: dict[float, dict[str, float | None]] = field(default_factory=dict)
    size: dict[float, dict[str, float | None]] = field(default_factory=dict)
    size_shapes: dict[float, tuple[int, ...]] = field(default_factory=dict)

    def exponent(self, axis: str, quantity: str) -> float | None:
        """Least-squares slope of log(quantity) against log(multiplier) on ``axis``
        (``"width"`` or ``"size"``), or ``None`` with fewer than two valid points."""
        table = self.width if axis == "width" else self.size
        points = [(math.log(k), math.log(v[quantity])) for k, v in table.items()
                  if v.get(quantity)]
        if len(points) < 2:
            return None
        mx = sum(p[0] for p in points) / len(points)
        my = sum(p[1] for p in points) / len(points)
        den = sum((p[0] - mx) ** 2 for p in points)
        return sum((p[0] - mx) * (p[1] - my) for p in points) / den if den else None


def _measure(spec: Any) -> dict[str, float | None]:
    try:
        prof = profile(spec)
    except ArchscaleError:
        return {q: None for q in QUANTITIES}
    return {"params": float(prof.params), "macs": float(prof.macs),
            "activation_bytes": float(prof.inference_peak_bytes(1) - prof.weight_bytes())}


def scaled_shape(shape: Sequence[int], factor: float) -> tuple[int, ...]:
    """``shape`` with its spatial axes (all but channels; a vector's features) scaled."""
    shape = tuple(int(v) for v in shape)
    axes = shape if len(shape) == 1 else shape[:-1]
    scaled = tuple(max(1, int(round(v * factor))) for v in axes)
    return scaled if len(shape) == 1 else scaled + shape[-1:]


def family_scaling(spec: Any, base: str, widths: Sequence[float] = WIDTHS,
                   sizes: Sequence[float] = SIZES) -> Scaling:
    """The scaling table of ``spec`` (invalid variants get ``None`` values).

    Args:
        spec: The base ``ArchSpec``.
        base: Its display label.
        widths: Width multipliers.
        sizes: Input size factors.
    """
    out = Scaling(spec.family, base, tuple(spec.input_shape))
    for w in widths:
        try:
            variant = spec.replace(**width_overrides(spec, w)) if w != 1.0 else spec
        except (ArchscaleError, TypeError, ValueError):
            out.width[w] = {q: None for q in QUANTITIES}
            continue
        out.width[w] = _measure(variant)
    for s in sizes:
        shape = scaled_shape(spec.input_shape, s)
        out.size_shapes[s] = shape
        try:
            variant = spec.replace(input_shape=shape) if s != 1.0 else spec
        except (ArchscaleError, TypeError, ValueError):
            out.size[s] = {q: None for q in QUANTITIES}
            continue
        out.size[s] = _measure(variant)
    return out


def base_specs(rows: Sequence[Mapping[str, Any]],
               specs: Mapping[str, Mapping[str, Any]]) -> list[tuple[Any, str]]:
    """One ``(spec, label)`` per family in ``rows``: the family's first row's spec
    (``specs`` maps spec_hash to ``spec.to_dict()``), else its preset."""
    out, seen = [], set()
    for row in rows:
        family = row.get("family")
        if not family or family in seen:
            continue
        spec = None
        try:
            if row.get("spec_hash") in specs:
                spec = spec_from_dict(dict(specs[row["spec_hash"]]))
            elif row.get("preset"):
                spec = preset(str(row["preset"]))
        except ArchscaleError:
            spec = None
        if spec is not None:
            seen.add(family)
            out.append((spec, str(row.get("name") or row.get("preset"))))
    return out


def scaling_tables(rows: Sequence[Mapping[str, Any]],
                   specs: Mapping[str, Mapping[str, Any]]) -> list[Scaling]:
    """``family_scaling`` of every family's base spec (see ``base_specs``)."""
    return [family_scaling(spec, label) for spec, label in base_specs(rows, specs)]
