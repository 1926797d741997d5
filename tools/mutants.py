"""Mutation testing of the modules whose numbers everything else relies on (``make mutants``).

For each target below, a throw-away copy of the checkout gets a ``[tool.mutmut]`` section that
mutates that module only and runs only its relevant tests (mutmut then picks, per mutant, the
tests that execute the mutated function), ``mutmut run`` runs, and the killed / survived counts
are read back. Mutants that survive but change nothing observable are listed, each with its
reason, in ``tools/mutants_equivalent.md``; they are counted apart ("equivalent") and left out
of the score, and a listed mutant that is killed after all is reported so the list stays
true. The result is a table (``--json`` for rows) and, with ``--survivors``, the diffs of the
survivors not listed, to kill with a new test or to list as equivalent.

    python tools/mutants.py                      # every target
    python tools/mutants.py pareto planner       # some targets
    python tools/mutants.py --survivors pareto   # show what survived
    python tools/mutants.py --keep /tmp/m store  # leave the copy for mutmut results / show
"""

from __future__ import annotations

import argparse
import json
import os
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
    #: Only mutants whose name matches this regex count (default: all of ``paths``).
    scope: str = ""


TARGETS = {t.name: t for t in (
    Target("costs", ("src/archscale/costs.py", "src/archscale/cost_rules.py"),
           ("tests/test_costs.py", "tests/test_ops.py", "tests/test_cost_rules_counts.py",
            "tests/test_profile_fields.py")),
    Target("memory_model", ("src/archscale/memory_model.py", "src/archscale/saved_rules.py"),
           ("tests/test_costs.py", "tests/test_profile_fields.py",
            "tests/test_memory_model_counts.py")),
    Target("pareto", ("src/archscale/pareto.py",),
           ("tests/reporting/test_pareto.py", "tests/reporting/test_pareto_exact.py")),
    Target("store", ("src/archscale/runner/store.py", "src/archscale/runner/store_reader.py"),
           ("tests/runner/test_store.py", "tests/runner/test_api.py",
            "tests/runner/test_store_exact.py")),
    Target("planner", ("src/archscale/runner/planner.py",), ("tests/runner/test_store.py",)),
    # The timing loop: its pure-Python functions (statistics, the timed loop, warm-up, sample
    # collection, the result row); the TensorFlow half of latency.py (compiling, building,
    # measure_latency) is left to the tf tests, too slow to rerun per mutant.
    Target("timing_loop", ("src/archscale/measure/latency.py",),
           ("tests/measure/test_latency.py", "tests/measure/test_latency_plausibility.py",
            "tests/measure/test_timing_loop_exact.py"),
           markers="not slow and not tf",
           scope=r"\.x_(median_ci|summarize|_timed_block|warm_up|collect_samples|time_calls"
                 r"|_check_batch)__mutmut_|\.xǁLatencyResultǁ"),
    # The TensorFlow calibration tests reach the rules through propose; they are left out.
    Target("rules", ("src/archscale/heuristics/rules.py",), ("tests/heuristics",),
           markers="not slow and not tf"),
    # The study's rule screen (pure Python, hand-worked grids).
    Target("rule_fit", ("src/archscale/study/rule_fit.py",), ("tests/study/test_rule_fit.py",),
           markers="not slow and not tf"),
    # The headroom probe and its factor (pure NumPy).
    Target("difficulty", ("src/archscale/heuristics/difficulty.py",),
           ("tests/heuristics/test_difficulty.py", "tests/heuristics/test_difficulty_exact.py"),
           markers="not slow and not tf"),
)}

_MUTMUT = str(Path(sys.executable).with_name("mutmut"))
#: ``mutmut results`` statuses that count as killed.
_KILLED = {"killed", "timeout", "segfault", "caught by type check"}
#: Statuses a reused copy runs again (new tests may kill or reach them).
_AGAIN = {"survived", "suspicious", "no tests", "not checked"}


EQUIVALENT = ROOT / "tools" / "mutants_equivalent.md"
_LISTED = re.compile(r"`(archscale\.[^`]+__mutmut_\d+)`")


def equivalents(path: Path = EQUIVALENT) -> dict[str, str]:
    """``{mutant name: reason}`` from the table of equivalent mutants (``EQUIVALENT``).

    Each table row names one or more mutants in backticks in its first cell and gives the
    reason in its last cell.
    """
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2:
            for name in _LISTED.findall(cells[0]):
                out[name] = cells[-1]
    return out


def _module(path: str) -> str:
    return path.removeprefix("src/").removesuffix(".py").replace("/", ".")


def _config(target: Target) -> str:
    lines = ["", "[tool.mutmut]",
             f"paths_to_mutate = {json.dumps(list(target.paths))}",
             f"tests_dir = {json.dumps(list(target.tests))}",
             'also_copy = ["tests", "src", "tools", "bench", "README.md"]',
             'pytest_add_cli_args = ["-q", "-p", "no:cacheprovider", "-m", '
             f'{json.dumps(target.markers)}]']
    return "\n".join(lines) + "\n"


def _statuses(copy: Path) -> dict[str, str]:
    listed = subprocess.run([_MUTMUT, "results", "--all", "true"], cwd=copy,
                            capture_output=True, text=True).stdout
    return dict(ln.strip().rsplit(": ", 1) for ln in listed.splitlines()
                if ": " in ln and ln.strip().startswith("archscale."))


def run_target(target: Target, *, survivors: bool = False, keep: Path | None = None) -> dict:
    """Mutate ``target`` in a copy of the checkout; return its counts (and survivors).

    With ``keep``, the copy is made in ``keep / target.name`` and left there (for ``mutmut
    results`` / ``mutmut show``). When that copy exists from an earlier run, it is reused: the
    working tree's tests and module are copied in, and only the mutants that survived there
    are run again (against every test of the target, new ones included).
    """
    with tempfile.TemporaryDirectory(prefix=f"mutants-{target.name}-") as tmp:
        copy = (keep / target.name) if keep else Path(tmp) / "checkout"
        again: list[str] = []
        if (copy / "mutants").is_dir():
            again = [n for n, s in _statuses(copy).items() if s in _AGAIN]
            (copy / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
        else:
            subprocess.run(["git", "clone", "-q", str(ROOT), str(copy)], check=True)
        for path in target.paths + target.tests:  # the working tree's version, not HEAD's
            source = ROOT / path
            if source.is_dir():
                shutil.copytree(source, copy / path, dirs_exist_ok=True)
            elif source.exists():
                shutil.copy2(source, copy / path)
        shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
        with open(copy / "pyproject.toml", "a", encoding="utf-8") as handle:
            handle.write(_config(target))
        # tests that start ``python -m archscale`` in a subprocess import the copy's sources,
        # not whichever checkout the virtual environment's editable install points at
        env = {**os.environ, "PYTHONPATH": str(copy / "src")}
        proc = subprocess.CompletedProcess([], 0, "", "")
        if again or not (copy / "mutants").is_dir():
            proc = subprocess.run([_MUTMUT, "run", *again], cwd=copy, capture_output=True,
                                  text=True, env=env)
        unchecked = [n for n, s in _statuses(copy).items() if s == "not checked"]
        if again and unchecked and proc.returncode == 0:  # functions changed since
            proc = subprocess.run([_MUTMUT, "run", *unchecked], cwd=copy, capture_output=True,
                                  text=True, env=env)
        status = _statuses(copy)
        if proc.returncode != 0 or not status:
            return {"target": target.name, "error": (proc.stderr or proc.stdout)[-500:]}
        scope = re.compile(target.scope)
        status = {n: s for n, s in status.items() if scope.search(n)}
        alive = sorted(n for n, s in status.items() if s in ("survived", "suspicious"))
        known = equivalents()
        equivalent = [n for n in alive if n in known]
        prefixes = tuple(_module(p) + "." for p in target.paths)
        stale = sorted(n for n in known if n.startswith(prefixes) and scope.search(n)
                       and n not in alive)
        killed = sum(s in _KILLED for s in status.values())
        skipped = sum(s == "skipped" for s in status.values())
        row = {"target": target.name, "mutants": len(status), "killed": killed,
               "equivalent": len(equivalent), "survived": len(alive) - len(equivalent),
               "not_covered": sum(s == "no tests" for s in status.values()),
               "skipped": skipped,
               "score_pct": round(100 * killed / max(len(status) - skipped - len(equivalent), 1),
                                  1),
               "unlisted_survivors": [n for n in alive if n not in known],
               "listed_but_killed": stale}
        if survivors:
            row["survivors"] = {n: subprocess.run([_MUTMUT, "show", n], cwd=copy,
                                                  capture_output=True, text=True).stdout
                                for n in row["unlisted_survivors"]}
        return row


def main(argv: list[str] | None = None) -> int:
    """Run the targets named (default: all) and print the table."""
    parser = argparse.ArgumentParser(prog="python tools/mutants.py")
    parser.add_argument("targets", nargs="*", help=f"any of: {', '.join(TARGETS)}")
    parser.add_argument("--survivors", action="store_true", help="print surviving mutants")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="make each target's copy in DIR/TARGET and leave it there; an "
                             "existing copy is reused and only its survivors are run again")
    args = parser.parse_args(argv)
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}; accepted: {', '.join(TARGETS)}")
    rows = [run_target(TARGETS[n], survivors=args.survivors, keep=args.keep)
            for n in args.targets or TARGETS]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print("| module | mutants | killed | equivalent (listed) | survived | not covered by its "
          "tests | score |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            tail = r["error"].splitlines()[-1] if r["error"] else ""
            print(f"| {r['target']} | failed: {tail} ||||||")
            continue
        print(f"| {r['target']} | {r['mutants']} | {r['killed']} | {r['equivalent']} | "
              f"{r['survived']} | {r['not_covered']} | {r['score_pct']} % |")
    for r in rows:
        for name in r.get("listed_but_killed", ()):
            print(f"\nlisted as equivalent but killed (remove it from {EQUIVALENT.name}): {name}")
        for name in r.get("unlisted_survivors", ()) if "survivors" not in r else ():
            print(f"\nsurvived: {name}")
        for name, diff in r.get("survivors", {}).items():
            print(f"\n<!-- {name} -->\n```diff\n{diff.strip()}\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
