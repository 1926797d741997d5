"""The optimal-dimensions study: where accuracy stops paying for size, and how archscale's
proposal and searches score against it.

For each task of a study (``tasks.STUDIES``), the zero-shot proposal is scaled over its
family's own axes (width multiplier, depth offset: ``grid``), every grid point is trained on
several seeds through ``archscale bench`` (one store, resumable), the knee of the
accuracy-versus-MACs curve is found (``analysis``), searches are run on the same task and
recipe (``searches``), and ``report`` writes ``reports/dimensions/``. ``python -m
archscale.study run`` (``make dimensions``) does all of it.
"""
