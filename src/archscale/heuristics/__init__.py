"""Sizing heuristics: task and budget rules (each cited), the budget solver and ``propose``.

Pure Python, never TensorFlow (nor scipy): calibrating latency and verifying a
proposal measure, so they live in ``archscale.measure.latency_calibration``; this package only
reads the cached calibration. Modules:

- ``rules``: family choice, MLP taper and depth, downsampling stages, stage widths and blocks;
- ``capacity``: parameter range from the samples, regularisation defaults, training recipe;
- ``plans``: ``make_plan`` finds the family's scaling plan (each family module under
  ``archscale.reference_archs`` defines its own ``Plan`` subclass and metadata);
- ``solver``: compound scaling bisected against the analytic cost, greedy fill;
- ``family_table``: the image family from published accuracy-vs-MACs points;
- ``advice``: input warnings, augmentation and transfer advice, naming published points;
- ``propose``: ``propose(task, budget) -> Proposal``; ``proposal``: the result type;
- ``calibration``: the cached per-machine latency calibration and the latency model;
- ``design_note``: the proposal as text; ``search_space``: keras-tuner ranges.

Example::

    from archscale import Budget, Task
    from archscale.heuristics.propose import propose
    p = propose(Task(input_shape=(32, 32, 3), classes=10, samples=50_000),
                Budget(max_macs=200_000_000, max_params=2_000_000))
    print(p.description, p.predicted["macs"], p.binding)
"""
