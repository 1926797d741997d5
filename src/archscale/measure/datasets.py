"""Datasets for accuracy measurements. None of them downloads anything.

``load_dataset(name, **options)`` returns a validated ``Dataset``:

========================  ================  ===============================================
name                      input_shape        source
========================  ================  ===============================================
``mnist1d``               ``(40,)``          ``mnist1d.data.make_dataset`` (procedural, 4000/1000)
``mnist1d_seq``           ``(40, 1)``        the same arrays as a length-40, 1-channel sequence
``digits``                ``(8, 8, 1)``      scikit-learn's bundled 8x8 digits, scaled to [0, 1]
``synthetic``             ``(R, R, C)``      procedural shifted-texture images (see below)
``breast_cancer``         ``(30,)``          scikit-learn's bundled Wisconsin breast cancer, 2 classes
``wine``                  ``(13,)``          scikit-learn's bundled wine recognition, 3 classes
``npz:/path/file.npz``    from the file      arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``
========================  ================  ===============================================

Labels are integer class ids in ``[0, classes)``. One-hot label matrices of shape
``(n, classes)`` (rows of 0/1 with exactly one 1) are accepted and converted with ``argmax``;
``(n, 1)`` label columns are flattened; float labels must hold whole numbers. Inputs are converted to ``float32``. Generated arrays are cached in memory
per process; MNIST-1D is also cached on disk (``$ARCHSCALE_CACHE_DIR``, else
``$XDG_CACHE_HOME/archscale``, else ``~/.cache/archscale``; set ``ARCHSCALE_CACHE_DIR`` to an
empty string to disable the disk cache).
"""

from __future__ import annotations

import inspect
import os
import random
import tempfile
import zipfile
from typing import Any, Callable

import numpy as np

from archscale.errors import InputFileError, SpecError
from archscale.measure.dataset_arrays import Dataset, dataset_from_arrays
from archscale.specs import check_fraction, check_positive_int, check_positive_number

__all__ = ["DATASETS", "NPZ_KEYS", "Dataset", "dataset_from_arrays", "dataset_kind",
           "list_datasets", "load_dataset"]

DATASETS = ("mnist1d", "mnist1d_seq", "digits", "synthetic", "breast_cancer", "wine",
            "npz:<path>")

#: ``mnist1d(train_samples=N)`` draws its N training examples from one fixed generation of
#: this many examples (80/20: 64,000 training, 16,000 test) and always tests on its 16,000
#: test examples, so every training-set size is tested the same way.
MNIST1D_POOL_SAMPLES = 80_000
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


# ---------------------------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------------------------


def _cache_dir() -> str | None:
    configured = os.environ.get("ARCHSCALE_CACHE_DIR")
    if configured is not None:
        return configured or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "archscale")


def _mnist1d_arrays(seed: int, num_samples: int) -> dict[str, np.ndarray]:
    """Generate MNIST-1D with the package's defaults (seed 42 = the published data)."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed, args.num_samples = seed, num_samples
    np_state, py_state = np.random.get_state(), random.getstate()
    try:  # make_dataset reseeds the global generators; leave the caller's state alone
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {"x_train": data["x"], "y_train": data["y"], "x_test": data["x_test"],
            "y_test": data["y_test"]}


def _cached_mnist1d(seed: int, num_samples: int) -> dict[str, np.ndarray]:
    directory = _cache_dir()
    path = directory and os.path.join(directory, f"mnist1d_seed{seed}_n{num_samples}.npz")
    if path and os.path.exists(path):
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {key: stored[key] for key in NPZ_KEYS}
        except (OSError, ValueError, KeyError):
            pass  # corrupt cache entry: regenerate and overwrite
    arrays = _mnist1d_arrays(seed, num_samples)
    if path:
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".npz.tmp")
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache location only costs regeneration time
    return arrays


def _load_mnist1d(name: str, *, seed: int = 42, num_samples: int = 5000,
                  train_samples: int | None = None) -> Dataset:
    """MNIST-1D (Greydanus 2020): 80/20 split, 10 classes, length-40 signals.

    ``train_samples=N`` instead trains on the first N of the 64,000 training examples of one
    80,000-example generation and tests on its 16,000 test examples (``num_samples`` is then
    ignored), so training-set sizes from 50 to 64,000 share one test protocol.
    """
    check_positive_int("seed", seed, allow_zero=True)
    check_positive_int("num_samples", num_samples)
    if num_samples < 50:
        raise SpecError(f"num_samples must be at least 50. Received: num_samples={num_samples}")
    options: dict[str, Any] = {"seed": seed, "num_samples": num_samples}
    if train_samples is None:
        arrays = _cached_mnist1d(seed, num_samples)
    else:
        pool = MNIST1D_POOL_SAMPLES * 4 // 5
        check_positive_int("train_samples", train_samples)
        if not 50 <= train_samples <= pool:
            raise SpecError(f"train_samples must be between 50 and {pool}. "
                            f"Received: train_samples={train_samples}")
        arrays = dict(_cached_mnist1d(seed, MNIST1D_POOL_SAMPLES))
        arrays["x_train"] = arrays["x_train"][:train_samples]
        arrays["y_train"] = arrays["y_train"][:train_samples]
        options = {"seed": seed, "train_samples": train_samples}
    if name == "mnist1d_seq":
        arrays = {k: v[..., None] if k.startswith("x") else v for k, v in arrays.items()}
    return dataset_from_arrays(name, **arrays, classes=10, options=options)


def _load_digits(name: str, *, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's bundled 1797 8x8 digits, pixel values / 16, stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    check_fraction("test_fraction", test_fraction)
    check_positive_int("seed", seed, allow_zero=True)
    if not test_fraction:
        raise SpecError("test_fraction must be > 0. Received: test_fraction=0")
    digits = load_digits()
    x = (digits.images / 16.0)[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=test_fraction, random_state=seed, stratify=digits.target)
    return dataset_from_arrays(name, x_train, y_train, x_test, y_test, classes=10,
                               options={"test_fraction": test_fraction, "seed": seed})


def _load_tabular(name: str, *, test_fraction: float = 0.3, seed: int = 0) -> Dataset:
    """A small scikit-learn tabular set (``breast_cancer``: 569 x 30, 2 classes; ``wine``:
    178 x 13, 3 classes): stratified split, features standardised with the training split's
    mean and standard deviation (the test split never informs the scaling)."""
    from sklearn.datasets import load_breast_cancer, load_wine
    from sklearn.model_selection import train_test_split

    check_fraction("test_fraction", test_fraction)
    check_positive_int("seed", seed, allow_zero=True)
    if not test_fraction:
        raise SpecError("test_fraction must be > 0. Received: test_fraction=0")
    bunch = (load_breast_cancer if name == "breast_cancer" else load_wine)()
    x_train, x_test, y_train, y_test = train_test_split(
        bunch.data, bunch.target, test_size=test_fraction, random_state=seed,
        stratify=bunch.target)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return dataset_from_arrays(name, x_train, y_train, x_test, y_test,
                               classes=int(bunch.target.max()) + 1,
                               options={"test_fraction": test_fraction, "seed": seed})


def _synthetic_arrays(rng: np.random.Generator, labels: np.ndarray, resolution: int,
                      channels: int, textures: np.ndarray, max_shift: int,
                      noise: float) -> np.ndarray:
    """Images of the class textures, circularly shifted, amplitude-jittered, plus noise."""
    n, r = len(labels), resolution
    grid = 2 * np.pi * np.arange(r) / r
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n, 2))
    gain = rng.uniform(0.8, 1.2, size=n).astype(np.float32)
    x = rng.normal(0.0, noise, size=(n, r, r, channels)).astype(np.float32)
    freqs, amps, phases = textures
    for c in range(len(amps)):
        idx = np.flatnonzero(labels == c)
        for ch in range(channels):
            for (fy, fx), amp, phase in zip(freqs[c, ch], amps[c, ch], phases[c, ch]):
                theta = fy * grid[:, None] + fx * grid[None, :]                    # (r, r)
                phi = phase - 2 * np.pi * (fy * shifts[idx, 0] + fx * shifts[idx, 1]) / r
                wave = (np.cos(phi)[:, None, None] * np.cos(theta)
                        - np.sin(phi)[:, None, None] * np.sin(theta))
                x[idx, :, :, ch] += (gain[idx, None, None] * amp * wave).astype(np.float32)
    return x


def _load_synthetic(name: str, *, resolution: int = 32, channels: int = 3, classes: int = 10,
                    samples: int = 2000, test_samples: int = 500, noise: float = 2.0,
                    max_shift: int | None = None, waves: int = 4, seed: int = 0) -> Dataset:
    """Procedural image task: each class is a texture (a sum of ``waves`` random low-frequency
    2-D sinusoids per channel, unit RMS); an example is its class texture circularly shifted by
    up to ``max_shift`` pixels (default ``resolution // 4``) along each axis, scaled by
    U(0.8, 1.2), plus Gaussian noise of std ``noise``. Deterministic given ``seed``; classes
    are balanced."""
    for field_name, value in (("resolution", resolution), ("channels", channels),
                              ("classes", classes), ("samples", samples),
                              ("test_samples", test_samples), ("waves", waves)):
        check_positive_int(field_name, value)
    check_positive_int("seed", seed, allow_zero=True)
    if classes < 2:
        raise SpecError(f"classes must be at least 2. Received: classes={classes}")
    if noise != 0:
        check_positive_number("noise", noise)
    max_shift = resolution // 4 if max_shift is None else max_shift
    check_positive_int("max_shift", max_shift, allow_zero=True)
    rng = np.random.default_rng(seed)
    span = max(1, min(3, resolution // 4))
    freqs = rng.integers(-span, span + 1, size=(classes, channels, waves, 2))
    freqs[(freqs == 0).all(axis=-1)] = (0, 1)  # no constant waves
    amps = rng.normal(size=(classes, channels, waves))
    amps *= np.sqrt(2.0 / (amps ** 2).sum(axis=-1, keepdims=True))  # unit RMS per channel
    phases = rng.uniform(0, 2 * np.pi, size=(classes, channels, waves))
    labels = [rng.permutation(np.arange(n) % classes) for n in (samples, test_samples)]
    xs = [_synthetic_arrays(rng, y, resolution, channels, (freqs, amps, phases),
                            max_shift, noise) for y in labels]
    options = {"resolution": resolution, "channels": channels, "classes": classes,
               "samples": samples, "test_samples": test_samples, "noise": noise,
               "max_shift": max_shift, "waves": waves, "seed": seed}
    return dataset_from_arrays(name, xs[0], labels[0], xs[1], labels[1], classes=classes,
                               options=options)


def _read_npz(path: str) -> dict[str, np.ndarray]:
    """The four arrays of an ``.npz`` file, read without unpickling anything."""
    def fail(reason: str) -> InputFileError:
        return InputFileError(f"dataset file {path!r} {reason}")

    try:
        stored = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise fail(f"cannot be read: {exc.strerror or exc}") from None
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise fail(f"is not an .npz archive: {str(exc).splitlines()[0] if str(exc) else exc!r}"
                   ) from None
    if not isinstance(stored, np.lib.npyio.NpzFile):
        raise fail("holds a single array (.npy), not an .npz archive with x_train, y_train, "
                   "x_test, y_test")
    with stored:
        missing = [key for key in NPZ_KEYS if key not in stored.files]
        if missing:
            raise fail(f"lacks array {missing[0]!r}; expected {', '.join(NPZ_KEYS)}. "
                       f"Received: keys={sorted(stored.files)}")
        try:
            return {key: stored[key] for key in NPZ_KEYS}
        except ValueError as exc:  # object arrays would need pickle
            raise fail(f"holds non-numeric (object) arrays: {str(exc).splitlines()[0]}"
                       ) from None
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise fail(f"is corrupt: {exc}") from None


def _load_npz(name: str, *, classes: int | None = None) -> Dataset:
    """A user ``.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (no pickles)."""
    path = os.path.abspath(os.path.expanduser(name[len("npz:"):]))
    return dataset_from_arrays(f"npz:{path}", **_read_npz(path), classes=classes,
                               options={"path": path}, error=InputFileError)


_LOADERS: dict[str, Callable[..., Dataset]] = {
    "mnist1d": _load_mnist1d,
    "mnist1d_seq": _load_mnist1d,
    "digits": _load_digits,
    "synthetic": _load_synthetic,
    "breast_cancer": _load_tabular,
    "wine": _load_tabular,
}
_CACHE: dict[tuple[str, tuple[tuple[str, Any], ...]], Dataset] = {}


def list_datasets() -> tuple[str, ...]:
    """Names ``load_dataset`` accepts (``npz:<path>`` stands for any ``.npz`` file)."""
    return DATASETS


def dataset_kind(name: str) -> str:
    """The loader a name selects: a ``DATASETS`` name, or ``npz``.

    Raises:
        SpecError: the name is not a known dataset.
    """
    if isinstance(name, str) and name.startswith("npz:") and len(name) > 4:
        return "npz"
    if name not in _LOADERS:
        raise SpecError(f"unknown dataset; accepted: {', '.join(DATASETS)}. "
                        f"Received: dataset={name!r}")
    return name


def load_dataset(name: str, **options: Any) -> Dataset:
    """Load (generate) a dataset by name; results are cached per process.

    Args:
        name: ``mnist1d``, ``mnist1d_seq``, ``digits``, ``synthetic``, ``breast_cancer``,
            ``wine`` or ``npz:/path/file.npz``.
        **options: Loader options. mnist1d: ``seed=42``, ``num_samples=5000``,
            ``train_samples`` (see ``MNIST1D_POOL_SAMPLES``). breast_cancer / wine:
            ``test_fraction=0.3``, ``seed=0``. digits:
            ``test_fraction=0.2``, ``seed=0``. synthetic: ``resolution=32``, ``channels=3``,
            ``classes=10``, ``samples=2000`` (train), ``test_samples=500``, ``noise=2.0``,
            ``max_shift=resolution // 4``, ``waves=4``, ``seed=0``. npz: ``classes``
            (default: largest label + 1).

    Returns:
        The validated ``Dataset``.

    Raises:
        SpecError: unknown name or option, invalid option value, invalid generated arrays.
        InputFileError: an npz file that is unreadable, lacks a key or holds invalid arrays.
    """
    kind = dataset_kind(name)
    loader = _load_npz if kind == "npz" else _LOADERS[kind]
    accepted = [p for p in inspect.signature(loader).parameters if p != "name"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise SpecError(f"unknown option {unknown[0]!r} for dataset {kind!r}; accepted: "
                        f"{', '.join(accepted)}. Received: {unknown[0]}={options[unknown[0]]!r}")
    try:
        key = (name, tuple(sorted(options.items())))
        hash(key)
    except TypeError:
        raise SpecError(f"dataset options must be plain values. Received: {options!r}") from None
    if key in _CACHE:
        return _CACHE[key]
    dataset = loader(name, **options)
    if kind != "npz":  # files may change on disk: re-read them every time
        _CACHE[key] = dataset
    return dataset
