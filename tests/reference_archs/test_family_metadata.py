"""Every registered family carries its metadata, and the metadata is true of the family.

As torchvision's tests recompute each weight's declared ``num_params`` from the built model,
these rebuild what a family declares: the input ranks it takes, the fields of its scaling axes,
its dropout field, its plan and layout variants, its training-recipe style, and the published
figures on its presets. Adding a family (one module plus one line in
``registry.FAMILY_MODULES``) without any of it fails here. Pure Python (no TensorFlow): the
published figures are checked against the analytic profile, which equals the built Keras
model's ``count_params()`` for every preset (``tests/test_catalogue_exactness.py``).
"""

from __future__ import annotations

import dataclasses
import importlib

import pytest

import archscale
from archscale.errors import ShapeError, SpecError
from archscale.heuristics.recipe_rules import training_recipe
from archscale.heuristics.plans import make_plan
from archscale.heuristics.search_space import DROPOUT_FAMILIES
from archscale.reference_archs.mlp import MLPPlan, MLPSpec, build_mlp
from archscale.reference_archs.registry import (FAMILY_MODULES, RANKS, RECIPE_STYLES, Family,
                                                Preset, Published, ScalingFields, families,
                                                presets)
from archscale.reference_archs.scaling_plan import AXES, Plan
from archscale.runner.scaling import WIDTH_FIELDS
from archscale.specs import Task

FAMILY_NAMES = list(families())

#: One input shape per rank, small enough for every family that takes that rank.
SHAPES = {1: (40,), 2: (64, 3), 3: (80, 80, 3)}


def _family(name: str) -> Family:
    return families().get(name)


def _presets_of(name: str) -> list[Preset]:
    return [presets().get(n) for n in presets() if presets().get(n).spec.family == name]


def _task(rank: int) -> Task:
    return Task(input_shape=SHAPES[rank], classes=5, samples=10_000)


def test_every_module_defines_a_family_and_its_presets():
    assert len(FAMILY_MODULES) == len(set(FAMILY_MODULES)) == len(families())
    for module_name in FAMILY_MODULES:
        module = importlib.import_module(f"archscale.reference_archs.{module_name}")
        assert isinstance(module.FAMILY, Family), module_name
        assert module.PRESETS and all(isinstance(p, Preset) for p in module.PRESETS)
        assert {p.spec.family for p in module.PRESETS} == {module.FAMILY.name}
        assert families().get(module.FAMILY.name) is module.FAMILY


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_every_metadata_field_is_set(name):
    fam = _family(name)
    missing = [f.name for f in dataclasses.fields(Family)
               if f.name not in ("dropout_field", "accuracy")
               and getattr(fam, f.name) in (None, "", ())]
    assert missing == []
    assert fam.spec_cls.family == name and fam.plan.family == name
    assert set(fam.ranks) <= set(RANKS) and fam.recipe_style in RECIPE_STYLES


@pytest.mark.parametrize("name", FAMILY_NAMES)
@pytest.mark.parametrize("rank", RANKS)
def test_ranks_are_the_inputs_the_spec_accepts(name, rank):
    base = _presets_of(name)[0].spec
    try:
        archscale.build_graph(base.replace(input_shape=SHAPES[rank]))
        accepted = True
    except (SpecError, ShapeError):
        accepted = False
    assert accepted == (rank in _family(name).ranks)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_scaling_fields_are_spec_fields_of_the_axes_the_plan_scales(name):
    fam = _family(name)
    fields = fam.spec_cls.field_names()
    assert fam.scaling.width, "every family has a width"
    for axis in AXES:
        assert set(fam.scaling.axis(axis)) <= set(fields)
        assert bool(fam.scaling.axis(axis)) == (axis in fam.plan.axes)
    assert WIDTH_FIELDS[name] == fam.scaling.width


@pytest.mark.parametrize("name", FAMILY_NAMES)
@pytest.mark.parametrize("rank", RANKS)
def test_plan_builds_each_accepted_rank_and_applies_dropout(name, rank):
    fam = _family(name)
    if rank not in fam.ranks:
        return
    task = _task(rank)
    variant = fam.variant_for(task)
    assert variant in fam.variants
    plan = make_plan(task, variant, 1e5)
    assert isinstance(plan, fam.plan) and plan.variant == variant
    knobs = plan.minimum()
    plain, dropped = plan.spec(knobs, 0.0), plan.spec(knobs, 0.25)
    assert plain.family == name and archscale.profile(plain).params > 0
    if fam.dropout_field is None:
        assert dropped == plain
    else:
        value = getattr(dropped, fam.dropout_field)
        assert set(value) == {0.25} if isinstance(value, tuple) else value == 0.25
        assert any(n.op == "dropout" for n in archscale.build_graph(dropped).nodes)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_recipe_style_is_the_recipe_the_heuristics_give(name):
    assert training_recipe(name, 50_000).optimizer == _family(name).recipe_style


def test_dropout_families_and_tuning_knobs_follow_the_dropout_field():
    assert set(DROPOUT_FAMILIES) == {"mlp", "cnn1d", "efficientnet", "inception",
                                     "mobilenet", "mobilenet_v3", "efficientnet_v2",
                                     "tcn", "transformer", "vit"}
    for name in FAMILY_NAMES:
        fam = _family(name)
        assert ("dropout" in fam.tuning_knobs) == (name in DROPOUT_FAMILIES)
        assert ("depth_multiplier" in fam.tuning_knobs) == ("depth" in fam.plan.axes)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_every_family_has_a_preset_with_published_figures(name):
    assert any(p.published is not None and p.published.figures() for p in _presets_of(name))


PUBLISHED = [n for n in presets() if presets().get(n).published is not None]


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_figures_match_the_rebuilt_preset(name):
    row = presets().get(name)
    pub = row.published
    assert pub.source and pub.figures()
    prof = archscale.profile(row.spec)
    if pub.params is not None:
        assert prof.params == pub.params
    if pub.trainable_params is not None:
        assert prof.trainable_params == pub.trainable_params
    if pub.paper_params is not None:
        assert prof.trainable_params == pytest.approx(pub.paper_params, rel=pub.rel_tol)
    if pub.macs is not None:
        assert prof.macs == pytest.approx(pub.macs, rel=pub.rel_tol)


def test_published_covers_design_section_6():
    # DESIGN.md section 6's reference numbers all travel with their presets.
    def pub(name: str) -> Published:
        return presets().get(name).published

    assert [pub(f"resnet{d}").params for d in (50, 101, 152)] == [25_636_712, 44_707_176,
                                                                   60_419_944]
    assert pub("resnet50v2").params == 25_613_800
    assert pub("inception_v3").params == 23_851_784
    assert (pub("mobilenet_v2").params, pub("mobilenet_v2").macs) == (3_538_984, 300e6)
    assert pub("efficientnet_b0").params == 5_330_571
    assert [pub(f"resnet{d}").macs for d in (18, 34, 50, 101, 152)] == [1.8e9, 3.6e9, 3.8e9,
                                                                        7.6e9, 11.3e9]
    assert [pub(f"regnetx_00{i}").macs for i in (2, 4, 8)] == [0.2e9, 0.4e9, 0.8e9]
    assert [pub(f"regnetx_{n}").paper_params for n in ("002", "004", "008", "016")] == [
        2.68e6, 5.16e6, 7.26e6, 9.19e6]
    assert [pub(f"resnet{d}").paper_params for d in (20, 32, 44, 56, 110)] == [
        0.27e6, 0.46e6, 0.66e6, 0.85e6, 1.7e6]


def _mlp_family(**changes) -> Family:
    fields = dict(name="mlp", spec_cls=MLPSpec, build=build_mlp, description="d",
                  ranks=(1,), scaling=ScalingFields(width=("widths",)), dropout_field="dropout",
                  plan=MLPPlan, recipe_style="adam")
    fields.update(changes)
    return Family(**fields)


def test_a_family_without_its_metadata_cannot_be_made():
    assert _mlp_family().tuning_knobs == ("width_multiplier", "dropout")
    with pytest.raises(TypeError, match="ranks"):
        Family("mlp", MLPSpec, build_mlp, "d")


@pytest.mark.parametrize("changes, fragment", [
    ({"ranks": ()}, "ranks must be a non-empty tuple"),
    ({"ranks": (4,)}, "Received: ranks=(4,)"),
    ({"scaling": ScalingFields(width=("width",))}, "scaling.width names unknown spec fields"),
    ({"scaling": ScalingFields(width=("widths",), depth=("widths",))},
     "scaling.depth must name fields exactly when the plan scales depth"),
    ({"scaling": ScalingFields(width=())}, "scaling.width must name fields"),
    ({"dropout_field": "rate"}, "Received: dropout_field='rate'"),
    ({"recipe_style": "sgd"}, "Received: recipe_style='sgd'"),
    ({"plan": Plan}, "plan must be a Plan subclass whose family is 'mlp'"),
    ({"name": "dense"}, "spec_cls.family must be the family name"),
])
def test_incomplete_or_inconsistent_metadata_is_refused(changes, fragment):
    with pytest.raises(SpecError, match="metadata is incomplete") as info:
        _mlp_family(**changes)
    assert fragment in str(info.value)


def test_unknown_layout_variant():
    with pytest.raises(SpecError, match=r"unknown layout variant 'alexnet'.*resnet-cifar"):
        make_plan(_task(3), "alexnet", 1e5)


def _accuracy_rows():
    return [(name, p) for name in FAMILY_NAMES for p in _family(name).accuracy]


@pytest.mark.parametrize("name, point", _accuracy_rows(), ids=lambda v: getattr(v, "name", v))
def test_published_accuracy_points_are_what_the_plan_builds(name, point):
    """Each published point is cited, and the family's plan reproduces its configuration: the
    profiled params and MACs match the published figures within 5 % (GoogLeNet excepted: the
    plan builds Inception v3 at 224 px, so the point is table-only)."""
    assert point.source and 0 < point.top1 < 100
    classes = 1000 if point.dataset == "imagenet" else 10
    task = Task(input_shape=(point.resolution, point.resolution, 3), classes=classes,
                samples=10_000)
    plan = make_plan(task, _family(name).variant_for(task), 1e6,
                     max_resolution=point.resolution, anchor=point)
    knobs = plan.knobs_for(point)
    if knobs is None:
        assert point.name == "GoogLeNet"
        return
    prof = archscale.profile(plan.spec(knobs))
    assert prof.params == pytest.approx(point.params, rel=0.05)
    assert prof.macs == pytest.approx(point.macs, rel=0.05)
