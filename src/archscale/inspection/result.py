"""What ``archscale.inspect`` returns (pure Python)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.inspection.advice import SpecAdvice
from archscale.inspection.extract import LayerActivations
from archscale.inspection.regularisation import RegularisationSignals
from archscale.specs import ArchSpec
from archscale.training_recipe import Recipe

__all__ = ["Inspection"]


@dataclass(frozen=True)
class Inspection:
    """What ``inspect`` found.

    Attributes:
        source: The target as given (preset name, path, or the object's type name).
        kind: ``preset``, ``spec``, ``model`` (a saved file) or ``keras.Model``.
        dataset: Dataset name.
        samples: Examples read per layer.
        seed: Training and sampling seed.
        spec: The spec inspected (with the dataset's shape and classes), ``None`` for models.
        recipe: The recipe trained with, ``None`` when nothing was trained here.
        epochs_run: Epochs trained here (0 for a saved model used as is).
        layers: ``LayerActivations`` per inspected layer.
        advice: Width advice (``advice.shrunk`` is the shrunk spec for specs).
        signals: Train/test gap and the regularisation defaults' changes.
        written: Files written (report directory files, then the ``apply`` file).
    """

    source: str
    kind: str
    dataset: str
    samples: int
    seed: int
    spec: ArchSpec | None
    recipe: Recipe | None
    epochs_run: int
    layers: tuple[LayerActivations, ...]
    advice: SpecAdvice
    signals: RegularisationSignals
    written: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (kept activations left out)."""
        return {"source": self.source, "kind": self.kind, "dataset": self.dataset,
                "samples": self.samples, "seed": self.seed,
                "spec": self.spec.to_dict() if self.spec is not None else None,
                "recipe": self.recipe.to_dict() if self.recipe is not None else None,
                "epochs_run": self.epochs_run,
                "layers": [{"layer": la.name, "address": la.address, "class": la.class_name,
                            "output_shape": list(la.output_shape), **la.stats.to_dict()}
                           for la in self.layers],
                "advice": self.advice.to_dict(), "regularisation": self.signals.to_dict(),
                "written": list(self.written)}
