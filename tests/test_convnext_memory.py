"""ConvNeXt's, the Transformers' and Xception's training memory against measured peaks: the
presets on both CPU backends, and one small ConvNeXt block measured (``tools/block_memory.py``).
The rules' hand-worked counts are in tests/test_memory_model_counts.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import archscale

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


#: (preset, input shape or None, batch) -> measured training peak MiB on (oneDNN, Eigen):
#: ``tools/memory_table.py --sweep bench/sweeps/catalogue.toml --sweep
#: bench/sweeps/families.toml`` (one 2-core x86 machine, TF 2.21, Adam). Before the grouped
#: conv's buffer and the GELU rule: convnext_tiny -31.7 % / -34.8 % (oneDNN, batch 32 / 1),
#: transformer_tiny -14.1 %, bert_tiny -11.7 % (oneDNN, batch 32).
MEASURED = [
    ("convnext_tiny", (32, 32, 3), 1, (575.6, 573.6)),
    ("convnext_tiny", (32, 32, 3), 32, (689.3, 695.1)),
    ("transformer_tiny", None, 32, (140.0, 135.9)),
    ("bert_tiny", None, 32, (689.7, 682.8)),
    ("vit_tiny", (32, 32, 3), 32, (111.1, 112.0)),
    ("xception", (71, 71, 3), 32, (779.1, 779.0)),  # -17.6 % before the separable rule
    ("tcn", None, 32, (145.7, 156.6)),  # Eigen +18.5 % before the dilated-conv geometry
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
