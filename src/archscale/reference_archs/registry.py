"""Explicit registries of families and presets, and the metadata every family carries.

A ``Registry`` refuses duplicate names (as torchvision's ``register_model`` does) and filters
names by glob pattern. Family modules (or small packages) are listed in ``FAMILY_MODULES``;
each defines ``FAMILY`` (a ``Family``) and ``PRESETS`` (a tuple of ``Preset`` rows). They are
imported on first use, so ``import archscale`` stays cheap, and none of them imports TensorFlow.

A family's facts travel with it (as torchvision's weights carry ``meta`` and timm's models
their ``default_cfgs``): the input ranks it takes, the spec fields that carry its width, depth
and resolution, its dropout field, the scaling plan the heuristics solve, its training-recipe
style, and on each preset the published figures a test checks. Adding a family is one module
plus one line in ``FAMILY_MODULES``; ``tests/reference_archs/test_family_metadata.py`` fails
when a registered family lacks any of it.
"""

from __future__ import annotations

import fnmatch
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

from archscale.errors import SpecError
from archscale.graph import Graph
from archscale.reference_archs.scaling_plan import AXES, Plan
from archscale.specs import ArchSpec, Task, spec_from_fields

T = TypeVar("T")

#: Family modules (or packages) under ``archscale.reference_archs``, in catalogue order.
FAMILY_MODULES = ("mlp", "cnn1d", "resnet", "inception", "mobilenet_v2", "efficientnet",
                  "regnet",
                  "mobilenet", "mobilenet_v3", "efficientnet_v2", "convnext", "regnety",
                  # fam17b
                  "densenet", "xception", "vgg", "tcn", "transformer", "vit",
                  )

#: Input ranks: 1 vector, 2 sequence (length x channels), 3 image (H x W x C).
RANKS = (1, 2, 3)

#: Training-recipe styles (the ``Recipe.optimizer`` each implies): SGD with Nesterov momentum
#: (Goyal et al. 2017), RMSprop (Tan & Le 2019), Adam (Kingma & Ba 2015).
RECIPE_STYLES = ("momentum", "rmsprop", "adam")


class Registry(Generic[T]):
    """Name -> item mapping that refuses duplicates.

    Args:
        kind: What the items are ("family", "preset"), used in messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name``.

        Raises:
            SpecError: ``name`` is already registered.
        """
        if name in self._items:
            raise SpecError(f"duplicate {self.kind} name. Received: {name!r}")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        """The item called ``name``.

        Raises:
            SpecError: unknown or non-string name; the message lists the accepted names.
        """
        try:
            return self._items[name]
        except (KeyError, TypeError):
            accepted = ", ".join(self._items)
            raise SpecError(f"unknown {self.kind} {name!r}; accepted: {accepted}. "
                            f"Received: {self.kind}={name!r}") from None

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching the glob ``pattern``, in registration order."""
        return [n for n in self._items if fnmatch.fnmatchcase(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class ScalingFields:
    """The spec fields that carry each compound-scaling axis of a family.

    An axis has fields exactly when the family's plan scales it (``Plan.axes``). How they
    scale: width fields are what a sweep's width multiplier multiplies
    (``archscale.runner.scaling``): float fields are already multipliers (``alpha``,
    ``width_coefficient``) and are multiplied, int counts (and tuples of them) are multiplied
    and rounded to the nearest int, at least 1; the family's own rounding then applies at
    build time. Depth fields hold block counts or a depth coefficient, or (for layer-list
    families) the lists whose length is the depth; resolution fields hold the input size.

    Attributes:
        width: Fields that carry the width (at least one).
        depth: Fields that carry the depth (empty if the plan keeps it fixed).
        resolution: Fields that carry the input resolution (empty if not scaled).
    """

    width: tuple[str, ...]
    depth: tuple[str, ...] = ()
    resolution: tuple[str, ...] = ()

    def axis(self, name: str) -> tuple[str, ...]:
        """The fields of axis ``name`` (``depth``, ``width`` or ``resolution``)."""
        return getattr(self, name)


#: Datasets of the published accuracy points.
ACCURACY_DATASETS = ("imagenet", "cifar10")


@dataclass(frozen=True)
class AccuracyPoint:
    """A published accuracy-vs-cost point of one configuration of a family.

    The family choice ranks these (``archscale.heuristics.rules.choose_family``); a proposal
    within ~2 % of a point's cost is that point, named. ``config`` holds the plan coordinates
    that reproduce it (the family plan's ``knobs_for`` reads them).

    Attributes:
        name: What practitioners call it (``EfficientNet-B1``, ``ResNet-50``).
        dataset: One of ``ACCURACY_DATASETS`` (what ``top1`` was measured on).
        top1: Published top-1 accuracy (%), single crop.
        macs: Published multiply-adds per example at ``resolution``.
        params: Published parameter count (1000 classes for ImageNet, 10 for CIFAR-10).
        resolution: Input side (px) the figures are for.
        config: Plan coordinates (family-specific keys, e.g. ``width``/``depth``, ``alpha``).
        source: Where the figures come from.
    """

    name: str
    dataset: str
    top1: float
    macs: float
    params: float
    resolution: int
    config: tuple[tuple[str, Any], ...]
    source: str

    def get(self, key: str, default: Any = None) -> Any:
        """The value of one ``config`` key."""
        return dict(self.config).get(key, default)


@dataclass(frozen=True)
class Family:
    """A family: its spec class, its one build function ``spec -> Graph`` and its metadata.

    Attributes:
        name: Registry name (``ArchSpec.family`` of its specs).
        spec_cls: The spec dataclass.
        build: ``spec -> Graph``.
        description: One line for listings.
        ranks: Input ranks the family takes (subset of ``RANKS``), checked by ``--family``.
        scaling: Spec fields of its width / depth / resolution axes.
        dropout_field: Spec field the regularisation dropout goes to, or ``None`` when the
            family has no dropout layer.
        plan: The ``Plan`` subclass the heuristics solve for this family (its ``family`` is
            ``name``; its ``layouts()`` are the variants, e.g. ``resnet-cifar``).
        recipe_style: Default training recipe, one of ``RECIPE_STYLES``: ``momentum``
            (SGD + Nesterov), ``rmsprop`` or ``adam``.
        flattens_input: The family flattens any input to a vector, so it also takes the
            ``vector`` modality for inputs of rank > 1 (the MLP).
        takes_tokens: The family takes the ``tokens`` modality (``(length,)`` integer IDs
            with a vocabulary) through an Embedding front end (the 1-D CNN).
        accuracy: Published accuracy-vs-MACs points of the family's configurations (the
            family-choice table; empty for families with no such published curve).

    Raises:
        SpecError: on construction, when any metadata is missing or inconsistent.
    """

    name: str
    spec_cls: type[ArchSpec]
    build: Callable[[Any], Graph]
    description: str
    ranks: tuple[int, ...]
    scaling: ScalingFields
    dropout_field: str | None
    plan: type[Plan]
    recipe_style: str
    flattens_input: bool = False
    takes_tokens: bool = False
    accuracy: tuple[AccuracyPoint, ...] = ()

    def __post_init__(self) -> None:
        problems = _family_problems(self)
        if problems:
            raise SpecError(f"family {self.name!r} metadata is incomplete: "
                            + "; ".join(problems))

    @property
    def variants(self) -> tuple[str, ...]:
        """The layout variants of the family's plan."""
        return self.plan.layouts()

    def variant_for(self, task: Task) -> str:
        """The layout variant ``task``'s input gets (``resnet-cifar``, ``resnet-1d``...)."""
        return self.plan.variant_for(task)

    @property
    def has_dropout(self) -> bool:
        """Whether the spec has a dropout field the regularisation rule sets."""
        return self.dropout_field is not None

    @property
    def tuning_knobs(self) -> tuple[str, ...]:
        """What the tuning search space varies besides the recipe: the width multiplier, the
        depth multiplier where the plan scales depth, and the dropout where there is one."""
        knobs = ("width_multiplier",)
        if "depth" in self.plan.axes:
            knobs += ("depth_multiplier",)
        return knobs + (("dropout",) if self.has_dropout else ())


def _family_problems(family: Family) -> list[str]:
    """What is missing or inconsistent in a family's metadata (empty when complete)."""
    problems = []
    fields = set(family.spec_cls.field_names()) if isinstance(family.spec_cls, type) \
        and issubclass(family.spec_cls, ArchSpec) else set()
    if not fields:
        problems.append(f"spec_cls must be an ArchSpec subclass. Received: "
                        f"spec_cls={family.spec_cls!r}")
    elif family.spec_cls.family != family.name:
        problems.append(f"spec_cls.family must be the family name. Received: "
                        f"spec_cls.family={family.spec_cls.family!r}")
    if not callable(family.build):
        problems.append(f"build must be callable. Received: build={family.build!r}")
    if not family.description:
        problems.append("description must be a non-empty string. Received: description=''")
    if not isinstance(family.ranks, tuple) or not family.ranks \
            or not set(family.ranks) <= set(RANKS):
        problems.append(f"ranks must be a non-empty tuple of {RANKS}. Received: "
                        f"ranks={family.ranks!r}")
    if not isinstance(family.plan, type) or not issubclass(family.plan, Plan) \
            or family.plan.family != family.name:
        problems.append(f"plan must be a Plan subclass whose family is {family.name!r}. "
                        f"Received: plan={family.plan!r}")
    elif not isinstance(family.scaling, ScalingFields):
        problems.append(f"scaling must be a ScalingFields. Received: "
                        f"scaling={family.scaling!r}")
    else:
        for axis in AXES:
            named = family.scaling.axis(axis)
            unknown = [f for f in named if f not in fields]
            if unknown:
                problems.append(f"scaling.{axis} names unknown spec fields. Received: "
                                f"scaling.{axis}={named!r}")
            if bool(named) != (axis in family.plan.axes):
                problems.append(f"scaling.{axis} must name fields exactly when the plan "
                                f"scales {axis} (plan.axes={family.plan.axes!r}). Received: "
                                f"scaling.{axis}={named!r}")
    if family.dropout_field is not None and family.dropout_field not in fields:
        problems.append(f"dropout_field must be a spec field or None. Received: "
                        f"dropout_field={family.dropout_field!r}")
    if family.recipe_style not in RECIPE_STYLES:
        problems.append(f"recipe_style must be one of {RECIPE_STYLES}. Received: "
                        f"recipe_style={family.recipe_style!r}")
    for point in family.accuracy:
        if not isinstance(point, AccuracyPoint) or point.dataset not in ACCURACY_DATASETS \
                or not 0 < point.top1 < 100 or point.macs <= 0 or not point.source:
            problems.append(f"accuracy rows must be AccuracyPoint with a dataset in "
                            f"{ACCURACY_DATASETS}, 0 < top1 < 100, macs > 0 and a source. "
                            f"Received: {point!r}")
    if family.takes_tokens not in (True, False):
        problems.append(f"takes_tokens must be a bool. Received: "
                        f"takes_tokens={family.takes_tokens!r}")
    if family.flattens_input not in (True, False):
        problems.append(f"flattens_input must be a bool. Received: "
                        f"flattens_input={family.flattens_input!r}")
    return problems


@dataclass(frozen=True)
class Published:
    """Figures published for a preset, with their source; a test profiles the spec against them.

    Attributes:
        source: Where the figures come from.
        params: Exact ``count_params()`` of the reference implementation (trainable +
            BatchNorm statistics, the Keras convention).
        trainable_params: Exact trainable count (torchvision's ``num_params``; BN statistics
            are buffers there).
        paper_params: The paper's rounded parameter count, compared with the trainable count
            within ``rel_tol``.
        macs: The paper's multiply-adds per example (what papers call "FLOPs"), within
            ``rel_tol``.
        rel_tol: Relative tolerance of the rounded figures.
    """

    source: str
    params: int | None = None
    trainable_params: int | None = None
    paper_params: float | None = None
    macs: float | None = None
    rel_tol: float = 0.05

    def figures(self) -> dict[str, float]:
        """The figures that are set, by name."""
        names = ("params", "trainable_params", "paper_params", "macs")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


@dataclass(frozen=True)
class Preset:
    """A catalogue row: a name, a spec, a one-line description (with its source) and the
    figures published for it (``None`` where nothing is published)."""

    name: str
    spec: ArchSpec
    description: str
    published: Published | None = None


FAMILIES: Registry[Family] = Registry("family")
PRESETS: Registry[Preset] = Registry("preset")
_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module_name in FAMILY_MODULES:
        module = importlib.import_module(f"archscale.reference_archs.{module_name}")
        FAMILIES.register(module.FAMILY.name, module.FAMILY)
        for row in module.PRESETS:
            PRESETS.register(row.name, row)


def accuracy_table(dataset: str = "imagenet") -> list[tuple[str, AccuracyPoint]]:
    """``(family, point)`` for every family's published points on ``dataset``, by MACs."""
    registry = families()
    rows = [(name, p) for name in registry for p in registry.get(name).accuracy
            if p.dataset == dataset]
    return sorted(rows, key=lambda row: row[1].macs)


def families() -> Registry[Family]:
    """The family registry (loaded on first use)."""
    _load()
    return FAMILIES


def presets() -> Registry[Preset]:
    """The preset registry (loaded on first use)."""
    _load()
    return PRESETS


def list_presets(pattern: str = "*") -> list[str]:
    """Preset names matching a glob pattern, in catalogue order."""
    return presets().names(pattern)


def preset(name: str, **overrides: Any) -> ArchSpec:
    """The spec of preset ``name`` with any fields overridden.

    Args:
        name: A name from ``list_presets()``.
        **overrides: Field values to replace (``input_shape=(64, 64, 3)``, ``classes=10``...).

    Returns:
        The validated ``ArchSpec``.

    Raises:
        SpecError: unknown preset, unknown field or invalid value.
    """
    return presets().get(name).spec.replace(**overrides)


def spec_from_dict(data: Mapping[str, Any]) -> ArchSpec:
    """Rebuild a spec from ``ArchSpec.to_dict()`` output (``{"family": ..., ...}``).

    Raises:
        SpecError: missing or unknown family, unknown fields or invalid values.
    """
    if not isinstance(data, Mapping) or "family" not in data:
        raise SpecError("a spec must be a JSON object with a 'family' key. "
                        f"Received: {type(data).__name__}")
    fields = dict(data)
    family = families().get(fields.pop("family"))
    return spec_from_fields(family.spec_cls, fields)


def build_graph(spec: ArchSpec) -> Graph:
    """The graph of ``spec`` via its family's build function."""
    return families().get(spec.family).build(spec)
