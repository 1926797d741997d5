"""Helpers shared by every CLI verb: option parsing, targets, TensorFlow import.

Output (tables, JSON, human-readable numbers) is in ``archscale.cli_verbs.output``.

Nothing here imports TensorFlow. Parsing helpers raise ``UsageError`` (an ``ArchscaleError``)
with a one-line message that names the option, so ``archscale.cli.main`` prints it as
``archscale <verb>: error: <message>`` and exits with code 2.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from archscale.cli_verbs.output import DEFAULT_TABLE_FORMAT
from archscale.errors import ArchscaleError, InputFileError
from archscale.measure.tensorflow_import import import_tensorflow
from archscale.profiling import load_spec
from archscale.reference_archs.registry import preset, presets

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from archscale.specs import ArchSpec



class UsageError(ArchscaleError, ValueError):
    """A command-line option has a malformed or out-of-range value."""


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def parse_shape(text: str, option: str = "--input-shape") -> tuple[int, ...]:
    """Parse ``"32x32x3"``, ``"40"`` or ``"128x8"`` into a tuple of positive ints.

    Args:
        text: Positive integers joined by ``x`` (``X`` and ``,`` are accepted too).
        option: Option name used in the error message.

    Returns:
        The shape, e.g. ``(32, 32, 3)``.

    Raises:
        UsageError: empty parts, non-integers or values below 1.
    """
    parts = str(text).strip().lower().replace(",", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(v < 1 for v in shape):
        raise UsageError(f"{option} must be positive integers joined by 'x', such as 32x32x3 or "
                         f"40. Received: {option}={text!r}")
    return shape


def task_options_of(args: argparse.Namespace, data: Any,
                    source: str = "dataset") -> tuple[tuple[int, ...], int, int]:
    """``--input``, ``--classes`` and ``--samples`` checked against a loaded dataset; each
    defaults to the dataset's.

    Args:
        args: Parsed options with ``input``, ``classes`` and ``samples``.
        data: The ``archscale.measure.datasets.Dataset``.
        source: How the message names the dataset (``dataset``, ``--probe dataset``).

    Returns:
        ``(input shape, classes, training samples)`` of the dataset.

    Raises:
        UsageError: an option that contradicts the dataset.
    """
    from archscale.units import parse_count

    theirs = "x".join(map(str, data.input_shape))
    if args.input is not None and parse_shape(args.input, "--input") != tuple(data.input_shape):
        raise UsageError(f"--input must match {source} {data.name!r}, whose examples are "
                         f"{theirs}. Received: --input={args.input}")
    if args.classes is not None and args.classes != data.classes:
        raise UsageError(f"--classes must match {source} {data.name!r}, which has "
                         f"{data.classes} classes. Received: --classes={args.classes}")
    samples = len(data.y_train)
    if args.samples is not None and parse_count(args.samples, "--samples") != samples:
        raise UsageError(f"--samples must match {source} {data.name!r}, which has {samples} "
                         f"training examples. Received: --samples={args.samples}")
    return tuple(data.input_shape), data.classes, samples


def parse_value(text: str) -> Any:
    """A ``--set`` value: JSON when it parses (``[64,32]``, ``false``, ``0.5``), else the string."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def parse_set(items: Iterable[str] | None, option: str = "--set") -> dict[str, Any]:
    """Parse repeated ``field=value`` options into a dict (a later field wins).

    Args:
        items: The raw option values, e.g. ``["widths=[64,32]", "version=v1.5"]``.
        option: Option name used in the error message.

    Returns:
        ``{field: parsed value}``; values go through ``parse_value``.

    Raises:
        UsageError: an item has no ``=`` or an empty field name.
    """
    out: dict[str, Any] = {}
    for item in items or ():
        field, sep, value = item.partition("=")
        field = field.strip()
        if not sep or not field.isidentifier():
            raise UsageError(f"{option} expects field=value, such as widths=[64,32]. "
                             f"Received: {option}={item!r}")
        out[field] = parse_value(value.strip())
    return out


def positive_int(text: str) -> int:
    """``argparse`` type: a positive int (``--batch 32``).

    Raises:
        argparse.ArgumentTypeError: not an int or below 1.
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int. Received: {text!r}")
    return value


def table_format(text: str) -> str:
    """``argparse`` type: one of ``tabulate.tabulate_formats``.

    Raises:
        argparse.ArgumentTypeError: unknown format; the message lists the accepted ones.
    """
    from tabulate import tabulate_formats

    if text not in tabulate_formats:
        raise argparse.ArgumentTypeError(
            f"unknown table format {text!r}; accepted: {', '.join(tabulate_formats)}")
    return text


def add_format_argument(parser: argparse.ArgumentParser,
                        default: str = DEFAULT_TABLE_FORMAT) -> None:
    """Add ``--format FORMAT`` (any ``tabulate`` format: github, latex, html, ...)."""
    parser.add_argument("--format", type=table_format, default=default, metavar="FORMAT",
                        help=f"table format: any tabulate format, e.g. github, latex, html, "
                             f"tsv (default: {default})")


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` (every verb has it; ``archscale.cli`` adds it for you)."""
    parser.add_argument("--json", action="store_true",
                        help="print machine-readable JSON on stdout instead of tables")


# ---------------------------------------------------------------------------------------------
# TARGET: a preset name, a spec .json file or a saved Keras model, with field overrides
# ---------------------------------------------------------------------------------------------

SPEC_SUFFIXES = (".json",)
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
_MAX_LISTED = 12


@dataclass(frozen=True)
class Target:
    """A resolved TARGET argument.

    Attributes:
        kind: ``"preset"``, ``"spec"`` (a .json file) or ``"model"`` (a saved Keras model).
        source: The TARGET text as given.
        spec: The spec with overrides applied; ``None`` for a saved model.
    """

    kind: str
    source: str
    spec: "ArchSpec | None"


def add_target_arguments(parser: argparse.ArgumentParser, *, models: bool = True) -> None:
    """Add TARGET and the overrides ``--input-shape``, ``--classes``, ``--set FIELD=VALUE``.

    Args:
        parser: The verb's parser.
        models: Whether TARGET may be a saved Keras model (only mentioned in the help).
    """
    what = "preset name, spec .json file" + (" or .keras model file" if models else "")
    parser.add_argument("target", metavar="TARGET", help=what)
    parser.add_argument("--input-shape", metavar="SHAPE",
                        help="override the input shape, e.g. 64x64x3, 40 or 128x8")
    parser.add_argument("--classes", type=positive_int, metavar="N",
                        help="override the number of classes")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override any spec field; VALUE is JSON when it parses "
                             "(widths=[64,32], batch_norm=true), else a string; repeatable")


def _unknown_preset(target: str, names: list[str]) -> UsageError:
    close = difflib.get_close_matches(target, names, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    listed = ", ".join(names[:_MAX_LISTED])
    more = f", ... ({len(names)} in all; see 'archscale catalogue')" \
        if len(names) > _MAX_LISTED else ""
    return UsageError(f"unknown preset {target!r}; {hint}accepted: {listed}{more}, or a path to "
                      f"a .json spec or .keras model. Received: TARGET={target!r}")


def target_kind(target: str) -> str:
    """``"spec"``, ``"model"`` or ``"preset"`` for a TARGET argument (by suffix, then name).

    Raises:
        UsageError: neither a known preset nor a file with a supported suffix; the message
            lists preset names (truncated) and close matches.
    """
    lowered = target.lower()
    if lowered.endswith(SPEC_SUFFIXES):
        return "spec"
    if lowered.endswith(MODEL_SUFFIXES):
        return "model"
    if target in presets():
        return "preset"
    if os.path.exists(target):
        raise UsageError("TARGET files must be spec files (.json) or Keras models (.keras, .h5). "
                         f"Received: TARGET={target!r}")
    raise _unknown_preset(target, list(presets()))


def overrides_of(args: argparse.Namespace) -> dict[str, Any]:
    """Field overrides from ``--set``, ``--input-shape`` and ``--classes``.

    Raises:
        UsageError: malformed values, or a field given both by its option and by ``--set``.
    """
    overrides = parse_set(args.set)
    explicit: dict[str, Any] = {}
    if args.input_shape is not None:
        explicit["input_shape"] = parse_shape(args.input_shape, "--input-shape")
    if args.classes is not None:
        explicit["classes"] = args.classes
    for field, value in explicit.items():
        if field in overrides:
            option = "--" + field.replace("_", "-")
            raise UsageError(f"{field} is given twice, by {option} and by --set; use one. "
                             f"Received: {option}={value!r}, --set {field}={overrides[field]!r}")
    return {**overrides, **explicit}


def apply_overrides(spec: "ArchSpec", overrides: Mapping[str, Any]) -> "ArchSpec":
    """``spec.replace(**overrides)``; a value of the wrong type is bad input, not a crash.

    Raises:
        SpecError: unknown field or invalid value (from the spec's validation).
        UsageError: a value the family's validation could not even inspect.
    """
    if not overrides:
        return spec
    try:
        return spec.replace(**overrides)
    except ArchscaleError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        given = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        raise UsageError(f"invalid override for family {spec.family!r} "
                         f"({type(exc).__name__}: {exc}). Received: {given}") from None


def resolve_target(args: argparse.Namespace, *, models: bool = True) -> Target:
    """Resolve ``args.target`` and apply the overrides (see ``add_target_arguments``).

    Pure Python: a saved model is only checked to exist (load it with ``load_keras_model``).

    Raises:
        ArchscaleError: unknown preset, unreadable or invalid spec file, invalid overrides,
            overrides for a saved model, or a saved model where ``models`` is false.
    """
    kind = target_kind(args.target)
    overrides = overrides_of(args)
    if kind == "model":
        if not models:
            raise UsageError("TARGET must be a preset name or a spec .json file here, not a saved "
                             f"model. Received: TARGET={args.target!r}")
        if overrides:
            raise UsageError("--input-shape, --classes and --set apply to presets and spec files, "
                             "not to a saved model. Received: "
                             + ", ".join(f"{k}={v!r}" for k, v in overrides.items()))
        if not os.path.isfile(args.target):  # say so before paying for the TensorFlow import
            raise InputFileError(f"model file not found or not a file. "
                                 f"Received: {args.target!r}")
        return Target(kind, args.target, None)
    spec = load_spec(args.target) if kind == "spec" else preset(args.target)
    return Target(kind, args.target, apply_overrides(spec, overrides))


def load_keras_model(path: str) -> "keras.Model":
    """Load a saved model with TensorFlow's start-up logs silenced (imports TensorFlow).

    Raises:
        InputFileError: missing, unreadable or invalid model file.
    """
    import_tensorflow()
    from archscale.keras_io import load_model

    return load_model(path)
