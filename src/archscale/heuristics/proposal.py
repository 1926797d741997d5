"""The ``Proposal``: a proposed architecture, its predicted costs and its reasons."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from archscale.errors import SpecError
from archscale.heuristics.capacity import Regularisation
from archscale.reference_archs.registry import families
from archscale.reference_archs.scaling_plan import Knobs, Plan, Step
from archscale.specs import ArchSpec, Budget, Task
from archscale.training_recipe import Recipe


@dataclass(frozen=True)
class Proposal:
    """A proposed architecture, its predicted costs and the reasons for every dimension.

    Attributes:
        task / budget: The inputs.
        spec: The architecture (``archscale.build(spec)``, ``archscale.profile(spec)``).
        family / variant / description: What was proposed, in words.
        rationale: Ordered ``Step`` rows (rule, inputs, result, source).
        predicted: Params, MACs, FLOPs, memory (bytes) and latency (ms, ``None`` without a
            calibration) at the budget's batch sizes.
        utilisation: Per limit: ``limit``, ``value``, ``fraction``, ``user`` (False for the
            data-derived capacity ceiling).
        binding: Name of the limit with the highest utilisation.
        fill_note: Why the binding limit is used below 90 %, or ``None``.
        capacity: ``(low, high)`` parameter range from the data.
        regularisation / recipe: Training defaults.
        search_space: Keras-tuner hyperparameters around the proposal.
        preprocessing: ``{"resize_to": [h, w]}`` when the input resolution was scaled down.
        scaling: Solver details: phi, coefficients, knobs, moves, evaluations.
        verification: ``--verify`` result, or ``None``.
        warnings: Things about the input the user should act on (a raw waveform...).
    """

    task: Task
    budget: Budget
    spec: ArchSpec
    family: str
    variant: str
    description: str
    rationale: tuple[Step, ...]
    predicted: dict[str, Any]
    utilisation: dict[str, dict[str, Any]]
    binding: str | None
    fill_note: str | None
    capacity: tuple[int, int]
    regularisation: Regularisation
    recipe: Recipe
    search_space: dict[str, Any]
    preprocessing: dict[str, Any]
    scaling: dict[str, Any]
    verification: dict[str, Any] | None = None
    plan: Plan | None = field(default=None, compare=False, repr=False)
    knobs: Knobs = field(default=(), compare=False, repr=False)
    warnings: tuple[str, ...] = ()

    def spec_json(self) -> str:
        """The spec JSON ``archscale profile`` / ``archscale.load_spec`` accept."""
        return self.spec.to_json(indent=2)

    def to_dict(self) -> dict[str, Any]:
        """Everything as one JSON-ready dict (``spec`` is the loadable spec)."""
        return {
            "spec": self.spec.to_dict(), "family": self.family, "variant": self.variant,
            "description": self.description, "task": _plain(dataclasses.asdict(self.task)),
            "budget": _plain(dataclasses.asdict(self.budget)), "predicted": self.predicted,
            "utilisation": self.utilisation, "binding": self.binding,
            "fill_note": self.fill_note,
            "capacity": {"low_params": self.capacity[0], "high_params": self.capacity[1]},
            "regularisation": self.regularisation.to_dict(), "recipe": self.recipe.to_dict(complete=True),
            "search_space": self.search_space, "preprocessing": self.preprocessing,
            "scaling": self.scaling, "rationale": [s.to_dict() for s in self.rationale],
            "verification": self.verification, "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Proposal":
        """Rebuild a proposal from ``to_dict()`` output (a saved ``--json``), plan included, so
        ``respec`` works in another process.

        Args:
            data: The saved dict.

        Returns:
            The ``Proposal``.

        Raises:
            SpecError: the dict is not a saved proposal (a key is missing or malformed).
        """
        from archscale.heuristics.plans import make_plan
        from archscale.reference_archs.registry import spec_from_dict

        try:
            task = Task(**{k: tuple(v) if k == "input_shape" else v
                           for k, v in data["task"].items()})
            budget = Budget(**data["budget"])
            scaling = dict(data["scaling"])
            args = scaling.get("plan_args") or {}
            anchor = _point(data["family"], args.get("anchor"))
            plan = make_plan(task, data["variant"], float(args.get("target_params") or 1e6),
                             max_resolution=args.get("max_resolution"), anchor=anchor)
            recipe = dict(data["recipe"])
            return cls(
                task=task, budget=budget, spec=spec_from_dict(data["spec"]),
                family=data["family"], variant=data["variant"],
                description=data["description"],
                rationale=tuple(Step(**row) for row in data["rationale"]),
                predicted=data["predicted"], utilisation=data["utilisation"],
                binding=data["binding"], fill_note=data["fill_note"],
                capacity=(data["capacity"]["low_params"], data["capacity"]["high_params"]),
                regularisation=Regularisation(**data["regularisation"]),
                recipe=Recipe(**recipe), search_space=data["search_space"],
                preprocessing=data["preprocessing"], scaling=scaling,
                verification=data.get("verification"), plan=plan,
                knobs=tuple(scaling["knobs"]), warnings=tuple(data.get("warnings") or ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"not a saved proposal (archscale propose --json): {exc!r}. "
                            f"Received: keys {sorted(data) if isinstance(data, dict) else data!r}"
                            ) from None

    @classmethod
    def from_json(cls, text: str) -> "Proposal":
        """``from_dict`` of JSON text (what ``archscale propose --json`` prints)."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise SpecError(f"a saved proposal must be JSON ({exc.msg}). Received: "
                            f"{text[:40]!r}") from None

    def to_json(self, indent: int | None = 2) -> str:
        """``to_dict()`` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    def respec(self, width_multiplier: float = 1.0, depth_multiplier: float = 1.0,
               dropout: float | None = None, resolution: int | None = None) -> ArchSpec:
        """The proposal scaled by multipliers (the search space's axes), for tuning.

        Args:
            width_multiplier: Scales every width (rounded to multiples of 8).
            depth_multiplier: Scales every stage's blocks (rounded up).
            dropout: Dropout for families that have it (default: the proposal's).
            resolution: Input height in px (``search_space["resolution_axis"]``; families
                with a resolution axis only; the nearest level at or below it).

        Returns:
            The scaled spec (it may exceed the budget; check with ``archscale.profile``).

        Raises:
            SpecError: no plan (a proposal rebuilt without ``from_dict``), or a resolution
                for a family without a resolution axis.
        """
        if self.plan is None:
            raise SpecError("respec needs the proposal's plan: use a proposal from propose() "
                            "or Proposal.from_dict(saved JSON). Received: a proposal without it")
        knobs = self.plan.scale(self.knobs, width_multiplier, depth_multiplier)
        if resolution is not None:
            levels = getattr(self.plan, "levels", None)
            if levels is None:
                raise SpecError(f"family {self.family!r} has no resolution axis. Received: "
                                f"resolution={resolution!r}")
            index = max([0] + [i for i, h in enumerate(levels) if h <= resolution])
            knobs = knobs[:-1] + (index,)
        rate = self.regularisation.dropout if dropout is None else dropout
        return self.plan.spec(knobs, rate if families().get(self.family).has_dropout else 0.0)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _point(family: str, name: str | None) -> Any:
    """The family's published point called ``name`` (``None`` for none)."""
    if name is None:
        return None
    return next((p for p in families().get(family).accuracy if p.name == name), None)
