"""Reading a Keras layer's serialised config (``layer.get_config()``, or one entry of a
``.keras`` file's ``config.json``): the values readers share. No Keras import: a ``.keras``
file is profiled from its config alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from archscale.graph import ACTIVATIONS

#: Keras activation names that are archscale ones under another name.
ACTIVATION_ALIASES = {"hard_silu": "hard_swish", "silu": "swish", "relu6": "relu6"}


class Untranslatable(Exception):
    """A layer (or one of its settings) has no graph op; it is recorded as unsupported."""


@dataclass(frozen=True)
class Call:
    """One call of a layer or operation in the functional graph.

    Attributes:
        args: Positional arguments: ``TensorArg`` for tensors, plain values for constants.
        kwargs: Keyword arguments, likewise.
    """

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def constants(self) -> list[Any]:
        """The positional arguments that are not tensors (``x + 3.0``: ``[3.0]``)."""
        return [a for a in self.args if not isinstance(a, (TensorArg, list, tuple))]


@dataclass(frozen=True)
class TensorArg:
    """A tensor argument: the graph node it is and its shape as Keras recorded it."""

    ref: str
    shape: tuple[int | None, ...] | None = None


def activation_name(value: Any) -> str:
    """archscale's name of a serialised activation (a string, or a dict naming a function).

    Raises:
        Untranslatable: an activation archscale has no FLOPs rule for.
    """
    if value is None:
        return "linear"
    if isinstance(value, Mapping):
        value = value.get("config") if isinstance(value.get("config"), str) else \
            value.get("class_name")
    name = value if isinstance(value, str) else getattr(value, "__name__", repr(value))
    name = ACTIVATION_ALIASES.get(name, name)
    if name not in ACTIVATIONS:
        raise Untranslatable(f"activation {name!r}")
    return name


def channels_last(c: Mapping[str, Any]) -> None:
    """Refuse channels-first layers."""
    if (c.get("data_format") or "channels_last") != "channels_last":
        raise Untranslatable("channels_first")


def last_axis(c: Mapping[str, Any], rank: int) -> None:
    """Refuse normalisations over any axis but the last."""
    axis = c.get("axis", -1)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if axes not in ([-1], [rank - 1]):
        raise Untranslatable(f"axis {axis}")


def padding(c: Mapping[str, Any], allowed: tuple[str, ...] = ("same", "valid")) -> str:
    """The layer's padding, lower-case, if the op can express it."""
    value = str(c.get("padding", "valid")).lower()
    if value not in allowed:
        raise Untranslatable(f"padding {value!r}")
    return value


def dtype_mode(c: Mapping[str, Any]) -> str | None:
    """The quantisation mode of a layer's dtype policy (``"int8"``), or ``None``."""
    policy = c.get("dtype")
    if isinstance(policy, Mapping):
        conf = policy.get("config") or {}
        mode = conf.get("mode") if isinstance(conf, Mapping) else None
        name = conf.get("name", "") if isinstance(conf, Mapping) else ""
        if mode is None and isinstance(name, str) and "_from_" in name:
            mode = name.split("_from_")[0]
        if mode:
            if mode != "int8":
                raise Untranslatable(f"quantization mode {mode!r}")
            return mode
    elif isinstance(policy, str) and policy.startswith("int8_from_"):
        return "int8"
    return None


def adaptations(c: Mapping[str, Any]) -> dict[str, Any]:
    """LoRA rank and quantisation of a Dense/EinsumDense/Embedding config, as node attrs."""
    out: dict[str, Any] = {}
    if c.get("lora_rank"):
        out["lora_rank"] = int(c["lora_rank"])
    if dtype_mode(c):
        out["quantized"] = "int8"
    return out


def ints(value: Any, rank: int) -> tuple[int, ...]:
    """An int or a sequence of ints as ``rank`` ints."""
    if isinstance(value, int):
        return (value,) * rank
    out = tuple(int(v) for v in value)
    if len(out) == 1 and rank > 1:
        out = out * rank
    if len(out) != rank:
        raise Untranslatable(f"expected {rank} values, got {out}")
    return out
