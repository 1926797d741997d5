"""Keras-tuner search around a proposal: ``archscale.tune`` / ``archscale tune``.

- ``space``: the proposal's hyperparameters, a point -> spec (the family's scaling plan) and
  recipe (pure Python);
- ``budget``: the budget filter on exact analytic costs (pure Python);
- ``hypermodel``: a keras-tuner ``HyperModel`` built from a proposal;
- ``oracles``: keras-tuner's four oracles, warm-started at the proposal and budget-aware;
- ``trials`` / ``tuner``: running one trial (budget, store, training) under keras-tuner;
- ``store_rows``: trials as rows of the result store; ``records``: the result (pure Python);
- ``progress``: one line per trial; ``api``: ``tune(...)``.

keras-tuner and TensorFlow are imported only when a search runs.
"""

from __future__ import annotations

from archscale.tuning.api import tune
from archscale.tuning.records import TrialRecord, TuneResult

__all__ = ["TrialRecord", "TuneResult", "tune"]
