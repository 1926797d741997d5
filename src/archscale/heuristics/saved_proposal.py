"""A ``Proposal`` from its saved JSON (``archscale propose --json``, ``Proposal.to_dict()``).

A saved proposal holds its task, budget, layout variant and solved knobs but not its plan (a
Python object). ``proposal_from_dict`` rebuilds the plan from the task, the variant and the
budget (``make_plan``, as ``propose`` does) and checks that the saved knobs give back the
saved spec, so ``Proposal.respec`` works on a loaded proposal exactly as on a fresh one. A
file saved by a version whose rules built another plan is refused rather than reinterpreted.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from archscale.errors import ArchscaleError, InputFileError, SpecError
from archscale.heuristics.capacity import Regularisation
from archscale.heuristics.plans import make_plan
from archscale.heuristics.proposal import Proposal
from archscale.heuristics.propose import params_ceiling
from archscale.reference_archs.registry import families, spec_from_dict
from archscale.reference_archs.scaling_plan import Step
from archscale.specs import Budget, Task
from archscale.training_recipe import recipe_from_dict

#: Keys every saved proposal has (``Proposal.to_dict``).
REQUIRED_KEYS = ("spec", "family", "variant", "task", "budget", "capacity", "regularisation",
                 "recipe", "search_space", "scaling")


def _not_a_proposal(detail: str, source: str) -> SpecError:
    return SpecError(f"{source} is not an archscale proposal (the output of 'archscale propose "
                     f"--json'): {detail}")


def proposal_from_dict(data: Mapping[str, Any], source: str = "the proposal") -> Proposal:
    """Rebuild a ``Proposal`` (with its plan, so ``respec`` works) from ``to_dict()`` output.

    Args:
        data: The saved dict.
        source: How to name it in messages (e.g. the file path).

    Returns:
        The proposal.

    Raises:
        SpecError: a key is missing or invalid, or the saved knobs do not rebuild the saved
            spec with this version's plan.
    """
    if not isinstance(data, Mapping):
        raise _not_a_proposal(f"expected a JSON object. Received: {type(data).__name__}", source)
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise _not_a_proposal(f"missing {missing[0]!r}. Received: keys={sorted(data)[:12]}",
                              source)
    try:
        task = Task(**{**data["task"], "input_shape": tuple(data["task"]["input_shape"])})
        budget = Budget(**data["budget"])
        spec = spec_from_dict(dict(data["spec"]))
        reg = Regularisation(**data["regularisation"])
        recipe = recipe_from_dict(data["recipe"])
        target = params_ceiling(budget, float(data["capacity"]["high_params"]))
        plan = make_plan(task, str(data["variant"]), target)
        knobs = tuple(int(k) for k in data["scaling"]["knobs"])
        has_dropout = families().get(plan.family).has_dropout
        rebuilt = plan.spec(knobs, reg.dropout if has_dropout else 0.0)
        steps = tuple(Step(s["rule"], s["inputs"], s["result"], s["source"])
                      for s in data.get("rationale") or ())
    except ArchscaleError as exc:
        raise _not_a_proposal(str(exc), source) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise _not_a_proposal(f"{type(exc).__name__}: {exc}", source) from None
    if rebuilt != spec:
        raise _not_a_proposal("its knobs do not rebuild its spec with this version's scaling "
                              f"plan (re-run 'archscale propose'). Received: spec={spec!r}",
                              source)
    capacity = data["capacity"]
    return Proposal(
        task=task, budget=budget, spec=spec, family=plan.family, variant=plan.variant,
        description=str(data.get("description", "")), rationale=steps,
        predicted=dict(data.get("predicted") or {}),
        utilisation=dict(data.get("utilisation") or {}), binding=data.get("binding"),
        fill_note=data.get("fill_note"),
        capacity=(int(capacity["low_params"]), int(capacity["high_params"])),
        regularisation=reg, recipe=recipe, search_space=dict(data["search_space"]),
        preprocessing=dict(data.get("preprocessing") or {}), scaling=dict(data["scaling"]),
        verification=data.get("verification"), plan=plan, knobs=knobs)


def load_proposal(path: str) -> Proposal:
    """``proposal_from_dict`` of a JSON file.

    Raises:
        InputFileError: the file cannot be read or is not JSON.
        SpecError: it is not a proposal (see ``proposal_from_dict``).
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise InputFileError(f"cannot read the proposal file {path!r}: "
                             f"{exc.strerror or exc}. Received: --proposal={path!r}") from None
    except ValueError as exc:
        raise InputFileError(f"the proposal file {path!r} is not JSON ({exc}). "
                             f"Received: --proposal={path!r}") from None
    except RecursionError:
        raise InputFileError(f"the proposal file {path!r} nests too deeply to be a proposal. "
                             f"Received: --proposal={path!r}") from None
    try:
        return proposal_from_dict(data, f"--proposal {path!r}")
    except RecursionError:
        raise InputFileError(f"the proposal file {path!r} nests too deeply to be a proposal. "
                             f"Received: --proposal={path!r}") from None
