"""The inspection's pictures (matplotlib on the Agg canvas, through ``reporting.plots``).

- ``feature_map_plot``: a conv layer's first channels. 1-D maps (``(length, channels)``): one
  panel per channel, a line over position per example; 2-D maps: a grid of images, one row
  per example, one column per channel.
- ``dense_heatmap``: a dense layer's activations, examples x units, units ordered by variance.
- ``dimension_plot``: per layer, its width beside the principal components for 90 / 95 / 99 %
  of the variance and the recommended width.
- ``curves_plot``: training vs held-out accuracy per epoch.
"""

from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

import numpy as np

from archscale.inspection.extract import LayerActivations
from archscale.reporting.plots import Plot, new_figure, palette, render

CHANNELS = 9
EXAMPLES = 3
HEATMAP_EXAMPLES = 48

__all__ = ["curves_plot", "dense_heatmap", "dimension_plot", "feature_map_plot",
           "layer_pictures", "slug"]


def slug(name: str) -> str:
    """A file-name-safe slug of a layer name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "layer"


def feature_map_plot(layer: LayerActivations, channels: int = CHANNELS,
                     examples: int = EXAMPLES) -> Plot:
    """Feature maps of the first ``channels`` live (not dead) channels of the first
    ``examples`` examples (the first channels when all are dead)."""
    dead = set(layer.stats.dead_indices)
    picked = [c for c in range(layer.kept.shape[-1]) if c not in dead][:channels] or \
        list(range(min(channels, layer.kept.shape[-1])))
    maps = layer.kept[:examples][..., picked]
    n_ch = len(picked)
    if maps.ndim == 3:  # (examples, length, channels): line plots
        cols = min(3, n_ch)
        rows = math.ceil(n_ch / cols)
        fig = new_figure(3.2 * cols, 1.9 * rows)
        for c in range(n_ch):
            ax = fig.add_subplot(rows, cols, c + 1)
            for e in range(len(maps)):
                ax.plot(maps[e, :, c], color=palette(e), lw=1.2, label=f"example {e}")
            ax.set_title(f"channel {picked[c]}", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.xaxis.get_major_locator().set_params(integer=True)
            if c == 0:
                ax.legend(fontsize=6, loc="upper right")
        fig.supxlabel("position", fontsize=9)
    else:  # (examples, h, w, ..., channels): images
        images = maps.reshape(*maps.shape[:3], -1, maps.shape[-1])[..., 0, :]
        fig = new_figure(1.4 * n_ch, 1.5 * len(images))
        for e in range(len(images)):
            for c in range(n_ch):
                ax = fig.add_subplot(len(images), n_ch, e * n_ch + c + 1)
                ax.imshow(images[e, :, :, c], cmap="viridis", interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if e == 0:
                    ax.set_title(f"ch {picked[c]}", fontsize=8)
                if c == 0:
                    ax.set_ylabel(f"ex {e}", fontsize=8)
    units = layer.output_shape[-1]
    fig.suptitle(f"{layer.name}: first {n_ch} live channels ({len(dead)} of {units} dead)",
                 fontsize=10)
    fig.tight_layout()
    return render(fig, f"maps_{slug(layer.name)}", f"Feature maps of {layer.name}",
                  f"{layer.name} ({layer.class_name}, output {layer.output_shape}): the first "
                  f"{n_ch} channels that are not dead ({', '.join(map(str, picked))}) for the "
                  f"first {len(maps)} examples of the sample; {len(dead)} of {units} channels "
                  f"are zero on every sample.")


def dense_heatmap(layer: LayerActivations, examples: int = HEATMAP_EXAMPLES) -> Plot:
    """Examples x units heatmap, units ordered by their variance over the kept examples."""
    acts = layer.kept[:examples].reshape(min(examples, len(layer.kept)), -1)
    order = np.argsort(-acts.var(axis=0), kind="stable")
    fig = new_figure(7.5, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    top = float(np.percentile(acts, 99)) if acts.size else 0.0
    image = ax.imshow(acts[:, order], aspect="auto", cmap="magma", interpolation="nearest",
                      vmin=min(0.0, float(acts.min(initial=0.0))), vmax=top or None)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    ax.set_xlabel("unit (ordered by variance, most varying first)")
    ax.set_ylabel("example")
    ax.set_title(f"{layer.name}: activations of {len(acts)} examples x {acts.shape[1]} units",
                 fontsize=10)
    return render(fig, f"heatmap_{slug(layer.name)}", f"Activations of {layer.name}",
                  f"{layer.name}: the first {len(acts)} examples of the sample (rows); units "
                  f"ordered by variance, so dead units (all zero) gather on the right; the "
                  f"colour scale stops at the 99th percentile.")


def dimension_plot(layers: Sequence[LayerActivations],
                   recommended: Mapping[str, int]) -> Plot:
    """Grouped bars per layer: width, 90/95/99 % dimensions, recommended width."""
    names = [la.name for la in layers]
    series = [("width", [la.stats.units for la in layers])]
    for q in (0.90, 0.95, 0.99):
        series.append((f"{round(q * 100)} % variance", [la.stats.dims[q] for la in layers]))
    series.append(("recommended", [recommended.get(n, 0) for n in names]))
    fig = new_figure(max(5.0, 1.3 * len(names) + 2), 3.6)
    ax = fig.add_subplot(1, 1, 1)
    step = 0.8 / len(series)
    x = np.arange(len(names))
    for i, (label, values) in enumerate(series):
        bars = ax.bar(x - 0.4 + step * (i + 0.5), values, step, label=label, color=palette(i))
        ax.bar_label(bars, fontsize=6, padding=1)
    ax.set_xticks(x, names, fontsize=8, rotation=20 if len(names) > 4 else 0)
    ax.set_ylabel("units / principal components")
    ax.set_title("Width vs effective dimension", fontsize=10)
    ax.legend(fontsize=7, ncols=len(series), loc="upper center", bbox_to_anchor=(0.5, -0.12),
              frameon=False)
    ax.margins(y=0.08)
    return render(fig, "dimensions", "Width vs effective dimension",
                  "Per layer: units, the principal components holding 90 / 95 / 99 % of the "
                  "activation variance, and the recommended width (25 % headroom over the "
                  "99 % dimension, rounded up to a multiple of 8).")


def curves_plot(curves: Mapping[str, Sequence[float]]) -> Plot | None:
    """Accuracy per epoch (train and held-out); ``None`` without curves."""
    labels = {"accuracy": "train (running, dropout on)", "val_accuracy": "validation hold-out",
              "test_accuracy": "test (monitoring only)"}
    present = [k for k in labels if curves.get(k)]
    if not present:
        return None
    fig = new_figure(6.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    for i, key in enumerate(present):
        values = 100 * np.asarray(curves[key])
        ax.plot(np.arange(1, len(values) + 1), values, color=palette(i), label=labels[key])
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return render(fig, "accuracy_curves", "Train vs held-out accuracy",
                  "Accuracy per epoch while training with the recipe; the gap between the "
                  "curves is the overfitting signal.")


def layer_pictures(layers: Sequence[LayerActivations]) -> list[Plot]:
    """A feature-map grid per conv-like layer (spatial output) and a heatmap per dense one."""
    return [feature_map_plot(la) if len(la.output_shape) > 1 else dense_heatmap(la)
            for la in layers]
