"""Trade-off reports from stored benchmark results: tables, Pareto frontiers, plots, files.

Pure modules (no matplotlib): ``pareto`` (the frontier function), ``schema`` (report columns,
CSV round trip), ``merge`` (store rows -> one row per architecture and setting), ``sources``
(the store, pytest-benchmark JSON), ``frontiers``, ``tables``, ``reproduce``, ``dimensions``.
``plots``/``labels`` import matplotlib when called; ``writers`` renders Markdown and HTML and
writes the report directory atomically; ``report`` ties them together.

Example::

    from archscale.reporting import report
    rows = report("archscale.db", out="reports/mine", filters=["family=resnet"])
"""

from __future__ import annotations

from archscale.pareto import ParetoResult, pareto_front
from archscale.reporting.report_builder import report
from archscale.reporting.schema import COLUMN_NAMES, ReportError

__all__ = ["COLUMN_NAMES", "ParetoResult", "ReportError", "pareto_front", "report"]
