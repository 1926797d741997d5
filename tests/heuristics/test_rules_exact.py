"""The family rules' exact output: the choice, its rationale text, the numbers in it (stride-2
stages counted by hand), the boundaries between branches, and the override messages."""

from __future__ import annotations

import pytest

from archscale.errors import SpecError
from archscale.heuristics.family_table import FamilyChoice
from archscale.heuristics.rules import (PLAIN_CNN_MAX_LENGTH, _sequence_stages,
                                        check_family_fits_task, choose_family)
from archscale.reference_archs.registry import families
from archscale.specs import Task

KNOWN = ("mlp", "cnn1d", "resnet", "inception", "mobilenet_v2", "efficientnet", "regnet")


def task(shape, **kw):
    return Task(input_shape=shape, classes=10, samples=1000, **kw)


@pytest.mark.parametrize("length, stages", [
    # up to 511 steps: halve until 4-8 steps are left, plus the first stage
    (129, 5 + 1),    # 129 65 33 17 9 5
    (200, 5 + 1),    # 200 100 50 25 13 7
    (511, 6 + 1),    # 511 256 128 64 32 16 8
    # from 512 steps a stride-4 stem first: ceil(ceil(L / 2) / 2), then halve
    (512, 4 + 1),    # 128 -> 64 32 16 8
    (1000, 5 + 1),   # 250 -> 125 63 32 16 8
    (1023, 5 + 1),   # 256 -> 128 64 32 16 8
    (2049, 7 + 1),   # 513 -> 257 129 65 33 17 9 5
])
def test_sequence_stages_by_hand(length, stages):
    assert _sequence_stages(length) == stages


def test_vector_choice():
    assert choose_family(task((40,)), None, 1e6) == FamilyChoice(
        "mlp", "mlp", "a 1-D vector input has no spatial or temporal axis for convolutions to "
        "exploit, so a dense MLP is the baseline",
        (("cnn1d", "needs a sequence axis: give the shape as LENGTHx1 to try it"),
         ("resnet", "needs a sequence or image input")), (),
        "Goodfellow et al. 2016, Deep Learning, ch. 6 and 9 (convolution needs grid structure)",
        {"modality": "vector", "input_shape": (40,)})
    image_as_vector = choose_family(task((8, 8, 1), modality="vector"), None, 1e6)
    assert image_as_vector.reason.startswith("a 3-D vector input has no spatial")
    assert image_as_vector.inputs == {"modality": "vector", "input_shape": (8, 8, 1)}


def test_token_choice():
    assert choose_family(task((50,), modality="tokens", vocab=20_000), None, 1e6) == \
        FamilyChoice(
            "cnn1d", "cnn1d", "50 integer token IDs over a vocabulary of 20,000 are categories, "
            "not a numeric signal: an Embedding front end maps each to a learned vector, then "
            "a 1-D CNN with max-over-time pooling classifies the sequence",
            (("resnet", "a 1-D ResNet over raw IDs treats them as magnitudes; word-level text "
                        "CNNs need no depth (Le et al. 2018)"),
             ("mlp", "an MLP over raw IDs treats them as magnitudes and ignores word order")),
            (), "Kim 2014 (CNN for sentence classification); Le et al. 2018 (shallow "
                "word-level CNNs match deep ones)",
            {"modality": "tokens", "length": 50, "vocab": 20_000})
    # any length: tokens never go to the 1-D ResNet
    assert choose_family(task((4000,), modality="tokens", vocab=50), None, 1e6).family == "cnn1d"


def test_short_sequence_choice_up_to_128_steps():
    assert PLAIN_CNN_MAX_LENGTH == 128
    assert choose_family(task((128, 3)), None, 1e6) == FamilyChoice(
        "cnn1d", "cnn1d", "a sequence of 128 steps needs only 4 stride-2 stages to reach 4-8 "
        "steps, shallow enough for a plain 1-D CNN",  # 128 64 32 16 8
        (("resnet", "residual blocks pay off past ~10 layers; 128 steps do not need that "
                    "depth"),
         ("mlp", "ignores the temporal locality a convolution exploits")),
        ("resnet-1d", "mlp"),
        "Greydanus 2020 (MNIST-1D: CNN 94 % vs MLP 68 %); He et al. 2015 (plain stacks "
        "degrade past ~20 layers)", {"modality": "sequence", "length": 128})
    assert "needs only 3 stride-2 stages" in choose_family(task((40, 1)), None, 1e6).reason


@pytest.mark.parametrize("length, stages, stem", [(129, 6, ""), (255, 6, "")])
def test_long_sequence_choice(length, stages, stem):
    assert choose_family(task((length, 2)), None, 1e6) == FamilyChoice(
        "resnet", "resnet-1d", f"a sequence of {length} steps needs {stages} stages{stem} to "
        "reach 4-8 steps: deep enough that residual connections are needed",
        (("cnn1d", "a plain stack this deep degrades"),
         ("mlp", f"never over {length} steps: it ignores temporal locality and its first "
                 "layer alone costs inputs x width")),
        ("cnn1d",), "He et al. 2015 (degradation of deep plain networks); Wang et al. 2017 "
                    "(ResNet baseline for time series)",
        {"modality": "sequence", "length": length})


def test_small_image_choice_counts_the_shorter_side():
    expected = FamilyChoice(
        "resnet", "resnet-cifar", "images of 64x100 px are small: a CIFAR-style ResNet (3x3 "
        "stem, no early pooling) keeps the resolution the ImageNet stems would throw away",
        (("mobilenet_v2", "downsamples 32x: a <=64 px side ends at 2 px or less"),
         ("efficientnet", "downsamples 32x, tuned for >=224 px"),
         ("mlp", "ignores spatial structure")), (),
        "He et al. 2015 Sec. 4.2 (CIFAR ResNets); Zagoruyko & Komodakis 2016 (Wide ResNets)",
        {"modality": "image", "side": 64})
    assert choose_family(task((64, 100, 3)), None, 1e6) == expected
    assert choose_family(task((100, 64, 3)), None, 1e6).variant == "resnet-cifar"
    assert choose_family(task((65, 100, 3)), None, 1e6).variant != "resnet-cifar"


# -- overrides --------------------------------------------------------------------------------


@pytest.mark.parametrize("family, shape, kw, message", [
    ("nope", (40,), {}, "unknown family 'nope'; accepted: mlp, cnn1d, resnet, inception, "
     "mobilenet_v2, efficientnet, regnet. Received: family='nope'"),
    ("mlp", (50,), dict(modality="tokens", vocab=100),
     "modality 'tokens' (integer IDs) needs an Embedding front end, which only families "
     "'cnn1d' or 'transformer' have. Received: modality='tokens', family='mlp'"),
    ("cnn1d", (40,), {}, "family 'cnn1d' needs a sequence (length x channels) input. "
     "Received: input_shape=(40,), family='cnn1d'"),
    ("resnet", (40,), {}, "family 'resnet' needs a sequence (length x channels) or image "
     "(H x W x C) input. Received: input_shape=(40,), family='resnet'"),
    ("mlp", (8, 8, 3), {"modality": "image"}, None),
    ("resnet", (8, 8, 1), dict(modality="vector"),
     "modality 'vector' flattens the input, which only family 'mlp' takes. "
     "Received: modality='vector', family='resnet'"),
    ("cnn1d", (40, 2), dict(modality="vector"),
     "modality 'vector' flattens the input, which only family 'mlp' takes. "
     "Received: modality='vector', family='cnn1d'"),
    ("cnn1d", (50,), dict(modality="tokens", vocab=100), None),
    ("mlp", (8, 8, 1), dict(modality="vector"), None),
    ("resnet", (40, 2), {}, None),
])
def test_override_messages(family, shape, kw, message):
    t = task(shape, **kw)
    if message is None:
        check_family_fits_task(family, t, KNOWN)
        return
    with pytest.raises(SpecError) as info:
        check_family_fits_task(family, t, KNOWN)
    assert str(info.value) == message


def test_the_family_facts_the_messages_rest_on():
    """Which family takes tokens and which flattens its input (the registry's metadata)."""
    registry = families()
    assert [n for n in registry if registry.get(n).takes_tokens] == ["cnn1d", "transformer"]
    assert [n for n in registry if registry.get(n).flattens_input] == ["mlp"]
    # only the MLP takes a rank-1 input, and it takes every rank
    assert [n for n in registry if 1 in registry.get(n).ranks] == ["mlp"]
    assert set(registry.get("mlp").ranks) == {1, 2, 3}
