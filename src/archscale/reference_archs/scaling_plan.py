"""Scaling plans: how a family's spec follows from depth, width and resolution coefficients.

A plan holds the base structure the layout rules derived from the task (stages, base widths,
blocks per stage) and maps compound-scaling coefficients ``(d, w, r)`` to quantised *knobs*, a
tuple of ints (blocks per stage, channels per stage, alpha level, resolution...), and knobs to
an ``ArchSpec``. It also lists the single-step growth moves the solver uses to fill a budget.
Knobs are hashable, so the solver caches costs per knob tuple.

Each family module defines its own ``Plan`` subclass (``Family.plan``); this module holds the
base class and the two layouts several families share (``StagedPlan``: stages of blocks;
``ResolutionPlan``: a resolution knob). The heuristics (``archscale.heuristics``) solve plans
against budgets; nothing here imports them.

Compound coefficients (Tan & Le 2019, Sec. 3.3): depth ``1.2**phi``, width ``1.1**phi``,
resolution ``1.15**phi``; a plan scales only the axes its family has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from archscale.reference_archs.rounding import make_divisible
from archscale.specs import ArchSpec, Task

Knobs = tuple[int, ...]

#: Width quantum: every channel count / hidden width is a multiple of this.
QUANTUM = 8

#: EfficientNet's compound coefficients (Tan & Le 2019, Sec. 4.2: alpha, beta, gamma).
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
COMPOUND_SOURCE = ("Tan & Le 2019 Sec. 3.3/4.2: depth 1.2^phi, width 1.1^phi, resolution "
                   "1.15^phi (alpha * beta^2 * gamma^2 ~ 2)")

#: The compound-scaling axes, in the order of ``(d, w, r)``.
AXES = ("depth", "width", "resolution")

#: Smallest input side the resolution axis goes down to (MobileNet's published minimum; half
#: the native side for inputs under 192 px).
MIN_RESOLUTION = 96


@dataclass(frozen=True)
class Step:
    """One rationale entry: which rule ran, on what, with what result, citing what."""

    rule: str
    inputs: dict[str, Any]
    result: Any
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"rule": self.rule, "inputs": _jsonable(self.inputs),
                "result": _jsonable(self.result), "source": self.source}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def clamp(value: float, low: float, high: float) -> float:
    """``value`` limited to ``[low, high]``."""
    return min(high, max(low, value))


class Plan:
    """Base class: a family's scalable layout for one task.

    Subclasses set ``family``, ``variant``, ``axes`` and ``bounds`` and implement
    ``knobs_at``, ``spec``, ``move``, ``move_names``, ``scale``, ``describe`` and ``table``.
    ``variants`` lists the layouts the class builds (default: the family name alone);
    ``variant_for`` picks one for a task and ``for_task`` constructs the plan, so every
    family's plan is made the same way.
    """

    family = ""
    variant = ""
    variants: tuple[str, ...] = ()
    axes: tuple[str, ...] = ()

    def __init__(self, task: Task) -> None:
        self.task = task
        self.bounds: dict[str, tuple[float, float]] = {"depth": (1.0, 1.0),
                                                       "width": (1.0, 1.0),
                                                       "resolution": (1.0, 1.0)}
        self.steps: list[Step] = []

    @classmethod
    def layouts(cls) -> tuple[str, ...]:
        """The layout variants this plan class builds (``variants``, else the family name)."""
        return cls.variants or (cls.family,)

    @classmethod
    def variant_for(cls, task: Task) -> str:
        """The layout variant a task's input gets (default: the only one)."""
        return cls.layouts()[0]

    @classmethod
    def for_task(cls, task: Task, variant: str, target_params: float, *,
                 max_resolution: int | None = None, anchor: Any = None) -> "Plan":
        """The plan of ``variant`` for ``task``.

        Args:
            task: The task.
            variant: One of ``layouts()``.
            target_params: Capacity target (families whose depth follows it use it).
            max_resolution: Largest input side the resolution axis may scale up to (default:
                the task's own side); only plans with a resolution axis use it.
            anchor: A published ``AccuracyPoint`` of the family to start the scaling from
                (only plans whose base structure is a published design point use it).

        Returns:
            The plan.
        """
        return cls(task)

    def departures(self, knobs: Knobs) -> list[str]:
        """Where ``knobs`` depart from the cited base rules, each with why (default: none)."""
        return []

    def knobs_for(self, point: Any) -> Knobs | None:
        """The knobs that reproduce a published configuration (``AccuracyPoint.config``) on
        this task's input, or ``None`` when this layout cannot express it (default)."""
        return None

    @property
    def output_activation(self) -> str:
        """``linear`` for regression, ``sigmoid`` for one class (binary), else ``softmax``."""
        if self.task.regression:
            return "linear"
        return "sigmoid" if self.task.classes == 1 else "softmax"

    def coefficients(self, phi: float) -> tuple[float, float, float]:
        """``(d, w, r)`` on the compound path at ``phi``, clamped to the plan's bounds."""
        coeff = {"depth": ALPHA ** phi, "width": BETA ** phi, "resolution": GAMMA ** phi}
        return tuple(clamp(coeff[a], *self.bounds[a]) if a in self.axes else 1.0
                     for a in AXES)  # type: ignore[return-value]

    def phi_range(self) -> tuple[float, float]:
        """``phi`` values at which every scaled coefficient sits at its lower / upper bound."""
        coeff = {"depth": ALPHA, "width": BETA, "resolution": GAMMA}
        ends = [math.log(b) / math.log(coeff[a]) for a in self.axes for b in self.bounds[a]]
        return min(ends + [0.0]) - 1.0, max(ends + [0.0]) + 1.0

    def at_phi(self, phi: float) -> Knobs:
        """Quantised knobs at compound coefficient ``phi``."""
        return self.knobs_at(*self.coefficients(phi))

    def minimum(self) -> Knobs:
        """The smallest sensible member (every coefficient at its lower bound)."""
        return self.knobs_at(*(self.bounds[a][0] for a in AXES))

    def maximum(self) -> Knobs:
        """The largest member the plan allows."""
        return self.knobs_at(*(self.bounds[a][1] for a in AXES))

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:  # pragma: no cover - abstract
        raise NotImplementedError

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:  # pragma: no cover
        raise NotImplementedError

    def move_names(self) -> tuple[str, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def move(self, knobs: Knobs, index: int) -> Knobs | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:  # pragma: no cover
        raise NotImplementedError

    def describe(self, knobs: Knobs) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:  # pragma: no cover
        raise NotImplementedError

    def resize_to(self, knobs: Knobs) -> tuple[int, ...] | None:
        """Input size the data must be resized to, or ``None`` for the native size."""
        return None


# ---------------------------------------------------------------------------------------------
# Stages of blocks (plain 1-D CNN, ResNet)
# ---------------------------------------------------------------------------------------------


#: How far a staged plan widens its base widths (WRN-n-8's factor, Zagoruyko & Komodakis 2016).
MAX_WIDTH_FACTOR = 8.0


class StagedPlan(Plan):
    """Stages of blocks; knobs = blocks per stage + width per stage + stem width."""

    axes = ("depth", "width")

    def __init__(self, task: Task, base_blocks: Sequence[int], base_widths: Sequence[int],
                 base_stem: int, max_width_factor: float = MAX_WIDTH_FACTOR) -> None:
        super().__init__(task)
        self.base_blocks = tuple(base_blocks)
        self.base_widths = tuple(base_widths)
        self.base_stem = base_stem
        self.stages = len(self.base_blocks)
        self.max_blocks = tuple(4 * b for b in self.base_blocks)
        self.max_widths = tuple(int(max_width_factor * w) for w in self.base_widths)
        self.bounds["depth"] = (1.0 / max(self.base_blocks), 4.0)
        self.bounds["width"] = (QUANTUM / self.base_widths[0], max_width_factor)

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        blocks = tuple(max(1, math.ceil(d * b - 1e-9)) for b in self.base_blocks)
        widths = tuple(make_divisible(w * b, QUANTUM) for b in self.base_widths)
        return blocks + widths + (make_divisible(w * self.base_stem, QUANTUM),)

    def split(self, knobs: Knobs) -> tuple[Knobs, Knobs, int]:
        """``(blocks, widths, stem)`` of a knob tuple."""
        n = self.stages
        return knobs[:n], knobs[n:2 * n], knobs[2 * n]

    def move_names(self) -> tuple[str, ...]:
        return tuple(f"add a block to stage {s + 1}" for s in range(self.stages)) + \
            tuple(f"widen stage {s + 1} by {QUANTUM}" for s in range(self.stages))

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        values = list(knobs)
        if index < self.stages:
            if values[index] >= self.max_blocks[index]:
                return None
            values[index] += 1
        else:
            s = index - self.stages
            if values[index] + QUANTUM > self.max_widths[s]:
                return None
            values[index] += QUANTUM
        return tuple(values)

    def departures(self, knobs: Knobs) -> list[str]:
        """The stage widths where they no longer double (He et al. 2015 Sec. 3.3)."""
        _, widths, _ = self.split(knobs)
        ratios = [b / a for a, b in zip(self.base_widths, self.base_widths[1:])]
        broken = [i for i, q in enumerate(ratios)
                  if abs(widths[i + 1] / widths[i] - q) > 0.15 * q]
        if not broken:
            return []
        return [f"widths {'/'.join(map(str, widths))} do not double at every stage: the greedy "
                f"fill widened single stages by {QUANTUM} where that used the budget best, and "
                "widths rounded to multiples of 8 cannot halve below 8 (near-constant or "
                "non-doubling widths cost little accuracy: Radosavovic et al. 2020 Sec. 4)"]

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        blocks, widths, stem = self.split(knobs)
        return (tuple(max(1, math.ceil(depth * b - 1e-9)) for b in blocks)
                + tuple(make_divisible(width * w, QUANTUM) for w in widths)
                + (make_divisible(width * stem, QUANTUM),))


def stage_steps(size: int, halvings: int, stages: int, widths: Sequence[int],
                blocks: Sequence[int], kind: str, stem: str) -> list[Step]:
    """The rationale of a staged layout: downsampling stages, stage widths, blocks per stage.

    Args:
        size: Resolution after the stem.
        halvings: Stride-2 stages.
        stages: Number of stages.
        widths / blocks: Base width and blocks of each stage.
        kind: Block kind (``basic``, ``bottleneck``, ``plain conv``).
        stem: Stem kind (``cifar``, ``imagenet``, ``none``).

    Returns:
        Three ``Step`` rows.
    """
    return [
        Step("downsampling stages", {"resolution_after_stem": size, "stop_at": "4-8"},
             {"stride_2_stages": halvings, "stages": stages},
             "Simonyan & Zisserman 2014; He et al. 2015 (classification nets end at 7x7 / 8x8)"),
        Step("stage widths", {"stages": stages, "stem": stem}, list(widths),
             "He et al. 2015 Sec. 3.3 (filters double when the feature map halves); widths "
             "multiples of 8 (Sandler et al. 2018 make_divisible)"),
        Step("blocks per stage", {"stages": stages, "block": kind}, list(blocks),
             "He et al. 2015 Table 1 (3-4-6-3) and Sec. 4.2 (CIFAR: n per stage); "
             "Simonyan & Zisserman 2014 (conv pairs)"),
    ]


# ---------------------------------------------------------------------------------------------
# Resolution axis (MobileNetV2, EfficientNet)
# ---------------------------------------------------------------------------------------------


def resolution_levels(side: int, minimum: int = MIN_RESOLUTION, maximum: int | None = None,
                      extra: Sequence[int] = ()) -> tuple[int, ...]:
    """Allowed input heights: multiples of 8 from the minimum up to ``maximum``, with ``side``.

    The minimum is ``minimum`` (96), or half the native side for inputs up to 192 px, but never
    below 32 px. Above ``side`` the resolution only grows when the user allows it
    (``maximum``, ``--max-resolution``; Tan & Le 2019 scale B0's 224 px up to B7's 600 px);
    ``extra`` adds published resolutions (EfficientNet-B2's 260, B3's 300...) in range.

    Args:
        side: Native input height.
        minimum: Smallest height for large inputs.
        maximum: Largest height (default ``side``: no upsampling).
        extra: Further heights to include when they lie in range.

    Returns:
        Increasing heights including ``side``.
    """
    top = side if maximum is None else max(side, maximum)
    minimum = min(minimum, max(32, side // 2))
    start = QUANTUM * math.ceil(minimum / QUANTUM)
    if side <= minimum and top == side:
        return (side,)
    levels = set(range(start, top, QUANTUM)) | {side, top}
    levels |= {h for h in extra if start <= h <= top}
    return tuple(sorted(h for h in levels if h >= min(start, side)))


class ResolutionPlan(Plan):
    """A plan whose last knob is an index into ``resolution_levels``; aspect ratio kept.

    Subclasses call ``init_resolution(task)`` in their constructor; the proposal then says
    what to resize the inputs to (``resize_to``).
    """

    #: Published resolutions of the family, kept as levels when in range.
    published_resolutions: tuple[int, ...] = ()

    @classmethod
    def for_task(cls, task: Task, variant: str, target_params: float, *,
                 max_resolution: int | None = None, anchor: Any = None) -> "Plan":
        return cls(task, max_resolution=max_resolution)  # type: ignore[call-arg]

    def init_resolution(self, task: Task, max_resolution: int | None = None) -> None:
        """Set the resolution levels and bounds from the task's native input height, up to
        ``max_resolution`` (default: the native height)."""
        self.native = task.input_shape[0]
        self.max_resolution = max(self.native, max_resolution or self.native)
        self.levels = resolution_levels(self.native, maximum=self.max_resolution,
                                        extra=self.published_resolutions)
        self.bounds["resolution"] = (self.levels[0] / self.native,
                                     self.levels[-1] / self.native)

    def res_index(self, r: float) -> int:
        """Index of the largest level at or below ``r`` times the native height."""
        target = r * self.native + 1e-9
        return max([0] + [i for i, h in enumerate(self.levels) if h <= target])

    def level_of(self, height: int) -> int | None:
        """Index of resolution ``height`` in the levels, or ``None``."""
        return self.levels.index(height) if height in self.levels else None

    def input_shape_at(self, index: int) -> tuple[int, ...]:
        """Input shape at resolution level ``index``."""
        h, w, c = self.task.input_shape
        new_h = self.levels[index]
        return (new_h, max(1, round(new_h * w / h)), c) if new_h != h else (h, w, c)

    def resize_to(self, knobs: Knobs) -> tuple[int, ...] | None:
        shape = self.input_shape_at(knobs[-1])
        return None if shape == self.task.input_shape else shape[:2]
