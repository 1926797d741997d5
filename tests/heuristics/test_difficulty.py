"""The headroom probe (heuristics.difficulty) and how it scales the capacity default."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from archscale.errors import SpecError
from archscale.heuristics.capacity import (CapacityRule, capacity_range, class_pairs,
                                           signal_capacity)
from archscale.heuristics.difficulty import (HEADROOM_RULE_GROUP, HEADROOM_RULES, MAX_FEATURES,
                                             DataProbe, difficulty_source, headroom_factor,
                                             headroom_rule, probe_data)
from archscale.heuristics.propose import propose
from archscale.profiling import profile
from archscale.specs import Task


def _blobs(n: int, classes: int, spread: float, dims: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.normal(size=(classes, dims)) * 10
    return centres[y] + spread * rng.normal(size=(n, dims)), y


def test_well_separated_classes_leave_no_headroom():
    x, y = _blobs(600, 4, 0.1)
    probe = probe_data(x, y)
    assert probe.linear_accuracy == 1.0 and probe.neighbour_accuracy == 1.0
    assert probe.headroom == 0.0 and probe.factor == 1 / 8
    assert (probe.holdout, probe.reference, probe.features) == (120, 480, 10)


def test_the_probe_reads_the_modality_off_one_examples_rank():
    x, y = _blobs(200, 4, 12.0, dims=8)
    flat = probe_data(x, y)
    assert flat.headroom == 0.25
    assert flat.modality == "vector" and flat.factor == headroom_factor(flat.headroom, "vector")
    as_image = probe_data(x.reshape(200, 2, 2, 2), y)
    assert as_image.modality == "image"
    assert as_image.factor == headroom_factor(flat.headroom, "image") != flat.factor
    assert as_image.summary().endswith(f"capacity x{as_image.factor:.2f} (image)")
    assert probe_data(x.reshape(200, 4, 2), y).modality == "sequence"
    assert probe_data(x[:, 0], y).modality == "vector"       # one number per example
    given = probe_data(x.reshape(200, 4, 2), y, modality="image")
    assert given.modality == "image" and given.headroom == flat.headroom
    assert DataProbe(**{k: v for k, v in as_image.to_dict().items() if k != "factor"}) \
        == as_image
    with pytest.raises(SpecError, match="the probe takes examples of rank 1 \\(vector\\), 2 "
                                        "\\(sequence\\) or 3 \\(image\\), or a modality. "
                                        "Received: examples of rank 4"):
        probe_data(x.reshape(200, 2, 2, 1, 2), y)
    with pytest.raises(SpecError, match="modality must be one of"):
        probe_data(x, y, modality="tokens")


def test_random_labels_leave_all_the_headroom():
    rng = np.random.default_rng(1)
    probe = probe_data(rng.normal(size=(2000, 20)), rng.integers(0, 5, 2000))
    assert probe.headroom > 0.85
    assert probe.linear_accuracy < 0.3 and probe.neighbour_accuracy < 0.3


def test_the_better_probe_counts_neighbours_solve_what_a_line_cannot():
    # concentric rings: no linear boundary, but neighbours separate them
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 1500)
    angle = rng.uniform(0, 2 * math.pi, 1500)
    radius = 1.0 + 2.0 * y + 0.05 * rng.normal(size=1500)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    probe = probe_data(x, y)
    assert probe.linear_accuracy < 0.7
    assert probe.neighbour_accuracy > 0.98
    assert probe.headroom < 0.05


def test_accuracy_is_measured_from_the_majority_class_not_from_perfect():
    # 90 % of one class, features unrelated to the labels: 90 % accuracy is no skill
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=3000) < 0.1).astype(int)
    probe = probe_data(rng.normal(size=(3000, 8)), y)
    assert probe.majority_accuracy > 0.85
    assert probe.headroom > 0.9


def test_one_hot_labels_and_any_example_shape_are_accepted_and_the_seed_repeats():
    x, y = _blobs(400, 3, 8.0, dims=12)
    flat = probe_data(x, y, seed=5)
    shaped = probe_data(x.reshape(400, 3, 4), np.eye(3)[y], seed=5)
    assert flat == dataclasses.replace(shaped, modality="vector")   # the same figures
    assert probe_data(x, y, seed=6).holdout == flat.holdout


def test_wide_inputs_are_randomly_projected():
    x, y = _blobs(200, 2, 0.5, dims=MAX_FEATURES + 500)
    probe = probe_data(x, y)
    assert probe.features == MAX_FEATURES
    assert probe.headroom == 0.0


@pytest.mark.parametrize("x, y, fragment", [
    (np.zeros((10, 3)), np.arange(10) % 2, "at least 20 training examples"),
    (np.full((40, 3), np.nan), np.arange(40) % 2, "finite inputs"),
    (np.zeros((40, 3)), np.zeros(40), "at least 2 classes"),
    (np.zeros((40, 3)), np.linspace(0, 1, 40), "class labels"),
    (np.zeros((40, 3)), np.arange(39) % 2, "one label per example"),
])
def test_bad_probe_inputs_are_one_line_errors(x, y, fragment):
    with pytest.raises(SpecError, match=fragment):
        probe_data(x, y)


@pytest.mark.parametrize("modality", ["vector", "sequence"])
def test_the_signal_factor_follows_its_formula_at_hand_worked_points(modality):
    def factor(h):
        return headroom_factor(h, modality)

    assert factor(0.05) == pytest.approx(1.0)
    assert factor(0.3) == pytest.approx(6.0)
    assert factor(0.0125) == pytest.approx(0.25)
    assert factor(0.0) == 1 / 8
    assert factor(0.01) == pytest.approx(0.2)              # above the floor
    assert factor(0.005) == 1 / 8                          # 0.1 -> the floor
    assert factor(0.5) == pytest.approx(10.0)
    assert factor(1.0) == 16.0                             # 20 -> the ceiling


def test_the_image_factor_follows_its_formula_at_hand_worked_points():
    def factor(h):
        return headroom_factor(h, "image")

    assert factor(0.002) == pytest.approx(1.0)
    assert factor(0.008) == pytest.approx(4 ** 0.6)         # 2.30
    assert factor(0.032) == pytest.approx(16 ** 0.6)        # 5.28
    assert factor(0.0) == 1 / 8
    assert factor(0.0002) == pytest.approx(0.1 ** 0.6)      # 0.251: above the floor
    assert factor(0.00005) == 1 / 8                         # 0.110 -> the floor
    assert factor(0.512) == pytest.approx(256 ** 0.6)       # 27.9: below the ceiling
    assert factor(0.7) == 32.0                              # 33.6 -> the ceiling
    assert factor(1.0) == 32.0


def test_each_modality_has_its_groups_rule():
    assert HEADROOM_RULE_GROUP == {"vector": "signal", "sequence": "signal", "image": "image"}
    assert headroom_rule("vector") is headroom_rule("sequence") is HEADROOM_RULES["signal"]
    assert headroom_rule("image") is HEADROOM_RULES["image"]
    assert headroom_rule("vector").label() == "clip(h / 0.05, 1/8, 16)"
    assert headroom_rule("image").label() == "clip((h / 0.002)^0.6, 1/8, 32)"
    assert "clip((h / 0.002)^0.6, 1/8, 32) (image inputs)" in difficulty_source("image")
    assert "clip(h / 0.05, 1/8, 16) (signal inputs)" in difficulty_source("sequence")
    with pytest.raises(SpecError, match="modality must be one of vector, sequence, image for "
                                        "a headroom factor. Received: modality='tokens'"):
        headroom_factor(0.3, "tokens")


@pytest.mark.parametrize("modality", ["vector", "image"])
def test_the_factor_grows_with_the_headroom(modality):
    values = [headroom_factor(h / 100, modality) for h in range(101)]
    assert values == sorted(values) and values[0] < values[-1]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True, None])
def test_headroom_outside_0_1_is_refused(bad):
    with pytest.raises(SpecError, match="headroom must be a number in \\[0, 1\\]"):
        headroom_factor(bad, "vector")
    if bad is not None:
        with pytest.raises(SpecError, match="headroom"):
            CapacityRule(headroom=bad)


def test_capacity_default_times_the_factor():
    # MNIST-1D-like: 4,000 samples, 10 classes, headroom 0.3 -> 6 x 45 x 4000^0.75 x 0.3 / 0.05
    base = 6 * class_pairs(10) * 4000 ** 0.75
    assert capacity_range(4000, "vector", 10, headroom=0.3)[1] == round(base * 6.0)
    assert capacity_range(4000, "sequence", 10, headroom=0.3)[1] == round(base * 6.0)
    # images: 25 per sample x the image rule's factor, (0.3 / 0.002)^0.6 = 20.2
    assert capacity_range(2000, "image", 10, headroom=0.3)[1] == \
        round(25 * 2000 * (0.3 / 0.002) ** 0.6)
    # the factor applies after the 64-per-sample ceiling, before the 1,000 floor
    assert signal_capacity(100, 10, 4.0) == 64 * 100 * 4.0
    assert capacity_range(124, "vector", 3, headroom=0.0)[1] == 1000


def test_the_users_ratio_and_token_inputs_ignore_the_headroom():
    assert capacity_range(4000, "vector", 10, 50.0, headroom=0.9)[1] == 200_000
    assert capacity_range(4000, "tokens", 2, headroom=0.9) == capacity_range(4000, "tokens", 2)
    assert CapacityRule(headroom=0.9).factor("tokens") == 1.0
    assert CapacityRule().factor("vector") == 1.0


def test_propose_sizes_by_the_headroom_and_says_so():
    task = Task(input_shape=(40,), classes=10, samples=4000)
    plain = propose(task)
    easy = propose(task, capacity=CapacityRule(headroom=0.0))
    hard = propose(task, capacity=CapacityRule(headroom=0.5))
    sizes = [profile(p.spec).params for p in (easy, plain, hard)]
    assert sizes == sorted(sizes) and sizes[2] > 4 * sizes[1] > 16 * sizes[0]
    step = hard.rationale[1]
    assert step.rule == "capacity from data"
    assert step.inputs["headroom"] == 0.5
    assert step.inputs["headroom_factor"] == round(headroom_factor(0.5, "vector"), 4)
    assert "headroom probe" in step.source
    assert "headroom" not in plain.rationale[1].inputs
    assert hard.capacity[1] == capacity_range(4000, "vector", 10, headroom=0.5)[1]
    # a saved proposal keeps the headroom it was made with
    assert hard.scaling["plan_args"]["headroom"] == 0.5


def test_a_fixed_scale_replaces_the_headroom_factor():
    task = Task(input_shape=(40,), classes=10, samples=4000)
    probed = propose(task, capacity=CapacityRule(headroom=0.5))
    factor = headroom_factor(0.5, "vector")
    same = propose(task, capacity=CapacityRule(headroom=0.5, scale=factor))
    assert same.spec == probed.spec and same.recipe == probed.recipe
    assert same.capacity == probed.capacity
    doubled = propose(task, capacity=CapacityRule(headroom=0.5, scale=2 * factor))
    assert doubled.capacity[1] == capacity_range(4000, "vector", 10,
                                                 scale=2 * factor)[1]
    assert doubled.capacity[1] == round(6 * 45 * 4000 ** 0.75 * 2 * factor)
    assert profile(doubled.spec).params > 1.6 * profile(probed.spec).params
    step = doubled.rationale[1]
    assert step.inputs["headroom_factor"] == round(2 * factor, 4)
    assert "a fixed scale x" in step.source
    assert doubled.scaling["plan_args"]["scale"] == 2 * factor
    # the user's own ratio and token inputs still ignore it
    assert CapacityRule(50.0, scale=3.0).factor("vector") == 1.0
    assert CapacityRule(scale=3.0).factor("tokens") == 1.0
    assert CapacityRule(scale=3.0).factor("image") == 3.0


def test_the_proposals_capacity_is_the_one_its_rationale_states():
    # the user's ratio decides the range too (it was the default's, ignoring the ratio)
    task = Task(input_shape=(40,), classes=10, samples=4000)
    for rule in (CapacityRule(params_per_sample=10.0), CapacityRule(headroom=0.5),
                 CapacityRule(scale=3.0), CapacityRule()):
        p = propose(task, capacity=rule)
        step = p.rationale[1].result
        assert p.capacity == (step["low_body_params"], step["high_body_params"])
    assert propose(task, capacity=CapacityRule(params_per_sample=10.0)).capacity == \
        capacity_range(4000, "vector", 10, 10.0) == (2500, 40000)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "2", True])
def test_a_scale_that_is_not_a_positive_number_is_refused(bad):
    with pytest.raises(SpecError, match=r"^scale must be a positive number .* Received: scale="):
        CapacityRule(scale=bad)


def test_a_budget_decides_whatever_the_headroom():
    task = Task(input_shape=(40,), classes=10, samples=4000)
    from archscale.specs import Budget

    a = propose(task, Budget(max_params=50_000), capacity=CapacityRule(headroom=0.0))
    b = propose(task, Budget(max_params=50_000), capacity=CapacityRule(headroom=0.9))
    assert a.spec == b.spec


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archscale", "propose", *argv],
                          capture_output=True, text=True)


def test_cli_probe_fills_the_task_from_the_dataset_and_stays_light():
    code = ("import sys, json, io, contextlib; from archscale.cli import main; "
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf): rc = main(['propose', '--probe', 'digits', "
            "'--json'])\n"
            "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
            "print(json.dumps({'rc': rc, 'heavy': heavy, 'out': json.loads(buf.getvalue())}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["rc"] == 0 and data["heavy"] == []
    result = data["out"]
    assert result["task"]["input_shape"] == [8, 8, 1] and result["task"]["samples"] == 1437
    probe = result["probe"]
    assert probe["dataset"] == "digits" and 0 <= probe["headroom"] < 0.1
    assert result["rationale"][1]["inputs"]["headroom"] == probe["headroom"]
    assert DataProbe(**{k: v for k, v in probe.items() if k not in ("dataset", "factor")})


def test_cli_headroom_given_directly_matches_the_library():
    out = _cli("--input", "40", "--classes", "10", "--samples", "4000", "--headroom", "0.5",
               "--json")
    assert out.returncode == 0, out.stderr
    spec = json.loads(out.stdout)["spec"]
    lib = propose(Task(input_shape=(40,), classes=10, samples=4000),
                  capacity=CapacityRule(headroom=0.5))
    assert spec == lib.spec.to_dict()


def test_cli_capacity_scale_fixes_the_multiplier():
    task = Task(input_shape=(40,), classes=10, samples=4000)
    for extra in ((), ("--headroom", "0.5")):   # the scale replaces the headroom's factor
        out = _cli("--input", "40", "--classes", "10", "--samples", "4000",
                   "--capacity-scale", "2.5", *extra, "--json")
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        lib = propose(task, capacity=CapacityRule(headroom=0.5 if extra else None, scale=2.5))
        assert data["spec"] == lib.spec.to_dict()
        assert data["rationale"][1]["inputs"]["headroom_factor"] == 2.5
        assert "a fixed scale x2.5" in data["rationale"][1]["source"]
    assert profile(lib.spec).params > 2 * profile(propose(task).spec).params


@pytest.mark.parametrize("argv, fragment", [
    (("--probe", "wine", "--headroom", "0.1"), "give --probe DATASET or --headroom H"),
    (("--probe", "wine", "--samples", "100"), "--samples must match --probe dataset 'wine'"),
    (("--probe", "wine", "--classes", "4"), "--classes must match --probe dataset 'wine'"),
    (("--probe", "wine", "--input", "12"), "--input must match --probe dataset 'wine'"),
    (("--probe", "nosuch"), "unknown dataset 'nosuch'"),
    (("--input", "40", "--classes", "10", "--samples", "4000", "--headroom", "2"),
     "--headroom must be a number in [0, 1]"),
    (("--input", "40", "--classes", "10", "--samples", "4000", "--headroom", "lots"),
     "--headroom must be a number in [0, 1]"),
    (("--input", "40", "--classes", "10", "--samples", "4000", "--capacity-scale", "0"),
     "--capacity-scale must be a positive number. Received: --capacity-scale='0'"),
    (("--input", "40", "--classes", "10", "--samples", "4000", "--capacity-scale", "x2"),
     "--capacity-scale must be a positive number. Received: --capacity-scale='x2'"),
    (("--input", "40", "--classes", "10", "--samples", "4000", "--capacity-scale", "2",
      "--params-per-sample", "10"), "--capacity-scale multiplies the capacity default, which "
     "--params-per-sample replaces: give one of them. Received: --capacity-scale='2' with "
     "--params-per-sample"),
    (("--input", "40", "--classes", "10", "--samples", "4000", "--capacity-scale", "2",
      "--capacity", "off"), "which --capacity off replaces"),
])
def test_cli_probe_errors_are_one_line_exit_2(argv, fragment):
    out = _cli(*argv)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and fragment in out.stderr, out.stderr
