"""``archscale inspect``: what each trained layer uses, feature-map pictures and width advice."""

from __future__ import annotations

import argparse
import os

from archscale.cli_verbs.common import (UsageError, apply_overrides, parse_set, positive_int,
                                        target_kind)
from archscale.cli_verbs.output import print_json, render_table
from archscale.units import format_count

NAME = "inspect"
HELP = "activation statistics, feature-map pictures and width advice of a trained network"
DESCRIPTION = """\
Train TARGET with the dataset's recipe (a preset name or a spec/proposal .json), or load a
trained .keras model, read the outputs of its layers over --samples training examples in
batches, and print per layer: mean, std, dead units, sparsity, participation ratio, the
principal components for 90/95/99 % of the variance (conv layers: over channels) and, for
conv maps, a spatial-concentration score. Width advice: 1.25 x the 99 % dimension, rounded up
to a multiple of 8; --apply writes the shrunk spec (presets, spec files and proposals only).
--out writes inspect.md, a self-contained inspect.html and plots/ (feature maps, heatmaps,
width vs effective dimension, accuracy curves).
"""
EXAMPLES = """\
examples:
  archscale inspect mnist1d_cnn --dataset mnist1d_seq --out inspect-cnn
  archscale inspect mlp512.json --dataset mnist1d --apply mlp512_shrunk.json
  archscale inspect proposal.json --dataset mnist1d --train-epochs 20 --layers fc1,2
  archscale inspect my_model.keras --dataset npz:data.npz --samples 1000 --json
"""

STATS = ("layer", "units", "dead %", "zeros %", "PR", "dim 90", "dim 95", "dim 99",
         "spatial", "recommended", "params saved")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``archscale inspect``."""
    parser.add_argument("target", metavar="TARGET",
                        help="preset name, spec or proposal .json file, or .keras model file")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a spec field of a preset or spec file, e.g. "
                             "widths=[512,512]; VALUE is JSON when it parses; repeatable")
    parser.add_argument("--dataset", default="mnist1d", metavar="NAME",
                        help="mnist1d, mnist1d_seq, digits, synthetic or npz:PATH "
                             "(default: mnist1d)")
    parser.add_argument("--train-epochs", type=positive_int, metavar="N",
                        help="epochs to train (default: the recipe's for presets and specs; "
                             "a .keras model is used as saved unless given)")
    parser.add_argument("--layers", metavar="LIST",
                        help="layer names or model.layers indices, comma-separated; "
                             "outer/inner for nested models (default: every Dense/Conv layer "
                             "below the output)")
    parser.add_argument("--samples", type=positive_int, default=2000, metavar="N",
                        help="training examples whose activations are read (default: 2000)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="training and sampling seed (default: 0)")
    parser.add_argument("--out", metavar="DIR", help="write the report directory DIR")
    parser.add_argument("--apply", metavar="FILE.json",
                        help="write the shrunk spec to FILE.json (not for .keras models)")


def _check(args: argparse.Namespace) -> object:
    """Cheap checks before the TensorFlow import; the target to inspect (a spec when --set
    overrides fields, else the TARGET text)."""
    kind = target_kind(args.target)
    overrides = parse_set(args.set)
    if overrides and kind == "model":
        raise UsageError("--set overrides fields of a preset or spec file, not of a saved "
                         f"model. Received: --set {args.set[0]!r}, TARGET={args.target!r}")
    if args.apply is not None and kind == "model":
        raise UsageError("--apply writes a shrunk spec, which needs a preset, a spec file or a "
                         "proposal; a saved model's advice is printed without rewriting it. "
                         f"Received: --apply={args.apply!r}, TARGET={args.target!r}")
    if kind == "model" and not os.path.isfile(args.target):
        raise UsageError(f"model file not found or not a file. Received: TARGET={args.target!r}")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative int. Received: --seed={args.seed}")
    if not overrides:
        return args.target
    from archscale.profiling import load_spec
    from archscale.reference_archs.registry import preset

    spec = load_spec(args.target) if kind == "spec" else preset(args.target)
    return apply_overrides(spec, overrides)


def _rows(result) -> list[list[object]]:
    advice = {a.layer: a for a in result.advice.layers}
    rows = []
    for la in result.layers:
        s, a = la.stats, advice[la.name]
        spatial = "" if s.spatial_concentration is None else \
            f"{s.spatial_concentration:.2f}" + ("!" if s.localised else "")
        rows.append([la.name, s.units, f"{100 * s.dead_fraction:.1f}",
                     f"{100 * s.sparsity:.1f}", f"{s.participation_ratio:.1f}",
                     s.dims[0.9], s.dims[0.95], s.dims[0.99], spatial, a.recommended,
                     f"{a.params_saved:,}" + ("" if a.exact else " (est.)")])
    return rows


def run(args: argparse.Namespace) -> int:
    """Inspect TARGET and print the table (or ``--json``).

    Raises:
        ArchscaleError: bad input (unknown preset, unreadable file, a layer that does not
            exist, a dataset that does not fit, ``--apply`` for a .keras model...).
    """
    target = _check(args)
    from archscale.measure.tensorflow_import import import_tensorflow

    import_tensorflow()
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notes of predict() on varied batch sizes
    from archscale.inspection.api import inspect

    result = inspect(target, args.dataset, source=args.target, train_epochs=args.train_epochs,
                     layers=args.layers, samples=args.samples, seed=args.seed, out=args.out,
                     apply=args.apply)
    if args.json:
        print_json(result.to_dict())
        return 0
    trained = (f"trained {result.epochs_run} epochs" if result.recipe is not None
               else "as saved")
    print(f"inspect {result.source} ({trained}) on {result.dataset}: {result.samples} examples")
    print()
    print(render_table(_rows(result), STATS, "simple"))
    adv, sig = result.advice, result.signals
    print()
    if adv.shrunk is not None and adv.shrunk != adv.spec:
        print(f"advice: params {adv.params:,} -> {adv.shrunk_params:,} "
              f"({100 * adv.params_cut:.1f} % fewer), MACs {format_count(adv.macs)} -> "
              f"{format_count(adv.shrunk_macs)}"
              + (f"; the shrunk spec drops {', '.join(adv.dropped)} (needs equal widths)"
                 if adv.dropped else ""))
    elif adv.shrunk is not None:
        print("advice: no width changes (every layer is within 25 % of its 99 % dimension)")
    print(f"train {100 * sig.train_accuracy:.1f} % vs test {100 * sig.test_accuracy:.1f} %: "
          f"gap {sig.gap_points:.1f} points ({sig.verdict}); defaults: " + "; ".join(sig.changes))
    report = [p for p in result.written if args.out and p.startswith(os.path.abspath(args.out))]
    if report:
        print(f"wrote {os.path.abspath(args.out)}/ ({len(report)} files: inspect.md, "
              f"inspect.html, inspect.json, plots/)")
    for path in result.written:
        if path not in report:
            print(f"wrote {path}")
    return 0
