"""RegNetX family (Radosavovic et al. 2020, "Designing Network Design Spaces").

A RegNet is described by six numbers, not by per-stage tables: depth ``d``, initial width
``w0``, slope ``wa``, multiplier ``wm``, group width ``g`` and bottleneck ratio ``b``. The
per-block widths follow a quantised linear rule (``regnet_widths``); consecutive blocks of
equal width form a stage. Widths and group widths are then made compatible with grouped
convolutions (``compatible_widths_groups``, pycls' ``adjust_ws_gs_comp``).

The network is pycls' / torchvision's / Keras Applications' RegNetX: a 3x3/2 conv stem, four
(or however many the rule yields) stages of X blocks whose first block has stride 2, and a
global-average-pool + dense head. Convs have no bias; BatchNorm epsilon is 1e-5 and momentum
0.9 (pycls' 0.1 in PyTorch's convention). Layer names follow Keras Applications'
``keras.applications.RegNetX002`` with the model name ``regnetx``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.reference_archs.rounding import make_divisible
from archscale.reference_archs.scaling_plan import QUANTUM, Knobs, Plan, Step, clamp
from archscale.specs import (
    ArchSpec,
    Task,
    check_choice,
    check_image_input,
    check_positive_int,
    check_positive_number,
)

BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9
MODEL_NAME = "regnetx"


# ---------------------------------------------------------------------------------------------
# The width rule (pure functions)
# ---------------------------------------------------------------------------------------------


def regnet_widths(depth: int, w0: int, wa: float, wm: float,
                  q: int = 8) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Stage widths and depths of the quantised linear rule.

    ``u_j = w0 + wa * j`` for ``j < depth``; ``s_j = round(log(u_j / w0) / log(wm))``;
    ``w_j = round(w0 * wm**s_j / q) * q``; stages are runs of equal ``w_j``. Rounding is
    Python's (half to even), as numpy's in pycls. A width never drops below ``q`` (only
    matters when ``w0 < q / 2``; pycls instead requires ``w0 % q == 0``).

    Args:
        depth: Number of blocks ``d`` (> 0).
        w0: Initial width (> 0).
        wa: Slope of the linear widths (>= 0).
        wm: Width multiplier between stages (> 1).
        q: Width quantum (> 0).

    Returns:
        ``(stage_widths, stage_depths)``, two tuples of equal length; depths sum to ``depth``.

    Raises:
        SpecError: an argument is out of range (the message names it).
    """
    check_positive_int("depth", depth)
    check_positive_number("w0", w0)
    _check_non_negative("wa", wa)
    _check_multiplier("wm", wm)
    check_positive_int("width_quantum", q)
    widths: list[int] = []
    depths: list[int] = []
    for j in range(depth):
        u = w0 + wa * j
        s = round(math.log(u / w0) / math.log(wm))
        w = max(q, int(round(w0 * wm ** s / q)) * q)
        if widths and widths[-1] == w:
            depths[-1] += 1
        else:
            widths.append(w)
            depths.append(1)
    return tuple(widths), tuple(depths)


def compatible_widths_groups(widths: tuple[int, ...], bottleneck_ratio: float,
                             group_width: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Make stage widths compatible with grouped 3x3 convs (pycls ``adjust_ws_gs_comp``).

    Per stage: the bottleneck width is ``int(w * b)`` (at least 1); the group width is clipped
    to it, ``g' = min(g, w_b)``; ``w_b`` is rounded to the nearest multiple of ``g'``
    (half to even); the stage width becomes ``int(w_b / b)``.

    Args:
        widths: Stage widths from ``regnet_widths``.
        bottleneck_ratio: ``b`` (> 0); 1 for RegNetX.
        group_width: ``g`` (> 0).

    Returns:
        ``(stage_widths, stage_group_widths)``.

    Raises:
        SpecError: ``bottleneck_ratio`` or ``group_width`` is out of range.
    """
    check_positive_number("bottleneck_ratio", bottleneck_ratio)
    check_positive_int("group_width", group_width)
    out_w: list[int] = []
    out_g: list[int] = []
    for w in widths:
        w_bot = max(1, int(w * bottleneck_ratio))
        g = min(group_width, w_bot)
        w_bot = int(round(w_bot / g) * g)
        out_w.append(int(w_bot / bottleneck_ratio))
        out_g.append(g)
    return tuple(out_w), tuple(out_g)


def _check_non_negative(field: str, value: object) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not 0 <= value < float("inf"):  # type: ignore[operator]
        raise SpecError(f"{field} must be a finite number >= 0. Received: {field}={value!r}")


def _check_multiplier(field: str, value: object) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not 1 < value < float("inf"):  # type: ignore[operator]
        raise SpecError(f"{field} must be a finite number > 1. Received: {field}={value!r}")


# ---------------------------------------------------------------------------------------------
# Spec
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One stage of the plan: output width, number of blocks, group width of the 3x3 convs."""

    width: int
    depth: int
    group_width: int


@dataclass(frozen=True, kw_only=True)
class RegNetSpec(ArchSpec):
    """A RegNetX image classifier on ``(height, width, channels)`` inputs.

    Attributes:
        depth: Total number of X blocks ``d``.
        w0: Initial block width.
        wa: Slope of the linear block widths (>= 0; 0 gives one stage).
        wm: Width multiplier between stages (> 1).
        group_width: Channels per group of the 3x3 convs, clipped to the bottleneck width.
        bottleneck_ratio: Bottleneck width / block width (1.0 for RegNetX).
        stem_width: Filters of the 3x3/2 stem conv.
        width_quantum: Block widths are multiples of this before the group adjustment.
        output_activation: Activation of the classifier.
    """

    family = "regnet"

    depth: int = 13
    w0: int = 24
    wa: float = 36.44
    wm: float = 2.49
    group_width: int = 8
    bottleneck_ratio: float = 1.0
    stem_width: int = 32
    width_quantum: int = 8
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        check_positive_int("depth", self.depth)
        check_positive_int("w0", self.w0)
        _check_non_negative("wa", self.wa)
        _check_multiplier("wm", self.wm)
        check_positive_int("group_width", self.group_width)
        check_positive_number("bottleneck_ratio", self.bottleneck_ratio)
        check_positive_int("stem_width", self.stem_width)
        check_positive_int("width_quantum", self.width_quantum)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)

    def stages(self) -> tuple[Stage, ...]:
        """The stage plan: widths and depths from the rule, made group-compatible."""
        widths, depths = regnet_widths(self.depth, self.w0, self.wa, self.wm,
                                       self.width_quantum)
        widths, groups = compatible_widths_groups(widths, self.bottleneck_ratio,
                                                  self.group_width)
        return tuple(Stage(w, d, g) for w, d, g in zip(widths, depths, groups))


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def _conv_bn(g: GraphBuilder, x: str, filters: int, kernel: int, strides: int, name: str, *,
             groups: int = 1, relu: bool = True) -> str:
    x = g.conv(x, filters, kernel, strides, groups=groups, use_bias=False, name=name)
    x = g.batch_norm(x, epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn")
    return g.act(x, "relu", name=f"{name}_relu") if relu else x


def bottleneck_block(g: GraphBuilder, x: str, width: int, group_width: int,
                     bottleneck_ratio: float, strides: int, name: str,
                     se_ratio: float = 0.0) -> str:
    """X block: 1x1 -> grouped 3x3 (stride) -> 1x1, projection shortcut when needed, relu; the
    Y block (``se_ratio > 0``) adds squeeze-excitation after the grouped 3x3, its bottleneck
    ``se_ratio`` x the block's input width."""
    w_in = g.shape(x)[-1]
    w_b = int(round(width * bottleneck_ratio))
    shortcut = x
    if strides != 1 or w_in != width:
        shortcut = g.conv(x, width, 1, strides, use_bias=False, name=f"{name}_skip_1x1")
        shortcut = g.batch_norm(shortcut, epsilon=BN_EPSILON, momentum=BN_MOMENTUM,
                                name=f"{name}_skip_bn")
    y = _conv_bn(g, x, w_b, 1, 1, f"{name}_conv_1x1_1")
    y = _conv_bn(g, y, w_b, 3, strides, f"{name}_conv_3x3", groups=w_b // group_width)
    if se_ratio > 0:
        se = g.global_avg_pool(y, keepdims=True, name=f"{name}_squeeze_and_excite_gap")
        se = g.conv(se, max(1, int(w_in * se_ratio)), 1, activation="relu",
                    name=f"{name}_squeeze_and_excite_squeeze")
        se = g.conv(se, w_b, 1, activation="sigmoid", name=f"{name}_squeeze_and_excite_excite")
        y = g.multiply([y, se], name=f"{name}_squeeze_and_excite_multiply")
    y = _conv_bn(g, y, width, 1, 1, f"{name}_conv_1x1_2", relu=False)
    y = g.add([y, shortcut], name=f"{name}_add")
    return g.act(y, "relu", name=f"{name}_exit_relu")


def build_stages(spec: RegNetSpec, model_name: str, block: str, se_ratio: float = 0.0) -> Graph:
    """Graph of a RegNet: stem -> stages of ``block`` blocks (first block stride 2) -> gap ->
    dense; layer names ``<model_name>_Stage_<s>_<block>_<i>_...`` as keras.applications."""
    g = GraphBuilder(model_name)
    x = g.input(spec.input_shape)
    x = g.conv(x, spec.stem_width, 3, 2, use_bias=False, name=f"{model_name}_stem_conv")
    x = g.batch_norm(x, epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{model_name}_stem_bn")
    x = g.act(x, "relu", name=f"{model_name}_stem_relu")
    for s, stage in enumerate(spec.stages()):
        for i in range(stage.depth):
            x = bottleneck_block(g, x, stage.width, stage.group_width, spec.bottleneck_ratio,
                                 2 if i == 0 else 1, f"{model_name}_Stage_{s}_{block}_{i}",
                                 se_ratio)
    x = g.global_avg_pool(x, name=f"{model_name}_head_gap")
    x = g.dense(x, spec.classes, activation=spec.output_activation,
                name=f"{model_name}_head_dense")
    return g.build(x)


def build_regnet(spec: RegNetSpec) -> Graph:
    """Graph of a RegNetX: stem -> stages of X blocks (first block stride 2) -> gap -> dense.

    Args:
        spec: The ``RegNetSpec``.

    Returns:
        The ``Graph``.

    Raises:
        ShapeError: the input is too small for the architecture.
    """
    return build_stages(spec, MODEL_NAME, "XBlock")


@dataclass(frozen=True)
class _RegNetXConfig:
    """One published RegNetX design point (pycls model zoo / the paper's appendix)."""

    name: str
    label: str
    depth: int
    w0: int
    wa: float
    wm: float
    group_width: int
    trainable_params: int
    paper_params: float
    macs: float


#: Design points and their published figures: trainable params as torchvision's
#: ``regnet_x_*`` ``num_params`` (400MF: pycls' 5,157,512), the paper's params and MACs.
_REGNETX = (
    _RegNetXConfig("regnetx_002", "RegNetX-200MF", 13, 24, 36.44, 2.49, 8,
                   2_684_792, 2.68e6, 0.2e9),
    _RegNetXConfig("regnetx_004", "RegNetX-400MF", 22, 24, 24.48, 2.54, 16,
                   5_157_512, 5.16e6, 0.4e9),
    _RegNetXConfig("regnetx_008", "RegNetX-800MF", 16, 56, 35.73, 2.28, 16,
                   7_259_656, 7.26e6, 0.8e9),
    _RegNetXConfig("regnetx_016", "RegNetX-1.6GF", 18, 80, 34.01, 2.25, 24,
                   9_190_136, 9.19e6, 1.6e9),
)

PRESETS = tuple(
    Preset(c.name,
           RegNetSpec(input_shape=(224, 224, 3), classes=1000, depth=c.depth, w0=c.w0,
                      wa=c.wa, wm=c.wm, group_width=c.group_width),
           f"{c.label} (Radosavovic et al. 2020): d={c.depth}, w0={c.w0}, wa={c.wa}, "
           f"wm={c.wm}, g={c.group_width}; ImageNet 224x224",
           Published(f"Radosavovic et al. 2020 ({c.label}); torchvision / pycls parameter "
                     "counts", trainable_params=c.trainable_params,
                     paper_params=c.paper_params, macs=c.macs))
    for c in _REGNETX
)

# ---------------------------------------------------------------------------------------------
# Scaling plan (the heuristics size it)
# ---------------------------------------------------------------------------------------------


#: RegNetX points with no preset: (label, d, w0, wa, wm, g, params, MACs), pycls configs.
_REGNETX_LARGER = (("RegNetX-3.2GF", 25, 88, 26.31, 2.25, 48, 15.3e6, 3.2e9),
                   ("RegNetX-4.0GF", 23, 96, 38.65, 2.43, 40, 22.1e6, 4.0e9))

#: ImageNet top-1 (%) = 100 - top-1 error of the pycls model zoo (Radosavovic et al. 2020,
#: 100-epoch reference training).
_TOP1 = {"RegNetX-200MF": 68.9, "RegNetX-400MF": 72.6, "RegNetX-800MF": 75.2,
         "RegNetX-1.6GF": 77.0, "RegNetX-3.2GF": 78.3, "RegNetX-4.0GF": 78.6}

ACCURACY = tuple(
    AccuracyPoint(label, "imagenet", _TOP1[label], macs, params, 224,
                  (("depth", d), ("w0", w0), ("wa", wa), ("wm", wm), ("group_width", g)),
                  f"Radosavovic et al. 2020 ({label}); pycls MODEL_ZOO top-1 error")
    for label, d, w0, wa, wm, g, params, macs in
    tuple((c.label, c.depth, c.w0, c.wa, c.wm, c.group_width, c.paper_params, c.macs)
          for c in _REGNETX) + _REGNETX_LARGER)


class RegNetPlan(Plan):
    """RegNetX from a published design point (default 200MF); knobs: (depth, w0, wa x 100).

    ``wm`` and the group width stay those of the design point the plan starts from (the
    family choice passes the published point it picked as ``anchor``).
    """

    family = variant = "regnet"
    axes = ("depth", "width")
    BASE = {"depth": _REGNETX[0].depth, "w0": _REGNETX[0].w0, "wa": _REGNETX[0].wa,
            "wm": _REGNETX[0].wm, "group_width": _REGNETX[0].group_width}

    @classmethod
    def for_task(cls, task: Task, variant: str, target_params: float, *,
                 max_resolution: int | None = None, anchor: Any = None) -> "RegNetPlan":
        return cls(task, anchor)

    def __init__(self, task: Task, anchor: Any = None) -> None:
        super().__init__(task)
        self.anchor = anchor.name if anchor is not None else _REGNETX[0].label
        self.base = dict(anchor.config) if anchor is not None else dict(self.BASE)
        self.bounds["depth"] = (1 / self.base["depth"], 4.0)
        self.bounds["width"] = (QUANTUM / self.base["w0"], 8.0)
        self.steps = [Step("regnet design point", {"design_point": self.anchor, **self.base},
                           f"{self.anchor} scaled: depth d, w0 and wa by the width factor; "
                           "widths made compatible with the group width",
                           "Radosavovic et al. 2020 (RegNetX design points; group widths "
                           "respected by pycls adjust_ws_gs_comp)")]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        b = self.base
        return (int(clamp(round(b["depth"] * d), 1, 60)), make_divisible(b["w0"] * w, QUANTUM),
                int(round(b["wa"] * w * 100)))

    def knobs_for(self, point: Any) -> Knobs | None:
        same = all(point.get(k) == self.base[k] for k in ("wm", "group_width"))
        return (point.get("depth"), point.get("w0"), round(point.get("wa") * 100)) \
            if same else None

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        return RegNetSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                          depth=knobs[0], w0=knobs[1], wa=knobs[2] / 100, wm=self.base["wm"],
                          group_width=self.base["group_width"],
                          output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return ("depth + 1", f"w0 + {QUANTUM}", "wa + 0.5")

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        step = (1, QUANTUM, 50)[index]
        limit = (60, 1024, 200_000)[index]
        if knobs[index] + step > limit:
            return None
        return knobs[:index] + (knobs[index] + step,) + knobs[index + 1:]

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (max(1, round(knobs[0] * depth)), make_divisible(knobs[1] * width, QUANTUM),
                int(round(knobs[2] * width)))

    def describe(self, knobs: Knobs) -> str:
        return (f"RegNetX d={knobs[0]}, w0={knobs[1]}, wa={knobs[2] / 100:g}, "
                f"wm={self.base['wm']:g}, g={self.base['group_width']}")

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        stages = self.spec(knobs).stages()  # type: ignore[attr-defined]
        return (["stage", "blocks", "width", "group width"],
                [[i + 1, s.depth, s.width, s.group_width] for i, s in enumerate(stages)])


FAMILY = Family("regnet", RegNetSpec, build_regnet,
                "RegNetX: quantised-linear widths, grouped-conv X blocks (Radosavovic 2020)",
                ranks=(3,), scaling=ScalingFields(width=("w0", "wa"), depth=("depth",)),
                dropout_field=None, plan=RegNetPlan, recipe_style="momentum",
                accuracy=ACCURACY)
