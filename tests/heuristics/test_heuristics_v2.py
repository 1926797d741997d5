"""Heuristics v2: the user's budget decides, the family comes from published points, and the
rationale says what binds. Golden tasks, anchored formulas, inputs the rules used to miss."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

import archscale
from archscale import Budget, Task
from archscale.cli import main
from archscale.costs import profile_graph
from archscale.heuristics.capacity import CapacityRule, regularisation
from archscale.heuristics.recipe_rules import training_recipe
from archscale.heuristics.propose import ImpossibleBudgetError, propose
from archscale.heuristics.proposal import Proposal
from archscale.reference_archs.layout_rules import head_min_width
from archscale.reference_archs.registry import build_graph

CIFAR = dict(input_shape=(32, 32, 3), classes=10, samples=50_000)
IMAGENET = dict(input_shape=(224, 224, 3), classes=1000, samples=1_281_167)


def _used(p: Proposal) -> float:
    return p.utilisation[p.binding]["fraction"]


def _rule(p: Proposal, name: str):
    return next(s for s in p.rationale if s.rule == name)


# --- golden tasks ------------------------------------------------------------------------------

# width first (Zagoruyko & Komodakis 2016): ResNet-20's 3 blocks per stage while the widths grow
# (16 -> WRN-20-2 at 200 M MACs -> WRN-20-5 at 1 G), blocks only once the widths reach 8x
@pytest.mark.parametrize("macs, blocks_range, first_width", [
    (40e6, (3, 3), (16, 16)), (200e6, (3, 3), (32, 40)), (1e9, (3, 3), (72, 88)),
    (5e9, (4, 12), (128, 128))])
def test_golden_cifar_uses_the_mac_budget_not_the_data_ceiling(macs, blocks_range,
                                                               first_width):
    p = propose(Task(**CIFAR), Budget(max_macs=int(macs)))
    assert p.variant == "resnet-cifar" and p.binding == "max_macs" and _used(p) >= 0.9
    assert "capacity" not in p.utilisation  # advisory once the user gives a budget
    assert blocks_range[0] <= p.spec.stage_blocks[0] <= blocks_range[1]
    assert first_width[0] <= p.spec.stage_widths[0] <= first_width[1]
    assert "width first" in _rule(p, "growth order").result


def test_width_first_is_the_cifar_layouts_alone():
    # the ImageNet-style ResNet keeps the compound path: 8 G MACs deepen stage 3 (ResNet-101's 23)
    deep = propose(Task(input_shape=(224, 224, 3), classes=1000, samples=1_281_167,
                        family="resnet"), Budget(max_macs=8_000_000_000))
    assert deep.variant == "resnet-imagenet" and deep.spec.stage_blocks[2] > 6
    assert not [s for s in deep.rationale if s.rule == "growth order"]
    # CIFAR-style: every fill move widens until no stage can; one block only at 8x widths
    for macs in (60e6, 300e6, 2e9):
        p = propose(Task(**CIFAR), Budget(max_macs=int(macs)))
        assert not [m for m in p.scaling["moves"] if m.startswith("add a block")], macs
        assert p.spec.stage_blocks == (3, 3, 3), macs
    assert p.recipe.learning_rate == 0.1 and p.recipe.batch_size == 128  # He et al. 4.2
    assert p.regularisation.weight_decay == 5e-4


@pytest.mark.parametrize("macs, family, named", [
    (300e6, "mobilenet_v3", None),  # MobileNetV3-Large 1.0 (75.2 %): alpha 1.125 at 216 px
    (400e6, "efficientnet", "EfficientNet-B0"),
    (600e6, "efficientnet", None),
    (4.1e9, "efficientnet_v2", None),  # EfficientNetV2-B0 (78.7 %) beats RegNetX-4.0GF (78.6)
])
def test_golden_imagenet_family_from_the_published_table(macs, family, named):
    p = propose(Task(**IMAGENET), Budget(max_macs=int(macs)))
    assert p.family == family and p.binding == "max_macs" and _used(p) >= 0.9
    assert p.scaling["named"] == named
    if named:
        assert p.description.endswith(f"= {named}")
        assert f"this is {named} at 224 px" in _rule(p, "published configuration").result
    why = _rule(p, "family").result["why"]
    assert "most accurate published ImageNet point" in why


def test_golden_imagenet_300m_is_mobilenet_v3_near_alpha_1():
    p = propose(Task(**IMAGENET), Budget(max_macs=300_000_000))
    assert p.spec.size == "large" and 0.95 <= p.spec.alpha <= 1.15
    assert p.spec.input_shape[0] >= 208


def test_max_resolution_lets_efficientnet_v2_grow_b3_like():
    p = propose(Task(**IMAGENET), Budget(max_macs=4_100_000_000), max_resolution=380)
    assert p.family == "efficientnet_v2" and _used(p) >= 0.9  # EfficientNetV2-B3: 82.1 %
    assert 288 <= p.spec.input_shape[0] <= 380  # B3: 300 px, width 1.2, depth 1.4
    assert 1.1 <= p.spec.width_coefficient <= 1.5 and 1.3 <= p.spec.depth_coefficient <= 2.2
    assert p.preprocessing["resize_to"][0] == p.spec.input_shape[0]


def test_imagenet_without_budget_is_a_published_point():
    p = propose(Task(**IMAGENET))
    assert p.scaling["named"] == "ConvNeXt-T" and p.binding == "capacity"
    assert "no user budget" in p.fill_note


def test_golden_10000_class_vector_task_keeps_hidden_layers_wide():
    p = propose(Task(input_shape=(512,), classes=10_000, samples=1_000_000),
                Budget(max_params=8_000_000))
    assert head_min_width(10_000) == 200 and min(p.spec.widths) >= 200
    assert _used(p) >= 0.9
    assert [head_min_width(c) for c in (10, 1000)] == [8, 64]


def test_golden_raw_audio_warns_and_never_falls_back_to_an_mlp():
    task = Task(input_shape=(16_000, 1), classes=12, samples=85_000)
    p = propose(task, Budget(max_macs=50_000_000))
    assert p.family == "resnet" and p.variant == "resnet-1d" and _used(p) >= 0.9
    assert p.warnings and "log-mel" in p.warnings[0] and "MFCC" in p.warnings[0]
    with pytest.raises(ImpossibleBudgetError, match="front end"):
        propose(task, Budget(max_macs=200_000))  # no MLP over 16,000 inputs


def test_image_too_small_to_convolve_gets_an_mlp_with_a_reason():
    p = propose(Task(input_shape=(1, 1, 3), classes=10, samples=2000))
    assert p.family == "mlp" and "too small to convolve" in _rule(p, "family").result["why"]


# --- capacity is advisory ----------------------------------------------------------------------

def test_capacity_binds_only_without_a_budget_and_can_be_changed():
    default = propose(Task(**CIFAR))
    assert default.binding == "capacity" and "advisory capacity" in default.fill_note
    body = profile_graph(build_graph(default.spec))
    assert body.params - 10 * (default.spec.stage_widths[-1] + 1) <= 25 * 50_000
    more = propose(Task(**CIFAR), capacity=CapacityRule(params_per_sample=100))
    assert more.predicted["params"] > 2 * default.predicted["params"]
    off = propose(Task(input_shape=(40,), classes=10, samples=4000),
                  capacity=CapacityRule(enabled=False))
    assert off.binding is None and "no limit" in off.fill_note
    big = propose(Task(**CIFAR), Budget(max_params=36_000_000))
    assert big.predicted["params"] > 30e6  # WRN-28-10 class: the data ceiling no longer caps


# --- anchored formulas -------------------------------------------------------------------------

def test_regularisation_reproduces_its_anchors_exactly():
    b0 = regularisation(5_330_571, 1_281_167, "rmsprop")
    b7 = regularisation(66_658_687, 1_281_167, "rmsprop")
    assert (b0.dropout, b0.weight_decay, b7.dropout, b7.weight_decay) == (0.2, 1e-5, 0.5, 1e-5)
    assert regularisation(25_557_032, 1_281_167).weight_decay == 1e-4  # ResNet-50
    assert regularisation(36_500_000, 50_000).weight_decay == 5e-4  # WRN-28-10
    assert regularisation(15_000, 4_000, "adam").weight_decay_kind == "decoupled"
    assert regularisation(15_000, 4_000, "momentum").weight_decay_kind == "l2"


def test_recipes_follow_the_papers():
    cifar = training_recipe("resnet", 50_000, variant="resnet-cifar")
    imagenet = training_recipe("resnet", 1_281_167, variant="resnet-imagenet")
    assert (cifar.learning_rate, cifar.batch_size) == (0.1, 128)
    assert (imagenet.learning_rate, imagenet.batch_size) == (0.1, 256)
    p = propose(Task(**CIFAR), Budget(max_macs=200_000_000))
    assert p.recipe.schedule == "cosine" and p.recipe.early_stopping_patience == 0
    assert _rule(p, "augmentation").result.startswith("random crop")
    small = propose(Task(input_shape=(96, 96, 3), classes=5, samples=2000))
    assert "downloads no weights" in _rule(small, "transfer learning").result


# --- rationale, search space, respec -----------------------------------------------------------

def test_rationale_numbers_are_the_ones_used():
    p = propose(Task(input_shape=(40,), classes=10, samples=4000))
    assert "phi" not in _rule(p, "compound scaling").result  # one axis: only its factor
    seq = propose(Task(input_shape=(200, 1), classes=5, samples=10_000))
    stages = len(seq.spec.stage_blocks)
    assert f"needs {stages} stages" in _rule(seq, "family").result["why"]
    wide = propose(Task(**CIFAR), Budget(max_macs=200_000_000))
    widths = wide.spec.stage_widths
    # the departures rule's tolerance: a ratio more than 15 % away from 2
    if any(abs(b / a - 2) > 0.3 for a, b in zip(widths, widths[1:])):
        assert "do not double" in json.dumps(_rule(wide, "quantise and fill").result)
    narrow = propose(Task(**CIFAR), Budget(max_macs=5_000_000_000))
    assert narrow.spec.stage_widths == (128, 256, 512)  # doubling at the width ceiling


def test_search_space_is_rounded_deduplicated_and_has_resolution():
    p = propose(Task(**IMAGENET), Budget(max_macs=60_000_000))
    rows = {r["name"]: r for r in p.search_space["hyperparameters"]}
    for row in rows.values():
        for key in ("min_value", "max_value", "default"):
            assert row[key] == float(f"{row[key]:.6g}")
    width = rows["width_multiplier"]
    grid = [width["min_value"] + i * width["step"] for i in
            range(round((width["max_value"] - width["min_value"]) / width["step"]) + 1)]
    specs = [p.respec(width_multiplier=v).to_json() for v in grid]
    assert len(set(specs)) == len(specs)
    axis = p.search_space["resolution_axis"]
    assert axis["type"] == "Int" and axis["min_value"] < axis["default"]
    assert p.respec(resolution=axis["min_value"]).input_shape[0] == axis["min_value"]


def test_respec_works_from_a_saved_proposal_json():
    p = propose(Task(**CIFAR), Budget(max_macs=200_000_000))
    saved = Proposal.from_json(p.to_json())
    assert saved.spec == p.spec and saved.knobs == p.knobs
    assert saved.respec(width_multiplier=0.5) == p.respec(width_multiplier=0.5)
    regnet = propose(Task(**IMAGENET), Budget(max_macs=4_100_000_000))
    again = Proposal.from_dict(json.loads(regnet.to_json()))
    assert again.respec(depth_multiplier=0.75) == regnet.respec(depth_multiplier=0.75)
    with pytest.raises(archscale.SpecError if hasattr(archscale, "SpecError") else Exception):
        Proposal.from_dict({"spec": {}})


# --- CLI ---------------------------------------------------------------------------------------

def test_fractional_samples_exit_2(capsys):
    assert main(["propose", "--input", "40", "--classes", "10", "--samples", "2.5"]) == 2
    err = capsys.readouterr().err
    assert "--samples must be a whole number" in err and "Traceback" not in err
    assert main(["propose", "--input", "40", "--classes", "10", "--samples", "2.5k"]) == 0


def test_profile_reproduces_the_training_memory_figure(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    assert main(["propose", "--input", "32x32x3", "--classes", "10", "--samples", "50000",
                 "--max-macs", "40M", "--json", "--out", str(spec)]) == 0
    data = json.loads(capsys.readouterr().out)
    pred = data["predicted"]
    assert main(["profile", str(spec), "--batch", str(pred["train_batch_size"]),
                 "--optimizer", pred["optimizer"], "--json", "--no-layers"]) == 0
    prof = json.loads(capsys.readouterr().out)
    assert prof["training_peak_bytes"] == pred["train_memory_bytes"]


def test_cold_propose_imports_neither_scipy_nor_tensorflow(tmp_path):
    code = ("import sys; from archscale.cli import main; "
            "rc = main(['propose', '--input', '224x224x3', '--classes', '1000', '--samples', "
            "'1281167', '--max-macs', '4.1G', '--json']); "
            "heavy = [m for m in ('scipy', 'tensorflow', 'keras') if m in sys.modules]; "
            "sys.exit(rc if not heavy else 'imported: ' + ', '.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "ARCHSCALE_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr


def test_bisection_finds_the_jump_of_a_step_function():
    from archscale.heuristics.solver import bisect

    assert math.isclose(bisect(lambda x: -1.0 if x <= 2.37 else 1.0, 0.0, 10.0, 1e-3), 2.37,
                        abs_tol=1e-3)
