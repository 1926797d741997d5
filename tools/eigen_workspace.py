"""Working buffers of TensorFlow's convolution kernels, one kernel call at a time.

``TF_ENABLE_ONEDNN_OPTS=0 python tools/eigen_workspace.py '[{"n": 32, "h": 32, "w": 32,
"c": 16, "kh": 3, "kw": 3, "f": 16, "s": 1}]'`` runs, for each configuration (batch ``n``,
input ``h x w x c``, kernel ``kh x kw``, ``f`` filters, stride ``s``, dilation ``d`` (1), ``pad``
SAME or VALID),
one ``Conv2D``, one ``Conv2DBackpropInput`` and one ``Conv2DBackpropFilter`` call, and prints
for each the allocator's peak during the call minus what it held before and the call's result
(bytes): what the kernel holds besides its operands. The process uses the counting BFC
allocator (``TF_CPU_ALLOCATOR_USE_BFC=true``), pre-grown so no growth is counted. These are the
measurements behind ``archscale.saved_rules.eigen_conv_workspace``.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")


def _extra(tf, fn, *args) -> int:
    """Peak bytes of ``fn(*args)`` above what was held before, less its result."""
    fn(*args)  # warm-up (kernel creation)
    tf.config.experimental.reset_memory_stats("CPU:0")
    before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    out = fn(*args)
    peak = tf.config.experimental.get_memory_info("CPU:0")["peak"]
    return int(peak - before - out.numpy().nbytes)


def measure(configs: list[dict]) -> list[dict]:
    """The three kernels' extra bytes per configuration (see the module docstring)."""
    import tensorflow as tf

    from archscale.environment import usable_cores
    from archscale.measure.memory import reserve_allocator

    reserve_allocator(1 << 30)
    rows = []
    for cfg in configs:
        s, pad, d = cfg.get("s", 1), cfg.get("pad", "SAME"), cfg.get("d", 1)
        strides, dilations = [1, s, s, 1], [1, d, d, 1]
        x = tf.random.normal((cfg["n"], cfg["h"], cfg["w"], cfg["c"]))
        k = tf.random.normal((cfg["kh"], cfg["kw"], cfg["c"], cfg["f"]))
        dy = tf.random.normal(tf.nn.conv2d(x, k, s, pad, dilations=d).shape)
        raw = tf.raw_ops
        rows.append({**cfg, "out": list(dy.shape), "threads": usable_cores(),
                     "forward": _extra(tf, lambda a, b: raw.Conv2D(
                         input=a, filter=b, strides=strides, padding=pad,
                         dilations=dilations), x, k),
                     "input_grad": _extra(tf, lambda a, b: raw.Conv2DBackpropInput(
                         input_sizes=tf.constant(x.shape), filter=a, out_backprop=b,
                         strides=strides, padding=pad, dilations=dilations), k, dy),
                     "filter_grad": _extra(tf, lambda a, b: raw.Conv2DBackpropFilter(
                         input=a, filter_sizes=tf.constant(k.shape), out_backprop=b,
                         strides=strides, padding=pad, dilations=dilations), x, dy)})
    return rows


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
