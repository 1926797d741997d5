"""The search space's multiplier ranges: a factor of 2 either way in width when only the
data-derived capacity binds, nothing above the proposal when the user's budget binds."""

from archscale import Budget, Task, profile, propose
from archscale.heuristics.search_space import DATA_BOUND_DEPTH_HIGH, DATA_BOUND_WIDTH_HIGH

MNIST1D = Task(input_shape=(40,), classes=10, samples=1000)
CIFAR = Task(input_shape=(32, 32, 3), classes=10, samples=50_000)
IMAGENET = Task(input_shape=(224, 224, 3), classes=1000, samples=1_281_167)


def _rows(proposal):
    return {r["name"]: r for r in proposal.search_space["hyperparameters"]}


def test_data_bound_width_reaches_twice_the_proposal():
    p = propose(MNIST1D)
    assert p.binding == "capacity"
    width = _rows(p)["width_multiplier"]
    assert (width["min_value"], width["max_value"], width["default"]) == (0.5, 2.0, 1.0)
    assert DATA_BOUND_WIDTH_HIGH == 2.0
    # the top of the range is a real, distinct model: twice the widths (multiples of 8)
    top = p.respec(width_multiplier=width["max_value"])
    assert top.widths == tuple(2 * w for w in p.spec.widths)
    assert profile(top).params > 3 * profile(p.spec).params


def test_data_bound_depth_stops_at_one_and_a_half():
    rows = _rows(propose(IMAGENET))
    assert rows["width_multiplier"]["max_value"] == 2.0
    depth = rows["depth_multiplier"]
    assert (depth["min_value"], depth["max_value"], depth["default"]) == (0.5, 1.5, 1.0)
    assert DATA_BOUND_DEPTH_HIGH == 1.5
    # CIFAR's ResNet-20 is its family's base member: below 1x its depth repeats (narrowed out)
    cifar = _rows(propose(CIFAR))["depth_multiplier"]
    assert (cifar["min_value"], cifar["max_value"]) == (1.0, 1.5)


def test_a_binding_user_budget_caps_every_multiplier_at_the_proposal():
    p = propose(MNIST1D, Budget(max_params=100_000))
    assert p.binding == "max_params"
    width = _rows(p)["width_multiplier"]
    assert (width["min_value"], width["max_value"]) == (0.5, 1.0)
    q = propose(CIFAR, Budget(max_macs=200_000_000))
    assert all(_rows(q)[k]["max_value"] == 1.0 for k in ("width_multiplier", "depth_multiplier"))
