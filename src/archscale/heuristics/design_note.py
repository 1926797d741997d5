"""The human-readable form of a proposal: a short design note.

Architecture table, costs against the budgets, then why (one line per rationale step, with its
source), the training recipe and the tuning search space.
"""

from __future__ import annotations

import textwrap
from typing import Any

from archscale.heuristics.propose import Proposal
from archscale.reference_archs.registry import families
from archscale.reference_archs.scaling_plan import Step
from archscale.units import format_bytes, format_count

WIDTH = 100

_ROWS = (  # (predicted key, limit name, label)
    ("params", "max_params", "params"),
    ("macs", "max_macs", "MACs"),
    ("flops", None, "FLOPs"),
    ("train_memory_bytes", "max_train_memory_bytes", "training memory"),
    ("inference_memory_bytes", "max_inference_memory_bytes", "inference memory"),
    ("latency_ms", "max_latency_ms", "latency"),
)


def _value(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key.endswith("bytes"):
        return format_bytes(value)
    if key == "latency_ms":
        return f"{value:.3g} ms"
    return format_count(value)


def _short(value: Any, depth: int = 0) -> str:
    """Compact one-line rendering of rule inputs/results."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_short(v, depth + 1)}" for k, v in value.items()
                         if v is not None and v != {} and k not in ("source",))
    if isinstance(value, (list, tuple)):
        return "/".join(_short(v, depth + 1) for v in value)
    if isinstance(value, float):
        return format_count(value) if abs(value) >= 10_000 else f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return format_count(value)
    return str(value)


def _step_line(index: int, step: Step) -> str:
    result = step.result
    if step.rule == "family" and isinstance(result, dict):
        alts = "; ".join(f"{k}: {v}" for k, v in result.get("alternatives", {}).items())
        text = (f"{result['family']} ({result['variant']}): {result['why']}"
                + (f". Alternatives considered - {alts}" if alts else ""))
    else:
        inputs = _short(step.inputs)
        text = (f"{inputs} -> " if inputs else "") + _short(result)
    return textwrap.fill(f"{index}. {step.rule}: {text} [{step.source}]", WIDTH,
                         subsequent_indent="   ")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple", intfmt=",")


def cost_rows(p: Proposal) -> list[list[str]]:
    """``[quantity, predicted, limit, used]`` rows; the binding row is marked."""
    rows = []
    for key, limit_name, label in _ROWS:
        if key == "train_memory_bytes":
            label += f" (batch {p.predicted['train_batch_size']}, {p.predicted['optimizer']})"
        elif key in ("inference_memory_bytes", "latency_ms"):
            label += f" (batch {p.predicted['batch_size']})"
        names = [n for n in (limit_name, "capacity" if key == "params" else None)
                 if n in p.utilisation]
        if not names:
            rows.append([label, _value(key, p.predicted[key]), "-", ""])
        for name in names:
            u = p.utilisation[name]
            mark = "  <- binding" if name == p.binding else ""
            limit = _value(key, u["limit"]) + ("" if u["user"] else " (data)")
            rows.append([label, _value(key, p.predicted[key]), limit,
                         f"{u['fraction']:.1%}{mark}"])
    return rows


def design_note(p: Proposal) -> str:
    """The proposal as a short design note (plain text)."""
    t = p.task
    shape = "x".join(map(str, t.input_shape))
    kind = "regression outputs" if t.regression else "classes"
    vocab = f" (vocab {t.vocab:,})" if t.vocab else ""
    out = [f"Proposal: {p.description}",
           f"  task: {shape} {t.modality}{vocab}, {t.classes} {kind}, {t.samples:,} training samples; "
           f"family {p.family} ({p.variant})"]
    for warning in p.warnings:
        out.append(textwrap.fill(f"  WARNING: {warning}", WIDTH, subsequent_indent="    "))
    if p.preprocessing.get("resize_to"):
        h, w = p.preprocessing["resize_to"]
        way = "up, --max-resolution" if h > t.input_shape[0] else "down to fit the budget"
        out.append(f"  resize inputs to {h}x{w} (resolution scaled {way})")
    assert p.plan is not None  # noqa: S101 - proposals built in-process carry their plan
    headers, rows = p.plan.table(p.knobs)
    out += ["", "Architecture", textwrap.indent(_table(headers, rows), "  ")]
    out += ["", "Costs against the budget",
            textwrap.indent(_table(["quantity", "predicted", "limit", "used"], cost_rows(p)),
                            "  ")]
    out.append(f"  memory figures are float32 at the batch shown; training memory with the "
               f"recipe's optimizer: reproduce with 'archscale profile SPEC.json --batch "
               f"{p.predicted['train_batch_size']} --optimizer {p.predicted['optimizer']}'")
    if p.predicted["latency_ms"] is None:
        out.append("  latency: not predicted (no calibration for this machine; run "
                   "'archscale propose --calibrate --batch N')")
    if p.fill_note:
        out.append(textwrap.fill(f"  below 90 % of the binding limit: {p.fill_note}", WIDTH,
                                 subsequent_indent="    "))
    if p.verification:
        v = p.verification
        out.append(f"  verified: measured {v['measured_ms']:.3g} ms median vs limit "
                   f"{v['limit_ms']:g} ms -> {v['status']} after {len(v['rounds'])} "
                   "measurement(s)")
    out += ["", "Why"] + [textwrap.indent(_step_line(i, s), "  ")
                          for i, s in enumerate(p.rationale, start=1)]
    r, g = p.recipe, p.regularisation
    out += ["", textwrap.fill(
        f"Training recipe: {r.optimizer} lr {r.learning_rate:g}"
        + (f" momentum {r.optimizer_momentum:g}" if r.optimizer_momentum else "")
        + f", batch {r.batch_size}, {r.epochs} epochs, {r.schedule} schedule"
        + (f" with {r.warmup_epochs} warm-up epochs" if r.warmup_epochs else "")
        + f", loss {r.loss}" + (f" (label smoothing {r.label_smoothing:g})"
                                if r.label_smoothing else "")
        + f"; dropout {g.dropout:g}"
        + ("" if families().get(p.family).has_dropout else " (if a head dropout is added; the "
           "family has none)")
        + f", weight decay {g.weight_decay:g} ("
        + ("decoupled, AdamW-style" if g.weight_decay_kind == "decoupled" else "L2")
        + ")" + (f", early-stopping patience {g.early_stopping_patience} epochs."
                 if g.early_stopping_patience else
                 ", no early stopping (the cosine schedule runs to the end; the best "
                 "validation epoch is kept)."), WIDTH)]
    hps = ", ".join(
        f"{h['name']} {h['min_value']:.3g}-{h['max_value']:.3g}"
        + (" (log)" if h["sampling"] == "log" else "") for h in p.search_space["hyperparameters"])
    axis = p.search_space.get("resolution_axis")
    if axis:
        hps += f", resolution {axis['min_value']}-{axis['max_value']} px"
    out += [textwrap.fill(f"Search space (keras-tuner, around the proposal): {hps}.", WIDTH)]
    return "\n".join(out)
