"""One line per finished trial: trial, status, params, MACs, validation accuracy, best so far
and the ETA (mean training time of the trials trained so far times the trials left)::

    trial 0000  ok       params 15.4K  MACs 15.2K  val 0.7139  best 0.7139  (proposal)  ETA 4m10s
    trial 0001  skipped  params 33.5K  MACs 33.2K  params 33.5K > max_params 16K
    trial 0002  ok       params 9.6K   MACs 9.44K  val 0.6750  best 0.7139  ETA 3m40s

Lines go to stderr (stdout stays free for ``--json``); on a terminal they are printed through
``rich`` with the status coloured.
"""

from __future__ import annotations

import sys
from typing import TextIO

from archscale.tuning.records import FAILED, OK, SKIPPED, TrialRecord
from archscale.units import format_count, format_seconds

_STYLE = {OK: "green", SKIPPED: "yellow", FAILED: "red"}
_WORD = {OK: "ok", SKIPPED: "skipped", FAILED: "FAILED"}


class TrialProgress:
    """Prints ``line(record)`` for every finished trial.

    Args:
        target: Trained trials requested (for the ETA).
        stream: Where to print (default stderr); ``None`` and ``quiet`` print nothing.
        quiet: Print nothing.
    """

    def __init__(self, target: int, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.target, self.quiet = target, quiet
        self.stream = stream or sys.stderr
        self.best: float | None = None
        self.trained = 0
        self.seconds: list[float] = []
        self.console = None
        if not quiet and getattr(self.stream, "isatty", lambda: False)():
            from rich.console import Console

            self.console = Console(file=self.stream, highlight=False)

    def line(self, record: TrialRecord) -> str:
        """The progress line of one finished trial (updates best and ETA first)."""
        if record.status != SKIPPED:
            self.trained += 1
            if record.train_seconds is not None:
                self.seconds.append(float(record.train_seconds))
        if record.status == OK and record.val_accuracy is not None:
            self.best = max(self.best or 0.0, record.val_accuracy)
        parts = [f"trial {record.trial_id}", f"{_WORD[record.status]:<8}",
                 f"params {format_count(record.params) if record.params is not None else '?'}",
                 f"MACs {format_count(record.macs) if record.macs is not None else '?'}"]
        if record.status == OK:
            parts.append(f"val {record.val_accuracy:.4f}")
        if record.status != SKIPPED:
            parts.append("best " + ("?" if self.best is None else f"{self.best:.4f}"))
        if record.is_proposal:
            parts.append("(proposal)")
        if record.reason:
            parts.append(record.reason)
        if record.status != SKIPPED and self.seconds:
            left = max(0, self.target - self.trained)
            parts.append(f"ETA {format_seconds(left * sum(self.seconds) / len(self.seconds))}")
        return "  ".join(parts)

    def __call__(self, record: TrialRecord) -> None:
        text = self.line(record)
        if self.quiet:
            return
        if self.console is not None:
            style = _STYLE[record.status]
            self.console.print(text.replace(_WORD[record.status], f"[{style}]"
                                            f"{_WORD[record.status]}[/{style}]", 1))
        else:
            print(text, file=self.stream, flush=True)
