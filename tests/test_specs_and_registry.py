"""Specs, overrides, the registries and the light import path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import archscale
from archscale import SpecError
from archscale.reference_archs.registry import Registry, families
from archscale.specs import Budget, Task


def test_registry_refuses_duplicates_and_filters_by_pattern():
    reg: Registry[int] = Registry("thing")
    reg.register("resnet18", 1)
    reg.register("resnet50", 2)
    reg.register("mlp", 3)
    with pytest.raises(SpecError, match="duplicate thing name"):
        reg.register("mlp", 4)
    assert reg.names("resnet*") == ["resnet18", "resnet50"]
    with pytest.raises(SpecError, match="unknown thing 'vgg'; accepted: resnet18"):
        reg.get("vgg")


def test_list_presets_pattern():
    assert set(archscale.list_presets("efficientnet_b*")) == {f"efficientnet_b{i}"
                                                            for i in range(8)}


def test_unknown_preset_names_the_accepted_ones():
    with pytest.raises(SpecError, match=r"unknown preset 'resnet9'.*resnet18"):
        archscale.preset("resnet9")


def test_override_unknown_field_lists_fields():
    with pytest.raises(SpecError, match=r"unknown field 'depth'.*accepted fields: input_shape"):
        archscale.preset("mlp", depth=3)


@pytest.mark.parametrize("name, field, value", [
    ("mlp", "classes", 0),
    ("mlp", "classes", 2.5),
    ("mlp", "widths", (64, -3)),
    ("mlp", "dropout", (1.5, 0.0)),
    ("mlp", "activation", "relu7"),
    ("mlp", "input_shape", (0,)),
    ("mnist1d_cnn", "filters", (25, 0, 25)),
    ("mnist1d_cnn", "padding", "full"),
    ("mnist1d_cnn", "input_shape", (40, 1, 1)),
])
def test_invalid_override_names_the_field(name, field, value):
    with pytest.raises(SpecError, match=rf"Received: {field}(\[\d+\])?="):
        archscale.preset(name, **{field: value})


def test_overrides_change_only_what_they_name():
    base = archscale.preset("resnet50")
    spec = archscale.preset("resnet50", input_shape=(64, 64, 3), classes=10)
    assert spec.input_shape == (64, 64, 3) and spec.classes == 10
    assert spec.replace(input_shape=base.input_shape, classes=base.classes) == base


def test_json_lists_become_tuples_and_hash_is_stable():
    spec = archscale.spec_from_dict({"family": "mlp", "input_shape": [40], "classes": 3,
                                     "widths": [16, 8], "dropout": [0, 0.25]})
    assert spec.widths == (16, 8) and isinstance(spec.dropout[0], float)
    assert spec.spec_hash() == archscale.spec_from_dict(json.loads(spec.to_json())).spec_hash()
    assert spec.spec_hash() != spec.replace(classes=4).spec_hash()


def test_spec_from_dict_errors():
    with pytest.raises(SpecError, match="'family' key"):
        archscale.spec_from_dict({"input_shape": [3]})
    with pytest.raises(SpecError, match="unknown family 'alexnet'"):
        archscale.spec_from_dict({"family": "alexnet", "input_shape": [3]})
    with pytest.raises(SpecError, match="'input_shape' is required"):
        archscale.spec_from_dict({"family": "mlp"})


def test_every_family_is_registered_once():
    assert set(families()) == {"mlp", "cnn1d", "resnet", "inception", "mobilenet_v2",
                               "efficientnet", "regnet",
                               "mobilenet", "mobilenet_v3", "efficientnet_v2", "convnext",
                               "regnety",
                               "densenet", "xception", "vgg", "tcn", "transformer", "vit"}


def test_task_and_budget_validate():
    task = Task(input_shape=[32, 32, 3], classes=10, samples=50000)
    assert task.modality == "image" and task.input_shape == (32, 32, 3)
    with pytest.raises(SpecError, match="samples"):
        Task(input_shape=(40,), classes=10, samples=0)
    with pytest.raises(SpecError, match="modality"):
        Task(input_shape=(40,), classes=10, samples=10, modality="audio")
    with pytest.raises(SpecError, match="max_macs"):
        Budget(max_macs=-1)


def test_profile_rejects_other_objects():
    with pytest.raises(archscale.UnsupportedModelError, match="Received: int"):
        archscale.profile(3)


def test_light_path_does_not_import_tensorflow():
    code = ("import sys, archscale; p = archscale.profile(archscale.preset('resnet50')); "
            "assert p.params == 25636712; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
