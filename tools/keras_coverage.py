"""The Keras coverage table of docs/profile.md (and its summary in the README's Results):
every ``keras.applications`` model (weights=None) and the hand-built models of
``tools/keras_models.py``, profiled by archscale and checked against Keras (params) and
TensorFlow's profiler (MACs).

    python tools/keras_coverage.py run      # resumable: one subprocess per model, results in
                                            # bench/results/keras_coverage.jsonl
    python tools/keras_coverage.py readme   # writes the table into docs/profile.md and
                                            # the summary into README.md
                                            # (tools/update_readme.py, as make readme)

How MACs are checked: 2 x archscale's MACs against the FLOPs TensorFlow's profiler registers
for the MatMul/BatchMatMul/Conv*/DepthwiseConv2dNative/Conv2DBackpropInput ops of the frozen
inference graph, plus, for ``Einsum`` ops the profiler registers nothing for (the attention
score and value products of MultiHeadAttention), 2 x the product of the einsum's index sizes
read off the op's input shapes. Recurrent layers run in a ``while`` loop whose body the
profiler does not multiply by the steps, so the checked graph is a clone with ``unroll=True``
(every step is its own MatMul).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "keras_coverage.jsonl")
MAC_TYPES = ("Conv2D", "Conv3D", "DepthwiseConv2dNative", "MatMul", "BatchMatMul",
             "BatchMatMulV2", "BatchMatMulV3", "Conv2DBackpropInput", "Conv3DBackpropInputV2")
BEGIN, END = "<!-- keras-coverage:begin -->", "<!-- keras-coverage:end -->"


def _application_names() -> list[str]:
    import keras

    return sorted(n for n in dir(keras.applications) if n[0].isupper())


def _build(name: str):
    import keras

    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from keras_models import HAND_BUILT

    if name in HAND_BUILT:
        return HAND_BUILT[name]()
    model = getattr(keras.applications, name)(weights=None)
    if None in tuple(model.inputs[0].shape[1:]):  # MobileNetV3 defaults to (None, None, 3)
        model = getattr(keras.applications, name)(weights=None, input_shape=(224, 224, 3))
    return model


def _set_unroll(obj) -> bool:
    found = False
    if isinstance(obj, dict):
        if "unroll" in obj:
            obj["unroll"], found = True, True
        for value in obj.values():
            found = _set_unroll(value) or found
    elif isinstance(obj, list):
        for value in obj:
            found = _set_unroll(value) or found
    return found


def _unrolled(model):
    """A copy of ``model`` with every recurrent layer unrolled (the model if it has none)."""
    config = model.get_config()
    if not _set_unroll(config):
        return model
    copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def _einsum_flops(graph) -> int:
    total = 0
    for op in graph.get_operations():
        if op.type != "Einsum":
            continue
        equation = op.get_attr("equation").decode()
        lhs = equation.split("->")[0].split(",")
        sizes = {}
        for spec, tensor in zip(lhs, op.inputs):
            for letter, dim in zip(spec, tensor.shape):
                sizes[letter] = int(dim)
        product = 1
        for size in sizes.values():
            product *= size
        total += 2 * product
    return total


def measure(name: str) -> dict:
    """One model's row: archscale's numbers, Keras', the profiler's, and the times."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import archscale
    from archscale.measure.tf_profiler import (_inline_calls, _profiler_flops_by_node,
                                               frozen_graph)

    model = _build(name)
    start = time.perf_counter()
    prof = archscale.profile(model)
    elapsed = time.perf_counter() - start
    checked = _unrolled(model)
    start = time.perf_counter()
    graph = _inline_calls(frozen_graph(checked))
    by_node = _profiler_flops_by_node(graph)
    profiler = sum(by_node.get(op.name, 0) for op in graph.get_operations()
                   if op.type in MAC_TYPES) + _einsum_flops(graph)
    profiler_s = time.perf_counter() - start
    return {"name": name, "params": prof.params, "keras_params": int(model.count_params()),
            "trainable": prof.trainable_params,
            "keras_trainable": int(sum(int(__import__("math").prod(w.shape))
                                       for w in model.trainable_weights)),
            "macs": prof.macs, "profiler_flops": int(profiler),
            "unsupported": list(prof.unsupported), "notes": len(prof.notes),
            "profile_s": round(elapsed, 4), "profiler_s": round(profiler_s, 2)}


def run(redo: tuple[str, ...] = ()) -> None:
    """Measure every model not yet in the results file (or named in ``redo``), one
    subprocess each."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from keras_models import HAND_BUILT

    done = set()
    if os.path.exists(RESULTS):
        with open(RESULTS, encoding="utf-8") as handle:
            kept = [line for line in handle if line.strip()
                    and json.loads(line)["name"] not in redo]
        with open(RESULTS, "w", encoding="utf-8") as handle:
            handle.writelines(kept)
        done = {json.loads(line)["name"] for line in kept}
    names = list(HAND_BUILT) + _application_names()
    for name in names:
        if name in done:
            continue
        proc = subprocess.run([sys.executable, __file__, "one", name], capture_output=True,
                              text=True, timeout=1800)
        line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if proc.returncode or not line.startswith("{"):
            err = (proc.stderr.strip().splitlines() or ["?"])[-1]
            line = json.dumps({"name": name, "error": err[:200]})
        with open(RESULTS, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        print(line, flush=True)


def table() -> str:
    """The markdown table of the results file."""
    rows = ["| model | params | params exact | 2 x MACs = profiler | unsupported | "
            "archscale | TF profiler |", "|---|---:|:-:|:-:|---|---:|---:|"]
    results = _results()
    results.sort(key=lambda r: (r["name"][0].isupper(), r["name"].lower()))
    good = [r for r in results if "error" not in r]
    exact = sum(r["params"] == r["keras_params"] and r["trainable"] == r["keras_trainable"]
                for r in good)
    summary = (f"{len(results)} models: params exact in {exact}, "
               f"2 x MACs equal to the profiler in "
               f"{sum(2 * r['macs'] == r['profiler_flops'] for r in good)}, "
               f"unsupported layers in {sum(bool(r['unsupported']) for r in good)}.")
    for r in results:
        if "error" in r:
            rows.append(f"| {r['name']} | error: {r['error']} | | | | | |")
            continue
        params_ok = r["params"] == r["keras_params"] and r["trainable"] == r["keras_trainable"]
        macs_ok = 2 * r["macs"] == r["profiler_flops"]
        rows.append(
            f"| {r['name']} | {r['params']:,} | {'yes' if params_ok else 'NO'} | "
            f"{'yes' if macs_ok else 'NO (%s vs %s)' % (2 * r['macs'], r['profiler_flops'])} | "
            f"{', '.join(r['unsupported']) or '-'} | {r['profile_s'] * 1000:.0f} ms | "
            f"{r['profiler_s']:.1f} s |")
    return summary + "\n\n" + "\n".join(rows)


def _results() -> list[dict]:
    with open(RESULTS, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def summary() -> str:
    """The README's one-paragraph summary of the results file: coverage and speed."""
    import statistics

    results = _results()
    good = [r for r in results if "error" not in r]
    apps = sum(r["name"][0].isupper() for r in results)
    exact = sum(r["params"] == r["keras_params"] and r["trainable"] == r["keras_trainable"]
                for r in good)
    macs = sum(2 * r["macs"] == r["profiler_flops"] for r in good)
    ours = statistics.median(r["profile_s"] for r in good)
    theirs = statistics.median(r["profiler_s"] for r in good)
    return (f"**Keras models.** {len(results)} models ({apps} from `keras.applications`, "
            f"{len(results) - apps} hand-built: LoRA, int8, frozen transfer, masked RNNs, "
            f"TCN, transformer, U-Net...): parameters exact in {exact}, 2 x MACs equal to "
            f"TensorFlow's profiler in {macs}, unsupported layers in "
            f"{sum(bool(r['unsupported']) for r in good)}. `archscale.profile(model)` took a "
            f"median {ours * 1000:.0f} ms per model, TensorFlow's profiler {theirs:.1f} s "
            f"({theirs / ours:.0f}x). Source: `python tools/keras_coverage.py run`, table in "
            "[docs/profile.md](docs/profile.md#coverage).")


def readme() -> None:
    """Rewrite every generated block (``tools/update_readme.py``), this table included."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from update_readme import main

    main([os.path.join(ROOT, "README.md")])


if __name__ == "__main__":
    verb = sys.argv[1] if len(sys.argv) > 1 else "run"
    if verb == "one":
        print(json.dumps(measure(sys.argv[2])))
    elif verb == "readme":
        readme()
    else:
        run(tuple(sys.argv[2:]))
