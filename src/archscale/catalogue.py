"""The preset catalogue as flat rows (pure Python, no TensorFlow).

Used by ``archscale catalogue`` and by the README generator, so both show the same numbers.

Example::

    from archscale.catalogue import catalogue_rows
    for row in catalogue_rows("resnet*"):
        print(row["name"], row["params"], row["macs"])
"""

from __future__ import annotations

import fnmatch
from typing import Any

from archscale.costs import profile_graph
from archscale.reference_archs.registry import build_graph, presets

#: Keys of every catalogue row, in column order. Stable: reports and the README rely on them.
CATALOGUE_KEYS = ("name", "family", "input_shape", "classes", "params", "trainable_params",
                  "macs", "flops", "depth", "description")


def matches(pattern: str, *names: str) -> bool:
    """Case-insensitive glob match of ``pattern`` against any of ``names``."""
    pattern = pattern.lower()
    return any(fnmatch.fnmatchcase(n.lower(), pattern) for n in names)


def catalogue_rows(pattern: str = "*") -> list[dict[str, Any]]:
    """One row per preset whose name or family matches ``pattern``, in catalogue order.

    Args:
        pattern: Case-insensitive glob over the preset name or its family name
            (``"resnet*"``, ``"efficientnet"``, ``"*v2"``).

    Returns:
        Dicts with the keys of ``CATALOGUE_KEYS``: ``input_shape`` is a list of ints, ``depth``
        is the weighted depth (longest conv/dense chain, ResNet-50 = 50), costs are exact ints at
        batch 1 (see the cost conventions in ``archscale.costs``). Empty when nothing matches.

    Raises:
        ShapeError: a preset cannot be built (a catalogue bug, caught by the tests).
    """
    rows = []
    registry = presets()
    for name in registry:
        row = registry.get(name)
        spec = row.spec
        if not matches(pattern, name, spec.family):
            continue
        prof = profile_graph(build_graph(spec))
        rows.append({
            "name": name,
            "family": spec.family,
            "input_shape": list(spec.input_shape),
            "classes": spec.classes,
            "params": prof.params,
            "trainable_params": prof.trainable_params,
            "macs": prof.macs,
            "flops": prof.flops,
            "depth": prof.depth,
            "description": row.description,
        })
    return rows
