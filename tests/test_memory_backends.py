"""Training-memory estimates per TensorFlow backend (oneDNN, Eigen, GPU): detection without
TensorFlow, the Eigen convolution-gradient buffers, the backend in job keys, the CLI options and
the report's per-backend rows. The measured checks run TensorFlow in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import archscale
from archscale.environment import (BACKENDS, check_backend, detect_backend, onednn_default,
                                   onednn_from_env)
from archscale.errors import SpecError
from archscale.graph import GraphBuilder
from archscale.reporting.merge import memory_backend, merge_rows
from archscale.runner.jobs import expand, key_environment
from archscale.runner.sweep import sweep_from_dict
from archscale.saved_rules import _im2col, eigen_conv_workspace

ROOT = Path(__file__).resolve().parents[1]
AVX512_CPU = {"flags": "fpu sse2 avx2 avx512f avx512_vnni"}
AVX2_CPU = {"flags": "fpu sse2 avx2 fma"}


# ---------------------------------------------------------------------------------------------
# Detection, as TensorFlow decides (tensorflow/core/util/port.cc)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("TRUE", True),
                                             ("0", False), ("false", False), ("", None),
                                             ("yes", None)])
def test_onednn_env_values_as_tensorflow_reads_them(value, expected):
    assert onednn_from_env({"TF_ENABLE_ONEDNN_OPTS": value}) is expected


def test_detect_backend_env_first_then_cpu_features():
    assert detect_backend({}, gpu=False, cpu=AVX512_CPU) == "onednn"
    assert detect_backend({}, gpu=False, cpu=AVX2_CPU) == "eigen"
    assert detect_backend({"TF_ENABLE_ONEDNN_OPTS": "0"}, gpu=False, cpu=AVX512_CPU) == "eigen"
    assert detect_backend({"TF_ENABLE_ONEDNN_OPTS": "1"}, gpu=False, cpu=AVX2_CPU) == "onednn"
    # a value TensorFlow does not accept keeps its default
    assert detect_backend({"TF_ENABLE_ONEDNN_OPTS": "on"}, gpu=False, cpu=AVX2_CPU) == "eigen"
    assert detect_backend({"TF_ENABLE_ONEDNN_OPTS": "1"}, gpu=True, cpu=AVX2_CPU) == "gpu"


def test_onednn_default_per_platform():
    assert onednn_default({"flags": "avx512f amx_tile"}, "Linux", "x86_64")
    assert not onednn_default({"flags": "avx512f avx512bw"}, "Linux", "x86_64")  # no VNNI
    assert onednn_default({"CPU part": "0xd40"}, "Linux", "aarch64")  # Neoverse V1
    assert not onednn_default({"CPU part": "0xd0c"}, "Linux", "aarch64")
    assert onednn_default({}, "Windows", "AMD64")
    assert not onednn_default({}, "Darwin", "arm64")


def test_bad_backend_names_the_field_and_the_accepted_values():
    assert check_backend("oneDNN") == "onednn" and BACKENDS == ("onednn", "eigen", "gpu")
    with pytest.raises(SpecError, match=r"backend must be one of onednn, eigen, gpu\. "
                                        r"Received: backend='cuda'"):
        archscale.profile(archscale.preset("mlp"), backend="cuda")


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------


#: (out pixels, patch, filters, batch, input grad) -> bytes measured with
#: tools/eigen_workspace.py on a 2-core machine (allocator peak minus operands and result).
MEASURED_IM2COL = [
    ((20, 5, 25, 32, False), 4_339_200),     # mnist1d_cnn's first conv (1-D), filter gradient
    ((1024, 144, 16, 1, False), 28_311_552),  # 32x32x16 3x3: 27.0 MiB at batch 1 and 32
    ((1024, 144, 16, 32, True), 589_824),     # its input gradient: one parallel contraction
    ((20, 5, 25, 32, True), 4_339_200),       # small work units: sharded, like the filter's
    ((20, 5, 25, 1, True), 400),              # batch 1: one image
    ((12544, 576, 64, 4, False), 28_901_376),  # 112x112x64 3x3: work unit above the target
]


@pytest.mark.parametrize("geometry, measured", MEASURED_IM2COL)
def test_eigen_im2col_rule_matches_the_measured_buffers(geometry, measured):
    pixels, patch, filters, batch, input_grad = geometry
    assert _im2col(pixels, patch, filters, batch, 4, 2, input_grad) == measured


def test_eigen_conv_workspace_reads_the_node():
    g = GraphBuilder("c")
    out = g.conv(g.input((32, 32, 16)), 16, 3)
    graph = g.build(out)
    ws = eigen_conv_workspace(graph.node(out), (32, 32, 16), 32, 4, 2)
    assert (ws.input_grad, ws.weight_grad, ws.macs) == (589_824, 28_311_552, 1024 * 144 * 16)
    grouped = GraphBuilder("g")
    gout = grouped.conv(grouped.input((16, 16, 32)), 32, 3, groups=4)
    assert eigen_conv_workspace(grouped.build(gout).node(gout), (16, 16, 32), 32, 4, 2) \
        .weight_grad == 0  # XLA call, no im2col buffer


def test_eigen_dilated_conv_workspace_is_a_space_to_batch_convs():
    """TCN's level-2 conv (7 taps, 25 channels, dilation 2, 1024 steps) at batch 1: the conv
    TensorFlow runs has 2 images of 512 steps; work unit 512 x 175 + 512 x 25 + 175 x 25 =
    106,775 (under 2 x 64 Ki per thread, so the input gradient shards too): 74 images' buffer
    of 512 x 175 floats (measured 26.57 and 26.52 MB)."""
    g = GraphBuilder("d")
    out = g.conv(g.input((1036, 25)), 25, 7, padding="valid", dilation=2)
    ws = eigen_conv_workspace(g.build(out).node(out), (1036, 25), 1, 4, 2)
    assert (ws.input_grad, ws.weight_grad) == (74 * 512 * 175 * 4, 74 * 512 * 175 * 4)
    assert ws.macs == 1024 * 175 * 25


def test_backend_changes_only_convolutional_estimates():
    conv, mlp = archscale.preset("resnet20"), archscale.preset("mlp")
    eigen = archscale.profile(conv, backend="eigen").training_peak_bytes(32)
    onednn = archscale.profile(conv, backend="onednn").training_peak_bytes(32)
    assert eigen - onednn > 27 << 20  # at least one 27 MiB filter-gradient buffer
    assert archscale.profile(conv, backend="gpu").training_peak_bytes(32) == onednn
    assert archscale.profile(mlp, backend="eigen").training_peak_bytes(32) == \
        archscale.profile(mlp, backend="onednn").training_peak_bytes(32)
    # inference is the same everywhere
    assert archscale.profile(conv, backend="eigen").inference_peak_bytes(32) == \
        archscale.profile(conv, backend="onednn").inference_peak_bytes(32)


# ---------------------------------------------------------------------------------------------
# Job keys and the report
# ---------------------------------------------------------------------------------------------

SWEEP = {"name": "k", "measure": ["cost", "latency", "memory"], "batch_sizes": [32],
         "arch": [{"preset": "mlp"}]}


def test_only_memory_job_keys_carry_the_backend():
    env = key_environment()
    one = {j.measurement: j for j in expand(sweep_from_dict(SWEEP), env, backend="onednn")}
    other = {j.measurement: j for j in expand(sweep_from_dict(SWEEP), env, backend="eigen")}
    assert one["memory"].settings["backend"] == "onednn"
    assert one["memory"].key != other["memory"].key
    for name in ("cost", "latency"):
        assert one[name].key == other[name].key and "backend" not in one[name].settings
    assert "backend" not in env  # the shared environment part is unchanged


def test_report_rows_one_per_backend_and_old_rows_read_from_env_tf_onednn():
    base = {"status": "ok", "measurement": "memory", "name": "m", "spec_hash": "s",
            "environment_hash": "e", "batch_size": 32, "optimizer": "adam"}
    rows = merge_rows([{**base, "memory_backend": "eigen", "train_peak_bytes_measured": 9},
                       {**base, "env_tf_onednn": True, "train_peak_bytes_measured": 5}])
    assert sorted((r["memory_backend"], r["train_peak_bytes_measured"]) for r in rows) == \
        [("eigen", 9), ("onednn", 5)]
    assert memory_backend({"env_tf_onednn": False}) == "eigen"
    assert memory_backend({}) is None


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archscale", *args], capture_output=True,
                          text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def test_profile_and_propose_backend_options():
    out = _cli("profile", "resnet20", "--backend", "Eigen", "--json", "--no-layers")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["backend"] == "eigen"
    assert data["training_peak_bytes"] == archscale.profile(
        archscale.preset("resnet20"), backend="eigen").training_peak_bytes(32)
    for verb in (["profile", "mlp"], ["propose", "--input", "40", "--classes", "10",
                                      "--samples", "1000"]):
        bad = _cli(*verb, "--backend", "cuda")
        assert bad.returncode == 2 and bad.stdout == ""
        assert bad.stderr.count("\n") == 1 and "--backend" in bad.stderr \
            and "'onednn', 'eigen', 'gpu'" in bad.stderr, bad.stderr
    proposal = _cli("propose", "--input", "32x32x3", "--classes", "10", "--samples", "2000",
                    "--batch", "32", "--max-train-memory", "100MiB", "--backend", "eigen",
                    "--json")
    assert proposal.returncode == 0, proposal.stderr
    predicted = json.loads(proposal.stdout)["predicted"]
    assert predicted["backend"] == "eigen" and predicted["train_memory_bytes"] <= 100 << 20


# ---------------------------------------------------------------------------------------------
# Measured (TensorFlow, fresh processes)
# ---------------------------------------------------------------------------------------------


@pytest.mark.tf
def test_measured_eigen_kernels_hold_the_modelled_buffers():
    """One Conv2DBackpropFilter / Input call on the Eigen kernels holds the im2col buffer the
    rule predicts (within 2 %: the sharded input gradient holds ~0.25 MB more at batch 32)."""
    configs = [{"n": 32, "h": 16, "w": 16, "c": 8, "kh": 3, "kw": 3, "f": 16, "s": 1},
               {"n": 1, "h": 16, "w": 16, "c": 8, "kh": 3, "kw": 3, "f": 16, "s": 2}]
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "eigen_workspace.py"),
                           json.dumps(configs)], capture_output=True, text=True, check=False,
                          env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0",
                               "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    for row in json.loads(proc.stdout.strip().splitlines()[-1]):
        pixels = row["out"][1] * row["out"][2]
        patch = row["kh"] * row["kw"] * row["c"]
        for key, input_grad in (("input_grad", True), ("filter_grad", False)):
            expected = _im2col(pixels, patch, row["f"], row["n"], 4, row["threads"], input_grad)
            assert abs(row[key] / expected - 1) <= 0.02, (row, key, expected)


@pytest.mark.tf
def test_eigen_training_peak_of_mnist1d_cnn_within_15_percent(monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    from memory_table import memory_error_table

    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # the runner's processes inherit it
    row = memory_error_table(["mnist1d_cnn"], 32)[0]
    assert row["error"] is None, row["error"]
    assert abs(row["train_peak_error_pct"]) <= 15, row


# ---------------------------------------------------------------------------------------------
# The README's backend table (tools/backend_table.py)
# ---------------------------------------------------------------------------------------------


def test_backend_table_covers_every_memory_preset_of_both_sweeps_and_marks_misses():
    sys.path.insert(0, str(ROOT / "tools"))
    from backend_table import format_backend_table, memory_presets

    sweeps = [str(ROOT / "bench" / "sweeps" / f) for f in ("catalogue.toml", "families.toml")]
    assert len(memory_presets(sweeps[0])) >= 24
    presets = memory_presets(sweeps + sweeps[:1])  # the union, each preset once, in order
    names = [n for n, _ in presets]
    assert len(names) == len(set(names)) >= 46 and dict(presets)["inception_v3"] == (75, 75, 3)
    assert names[:len(memory_presets(sweeps[0]))] == [n for n, _ in memory_presets(sweeps[0])]
    assert {"resnet20", "mobilenet_v2", "efficientnet_b4", "regnetx_016", "convnext_tiny",
            "bert_tiny", "tcn"} <= set(names)
    assert dict(presets)["xception"] == (71, 71, 3) and dict(presets)["bert_tiny"] is None
    assert all(archscale.profile(archscale.preset(n, **({"input_shape": s} if s else {})))
               .params <= 30_000_000 for n, s in presets)
    cell = {"predicted": 12 << 20, "measured": 10 << 20, "error_pct": 20.0}
    row = {"preset": "p", "batch_size": 1, "input_shape": "8", "params": 5, "train_onednn": cell,
           "inference_onednn": {"error": "boom"}}
    text = format_backend_table([row], {"p/1": "why it misses"})
    assert "| p (8) | 1 | 5 | 12.0 | 10.0 | +20.0 % **miss** | failed: boom | why it misses |" \
        in text
