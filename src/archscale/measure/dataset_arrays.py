"""``Dataset``, the validated train/test arrays every loader returns, and
``dataset_from_arrays``, the validation all loaders share (no TensorFlow).

Labels are integer class ids in ``[0, classes)``. One-hot label matrices of shape
``(n, classes)`` (rows of 0/1 with exactly one 1) are accepted and converted with ``argmax``;
``(n, 1)`` label columns are flattened; float labels must hold whole numbers. Inputs are
converted to ``float32``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from archscale.errors import ArchscaleError, SpecError


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split ready for ``keras.Model.fit`` (arrays are read-only).

    Attributes:
        name: Dataset name as given to ``load_dataset`` (``npz:`` paths are made absolute).
        x_train, y_train, x_test, y_test: ``float32`` inputs and ``int64`` class ids.
        input_shape: Shape of one example without the batch axis.
        classes: Number of classes; every label is in ``[0, classes)``.
        options: The generation options used (for records and job keys).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, ...]
    classes: int
    options: Mapping[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """SHA-256 (first 16 hex chars) of the four arrays and the class count."""
        digest = hashlib.sha256(str(self.classes).encode())
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(str((array.dtype.str, array.shape)).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]

    def to_row(self) -> dict[str, Any]:
        """Flat record columns describing the dataset."""
        return {
            "dataset": self.name,
            "dataset_train_examples": int(len(self.y_train)),
            "dataset_test_examples": int(len(self.y_test)),
            "dataset_input_shape": list(self.input_shape),
            "dataset_classes": self.classes,
            "dataset_hash": self.content_hash(),
        }


# ---------------------------------------------------------------------------------------------
# Validation (shared by every loader)
# ---------------------------------------------------------------------------------------------


def _as_inputs(split: str, x: Any, fail: Callable[[str], ArchscaleError]) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise fail(f"x_{split} must hold numbers; got dtype {x.dtype}. Received: "
                   f"x_{split}.dtype={x.dtype}")
    if x.ndim < 2 or x.ndim > 4:
        raise fail(f"x_{split} must have shape (examples, features...) of rank 2 to 4. "
                   f"Received: x_{split}.shape={x.shape}")
    if len(x) == 0:
        raise fail(f"the {split} split is empty. Received: x_{split}.shape={x.shape}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise fail(f"x_{split} contains NaN or infinite values. Received: "
                   f"x_{split} with {int((~np.isfinite(x)).sum())} non-finite entries")
    return x


def _as_labels(split: str, y: Any,
               fail: Callable[[str], ArchscaleError]) -> tuple[np.ndarray, int]:
    """Class ids as int64, and the one-hot width (0 when the labels were not one-hot)."""
    y = np.asarray(y)
    width = 0
    if y.dtype.kind not in "biuf":
        raise fail(f"y_{split} must hold integer class ids; got dtype {y.dtype}. Received: "
                   f"y_{split}.dtype={y.dtype}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.shape[1] > 1:
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise fail(f"y_{split} of shape {y.shape} is not one-hot (each row a single 1). "
                       f"Received: y_{split}.shape={y.shape}")
        y, width = y.argmax(axis=1), y.shape[1]
    if y.ndim != 1:
        raise fail(f"y_{split} must be a vector of class ids or a one-hot matrix. Received: "
                   f"y_{split}.shape={y.shape}")
    if len(y) == 0:
        raise fail(f"the {split} split is empty. Received: y_{split}.shape={y.shape}")
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
        raise fail(f"y_{split} must hold integer class ids; found non-integer values. "
                   f"Received: y_{split}.dtype={y.dtype}")
    return y.astype(np.int64), width


def dataset_from_arrays(name: str, x_train: Any, y_train: Any, x_test: Any, y_test: Any, *,
                        classes: int | None = None, options: Mapping[str, Any] | None = None,
                        error: type[ArchscaleError] = SpecError) -> Dataset:
    """Validate arrays and wrap them in a ``Dataset``.

    Args:
        name: Dataset name recorded with results.
        x_train, y_train, x_test, y_test: Inputs (numeric, rank 2 to 4 with the example axis
            first) and labels (class ids, a ``(n, 1)`` column, or one-hot rows).
        classes: Number of classes; default ``max(label) + 1`` (one-hot: the row width).
        options: Generation options kept in ``Dataset.options``.
        error: Exception class raised on invalid data (``InputFileError`` for user files).

    Returns:
        A ``Dataset`` with read-only ``float32`` inputs and ``int64`` labels.

    Raises:
        SpecError / ``error``: wrong dtypes, empty splits, mismatched shapes or lengths, labels
            outside ``[0, classes)``, non-finite inputs.
    """
    def fail(message: str) -> ArchscaleError:
        return error(f"dataset {name!r}: {message}")

    xs = {"train": _as_inputs("train", x_train, fail), "test": _as_inputs("test", x_test, fail)}
    (y_tr, w_tr), (y_te, w_te) = (_as_labels("train", y_train, fail),
                                  _as_labels("test", y_test, fail))
    ys, onehot_width = {"train": y_tr, "test": y_te}, max(w_tr, w_te)
    for split in ("train", "test"):
        if len(xs[split]) != len(ys[split]):
            raise fail(f"x_{split} and y_{split} have different lengths. Received: "
                       f"len(x_{split})={len(xs[split])}, len(y_{split})={len(ys[split])}")
    if xs["train"].shape[1:] != xs["test"].shape[1:]:
        raise fail("x_train and x_test examples have different shapes. Received: "
                   f"x_train.shape={xs['train'].shape}, x_test.shape={xs['test'].shape}")
    if classes is None:
        classes = max(int(onehot_width), int(max(ys["train"].max(), ys["test"].max())) + 1)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise fail(f"classes must be an int >= 2. Received: classes={classes!r}")
    for split in ("train", "test"):
        bad = ys[split][(ys[split] < 0) | (ys[split] >= classes)]
        if bad.size:
            raise fail(f"y_{split} has labels outside [0, {classes}). Received: "
                       f"label={int(bad[0])}")
    for array in (*xs.values(), *ys.values()):
        array.setflags(write=False)
    return Dataset(name=name, x_train=xs["train"], y_train=ys["train"], x_test=xs["test"],
                   y_test=ys["test"], input_shape=tuple(int(d) for d in xs["train"].shape[1:]),
                   classes=classes, options=dict(options or {}))
