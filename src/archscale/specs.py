"""ArchSpec base class, Task and Budget: frozen, JSON-serialisable, hashable descriptions.

An ``ArchSpec`` subclass per family declares typed fields (all keyword-only). Lists coming from
JSON are coerced to tuples so that every spec is hashable, and every field is validated in
``__post_init__`` with a message that names the field and what was received.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from archscale.environment import check_backend
from archscale.errors import SpecError

# ---------------------------------------------------------------------------------------------
# Validation helpers (shared by every family's ``validate``)
# ---------------------------------------------------------------------------------------------


def check_positive_int(field: str, value: Any, *, allow_zero: bool = False) -> None:
    """Raise ``SpecError`` unless ``value`` is a positive int (or zero when allowed).

    Args:
        field: Field name used in the message.
        value: Value to check.
        allow_zero: Accept 0 as well.

    Raises:
        SpecError: ``value`` is not an int, is a bool, or is out of range.
    """
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        kind = "a non-negative int" if allow_zero else "a positive int"
        raise SpecError(f"{field} must be {kind}. Received: {field}={value!r}")


def check_fraction(field: str, value: Any, *, high_inclusive: bool = False) -> None:
    """Raise ``SpecError`` unless ``0 <= value < 1`` (or ``<= 1`` when ``high_inclusive``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and 0.0 <= value and (value <= 1.0 if high_inclusive else value < 1.0)
    if not ok:
        bound = "[0, 1]" if high_inclusive else "[0, 1)"
        raise SpecError(f"{field} must be a number in {bound}. Received: {field}={value!r}")


def check_positive_number(field: str, value: Any) -> None:
    """Raise ``SpecError`` unless ``value`` is a finite number greater than zero."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not value > 0 or value == float("inf"):
        raise SpecError(f"{field} must be a positive number. Received: {field}={value!r}")


def check_choice(field: str, value: Any, choices: typing.Iterable[Any]) -> None:
    """Raise ``SpecError`` unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        accepted = ", ".join(repr(c) for c in choices)
        raise SpecError(f"{field} must be one of {accepted}. Received: {field}={value!r}")


def check_same_length(fields: Mapping[str, typing.Sized]) -> None:
    """Raise ``SpecError`` unless every sequence in ``fields`` has the same length."""
    lengths = {name: len(seq) for name, seq in fields.items()}
    if len(set(lengths.values())) > 1:
        got = ", ".join(f"len({n})={n_len}" for n, n_len in lengths.items())
        raise SpecError(f"{', '.join(lengths)} must have the same length. Received: {got}")


def check_input_shape(field: str, value: Any, *, ranks: typing.Iterable[int] = (1, 2, 3)) -> None:
    """Raise ``SpecError`` unless ``value`` is a tuple of positive ints of an allowed rank."""
    ranks = tuple(ranks)
    ok = isinstance(value, tuple) and len(value) in ranks
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    if not ok:
        accepted = " or ".join(str(r) for r in ranks)
        raise SpecError(
            f"{field} must be a tuple of {accepted} positive ints (no batch dimension). "
            f"Received: {field}={value!r}"
        )


def check_image_input(family: str, input_shape: tuple[int, ...]) -> None:
    """Raise ``SpecError`` unless ``input_shape`` is ``(height, width, channels)``.

    Args:
        family: Family name used in the message.
        input_shape: The spec's input shape (already checked to be positive ints).

    Raises:
        SpecError: the shape is not of rank 3.
    """
    if len(input_shape) != 3:
        raise SpecError("input_shape must be (height, width, channels) for family "
                        f"{family!r}. Received: input_shape={input_shape!r}")


# ---------------------------------------------------------------------------------------------
# Coercion of JSON values to the declared field types
# ---------------------------------------------------------------------------------------------


def _coerce(value: Any, hint: Any) -> Any:
    """Turn JSON lists into tuples (recursively) following a type hint; leave the rest alone."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        for arg in typing.get_args(hint):
            if arg is not type(None):
                coerced = _coerce(value, arg)
                if coerced is not value:
                    return coerced
        return value
    if origin is tuple and isinstance(value, (list, tuple)):
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0]) for v in value)
        if args and len(args) == len(value):
            return tuple(_coerce(v, a) for v, a in zip(value, args))
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


# ---------------------------------------------------------------------------------------------
# ArchSpec
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ArchSpec:
    """Base of every family's spec: input shape (no batch axis) and number of classes.

    Subclasses set the class variable ``family`` and override ``validate``.
    """

    family: ClassVar[str] = ""

    input_shape: tuple[int, ...]
    classes: int = 10

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            coerced = _coerce(value, hints[f.name])
            if coerced is not value:
                object.__setattr__(self, f.name, coerced)
        check_input_shape("input_shape", self.input_shape)
        check_positive_int("classes", self.classes)
        self.validate()

    def validate(self) -> None:
        """Family-specific validation; raise ``SpecError`` naming the field."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names of the spec's fields, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **overrides: Any) -> "ArchSpec":
        """Return a copy with ``overrides`` applied and validated.

        Raises:
            SpecError: an override names an unknown field or has an invalid value.
        """
        unknown = sorted(set(overrides) - set(self.field_names()))
        if unknown:
            accepted = ", ".join(self.field_names())
            raise SpecError(
                f"unknown field {unknown[0]!r} for family {self.family!r}; accepted fields: "
                f"{accepted}. Received: {unknown[0]}={overrides[unknown[0]]!r}"
            )
        try:
            return dataclasses.replace(self, **overrides)
        except TypeError as exc:  # pragma: no cover - defensive, kw-only fields
            raise SpecError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``{"family": ..., field: value, ...}`` with tuples as lists."""
        out: dict[str, Any] = {"family": self.family}
        for f in dataclasses.fields(self):
            out[f.name] = _to_jsonable(getattr(self, f.name))
        return out

    def to_json(self, *, indent: int | None = None) -> str:
        """Canonical JSON text of ``to_dict()`` (sorted keys when compact)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=indent is None)

    def spec_hash(self) -> str:
        """Stable SHA-256 (hex, first 16 chars) of the canonical JSON; equal specs, equal hash."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_jsonable(v) for v in value]
    return value


def spec_from_fields(spec_cls: type[ArchSpec], data: Mapping[str, Any]) -> ArchSpec:
    """Build ``spec_cls`` from a mapping, rejecting unknown fields with a clear message.

    Raises:
        SpecError: unknown or missing fields, or invalid values.
    """
    names = spec_cls.field_names()
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise SpecError(
            f"unknown field {unknown[0]!r} for family {spec_cls.family!r}; accepted fields: "
            f"{', '.join(names)}. Received: {unknown[0]}={data[unknown[0]]!r}"
        )
    required = [
        f.name
        for f in dataclasses.fields(spec_cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [n for n in required if n not in data]
    if missing:
        raise SpecError(f"field {missing[0]!r} is required for family {spec_cls.family!r}")
    return spec_cls(**dict(data))


# ---------------------------------------------------------------------------------------------
# Task and Budget (inputs to the sizing heuristics)
# ---------------------------------------------------------------------------------------------

MODALITIES = ("vector", "sequence", "image", "tokens")

#: The input rank each modality needs (``None``: any rank, flattened).
_MODALITY_RANKS = {"vector": None, "sequence": 2, "image": 3, "tokens": 1}


def modality_of(input_shape: tuple[int, ...]) -> str:
    """Default modality from the rank of an input shape: 1 vector, 2 sequence, 3 image
    (``tokens`` is never implied: integer IDs look like a vector until ``--vocab`` says so)."""
    return MODALITIES[len(input_shape) - 1]


@dataclass(frozen=True, kw_only=True)
class Task:
    """What the data looks like.

    Attributes:
        input_shape: One example's shape without the batch axis: ``(40,)``, ``(40, 1)``,
            ``(32, 32, 3)``.
        classes: Number of classes (or regression outputs).
        samples: Number of training samples.
        modality: ``vector``, ``sequence``, ``image`` or ``tokens``; defaults from the rank
            of the shape (``tokens`` is never implied: give it with ``vocab``).
        vocab: Vocabulary size of a ``tokens`` input (integer IDs in ``[0, vocab)``, shape
            ``(length,)``); required for ``tokens``, refused for every other modality.
        family: Optional family override for the heuristics.
        regression: ``classes`` counts regression outputs (linear output layer) instead of
            classes (softmax).
    """

    input_shape: tuple[int, ...]
    classes: int
    samples: int
    modality: str | None = None
    vocab: int | None = None
    family: str | None = None
    regression: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", _coerce(self.input_shape, tuple[int, ...]))
        check_input_shape("input_shape", self.input_shape)
        check_positive_int("classes", self.classes)
        check_positive_int("samples", self.samples)
        if self.modality is None:
            object.__setattr__(self, "modality", modality_of(self.input_shape))
        check_choice("modality", self.modality, MODALITIES)
        expected_rank = _MODALITY_RANKS[self.modality]
        if expected_rank is not None and len(self.input_shape) != expected_rank:
            raise SpecError(
                f"modality {self.modality!r} needs an input_shape of rank {expected_rank}. "
                f"Received: input_shape={self.input_shape!r}"
            )
        if self.modality == "tokens":
            if self.vocab is None:
                raise SpecError("modality 'tokens' needs vocab (the vocabulary size, a "
                                "positive int). Received: vocab=None")
            check_positive_int("vocab", self.vocab)
        elif self.vocab is not None:
            raise SpecError("vocab applies only to modality 'tokens'. Received: "
                            f"vocab={self.vocab!r}, modality={self.modality!r}")
        if self.family is not None and (not isinstance(self.family, str) or not self.family):
            raise SpecError(f"family must be a family name or None. Received: "
                            f"family={self.family!r}")
        check_choice("regression", self.regression, (True, False))


@dataclass(frozen=True, kw_only=True)
class Budget:
    """Optional ceilings. ``None`` means unconstrained.

    Attributes:
        max_params: Parameter count ceiling (Keras ``count_params()`` convention).
        max_macs: Multiply-accumulates per example ceiling.
        max_train_memory_bytes: Training peak memory ceiling at ``batch_size``.
        max_inference_memory_bytes: Inference peak memory ceiling at ``batch_size``.
        max_latency_ms: Inference latency ceiling at ``batch_size``.
        batch_size: Batch size the memory and latency ceilings refer to.
        train_batch_size: Batch size of the training-memory ceiling when it differs from
            ``batch_size`` (``None``: use ``batch_size``).
        backend: Kernels of the training-memory estimate (``onednn``, ``eigen``, ``gpu``;
            ``None``: what TensorFlow would run on this machine, ``detect_backend``).
    """

    max_params: int | None = None
    max_macs: int | None = None
    max_train_memory_bytes: int | None = None
    max_inference_memory_bytes: int | None = None
    max_latency_ms: float | None = None
    batch_size: int = 1
    train_batch_size: int | None = None
    backend: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_params", "max_macs", "max_train_memory_bytes",
                     "max_inference_memory_bytes"):
            value = getattr(self, name)
            if value is not None:
                check_positive_int(name, value)
        if self.max_latency_ms is not None:
            check_positive_number("max_latency_ms", self.max_latency_ms)
        check_positive_int("batch_size", self.batch_size)
        if self.train_batch_size is not None:
            check_positive_int("train_batch_size", self.train_batch_size)
        if self.backend is not None:
            object.__setattr__(self, "backend", check_backend(self.backend))

    @property
    def training_batch_size(self) -> int:
        """Batch size of the training-memory ceiling (``train_batch_size`` or ``batch_size``)."""
        return self.train_batch_size if self.train_batch_size is not None else self.batch_size

    def is_empty(self) -> bool:
        """True when no ceiling is set."""
        return all(getattr(self, name) is None for name in (
            "max_params", "max_macs", "max_train_memory_bytes", "max_inference_memory_bytes",
            "max_latency_ms"))
