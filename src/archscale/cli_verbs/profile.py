"""``archscale profile``: exact per-layer costs and memory estimates of a preset, a spec file or
a saved Keras model. Presets and spec files never import TensorFlow."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from archscale.cli_verbs.common import (Target, add_format_argument, add_target_arguments,
                                        load_keras_model, positive_int, resolve_target)
from archscale.cli_verbs.output import print_json, render_table
from archscale.costs import DTYPE_BYTES, OPTIMIZER_SLOTS, Profile, profile_graph
from archscale.environment import BACKENDS
from archscale.profiling import profile_file
from archscale.reference_archs.registry import build_graph
from archscale.units import format_bytes, format_count, format_shape

NAME = "profile"
HELP = "exact params, MACs, FLOPs and memory of a preset, spec file or .keras model"
DESCRIPTION = """\
Profile one network: per-layer output shapes, parameters, MACs, FLOPs and activation sizes,
then the totals and memory estimates (weights, inference peak and training peak at --batch).
TARGET is a preset name (see 'archscale catalogue'), a spec .json file (ArchSpec.to_json or
'archscale propose --out') or a saved Keras model (.keras, .h5). Presets and spec files are
profiled in pure Python without importing TensorFlow. --input-shape, --classes and --set
override fields of a preset or spec file; they cannot change a saved model.
"""
EXAMPLES = """\
examples:
  archscale profile resnet50 --no-layers
  archscale profile resnet50 --input-shape 64x64x3 --classes 10 --batch 128 --optimizer sgd
  archscale profile mlp --set 'widths=[64,32]' --set 'dropout=[0,0]' --json
  archscale profile efficientnet_b0 --format github > efficientnet_b0.md
  archscale profile spec.json --json
  archscale profile my_model.keras --dtype float16
  archscale profile resnet20 --backend eigen
"""

BACKEND_HELP = ("kernels the training-memory estimate is for: onednn, eigen (TensorFlow's CPU "
                "kernels) or gpu (default: what TensorFlow would run here: "
                "TF_ENABLE_ONEDNN_OPTS, else the CPU's features)")

LAYER_HEADERS = ("layer", "op", "output shape", "params", "MACs", "FLOPs", "activations")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``archscale profile``."""
    add_target_arguments(parser)
    parser.add_argument("--batch", type=positive_int, default=32, metavar="N",
                        help="batch size of the memory estimates (default: 32)")
    parser.add_argument("--dtype", choices=tuple(DTYPE_BYTES), default="float32",
                        help="dtype of weights and activations (default: float32)")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZER_SLOTS), default="adam",
                        help="optimizer whose slots count in the training peak (default: adam)")
    parser.add_argument("--backend", type=str.lower, choices=BACKENDS, default=None,
                        help=BACKEND_HELP)
    parser.add_argument("--layers", action=argparse.BooleanOptionalAction, default=True,
                        help="show the per-layer rows (default: yes; --no-layers drops them "
                             "from the table and from --json)")
    add_format_argument(parser)


def load_target(args: argparse.Namespace) -> tuple[Target, Profile]:
    """Resolve TARGET (with its overrides) and profile it.

    Raises:
        ArchscaleError: unknown preset, unreadable file, invalid spec or overrides, input too
            small (``ShapeError``), or overrides given for a saved model.
    """
    target = resolve_target(args)
    if target.spec is not None:
        prof = profile_graph(build_graph(target.spec))
    else:
        if not target.source.endswith(".keras"):
            load_keras_model(target.source)  # first: it silences TensorFlow's import logs
        # a .keras file is read from its config, without TensorFlow (Keras for custom classes)
        prof = profile_file(target.source)
    backend = getattr(args, "backend", None)
    return target, dataclasses.replace(prof, backend=backend) if backend else prof


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def profile_json(prof: Profile, args: argparse.Namespace, target: Target) -> dict[str, Any]:
    """``Profile.to_dict(batch, dtype)`` with the memory at ``--optimizer`` and added keys
    ``optimizer``, ``backend``, ``source``, ``source_kind`` and ``spec`` (``layers`` stays
    last)."""
    out = prof.to_dict(args.batch, args.dtype)
    out.update(prof.memory_summary(args.batch, args.dtype, args.optimizer))
    layers = out.pop("layers")
    out.update({"optimizer": args.optimizer, "backend": prof.memory_backend,
                "source": target.source,
                "source_kind": target.kind,
                "spec": target.spec.to_dict() if target.spec is not None else None})
    if args.layers:
        out["layers"] = layers
    return out


def layer_table(prof: Profile, tablefmt: str) -> str:
    """Per-layer rows; unsupported layers show as ``UNSUPPORTED <KerasClass>``."""
    rows = []
    for row in prof.layers:
        op = row.op
        if op == "unsupported":
            op = f"UNSUPPORTED {prof.graph.node(row.name).attrs.get('class_name', '?')}"
        rows.append([row.name, op, format_shape(row.output_shape), row.params, row.macs,
                     row.flops, row.activation_elements])
    return render_table(rows, LAYER_HEADERS, tablefmt)


def totals_table(prof: Profile, args: argparse.Namespace) -> str:
    """Totals and memory estimates: exact value and a human-readable one."""
    memory = prof.memory_summary(args.batch, args.dtype, args.optimizer)
    counts = [
        ("params", prof.params), ("trainable params", prof.trainable_params),
        ("non-trainable params", prof.non_trainable_params),
        ("MACs (per example)", prof.macs), ("FLOPs (per example)", prof.flops),
    ]
    if prof.unsupported:  # their MACs and FLOPs are unknown: the totals are lower bounds
        counts[3:] = [(f"{k[:-1]}, without unsupported layers)", v) for k, v in counts[3:]]
    rows: list[tuple[str, Any, str]] = [(k, v, format_count(v)) for k, v in counts]
    rows.append(("depth (conv/dense chain)", prof.depth, ""))
    batch = f"batch {args.batch}"
    sizes = [
        (f"weight bytes ({args.dtype})", memory["weight_bytes"]),
        (f"inference activation peak bytes ({batch})",
         memory["inference_activation_peak_bytes"]),
        ("inference peak bytes (weights + activations)", memory["inference_peak_bytes"]),
        (f"training peak bytes ({batch}, {args.optimizer}), {prof.memory_backend} kernels",
         memory["training_peak_bytes"]),
    ]
    rows += [(k, v, format_bytes(v)) for k, v in sizes]
    return render_table(rows, ("total", "exact", "approx"), args.format,
                        colalign=("left", "right", "right"))


def header_line(prof: Profile, target: Target) -> str:
    """One line saying what was profiled."""
    spec = target.spec
    if spec is None:
        return f"profile of Keras model {prof.name!r} from {target.source}"
    where = f"preset {target.source}" if target.kind == "preset" else \
        f"spec file {target.source}"
    return (f"profile of {where}: family {spec.family}, input {format_shape(spec.input_shape)}, "
            f"{spec.classes} classes")


def run(args: argparse.Namespace) -> int:
    """Print the profile of TARGET (tables, or ``--json``).

    Raises:
        ArchscaleError: bad input (see ``load_target``).
    """
    target, prof = load_target(args)
    if args.json:
        print_json(profile_json(prof, args, target))
        return 0
    print(header_line(prof, target))
    if args.layers:
        print()
        print(layer_table(prof, args.format))
    print()
    print(totals_table(prof, args))
    if prof.unsupported:
        print()
        print(f"UNSUPPORTED layers ({len(prof.unsupported)}): their params are counted, their "
              f"MACs and FLOPs are not: {', '.join(prof.unsupported)}")
    if prof.notes:
        print()
        print("notes:")
        for note in prof.notes:
            print(f"  {note}")
    return 0
