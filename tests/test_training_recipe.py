"""One ``Recipe`` for proposals and the benchmark (``archscale.training_recipe``).

The proposal's recipe is the type ``measure_accuracy`` trains with; the fields it added
(momentum, warm-up, loss) stay out of job keys at their defaults, so stored keys stay valid.
"""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import SpecError
from archscale.heuristics.recipe_rules import training_recipe
from archscale.measure.dataset_recipes import DEFAULT_RECIPES
from archscale.training_recipe import Recipe, recipe_from_dict

#: The keys every recipe had before momentum / warm-up / loss joined (job keys hash them).
ORIGINAL_KEYS = ("optimizer", "learning_rate", "schedule", "epochs", "batch_size",
                 "early_stopping_patience", "weight_decay", "label_smoothing",
                 "validation_split", "monitor")


@pytest.mark.parametrize("name", sorted(DEFAULT_RECIPES))
def test_dataset_recipes_keep_their_original_key_fields(name):
    assert tuple(DEFAULT_RECIPES[name].to_dict()) == ORIGINAL_KEYS


def test_new_fields_enter_the_key_only_when_set():
    base = Recipe(schedule="cosine", epochs=20)
    assert "optimizer_momentum" not in base.to_dict() and "warmup_epochs" not in base.to_dict()
    warm = base.replace(warmup_epochs=2, optimizer_momentum=0.8, optimizer="momentum")
    assert warm.to_dict()["warmup_epochs"] == 2 and warm.to_dict()["optimizer_momentum"] == 0.8
    assert warm.to_dict() != base.to_dict()
    assert "source" not in Recipe(source="a paper").to_dict()
    assert Recipe(source="a paper").to_dict(complete=True)["source"] == "a paper"
    assert recipe_from_dict(warm.to_dict()) == warm


@pytest.mark.parametrize("overrides, field", [
    ({"warmup_epochs": 2}, "warmup_epochs"),                    # constant schedule
    ({"schedule": "cosine", "epochs": 5, "warmup_epochs": 5}, "warmup_epochs"),
    ({"optimizer_momentum": 1.5}, "optimizer_momentum"),
    ({"loss": "hinge"}, "loss"),
    ({"optimizer": "lion"}, "optimizer"),
])
def test_invalid_new_fields_name_the_field(overrides, field):
    with pytest.raises(SpecError, match=field):
        Recipe().replace(**overrides)


def test_optimizer_momentum_defaults():
    assert Recipe(optimizer="sgd").momentum_used == 0.9
    assert Recipe(optimizer="momentum").momentum_used == 0.9
    assert Recipe(optimizer="rmsprop").momentum_used == 0.0
    assert Recipe(optimizer="rmsprop", optimizer_momentum=0.9).momentum_used == 0.9


def test_proposal_recipe_is_the_benchmark_type():
    p = archscale.propose(archscale.Task(input_shape=(8, 8, 1), classes=10, samples=1437))
    assert isinstance(p.recipe, Recipe)
    assert p.recipe.early_stopping_patience == p.regularisation.early_stopping_patience
    assert p.recipe.weight_decay == p.regularisation.weight_decay
    assert p.to_dict()["recipe"]["source"] == p.recipe.source != ""
    image = training_recipe("resnet", 1_281_167)
    assert (image.optimizer, image.optimizer_momentum, image.warmup_epochs) == ("momentum", 0.9, 5)


@pytest.mark.tf
def test_warmup_then_cosine_schedule_values():
    from archscale.measure.accuracy import _optimizer

    recipe = Recipe(optimizer="momentum", learning_rate=0.1, schedule="cosine", epochs=10,
                    warmup_epochs=2, optimizer_momentum=0.9)
    opt = _optimizer(recipe, steps_per_epoch=5)
    rate = opt.learning_rate if not callable(opt._learning_rate) else opt._learning_rate
    values = [float(rate(step)) for step in (0, 5, 10, 30, 50)]
    assert values[0] == pytest.approx(0.0)
    assert values[1] == pytest.approx(0.05)          # halfway through the warm-up
    assert values[2] == pytest.approx(0.1)           # warm-up done: the peak rate
    assert values[3] == pytest.approx(0.05, abs=1e-6)  # cosine halfway over the last 8 epochs
    assert values[4] == pytest.approx(0.0, abs=1e-6)
    assert opt.nesterov and float(opt.momentum) == pytest.approx(0.9)


@pytest.mark.tf
def test_the_proposal_trains_with_its_own_recipe():
    from archscale.measure.accuracy import measure_accuracy

    p = archscale.propose(archscale.Task(input_shape=(8, 8, 1), classes=10, samples=1437))
    # 8 epochs: after 3, the batch-norm moving statistics (momentum 0.99, 41 steps an epoch)
    # still lag the width-24 ResNet-8's activations and the test accuracy sits at chance
    result = measure_accuracy(p.spec, "digits", seeds=(0,), recipe=p.recipe.replace(epochs=8))
    assert result.recipe.optimizer == p.recipe.optimizer
    assert result.to_row()["recipe_weight_decay"] == p.recipe.weight_decay
    run = result.runs[0]
    assert run.final_train_loss < 0.5 * run.initial_loss
    assert 0.15 < result.accuracy_mean <= 1.0


def test_regression_recipe_is_refused_by_the_accuracy_measurement():
    from archscale.measure.accuracy import measure_accuracy

    with pytest.raises(SpecError, match="loss"):
        measure_accuracy(archscale.preset("mlp", input_shape=(64,), classes=10), "digits",
                         seeds=(0,), recipe=Recipe(loss="mean_squared_error"))
