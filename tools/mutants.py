"""Mutation testing of the modules whose numbers everything else relies on (``make mutants``).

For each target below, a throw-away copy of the checkout gets a ``[tool.mutmut]`` section that
mutates that module only and runs only its relevant tests (mutmut then picks, per mutant, the
tests that execute the mutated function), ``mutmut run`` runs, and the killed / survived counts
are read back. The result is a table (``--json`` for rows) and, with ``--survivors``, the
surviving mutants' diffs, to kill with a new test or to explain as equivalent.

    python tools/mutants.py                      # every target
    python tools/mutants.py pareto planner       # some targets
    python tools/mutants.py --survivors pareto   # show what survived
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Target:
    """One module (or a few that form one concept) and the tests that guard it."""

    name: str
    paths: tuple[str, ...]
    tests: tuple[str, ...]
    markers: str = "not slow"


TARGETS = {t.name: t for t in (
    Target("costs", ("src/archscale/costs.py", "src/archscale/cost_rules.py"),
           ("tests/test_costs.py", "tests/test_ops.py", "tests/test_cost_rules_counts.py",
            "tests/test_profile_fields.py")),
    Target("memory_model", ("src/archscale/memory_model.py", "src/archscale/saved_rules.py"),
           ("tests/test_costs.py",)),
    Target("pareto", ("src/archscale/pareto.py",),
           ("tests/reporting/test_pareto.py", "tests/reporting/test_pareto_exact.py")),
    Target("store", ("src/archscale/runner/store.py",),
           ("tests/runner/test_store.py", "tests/runner/test_api.py")),
    Target("planner", ("src/archscale/runner/planner.py",), ("tests/runner/test_store.py",)),
    # The timing loop's pure-Python functions; the TensorFlow half of latency.py (compiling,
    # building) is left to the tf tests, too slow to rerun per mutant.
    Target("timing_loop", ("src/archscale/measure/latency.py",),
           ("tests/measure/test_latency.py", "tests/measure/test_latency_plausibility.py"),
           markers="not slow and not tf"),
    Target("rules", ("src/archscale/heuristics/rules.py",), ("tests/heuristics",)),
)}

_MUTMUT = str(Path(sys.executable).with_name("mutmut"))
_COUNT = re.compile(r"(\d+)/(\d+)\s+🎉 (\d+) 🫥 (\d+)\s+⏰ (\d+)\s+🤔 (\d+)\s+🙁 (\d+)\s+🔇 (\d+)")


def _config(target: Target) -> str:
    lines = ["", "[tool.mutmut]",
             f"paths_to_mutate = {json.dumps(list(target.paths))}",
             f"tests_dir = {json.dumps(list(target.tests))}",
             'also_copy = ["tests", "src", "tools", "bench", "README.md"]',
             'pytest_add_cli_args = ["-q", "-p", "no:cacheprovider", "-m", '
             f'{json.dumps(target.markers)}]']
    return "\n".join(lines) + "\n"


def run_target(target: Target, *, survivors: bool = False, keep: Path | None = None) -> dict:
    """Mutate ``target`` in a copy of the checkout; return its counts (and survivors).

    With ``keep``, the copy is made in ``keep / target.name`` (which must not exist) and left
    there, so that ``mutmut results`` / ``mutmut run NAME`` can be used on it afterwards.
    """
    with tempfile.TemporaryDirectory(prefix=f"mutants-{target.name}-") as tmp:
        copy = (keep / target.name) if keep else Path(tmp) / "checkout"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(copy)], check=True)
        for path in target.paths + target.tests:  # the working tree's version, not HEAD's
            source = ROOT / path
            if source.is_dir():
                shutil.copytree(source, copy / path, dirs_exist_ok=True)
            elif source.exists():
                shutil.copy2(source, copy / path)
        with open(copy / "pyproject.toml", "a", encoding="utf-8") as handle:
            handle.write(_config(target))
        proc = subprocess.run([_MUTMUT, "run"], cwd=copy, capture_output=True, text=True)
        counts = _COUNT.findall(proc.stdout.replace("\r", "\n"))
        if proc.returncode != 0 or not counts:
            return {"target": target.name, "error": (proc.stderr or proc.stdout)[-500:]}
        done, total, killed, no_tests, timeout, suspicious, survived, skipped = map(
            int, counts[-1])
        row = {"target": target.name, "mutants": total, "killed": killed + timeout,
               "survived": survived, "not_covered": no_tests, "suspicious": suspicious,
               "skipped": skipped,
               "score_pct": round(100 * (killed + timeout) / max(total - skipped, 1), 1)}
        if survivors:
            listed = subprocess.run([_MUTMUT, "results"], cwd=copy, capture_output=True,
                                    text=True).stdout
            names = [ln.split(":")[0].strip() for ln in listed.splitlines()
                     if ln.strip().endswith("survived")]
            row["survivors"] = {n: subprocess.run([_MUTMUT, "show", n], cwd=copy,
                                                  capture_output=True, text=True).stdout
                                for n in names}
        return row


def main(argv: list[str] | None = None) -> int:
    """Run the targets named (default: all) and print the table."""
    parser = argparse.ArgumentParser(prog="python tools/mutants.py")
    parser.add_argument("targets", nargs="*", help=f"any of: {', '.join(TARGETS)}")
    parser.add_argument("--survivors", action="store_true", help="print surviving mutants")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="make each target's copy in DIR/TARGET and leave it there")
    args = parser.parse_args(argv)
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}; accepted: {', '.join(TARGETS)}")
    rows = [run_target(TARGETS[n], survivors=args.survivors, keep=args.keep)
            for n in args.targets or TARGETS]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print("| module | mutants | killed | survived | not covered by its tests | score |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            tail = r["error"].splitlines()[-1] if r["error"] else ""
            print(f"| {r['target']} | failed: {tail} |||||")
            continue
        print(f"| {r['target']} | {r['mutants']} | {r['killed']} | {r['survived']} | "
              f"{r['not_covered']} | {r['score_pct']} % |")
        for name, diff in r.get("survivors", {}).items():
            print(f"\n<!-- {name} -->\n```diff\n{diff.strip()}\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
