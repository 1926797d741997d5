"""Property-based tests of ``propose`` (hypothesis): random valid tasks and budgets.

For every proposal: the spec builds (analytic graph), every user budget holds, the binding
limit is used at least 90 % unless the proposal documents why not - and the test re-checks
that reason: no single growth move fits (granularity) or the family is at its maximum - and
proposing again gives the same spec. Larger budgets never give a model smaller in every cost;
more classes never give fewer output units.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archscale
from archscale.heuristics.calibration import (LatencyModel, LayerRates, load_calibration,
                                              save_calibration)
from archscale.heuristics.propose import FILL_TARGET, ImpossibleBudgetError, Proposal, propose
from archscale.specs import Budget, Task

#: ``ARCHSCALE_HYPOTHESIS_EXAMPLES=500`` runs a longer, randomised search (default: 40 examples,
#: derandomised, so the suite is fast and reproducible).
_EXAMPLES = os.environ.get("ARCHSCALE_HYPOTHESIS_EXAMPLES")
SETTINGS = settings(max_examples=int(_EXAMPLES or 40), deadline=None,
                    derandomize=_EXAMPLES is None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


BATCHES = (1, 8, 32)


@pytest.fixture(autouse=True, scope="module")
def _calibration(tmp_path_factory):
    """A fixed calibration (data for the latency model; nothing is measured here)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARCHSCALE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        for batch in BATCHES:
            save_calibration(LayerRates(batch_size=batch, conv_gflops=40.0 * batch ** 0.3,
                                        depthwise_gflops=4.0, dense_gflops=10.0 * batch ** 0.5,
                                        elementwise_gelements=1.0, overhead_ms=0.005,
                                        measured_at=time.time()))
        yield


def _log_int(low: float, high: float) -> st.SearchStrategy[int]:
    return st.floats(low, high).map(lambda e: int(round(10 ** e)))


shapes = st.one_of(
    st.tuples(st.integers(1, 400)),
    st.tuples(st.integers(2, 400), st.integers(1, 8)),
    st.tuples(st.integers(8, 64), st.integers(8, 64), st.sampled_from([1, 3])),
    st.integers(65, 128).map(lambda s: (s, s, 3)),
)

tasks = st.builds(lambda shape, classes, samples: Task(input_shape=shape, classes=classes,
                                                        samples=samples),
                  shapes, st.sampled_from([1, 2, 3, 10, 100, 1000]), _log_int(1.7, 6.5))

budgets = st.builds(
    lambda params, macs, train, infer, latency, batch: Budget(
        max_params=params, max_macs=macs, max_train_memory_bytes=train,
        max_inference_memory_bytes=infer, max_latency_ms=latency, batch_size=batch),
    st.none() | _log_int(3.5, 7.5), st.none() | _log_int(4.5, 9.5),
    st.none() | _log_int(6.0, 10.0), st.none() | _log_int(5.0, 9.0),
    st.none() | st.floats(-1.5, 2.5).map(lambda e: round(10 ** e, 3)),
    st.sampled_from(BATCHES))

METRIC = {"max_params": "params", "max_macs": "macs",
          "max_train_memory_bytes": "train_memory_bytes",
          "max_inference_memory_bytes": "inference_memory_bytes", "max_latency_ms": "latency_ms",
          "capacity": "params"}


def costs_of(spec: archscale.ArchSpec, p: Proposal) -> dict[str, float]:
    """Every limited quantity of ``spec``, computed afresh from its profile."""
    prof = archscale.profile(spec)
    b = p.budget
    return {"params": prof.params, "macs": prof.macs,
            "train_memory_bytes": prof.training_peak_bytes(b.training_batch_size,
                                                           optimizer=p.recipe.optimizer),
            "inference_memory_bytes": prof.inference_peak_bytes(b.batch_size),
            "latency_ms": LatencyModel(load_calibration(b.batch_size)).predict_ms(prof,
                                                                                 b.batch_size)}


def fits(costs: dict[str, float], p: Proposal) -> bool:
    return all(costs[METRIC[n]] <= u["limit"] for n, u in p.utilisation.items())


def no_move_fits(p: Proposal) -> bool:
    """Re-check the granularity exception: every single-step growth move (repeated while it
    changes no cost) breaks a limit, or none exists."""
    assert p.plan is not None
    base = costs_of(p.spec, p)
    for index in range(len(p.plan.move_names())):
        knobs = p.knobs
        for _ in range(6):
            knobs = p.plan.move(knobs, index)
            if knobs is None:
                break
            try:
                moved = costs_of(p.plan.spec(knobs), p)
            except archscale.ArchscaleError:
                break
            if not fits(moved, p):
                break
            if moved != base:
                return False
    return True


def propose_or_none(task: Task, budget: Budget) -> Proposal | None:
    try:
        return propose(task, budget)
    except ImpossibleBudgetError as exc:
        match = re.search(r"(\w+)=[^=]+? binds, the smallest achievable is", str(exc))
        assert match and getattr(budget, match.group(1)) is not None, str(exc)
        return None


@SETTINGS
@given(task=tasks, budget=budgets)
def test_proposals_build_fit_fill_and_are_deterministic(task, budget):
    p = propose_or_none(task, budget)
    if p is None:
        return
    costs = costs_of(p.spec, p)  # builds the analytic graph
    assert costs["params"] == p.predicted["params"] and costs["macs"] == p.predicted["macs"]
    for name, row in p.utilisation.items():
        if row["user"]:
            assert costs[METRIC[name]] <= getattr(budget, name), name
    used = p.utilisation[p.binding]["fraction"]
    if used < FILL_TARGET:
        assert p.fill_note, (p.description, p.binding, used)
        assert no_move_fits(p), p.fill_note
    again = propose(task, budget)
    assert again.spec == p.spec and again.to_json() == p.to_json()  # JSON-ready, deterministic
    assert archscale.spec_from_dict(json.loads(p.to_json())["spec"]) == p.spec


@SETTINGS
@given(task=tasks, budget=budgets, factor=st.floats(1.0, 4.0),
       which=st.sampled_from(["all", "max_params", "max_macs", "max_train_memory_bytes",
                              "max_inference_memory_bytes", "max_latency_ms"]))
def test_a_larger_budget_never_gives_a_smaller_model(task, budget, factor, which):
    small = propose_or_none(task, budget)
    if small is None:
        return
    names = [n for n in METRIC if n != "capacity" and getattr(budget, n) is not None
             and which in ("all", n)]
    def scaled(name: str) -> float | None:
        value = getattr(budget, name)
        if name not in names:
            return value
        return value * factor if name == "max_latency_ms" else int(value * factor)

    larger = Budget(batch_size=budget.batch_size,
                    **{n: scaled(n) for n in METRIC if n != "capacity"})
    big = propose(task, larger)
    measured = {"params", "macs"} | {METRIC[n] for n in METRIC if n in small.utilisation}
    before, after = costs_of(small.spec, small), costs_of(big.spec, big)
    assert any(after[m] >= before[m] for m in measured), (small.description, big.description)


@SETTINGS
@given(task=tasks, extra=st.integers(1, 500))
def test_more_classes_never_fewer_output_units(task, extra):
    def output_units(classes: int) -> int:
        t = Task(input_shape=task.input_shape, classes=classes, samples=task.samples)
        graph = archscale.build_graph(propose(t, Budget()).spec)
        return graph.node(graph.outputs[0]).shape[-1]  # MobileNets end in an activation

    assert output_units(task.classes) == task.classes
    assert output_units(task.classes + extra) == task.classes + extra
