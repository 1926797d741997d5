"""``archscale.inspect(...)``: train (or load) a model, read its layers, advise, write pictures.

The order is chosen so that bad input fails before anything costly and nothing is written
unless everything succeeded: the target, dataset, layer addresses, ``samples``, ``out`` and
``apply`` are all checked first (layer addresses against the built, untrained model), then the
model is trained with the dataset's recipe (or loaded), read, advised on; the report directory
is written atomically, then the ``apply`` file (written to a temporary file and renamed).
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from archscale.errors import InputFileError, SpecError
from archscale.inspection.advice import (LayerAdvice, SpecAdvice, advise_spec, estimate_saving,
                                         recommended_width)
from archscale.inspection.extract import (LayerActivations, check_input, default_layers,
                                          extract, kernel_and_reader, parse_layer_list,
                                          resolve_layers)
from archscale.inspection.regularisation import regularisation_signals
from archscale.inspection.result import Inspection
from archscale.measure.accuracy import fit_spec_to_dataset
from archscale.measure.dataset_recipes import default_recipe
from archscale.measure.datasets import Dataset, load_dataset
from archscale.measure.training import train_model
from archscale.profiling import load_spec
from archscale.reference_archs.registry import preset
from archscale.specs import ArchSpec, check_positive_int
from archscale.training_recipe import Recipe

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = ["Inspection", "inspect"]

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


# ---------------------------------------------------------------------------------------------
# Checking the input
# ---------------------------------------------------------------------------------------------


def _resolve_target(target: Any) -> tuple[str, str, ArchSpec | None, str | None]:
    """``(source, kind, spec, model path)``; a live ``keras.Model`` is handled by the caller."""
    if isinstance(target, ArchSpec):
        return type(target).__name__, "ArchSpec", target, None
    if not isinstance(target, (str, os.PathLike)):
        return type(target).__name__, "keras.Model", None, None
    text = os.fspath(target)
    if text.lower().endswith(MODEL_SUFFIXES):
        if not os.path.isfile(text):
            raise InputFileError(f"model file not found or not a file. Received: {text!r}")
        return text, "model", None, text
    if text.lower().endswith(".json"):
        return text, "spec", load_spec(text), None
    return text, "preset", preset(text), None


def _check_apply(apply: str | None, kind: str) -> str | None:
    if apply is None:
        return None
    if kind in ("model", "keras.Model"):
        raise SpecError("--apply writes a shrunk spec, which needs a catalogue preset, a spec "
                        "file or a proposal; a saved Keras model's advice is printed without "
                        f"rewriting it. Received: --apply={apply!r} for a {kind}")
    path = os.path.abspath(os.fspath(apply))
    parent = os.path.dirname(path)
    if os.path.isdir(path) or not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise InputFileError(f"--apply must be a file path in an existing, writable directory. "
                             f"Received: --apply={apply!r}")
    return path


def _check_out(out: str | None) -> None:
    if out is not None:
        from archscale.reporting.writers import preflight

        preflight(out)


def _sample(data: Dataset, samples: int, seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(len(data.x_train))
    return data.x_train[np.sort(order[:samples])]


# ---------------------------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------------------------


def _model_advice(model: "keras.Model", layers: Sequence[LayerActivations]) -> SpecAdvice:
    from archscale.keras_io import from_keras
    from archscale.costs import profile_graph

    prof = profile_graph(from_keras(model))
    out = []
    for la in layers:
        width, dim99 = la.stats.units, la.stats.dims[0.99]
        rec = recommended_width(width, dim99)
        kernel, reader = kernel_and_reader(model, la.name)
        saved_p, saved_m = estimate_saving(prof, kernel, reader, width, rec)
        out.append(LayerAdvice(la.name, width, dim99, rec, saved_p, saved_m, False, None))
    return SpecAdvice(tuple(out), None, None, prof.params, prof.macs, None, None)


def _accuracy(model: "keras.Model", x: np.ndarray, y: np.ndarray) -> float:
    scores = model.predict(x, batch_size=512, verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) == y))


def _write_apply(path: str, spec: ArchSpec) -> str:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(spec.to_json(indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------


def inspect(target: "str | ArchSpec | keras.Model", dataset: "str | Dataset" = "mnist1d", *,
            train_epochs: int | None = None, layers: "str | Sequence[str | int] | None" = None,
            samples: int = 2000, seed: int = 0, recipe: Recipe | None = None,
            out: str | None = None, apply: str | None = None, batch_size: int = 256,
            source: str | None = None) -> Inspection:
    """Inspect what a trained network's layers produce and advise on their widths.

    Args:
        target: A preset name, a spec or proposal ``.json`` path, an ``ArchSpec`` (each
            trained here with the dataset's recipe), a saved ``.keras`` model path or a
            ``keras.Model`` (used as trained, or trained further with ``train_epochs``).
        dataset: A dataset name for ``load_dataset`` or a ``Dataset``.
        train_epochs: Epochs to train (default: the recipe's, for specs; none for models).
        layers: Names, indices (``model.layers``) or ``outer/inner`` paths, as a list or a
            comma-separated string; default: every Dense/Conv layer below the output.
        samples: Training examples whose activations are read (fewer if the set is smaller).
        seed: Training seed and the sample's seed.
        recipe: Training recipe (default: the dataset's default recipe).
        out: Report directory (``inspect.md``, ``inspect.html``, ``plots/``), or ``None``.
        apply: Path for the shrunk spec JSON (specs and proposals only).
        batch_size: Examples per forward pass when reading activations.
        source: How to name the target in the report (default: the target text or type).

    Returns:
        The ``Inspection``.

    Raises:
        SpecError: unknown preset; the dataset does not fit the model; an address names no
            layer; ``apply`` for a saved model; invalid ``samples``/``train_epochs``.
        InputFileError: unreadable spec or model file (Keras safe mode refuses ``Lambda``
            layers); ``apply`` or ``out`` cannot be written.
    """
    resolved, kind, spec, path = _resolve_target(target)
    source = source or resolved
    apply_path = _check_apply(apply, kind)
    check_positive_int("samples", samples)
    check_positive_int("batch_size", batch_size)
    if train_epochs is not None:
        check_positive_int("train_epochs", train_epochs)
    _check_out(out)
    addresses = parse_layer_list(layers)
    data = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    from archscale.measure.tensorflow_import import import_tensorflow

    import_tensorflow()
    import keras

    if spec is not None:
        spec, _ = fit_spec_to_dataset(spec, data)
        from archscale.profiling import build

        keras.utils.set_random_seed(seed)
        model = build(spec)
    elif path is not None:
        from archscale.keras_io import load_model

        model = load_model(path)
    else:
        model = target
        if not isinstance(model, keras.Model):
            raise SpecError("inspect accepts a preset name, a spec or .keras path, an ArchSpec "
                            f"or a keras.Model. Received: {type(target).__name__}")
    addresses = addresses or default_layers(model)
    resolve_layers(model, addresses)  # bad addresses fail before any training
    x = _sample(data, samples, seed)
    check_input(model, x)
    used_recipe, epochs_run, curves = None, 0, {}
    if spec is not None or train_epochs is not None:
        used_recipe = recipe if recipe is not None else default_recipe(data.name)
        trained = train_model(model, data, seed=seed, recipe=used_recipe, epochs=train_epochs)
        used_recipe, epochs_run, curves = trained.recipe, trained.run.epochs_run, trained.history
    read = tuple(extract(model, x, addresses, batch_size=batch_size))
    if spec is not None:
        advice = advise_spec(spec, {la.name: (la.stats.units, la.stats.dims[0.99])
                                    for la in read})
    else:
        advice = _model_advice(model, read)
    signals = regularisation_signals(
        _accuracy(model, data.x_train, data.y_train), _accuracy(model, data.x_test, data.y_test),
        params=advice.params, samples=len(data.y_train), spec=spec, recipe=used_recipe,
        curves=curves)
    result = Inspection(source=source, kind=kind, dataset=data.name, samples=len(x), seed=seed, spec=spec,
                        recipe=used_recipe, epochs_run=epochs_run, layers=read, advice=advice,
                        signals=signals)
    written: list[str] = []
    if out is not None:
        from archscale.inspection.report import write_report

        written += write_report(result, out)
    if apply_path is not None and advice.shrunk is not None:
        written.append(_write_apply(apply_path, advice.shrunk))
    return Inspection(**{**result.__dict__, "written": tuple(written)})
