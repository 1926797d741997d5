"""What a stack of one block holds at the training peak, measured against the memory model.

``python tools/block_memory.py '[{"block": ["[", "gconv7", "ln", "dense4", "gelu", "dense1",
"scale", "+"], "n": 4, "dim": 96, "hw": 8, "batch": 32, "backend": "onednn"}]'`` builds, per
configuration, ``input -> dense(dim) -> n x block -> global average pool -> dense(10)`` as an
archscale graph (the Keras model is the one ``archscale bench`` measures, ``as_model``), and
measures one training step in a fresh process (``TF_CPU_ALLOCATOR_USE_BFC=true``,
``TF_ENABLE_ONEDNN_OPTS`` per ``backend``, the allocator pre-grown: ``measure_memory``). It
prints one JSON row per configuration: measured and predicted training peaks, the measured
baseline (weights, slots, batch), and ``unit``, the bytes of one ``dim``-channel activation
of the whole batch. Two stacks differing only in ``n`` give what one block holds beyond the
model: ``(delta measured - delta predicted) / delta n`` (in ``unit`` s).

Block items, in order (``hw`` set: ``hw x hw x dim`` images; else ``length x dim``
sequences): ``[`` marks a residual branch's start and ``+`` adds the marked tensor;
``gconv7``/``dwconv7`` a 7x7 grouped ``Conv2D`` (groups = channels) / ``DepthwiseConv2D``
(``gconv3w8``: 3x3, 8 channels per group); ``conv3`` a 3x3 conv; ``sep3`` a 3x3
``SeparableConv2D`` (no bias); ``ln``, ``bn``;
``dense4``/``dense1`` a Dense of ``4 x dim``/``dim`` units; ``dense4gelu`` (``dense4relu``)
the first with GELU (ReLU) fused; ``gelu``, ``relu``, ``linear`` standalone
activations; ``scale`` ConvNeXt's LayerScale; ``mha`` self-attention (``heads``, default 2).
These are the measurements behind ``archscale.saved_rules``' LayerNorm, GELU and LayerScale
rules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def build(cfg: dict[str, Any]):
    """The probe graph of one configuration (see the module docstring)."""
    from archscale.graph import GraphBuilder

    dim, heads = cfg["dim"], cfg.get("heads", 2)
    g = GraphBuilder("probe")
    shape = (cfg["hw"], cfg["hw"], dim) if cfg.get("hw") else (cfg["length"], dim)
    x = g.dense(g.input(shape), dim, name="stem")
    for b in range(cfg["n"]):
        marks: list[str] = []
        for j, item in enumerate(cfg["block"]):
            name = f"b{b}_{j}_{item.strip('[+')}"
            if item == "[":
                marks.append(x)
            elif item == "+":
                x = g.add([marks.pop(), x], name=f"b{b}_{j}_add")
            elif item.startswith("gconv"):
                kernel, _, width = item[len("gconv"):].partition("w")
                x = g.conv(x, dim, int(kernel), groups=dim // int(width or 1), name=name)
            elif item == "sep3":
                x = g.layer("separable_conv", x, name=name, filters=dim, kernel=(3, 3),
                            strides=(1, 1), padding="same", dilation=(1, 1),
                            depth_multiplier=1, use_bias=False, activation="linear")
            elif item in ("dwconv7", "conv3"):
                x = (g.depthwise_conv(x, 7, name=name) if item == "dwconv7"
                     else g.conv(x, dim, 3, name=name))
            elif item in ("ln", "bn"):
                x = (g.layer_norm(x, epsilon=1e-6, name=name) if item == "ln"
                     else g.batch_norm(x, name=name))
            elif item.startswith("dense"):
                units = 4 * dim if item.startswith("dense4") else dim
                fused = item[len("dense4"):] if item.startswith("dense4") else ""
                x = g.dense(x, units, activation=fused or "linear", name=name)
            elif item in ("gelu", "relu", "linear"):
                x = g.act(x, item, name=name)
            elif item == "scale":
                x = g.layer("scale", x, name=name, init_values=1e-6)
            elif item == "mha":
                x = g.layer("multi_head_attention", [x, x], name=name, num_heads=heads,
                            key_dim=dim // heads, value_dim=dim // heads, output_dim=dim,
                            use_bias=True)
            else:
                raise SystemExit(f"unknown block item {item!r}")
    x = g.global_avg_pool(x, name="gap")
    return g.build(g.dense(x, 10, activation="softmax", name="head"))


def measure_one(cfg: dict[str, Any]) -> dict[str, Any]:
    """Measure one configuration in this (fresh) process."""
    from archscale.measure.memory import measure_memory

    graph = build(cfg)
    r = measure_memory(graph, cfg["batch"])
    unit = cfg["batch"] * cfg["dim"] * 4 * (cfg["hw"] ** 2 if cfg.get("hw") else cfg["length"])
    return {**cfg, "backend": r.backend, "measured": r.train_peak_bytes_measured,
            "predicted": r.train_peak_bytes_predicted,
            "baseline": r.train_baseline_bytes_measured, "unit": unit,
            "error_pct": round(100 * (r.train_peak_bytes_predicted
                                      / r.train_peak_bytes_measured - 1), 2)}


def main(argv: list[str]) -> int:
    """Each configuration in a fresh process; one JSON line per configuration."""
    if argv[:1] == ["--one"]:
        print(json.dumps(measure_one(json.loads(argv[1]))), flush=True)
        return 0
    for cfg in json.loads(argv[0]):
        env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": "true", "TF_CPP_MIN_LOG_LEVEL": "3",
               "TF_ENABLE_ONEDNN_OPTS": "0" if cfg.get("backend") == "eigen" else "1"}
        out = subprocess.run([sys.executable, __file__, "--one", json.dumps(cfg)], env=env,
                             capture_output=True, text=True, check=False)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        print(lines[-1] if lines else json.dumps({**cfg, "failed": out.stderr[-800:]}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
