"""Datasets: shapes, splits, determinism, caching, and one-line errors for bad user data."""

from __future__ import annotations

import random

import numpy as np
import pytest

from archscale.errors import InputFileError, SpecError
from archscale.measure import datasets
from archscale.measure.datasets import dataset_from_arrays, load_dataset


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Disk cache in a per-session temp dir; the in-process cache is kept (it is the point)."""
    monkeypatch.setenv("ARCHSCALE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.mark.parametrize("name, options, input_shape, train, test, classes", [
    ("mnist1d", {}, (40,), 4000, 1000, 10),
    ("mnist1d_seq", {}, (40, 1), 4000, 1000, 10),
    ("digits", {}, (8, 8, 1), 1437, 360, 10),
    ("synthetic", {}, (32, 32, 3), 2000, 500, 10),
    ("synthetic", {"resolution": 12, "channels": 1, "classes": 4, "samples": 100,
                   "test_samples": 40}, (12, 12, 1), 100, 40, 4),
])
def test_builtin_datasets_shapes_and_labels(name, options, input_shape, train, test, classes):
    data = load_dataset(name, **options)
    assert data.name == name
    assert data.input_shape == input_shape and data.classes == classes
    assert data.x_train.shape == (train, *input_shape) and data.x_test.shape == (test, *input_shape)
    assert data.y_train.shape == (train,) and data.y_test.shape == (test,)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    for y in (data.y_train, data.y_test):
        assert set(np.unique(y)) == set(range(classes))  # every class present, none outside
    assert not data.x_train.flags.writeable  # shared, cached arrays are read-only
    row = data.to_row()
    assert row["dataset_train_examples"] == train and row["dataset_input_shape"] == list(
        input_shape)


def test_mnist1d_is_the_package_generator_and_leaves_global_rng_alone(monkeypatch, tmp_path):
    from mnist1d.data import get_dataset_args, make_dataset

    monkeypatch.setenv("ARCHSCALE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(datasets, "_CACHE", {})
    np.random.seed(123)
    random.seed(123)
    np_before, py_before = np.random.get_state()[1].copy(), random.getstate()
    data = load_dataset("mnist1d")
    assert (np.random.get_state()[1] == np_before).all() and random.getstate() == py_before
    reference = make_dataset(get_dataset_args())
    np.testing.assert_array_equal(data.x_train, reference["x"].astype(np.float32))
    np.testing.assert_array_equal(data.y_test, reference["y_test"])
    seq = load_dataset("mnist1d_seq")
    np.testing.assert_array_equal(seq.x_test[..., 0], data.x_test)
    # the disk cache written by the first load gives identical arrays in a "new process"
    assert list(tmp_path.glob("mnist1d_*.npz"))
    monkeypatch.setattr(datasets, "_CACHE", {})
    again = load_dataset("mnist1d")
    assert again is not data and again.content_hash() == data.content_hash()


def test_in_process_cache_returns_the_same_object():
    assert load_dataset("digits") is load_dataset("digits")
    assert load_dataset("digits", seed=1) is not load_dataset("digits")


def test_synthetic_is_deterministic_given_a_seed():
    options = {"resolution": 16, "channels": 2, "samples": 60, "test_samples": 20}
    first = datasets._load_synthetic("synthetic", **options, seed=5)
    second = datasets._load_synthetic("synthetic", **options, seed=5)
    other = datasets._load_synthetic("synthetic", **options, seed=6)
    assert first.content_hash() == second.content_hash() != other.content_hash()
    np.testing.assert_array_equal(first.x_train, second.x_train)
    assert np.bincount(first.y_train).tolist() == [6] * 10  # balanced


def _write_npz(path, **arrays):
    base = {"x_train": np.zeros((6, 4), np.float32), "y_train": np.array([0, 1, 2, 0, 1, 2]),
            "x_test": np.ones((3, 4), np.float32), "y_test": np.array([2, 1, 0])}
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return f"npz:{path}"


def test_npz_round_trip_with_one_hot_and_column_labels(tmp_path):
    name = _write_npz(tmp_path / "ok.npz", y_train=np.eye(4)[[0, 1, 2, 3, 1, 2]],
                      y_test=np.array([[3], [1], [0]]), x_test=np.ones((3, 4), np.float64))
    data = load_dataset(name)
    assert data.classes == 4 and data.input_shape == (4,)
    assert data.y_train.tolist() == [0, 1, 2, 3, 1, 2] and data.y_test.tolist() == [3, 1, 0]
    assert data.x_test.dtype == np.float32 and data.name == f"npz:{tmp_path / 'ok.npz'}"
    assert load_dataset(name, classes=7).classes == 7


@pytest.mark.parametrize("arrays, options, fragment", [
    ({"x_test": np.ones((3, 5), np.float32)}, {}, "different shapes"),
    ({"x_train": np.array([["a"] * 4] * 6)}, {}, "must hold numbers"),
    ({"y_train": np.array(["0", "1", "2", "0", "1", "2"])}, {}, "integer class ids"),
    ({"y_train": np.array([0.5, 1, 2, 0, 1, 2])}, {}, "non-integer"),
    ({"y_test": np.array([0, 1, -1])}, {}, "outside [0, 3)"),
    ({"y_test": np.array([0, 1, 5])}, {"classes": 3}, "label=5"),
    ({"x_test": np.zeros((0, 4), np.float32), "y_test": np.zeros((0,), np.int64)}, {},
     "test split is empty"),
    ({"x_train": np.zeros((0, 4), np.float32)}, {}, "train split is empty"),
    ({"y_train": np.array([0, 1, 2])}, {}, "different lengths"),
    ({"y_test": None}, {}, "lacks array 'y_test'"),
    ({"x_train": np.full((6, 4), np.nan, np.float32)}, {}, "NaN or infinite"),
    ({"y_train": np.full((6, 3), 0.5)}, {}, "not one-hot"),
    ({"x_train": np.zeros(6, np.float32)}, {}, "rank 2 to 4"),
    ({"x_train": np.array([None] * 24, dtype=object).reshape(6, 4)}, {}, "object"),
])
def test_npz_errors_are_one_line_input_file_errors(tmp_path, arrays, options, fragment):
    name = _write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputFileError) as info:
        load_dataset(name, **options)
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert str(tmp_path / "bad.npz") in message


@pytest.mark.parametrize("content, fragment", [
    (None, "cannot be read"),
    (b"definitely not a zip archive", "not an .npz archive"),
    (b"PK\x03\x04truncated", "not an .npz archive"),
    ("npy", "single array"),
])
def test_unreadable_files(tmp_path, content, fragment):
    path = tmp_path / "file.npz"
    if content == "npy":
        with open(path, "wb") as handle:
            np.save(handle, np.zeros(3))
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFileError) as info:
        load_dataset(f"npz:{path}")
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name, options, fragment", [
    ("imagenet", {}, "unknown dataset"),
    ("npz:", {}, "unknown dataset"),
    ("digits", {"resolution": 8}, "unknown option 'resolution'"),
    ("synthetic", {"classes": 1}, "classes"),
    ("synthetic", {"noise": -1.0}, "noise"),
    ("synthetic", {"resolution": 0}, "resolution"),
    ("mnist1d", {"num_samples": 10}, "num_samples"),
    ("digits", {"test_fraction": 0.0}, "test_fraction"),
    ("digits", {"seed": [1]}, "plain values"),
])
def test_bad_names_and_options_raise_spec_error(name, options, fragment):
    with pytest.raises(SpecError, match=None) as info:
        load_dataset(name, **options)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_arrays_in_memory_raise_spec_error():
    with pytest.raises(SpecError, match="x_train and x_test examples have different shapes"):
        dataset_from_arrays("mine", np.zeros((4, 3)), [0, 1, 0, 1], np.zeros((2, 2)), [0, 1])
    with pytest.raises(SpecError, match="classes must be an int >= 2"):
        dataset_from_arrays("mine", np.zeros((4, 3)), [0, 0, 0, 0], np.zeros((2, 3)), [0, 0])
    data = dataset_from_arrays("mine", np.zeros((4, 3)), [0, 1, 0, 1], np.zeros((2, 3)), [1, 0])
    assert data.classes == 2 and data.input_shape == (3,)
