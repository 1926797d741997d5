"""The sizing rules, capacity, regularisation and recipe functions, and the family plans."""

from __future__ import annotations

import math

import pytest

import archscale
from archscale.errors import SpecError
from archscale.heuristics.capacity import (CapacityRule, capacity_range, class_pairs,
                                           regularisation)
from archscale.heuristics.recipe_rules import (MIN_ACCURACY_HOLDOUT, recipe_batch_size,
                                               recipe_epochs, recipe_monitor, training_recipe)
from archscale.heuristics.plans import make_plan
from archscale.heuristics.rules import check_family_fits_task, choose_family, variant_for
from archscale.reference_archs.layout_rules import (blocks_per_stage, doubling_widths,
                                                    downsampling_halvings, mlp_depth, mlp_taper,
                                                    round_width)
from archscale.reference_archs.scaling_plan import resolution_levels
from archscale.specs import Task

FAMILIES = ("mlp", "cnn1d", "resnet", "inception", "mobilenet_v2", "efficientnet", "regnet")


@pytest.mark.parametrize("size, halvings", [(1, 0), (8, 0), (9, 1), (16, 1), (32, 2), (40, 3),
                                            (56, 3), (64, 3), (224, 5), (1000, 7)])
def test_downsampling_stops_at_4_to_8(size, halvings):
    assert downsampling_halvings(size) == halvings
    final = size
    for _ in range(halvings):
        final = math.ceil(final / 2)
    assert final <= 8 and (halvings == 0 or final >= 4)


def test_widths_double_and_blocks_follow_resnet():
    assert doubling_widths(64, 4) == (64, 128, 256, 512)
    assert doubling_widths(64, 6) == (64, 128, 256, 512, 512, 512)
    assert blocks_per_stage(4, "bottleneck") == (3, 4, 6, 3)
    assert blocks_per_stage(3, "basic") == (3, 3, 3)
    assert blocks_per_stage(2, "plain") == (2, 2)
    assert all(len(blocks_per_stage(n, "bottleneck")) == n for n in range(1, 8))


@pytest.mark.parametrize("n_in, n_out, depth", [(40, 10, 2), (784, 10, 3), (4, 100, 2),
                                                (10, 10, 1)])
def test_mlp_taper_is_a_geometric_pyramid_between_input_and_output(n_in, n_out, depth):
    taper = mlp_taper(n_in, n_out, depth)
    assert len(taper) == depth
    low, high = sorted((n_in, n_out))
    assert all(low - 1e-9 <= t <= high + 1e-9 for t in taper)
    sizes = (n_in, *taper, n_out)
    ratios = [a / b for a, b in zip(sizes, sizes[1:])]
    assert max(ratios) == pytest.approx(min(ratios))


def test_mlp_depth_grows_with_the_target_and_widths_round_to_8():
    targets = (100, 4_999, 5_000, 99_999, 100_000, 19_999_999, 2e7, 1e9)
    assert [mlp_depth(t) for t in targets] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert [round_width(v) for v in (1, 11, 12, 100, 1003)] == [8, 8, 16, 104, 1000]


@pytest.mark.parametrize("samples", [1000, 4000, 16_000, 64_000])
def test_the_1d_cnn_keeps_its_base_depth_and_grows_its_widths(samples):
    base = archscale.propose(task((40, 1), samples=1000)).spec
    spec = archscale.propose(task((40, 1), samples=samples)).spec
    assert spec.strides == base.strides and len(spec.filters) == 6  # 2 convs in each of 3 stages
    assert all(a >= b for a, b in zip(spec.filters, base.filters))


def task(shape, classes=10, samples=10_000, **kw):
    return Task(input_shape=shape, classes=classes, samples=samples, **kw)


@pytest.mark.parametrize("shape, macs, params, family, variant", [
    ((40,), None, 1e5, "mlp", "mlp"),
    ((40, 1), None, 1e5, "cnn1d", "cnn1d"),
    ((128, 8), None, 1e5, "cnn1d", "cnn1d"),
    ((200, 1), None, 1e5, "resnet", "resnet-1d"),
    ((1000, 1), None, 1e5, "tcn", "tcn"),  # fam17b: long sequences get a TCN
    ((32, 32, 3), 1e9, 1e7, "resnet", "resnet-cifar"),
    ((64, 64, 3), None, 1e7, "resnet", "resnet-cifar"),
    ((224, 224, 3), 4.1e9, 3e7, "efficientnet_v2", "efficientnet_v2"),  # V2-B0, 78.7 %
    ((224, 224, 3), 1.0e9, 3e7, "efficientnet_v2", "efficientnet_v2"),
    ((224, 224, 3), 3e8, 3e7, "mobilenet_v3", "mobilenet_v3"),  # V3-Large 1.0, 75.2 %
    ((448, 448, 3), 1.2e9, 3e7, "efficientnet", "efficientnet"),  # B2 at 260 px fits
    ((160, 160, 3), 2.0e8, 3e7, "efficientnet", "efficientnet"),  # B0 at 160 px: 199 M
    ((224, 224, 3), None, 3e6, "mobilenet_v2", "mobilenet_v2"),
    ((224, 224, 3), None, 1e7, "efficientnet_v2", "efficientnet_v2"),  # V2-B0, 7.1 M
    ((224, 224, 3), None, 3e7, "convnext", "convnext"),  # ConvNeXt-T, 28.6 M, 82.1 %
])
def test_family_choice(shape, macs, params, family, variant):
    choice = choose_family(task(shape), macs, params)
    assert (choice.family, choice.variant) == (family, variant)
    assert choice.reason and choice.source
    assert all(alt != family for alt, _ in choice.alternatives)
    assert choice.variant not in choice.fallbacks


def test_vector_modality_of_an_image_gives_an_mlp():
    assert choose_family(task((8, 8, 1), modality="vector"), None, 1e5).family == "mlp"


@pytest.mark.parametrize("family, shape, ok", [
    ("mlp", (40,), True), ("mlp", (32, 32, 3), True), ("cnn1d", (40, 1), True),
    ("cnn1d", (40,), False), ("cnn1d", (8, 8, 3), False), ("resnet", (40, 2), True),
    ("resnet", (40,), False), ("mobilenet_v2", (40, 1), False), ("regnet", (64, 64, 3), True),
    ("nope", (40,), False),
])
def test_family_override_compatibility(family, shape, ok):
    t = task(shape)
    if ok:
        check_family_fits_task(family, t, FAMILIES)
    else:
        with pytest.raises(SpecError, match=r"Received: .*family="):
            check_family_fits_task(family, t, FAMILIES)


def test_variant_for_resnet():
    assert variant_for("resnet", task((40, 1))) == "resnet-1d"
    assert variant_for("resnet", task((64, 64, 3))) == "resnet-cifar"
    assert variant_for("resnet", task((65, 65, 3))) == "resnet-imagenet"
    assert variant_for("regnet", task((65, 65, 3))) == "regnet"


@pytest.mark.parametrize("samples, modality, high", [(1_281_167, "image", 32_029_175),
                                                     (50_000, "image", 1_250_000),
                                                     (4_000, "tokens", 16_000),
                                                     (10, "image", 1_000)])
def test_capacity_range_per_sample(samples, modality, high):
    low, top = capacity_range(samples, modality, classes=10)
    assert top == high and low == round(high / 16)


# vector / sequence: 6 x class pairs x samples^0.75 in [1,000, 64 x samples], by hand:
# 10 classes = 45 pairs; 1000^0.75 = 177.83 -> 48,014; 4000^0.75 = 502.97 -> 135,803;
# 16000^0.75 = 1422.6 -> 384,108; wine (3 classes = 3 pairs, 124^0.75 = 37.16) 669 -> the
# 1,000 floor; breast cancer (2 classes = 1 pair, 398^0.75 = 89.11) 535 -> 1,000; 100 classes
# at 1,000 samples 5.28 M -> the cap 64,000; 10 samples: 1,518 capped at 640, floored at 1,000.
@pytest.mark.parametrize("samples, classes, modality, high", [
    (1000, 10, "vector", 48_014), (4000, 10, "vector", 135_803),
    (16000, 10, "sequence", 384_108), (124, 3, "vector", 1000), (398, 2, "vector", 1000),
    (1000, 100, "vector", 64_000), (10, 10, "sequence", 1000)])
def test_capacity_range_for_vectors_and_sequences(samples, classes, modality, high):
    low, top = capacity_range(samples, modality, classes=classes)
    assert top == high and low == round(high / 16)


def test_params_per_sample_overrides_the_vector_rule():
    assert capacity_range(4000, "vector", classes=10, params_per_sample=4) == (1000, 16_000)
    assert CapacityRule(params_per_sample=4).ratio("vector") == 4.0
    assert CapacityRule().ratio("vector") is None and CapacityRule().ratio("image") == 25.0


@pytest.mark.parametrize("classes, pairs", [(1, 1), (2, 1), (3, 3), (10, 45), (1000, 499_500)])
def test_class_pairs(classes, pairs):
    assert class_pairs(classes) == pairs


@pytest.mark.parametrize("params, samples", [(25_600_000, 1_281_167), (5_300_000, 1_281_167),
                                             (36_000_000, 50_000), (1_000, 100_000),
                                             (15_000, 4_000)])
def test_regularisation_is_bounded_and_anchored(params, samples):
    reg = regularisation(params, samples, schedule="constant")
    assert 0 <= reg.dropout <= 0.5 and 1e-5 <= reg.weight_decay <= 5e-4
    assert 5 <= reg.early_stopping_patience <= 30
    assert regularisation(params, samples).early_stopping_patience == 0  # cosine
    rho = params / samples
    if 19 < rho < 21:  # ResNet-50 on ImageNet: 1e-4 (He et al. 2015)
        assert reg.weight_decay == pytest.approx(1e-4, rel=0.05)
    if 3.9 < rho < 4.5:  # EfficientNet-B0: dropout 0.2
        assert reg.dropout == 0.2


def test_regularisation_is_monotone_in_the_ratio():
    regs = [regularisation(p, 10_000, schedule="constant")
            for p in (1_000, 10_000, 100_000, 1_000_000, 10**8)]
    for a, b in zip(regs, regs[1:]):
        assert a.dropout <= b.dropout and a.weight_decay <= b.weight_decay
        assert a.early_stopping_patience <= b.early_stopping_patience


def test_recipes():
    assert (recipe_batch_size(1_281_167), recipe_batch_size(50_000),
            recipe_batch_size(4_000)) == (256, 128, 32)
    assert recipe_epochs(1_281_167) == 90 and 150 <= recipe_epochs(50_000) <= 180
    r = training_recipe("resnet", 1_281_167)
    assert (r.optimizer, r.learning_rate, r.batch_size, r.warmup_epochs) == ("momentum", 0.1,
                                                                           256, 5)
    assert training_recipe("efficientnet", 1_281_167).optimizer == "rmsprop"
    mlp = training_recipe("mlp", 4_000, regression=True)
    assert (mlp.optimizer, mlp.learning_rate, mlp.loss) == ("adam", 1e-3, "mean_squared_error")


def test_a_hold_out_under_100_examples_picks_the_best_epoch_by_validation_loss():
    """measure.accuracy holds out round(0.1 x samples) examples: 99 for 990 and 994
    (val_loss), 100 for 996 and 1,000 (val_accuracy)."""
    assert MIN_ACCURACY_HOLDOUT == 100
    assert [recipe_monitor(n) for n in (124, 398, 990, 994)] == ["val_loss"] * 4
    assert [recipe_monitor(n) for n in (996, 1_000, 1_437, 64_000)] == ["val_accuracy"] * 4
    assert recipe_monitor(500, validation_split=0.2) == "val_accuracy"
    assert training_recipe("mlp", 124).monitor == "val_loss"
    assert training_recipe("resnet", 1_000).monitor == "val_accuracy"
    wine = archscale.propose(archscale.Task(input_shape=(13,), classes=3, samples=124))
    assert wine.recipe.monitor == "val_loss"


def test_resolution_levels():
    assert resolution_levels(224)[:3] == (96, 104, 112) and resolution_levels(224)[-1] == 224
    assert resolution_levels(100) == (56, 64, 72, 80, 88, 96, 100)
    assert resolution_levels(80) == (40, 48, 56, 64, 72, 80)
    assert resolution_levels(40) == (32, 40) and resolution_levels(32) == (32,)


PLAN_TASKS = [
    ("mlp", task((40,))), ("cnn1d", task((40, 1))), ("resnet-1d", task((600, 2))),
    ("resnet-cifar", task((32, 32, 3))), ("resnet-imagenet", task((96, 96, 3))),
    ("mobilenet_v2", task((128, 128, 3))), ("efficientnet", task((128, 128, 3))),
    ("regnet", task((64, 64, 3))), ("inception", task((80, 80, 3))),
    ("inception", task((40, 40, 3))),
]


@pytest.mark.parametrize("variant, t", PLAN_TASKS, ids=[f"{v}-{t.input_shape}"
                                                       for v, t in PLAN_TASKS])
def test_plans_build_and_grow_monotonically(variant, t):
    plan = make_plan(t, variant, 1e6)
    small, base = plan.minimum(), plan.knobs_at(1.0, 1.0, 1.0)
    costs = [archscale.profile(plan.spec(k)) for k in (small, base)]
    assert costs[0].params <= costs[1].params and costs[0].macs <= costs[1].macs
    assert plan.spec(base).classes == t.classes
    for index, name in enumerate(plan.move_names()):  # every move grows (or keeps) every cost
        moved = plan.move(base, index)
        if moved is None:
            continue
        after = archscale.profile(plan.spec(moved))
        assert after.params >= costs[1].params and after.macs >= costs[1].macs, name
    assert plan.describe(base) and plan.table(base)[1]
    path = [plan.at_phi(phi) for phi in (-30, -5, 0, 3, 8)]
    macs = [archscale.profile(plan.spec(k)).macs for k in path]
    assert macs == sorted(macs)
