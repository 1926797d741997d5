"""ConvNeXt's and the Transformer's training memory: the depthwise grouped conv's XLA buffer
and the GELU rule by hand, the presets against their measured peaks (both CPU backends), and
one small ConvNeXt block measured (``tools/block_memory.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import archscale
from archscale import GraphBuilder
from archscale.memory_model import training_curve
from archscale.saved_rules import (WORKSPACE_RULES, Workspace, eigen_conv_workspace,
                                   xla_depthwise_conv_workspace)

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


def _grouped(channels: int, width: int, kernel: int = 7):
    g = GraphBuilder("g")
    x = g.dense(g.input((2, 2, channels)), channels, name="stem")
    out = g.conv(x, channels, kernel, groups=channels // width, name="gconv")
    return g.build(g.dense(g.global_avg_pool(out), 10, name="head")), out


def test_depthwise_grouped_conv_holds_two_dense_filters():
    graph, out = _grouped(96, 1)
    node = graph.node(out)
    # 2 x (7 x 7 x 96 x 96) floats, whatever the batch and the backend's conv kernels
    expected = Workspace(0.0, 2 * 7 * 7 * 96 * 96 * 4)
    assert xla_depthwise_conv_workspace(node, (2, 2, 96), 32, 4, 2) == expected
    assert xla_depthwise_conv_workspace(node, (2, 2, 96), 1, 4, 2) == expected
    assert eigen_conv_workspace(node, (2, 2, 96), 32, 4, 2) == expected
    assert WORKSPACE_RULES["onednn"]["conv"] is xla_depthwise_conv_workspace
    assert "conv" not in WORKSPACE_RULES["gpu"]
    # 8 (and 2, 4) channels per group: measured nothing; an ungrouped conv neither on oneDNN
    wide, wide_out = _grouped(96, 8)
    assert xla_depthwise_conv_workspace(wide.node(wide_out), (2, 2, 96), 32, 4, 2) == Workspace()
    g = GraphBuilder("c")
    plain = g.conv(g.input((8, 8, 16)), 16, 3)
    assert xla_depthwise_conv_workspace(g.build(plain).node(plain), (8, 8, 16), 32, 4,
                                        2) == Workspace()


def test_the_buffer_counts_once_at_the_grouped_convs_backward_step():
    graph, _ = _grouped(64, 1)
    trainable = {n.name: 1 for n in graph.nodes if n.op in ("dense", "conv")}
    cpu = training_curve(graph, trainable, 4, 2.0, backend="onednn", batch_size=8)
    gpu = training_curve(graph, trainable, 4, 2.0, backend="gpu", batch_size=8)
    extra = [c[1] - g[1] for c, g in zip(cpu, gpu) if c != g]
    assert extra == [2 * 7 * 7 * 64 * 64 * 4]
    assert [c[0] for c in cpu] == [g[0] for g in gpu]  # per-example activations unchanged


def test_gelu_keeps_three_tensors_of_its_size_not_its_input():
    g = GraphBuilder("m")
    h = g.dense(g.input((16,)), 32, name="h")
    act = g.act(h, "gelu", name="act")
    graph = g.build(g.dense(act, 4, name="out"))
    prof = archscale.profile(graph)
    # per example, float32: the input (dense h reads it) 16, h is not kept (GELU does not read
    # it, its own three are private), 3 x 32 for GELU, its output 32 (dense out reads it)
    assert prof.saved_activation_bytes(1) == 4 * (16 + 3 * 32 + 32)


#: (preset, input shape or None, batch) -> measured training peak MiB on (oneDNN, Eigen):
#: ``tools/memory_table.py --sweep bench/sweeps/catalogue.toml --sweep
#: bench/sweeps/families.toml`` (one 2-core x86 machine, TF 2.21, Adam). Before the grouped
#: conv's buffer and the GELU rule: convnext_tiny -31.7 % / -34.8 % (oneDNN, batch 32 / 1).
MEASURED = [
    ("convnext_tiny", (32, 32, 3), 1, (575.6, 573.6)),
    ("convnext_tiny", (32, 32, 3), 32, (689.3, 695.1)),
    ("transformer_tiny", None, 32, (140.0, 135.9)),
    ("bert_tiny", None, 32, (689.7, 682.8)),
    ("vit_tiny", (32, 32, 3), 32, (111.1, 112.0)),
]


@pytest.mark.parametrize("name, shape, batch, measured", MEASURED)
def test_presets_training_peak_within_15_percent_on_both_cpu_backends(name, shape, batch,
                                                                       measured):
    spec = archscale.preset(name, **({"input_shape": shape} if shape else {}))
    for backend, mib in zip(("onednn", "eigen"), measured):
        predicted = archscale.profile(spec, backend=backend).training_peak_bytes(batch) / MIB
        assert abs(predicted / mib - 1) <= 0.15, (backend, predicted, mib)


@pytest.mark.tf
def test_measured_convnext_block_within_15_percent():
    """One ConvNeXt block (7x7 grouped conv, LayerNorm, Dense, GELU, Dense, LayerScale) on a
    4x4x128 input, batch 8, oneDNN: the XLA buffer (6.4 MB) is most of the peak."""
    cfg = {"block": ["[", "gconv7", "ln", "dense4", "gelu", "dense1", "scale", "+"], "n": 1,
           "dim": 128, "hw": 4, "batch": 8, "backend": "onednn"}
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "block_memory.py"),
                           json.dumps([cfg])], capture_output=True, text=True, check=False,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                               "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "failed" not in row, row.get("failed")
    assert abs(row["predicted"] / row["measured"] - 1) <= 0.15, row
    without = row["predicted"] - 2 * 7 * 7 * 128 * 128 * 4 * 1.025
    assert without / row["measured"] - 1 < -0.5  # the buffer is what the test guards
