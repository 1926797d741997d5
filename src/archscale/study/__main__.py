"""``python -m archscale.study``: run the optimal-dimensions study and write its report.

    python -m archscale.study run [--study full] [--db dimensions.db] [--work dimensions_work]
        [--out reports/dimensions] [--task NAME ...] [--workers 2]
    python -m archscale.study report [same options]   # the report from what is stored

``run`` trains the grid of the first-phase tasks, then the searches, then the rest of the
grid (the costliest points), then writes the report; every step resumes from the store.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from archscale.errors import ArchscaleError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archscale.study",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "grid", "searches", "report"))
    parser.add_argument("--study", default="full", help="full or tiny (default: full)")
    parser.add_argument("--db", default="dimensions.db", help="the result store")
    parser.add_argument("--work", default="dimensions_work", help="work directory")
    parser.add_argument("--out", default=os.path.join("reports", "dimensions"),
                        help="report directory (default: reports/dimensions)")
    parser.add_argument("--task", action="append", default=[], metavar="NAME",
                        help="only this task (repeatable)")
    parser.add_argument("--workers", type=int, default=2, help="jobs at once (1 or 2)")
    return parser


def _log_phase(work: str, phase: str, started: float) -> None:
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "phases.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"phase": phase, "started": started,
                                 "seconds": round(time.time() - started, 1)}) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 on bad input)."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from archscale.study.run import run_grid, run_searches
        from archscale.study.tasks import FIRST_PHASE, study_tasks

        tasks = study_tasks(args.study, tuple(args.task))
        if args.workers not in (1, 2):
            raise ArchscaleError(f"--workers must be 1 or 2. Received: --workers={args.workers}")
        common = {"db": args.db, "work": args.work, "workers": args.workers}
        if args.command in ("run", "grid"):
            first = [t for t in tasks if t.name in FIRST_PHASE] if args.command == "run" else []
            if first:
                started = time.time()
                run_grid(first, **common)
                _log_phase(args.work, "grid (first phase)", started)
        if args.command in ("run", "searches"):
            started = time.time()
            run_searches(tasks, **common)
            _log_phase(args.work, "searches", started)
        if args.command in ("run", "grid"):
            started = time.time()
            run_grid(tasks, **common)
            _log_phase(args.work, "grid", started)
        if args.command in ("run", "report"):
            from archscale.study.report import write_report

            paths = write_report(tasks, db=args.db, work=args.work, out=args.out,
                                 study=args.study)
            print("\n".join(paths))
    except ArchscaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
