"""The catalogue rows (``archscale.catalogue``) and their table rendering."""

from __future__ import annotations

import json

import pytest

import archscale
from archscale.catalogue import CATALOGUE_KEYS, catalogue_rows, matches
from archscale.cli_verbs.catalogue import HEADERS, catalogue_table, table_row


@pytest.fixture(scope="module")
def rows():
    return catalogue_rows()


def test_one_row_per_preset_in_catalogue_order(rows):
    assert [r["name"] for r in rows] == archscale.list_presets()


def test_rows_have_the_stable_keys_and_are_json(rows):
    for row in rows:
        assert tuple(row) == CATALOGUE_KEYS
        assert isinstance(row["input_shape"], list)
    assert json.loads(json.dumps(rows)) == rows


def test_rows_equal_the_profile_of_each_preset(rows):
    for row in rows:
        spec = archscale.preset(row["name"])
        prof = archscale.profile(spec)
        assert row["family"] == spec.family
        assert row["input_shape"] == list(spec.input_shape)
        assert row["classes"] == spec.classes
        assert (row["params"], row["trainable_params"], row["macs"], row["flops"],
                row["depth"]) == (prof.params, prof.trainable_params, prof.macs, prof.flops,
                                  prof.depth)
        assert row["description"]


@pytest.mark.parametrize("name, params, depth", [
    ("mlp", 235_146, 3),
    ("mnist1d_cnn", 5_210, 4),
    ("mobilenet_v2", 3_538_984, 53),
    ("inception_v3", 23_851_784, None),
])
def test_reference_rows(rows, name, params, depth):
    row = next(r for r in rows if r["name"] == name)
    assert row["params"] == params
    if depth is not None:
        assert row["depth"] == depth


@pytest.mark.parametrize("pattern, expected", [
    ("mnist1d_*", ["mnist1d_mlp", "mnist1d_cnn"]),
    ("MNIST1D_CNN", ["mnist1d_cnn"]),          # case-insensitive
    ("cnn1d", ["mnist1d_cnn"]),                # family name
    ("mlp", ["mlp", "mnist1d_mlp"]),           # preset name or family name
    ("no_such_thing*", []),
])
def test_pattern_matches_names_or_families(pattern, expected):
    assert [r["name"] for r in catalogue_rows(pattern)] == expected


def test_matches_is_a_case_insensitive_glob():
    assert matches("res*", "ResNet50")
    assert matches("x", "a", "x")
    assert not matches("res", "resnet50")


@pytest.mark.parametrize("fmt, marker", [
    ("github", "| mnist1d_cnn"), ("latex", "\\begin{tabular}"), ("html", "<table>"),
    ("tsv", "mnist1d_cnn\t"), ("simple", "mnist1d_cnn"),
])
def test_table_formats(fmt, marker):
    text = catalogue_table(catalogue_rows("mnist1d_*"), fmt)
    assert marker in text
    assert "5.21K" in text  # mnist1d_cnn params, human-readable


def test_exact_and_human_cells():
    row = catalogue_rows("mnist1d_cnn")[0]
    assert table_row(row) == ["mnist1d_cnn", "cnn1d", "40x1", "10", "5.21K", "31.9K", 4,
                              row["description"]]
    assert table_row(row, exact=True)[4:6] == [5210, 31875]
    assert len(HEADERS) == len(table_row(row))
    assert "5,210" in catalogue_table([row], "github", exact=True)
