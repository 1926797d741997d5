"""docs/families.md's generated block: the fields of every registered family.

Everything comes from the registry (``archscale.reference_archs.registry``): each family's
description, input ranks, scaling fields, dropout field, recipe style and presets from its
``Family`` metadata, and each spec field's type and default from the spec dataclass, its
meaning from the spec class's ``Attributes:`` docstring section. ``tools/update_readme.py``
writes it between the ``<!-- families:start -->`` / ``<!-- families:end -->`` markers.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from typing import Any

from archscale.reference_archs.registry import families, presets

RANK_NAMES = {1: "vector", 2: "sequence (length x channels)", 3: "image (H x W x C)"}
BASE_FIELDS = {"input_shape": "Input shape without the batch axis.",
               "classes": "Output units (classes, or regression outputs)."}


def field_docs(cls: type) -> dict[str, str]:
    """``name -> meaning`` from the ``Attributes:`` section of ``cls``'s docstring, each
    meaning joined onto one line."""
    doc = inspect.getdoc(cls) or ""
    if "Attributes:" not in doc:
        return {}
    section = doc.split("Attributes:", 1)[1]
    out: dict[str, str] = {}
    names: list[str] = []
    for line in section.splitlines():
        if line and not line.startswith(" "):
            break  # the next section
        match = re.match(r"^ {4}(\w+(?: / \w+)*): ?(.*)$", line)  # "filters / kernels: ..."
        if match:
            names = match.group(1).split(" / ")
            for name in names:
                out[name] = match.group(2).strip()
        elif names and line.strip():
            for name in names:
                out[name] += " " + line.strip()
    return out


def _type_name(hint: Any) -> str:
    text = hint.__name__ if isinstance(hint, type) else str(hint)
    return text.replace("typing.", "").replace("NoneType", "None")


def _default(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        return f"`{field.default!r}`"
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f"`{field.default_factory()!r}`"  # type: ignore[misc]
    return "required"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def family_section(name: str) -> str:
    """The markdown of one family: its metadata lines and its field table."""
    family = families().get(name)
    cls = family.spec_cls
    docs = dict(BASE_FIELDS)
    for klass in reversed(cls.__mro__):  # a subclass's spec (regnety) inherits its base's
        docs.update(field_docs(klass))
    hints = typing.get_type_hints(cls)
    ranks = ", ".join(RANK_NAMES[r] for r in family.ranks)
    extras = [t for t, on in (("flattens any input to a vector", family.flattens_input),
                              ("takes token IDs (`--modality tokens`)", family.takes_tokens))
              if on]
    scaling = "; ".join(f"{axis} `{'`, `'.join(family.scaling.axis(axis))}`"
                        for axis in ("width", "depth", "resolution")
                        if family.scaling.axis(axis))
    dropout = f"`{family.dropout_field}`" if family.dropout_field else "none"
    names = [p for p in presets() if presets().get(p).spec.family == name]
    lines = [f"### {name}", "", f"{family.description}.", "",
             f"- inputs: {ranks}" + (f"; {', '.join(extras)}" if extras else ""),
             f"- scaling fields: {scaling}",
             f"- dropout field: {dropout}; recipe style: {family.recipe_style}; "
             f"layouts: {', '.join(family.variants)}",
             f"- published accuracy points: {len(family.accuracy)}",
             f"- presets: {', '.join(f'`{p}`' for p in names) or 'none'}", "",
             "| field | type | default | meaning |", "|---|---|---|---|"]
    for field in dataclasses.fields(cls):
        lines.append(f"| `{field.name}` | `{_cell(_type_name(hints[field.name]))}` | "
                     f"{_cell(_default(field))} | {_cell(docs.get(field.name, ''))} |")
    return "\n".join(lines)


def render_families() -> str:
    """Every registered family's section, in registry order."""
    registry = families()
    summary = (f"{len(registry)} families, {len(presets())} presets. Generated from the "
               "registry by `make readme` (`tools/families_doc.py`).")
    return "\n\n".join([summary] + [family_section(name) for name in registry])
