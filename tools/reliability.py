"""``make reliability``: run the fault and bad-input tests and write ``reports/reliability/``.

Runs pytest in-process on the modules below with a small collector plugin that keeps each
test's outcome, duration and its ``ledger`` property (``record_property("ledger", {...})``:
the jobs or trials the test expected, the result rows stored, the distinct keys among them,
and finished results that a resume ran again). From those it writes
``reports/reliability/README.md`` and ``summary.json``: faults injected by kind, bad inputs
tried, results lost (expected - distinct stored) and duplicated (stored - distinct + re-run),
both of which must be 0, and the commands to reproduce. Exit status 1 when a test failed or
a result was lost or duplicated.

    PYTHONPATH=src python tools/reliability.py [--out reports/reliability]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter

import pytest

#: Test (module::function, parametrized cases merged) -> the faults it injects.
FAULT_TESTS = {
    "tests/runner/test_faults.py::test_every_fault_is_recorded_once_and_the_sweep_finishes":
        ["segfault (SIGSEGV)", "memory exhausted (RLIMIT_AS in the worker)",
         "hang past the job's timeout", "NaN loss (learning rate 1e12)"],
    "tests/runner/test_executor.py::test_sigkill_part_way_then_resume":
        ["SIGKILL of the driver mid-sweep (local)"],
    "tests/runner/test_executor.py::test_failures_are_recorded_and_the_sweep_continues":
        ["worker exits without a result", "worker SIGKILLed (out-of-memory kill)",
         "Python error in the job"],
    "tests/runner/test_executor.py::test_timeout_kills_the_worker":
        ["hang past the job's timeout"],
    "tests/runner/test_executor.py::test_ctrl_c_exits_130_then_resume_with_two_workers":
        ["SIGINT of the driver mid-sweep"],
    "tests/runner/test_ray_faults.py::test_a_driver_killed_mid_sweep_resumes_with_one_result_per_job":
        ["SIGKILL of the driver mid-sweep (ray)"],
    "tests/runner/test_ray_faults.py::test_a_segfault_is_retried_then_recorded_and_a_memory_error_is_not_retried":
        ["segfault (SIGSEGV) on a Ray worker", "memory exhausted on a Ray worker"],
    "tests/runner/test_ray_executor.py::test_a_worker_killed_mid_job_is_retried_and_recorded_once":
        ["Ray worker SIGKILLed mid-job"],
    "tests/runner/test_ray_executor.py::test_failures_are_recorded_once_and_the_sweep_finishes":
        ["Ray worker exits", "Python error in the job (ray)", "hang past the timeout (ray)"],
    "tests/tuning/test_tune_cli.py::test_a_killed_search_resumes_without_training_a_finished_trial_again":
        ["SIGKILL of the driver mid-tune (local)"],
    "tests/tuning/test_tune_ray.py::test_a_worker_killed_mid_trial_is_retried_and_the_trial_recorded_once":
        ["Ray worker SIGKILLed mid-trial"],
    "tests/tuning/test_tune_ray.py::test_three_trials_on_ray_then_a_local_rerun_trains_nothing":
        ["search resumed on another executor"],
    "tests/runner/test_store_faults.py::test_two_bench_processes_on_one_store_lose_and_duplicate_nothing":
        ["two bench processes on one store"],
    "tests/runner/test_store_faults.py::test_a_bad_store_exits_2_and_stays_untouched":
        ["corrupt, foreign or newer-schema store"],
    "tests/runner/test_disk_faults.py::test_a_report_on_a_full_disk_fails_clearly_and_keeps_the_previous_one":
        ["disk full (2 MiB tmpfs) while writing a report"],
    "tests/runner/test_disk_faults.py::test_a_store_on_a_full_disk_keeps_its_rows_and_resumes":
        ["disk full (2 MiB tmpfs) mid-sweep and at open"],
    "tests/runner/test_disk_faults.py::test_an_unwritable_report_directory_fails_clearly_and_keeps_the_report":
        ["read-only report and store directory"],
}
#: Bad-input and untrusted-input modules (every test in them counts).
INPUT_MODULES = ("tests/test_bad_inputs.py", "tests/test_fuzz_parsers.py",
                 "tests/test_untrusted_inputs.py")


class Collector:
    """pytest plugin: one record per test (the call phase, or setup when it was skipped)."""

    def __init__(self) -> None:
        self.tests: dict[str, dict] = {}

    def pytest_runtest_logreport(self, report) -> None:  # noqa: D401 - pytest hook
        if report.when == "call" or (report.when == "setup" and not report.passed):
            entry = {"outcome": report.outcome, "duration_s": round(report.duration, 2)}
            for key, value in report.user_properties:
                if key == "ledger":
                    entry["ledger"] = value
            self.tests[report.nodeid] = entry


def _function(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def _summarise(tests: dict[str, dict], wall_s: float) -> dict:
    faults, lost, duplicated, ledgers = Counter(), 0, 0, []
    outcomes = Counter(t["outcome"] for t in tests.values())
    fault_rows = []
    for name, kinds in FAULT_TESTS.items():
        runs = [t for nodeid, t in tests.items() if _function(nodeid) == name]
        status = ("missing" if not runs else "failed" if any(t["outcome"] == "failed" for t in runs)
                  else "skipped" if all(t["outcome"] == "skipped" for t in runs) else "passed")
        if status == "passed":
            faults.update({kind: len(runs) for kind in kinds})
        ledger = [t["ledger"] for t in runs if "ledger" in t]
        row_lost = sum(max(0, l["expected"] - l["unique"]) for l in ledger)
        row_dup = sum(l["stored"] - l["unique"] + l["rerun"] for l in ledger)
        lost, duplicated = lost + row_lost, duplicated + row_dup
        ledgers += ledger
        fault_rows.append({"test": name, "faults": kinds, "status": status, "cases": len(runs),
                           "expected": sum(l["expected"] for l in ledger) if ledger else None,
                           "lost": row_lost if ledger else None,
                           "duplicated": row_dup if ledger else None})
    inputs = {"cli_cases": sum("::test_bad_input_exits_2" in n for n in tests),
              "api_cases": sum("::test_the_python_api_raises" in n for n in tests)}
    for module in INPUT_MODULES:
        runs = {n: t for n, t in tests.items() if n.startswith(module + "::")}
        inputs[module] = {"cases": len(runs),
                          "passed": sum(t["outcome"] == "passed" for t in runs.values()),
                          "failed": sum(t["outcome"] == "failed" for t in runs.values())}
    return {"faults_by_kind": dict(sorted(faults.items())), "fault_tests": fault_rows,
            "bad_inputs": inputs, "results_checked": sum(l["expected"] for l in ledgers),
            "results_lost": lost, "results_duplicated": duplicated,
            "tests": dict(outcomes), "wall_s": round(wall_s, 1)}


def _fuzz_examples() -> int:
    return int(os.environ.get("ARCHSCALE_FUZZ_EXAMPLES", "120"))


def _markdown(summary: dict, argv: list[str], env: dict) -> str:
    bad = summary["bad_inputs"]
    cli = bad["tests/test_bad_inputs.py"]
    lines = ["# Reliability summary", "",
             "Generated by `make reliability` (`tools/reliability.py`): the fault and bad-input "
             "tests run, and what they found. Every fault test checks that nothing is lost and "
             "nothing duplicated; the counts below are summed from what each test recorded.", "",
             f"- **Results lost: {summary['results_lost']}**, **duplicated: "
             f"{summary['results_duplicated']}** (of {summary['results_checked']} jobs and "
             "trials whose results the fault tests counted; both must be 0)",
             f"- Tests: {', '.join(f'{v} {k}' for k, v in sorted(summary['tests'].items()))}"
             f" in {summary['wall_s']:.0f} s",
             f"- Environment: Python {env['python']}, {env['cpus']} CPUs, {env['machine']}, "
             f"ray {env['ray']}", "",
             "## Faults injected, by kind", "",
             "| fault | times injected |", "|---|---:|"]
    lines += [f"| {kind} | {n} |" for kind, n in summary["faults_by_kind"].items()]
    lines += ["", "## Fault tests", "",
              "| test | status | jobs/trials | lost | duplicated |", "|---|---|---:|---:|---:|"]
    for row in summary["fault_tests"]:
        cell = lambda v: "-" if v is None else str(v)  # noqa: E731
        lines.append(f"| `{row['test'].split('::')[1]}` ({row['test'].split('::')[0]}) | "
                     f"{row['status']} | {cell(row['expected'])} | {cell(row['lost'])} | "
                     f"{cell(row['duplicated'])} |")
    lines += ["", "## Bad and untrusted inputs", "",
              f"- {bad['cli_cases'] + bad['api_cases']} bad inputs tried "
              f"(`tests/test_bad_inputs.py`): {bad['cli_cases']} on the command line across "
              f"catalogue, profile, propose, bench, report, tune and inspect, and "
              f"{bad['api_cases']} through the Python API; {cli['failed']} failed the checks "
              "(exit 2 or the archscale exception, one line naming the input, nothing "
              "written).",
              f"- Fuzz (`tests/test_fuzz_parsers.py`, hypothesis, derandomized): "
              f"{bad['tests/test_fuzz_parsers.py']['cases']} properties x {_fuzz_examples()} "
              "examples over spec files, `--set` and sweep files; "
              f"{bad['tests/test_fuzz_parsers.py']['failed']} found a crash.",
              f"- Untrusted inputs (`tests/test_untrusted_inputs.py`): "
              f"{bad['tests/test_untrusted_inputs.py']['passed']} of "
              f"{bad['tests/test_untrusted_inputs.py']['cases']} passed (no eval/pickle, "
              "Keras safe mode, Lambda models and pickled npz refused unexecuted, HTML "
              "escaped).", "",
              "## Reproduce", "", "```",
              "make reliability                      # this report",
              "PYTHONPATH=src python tools/reliability.py",
              "PYTHONPATH=src python -m pytest -q " + " ".join(argv),
              "ARCHSCALE_FUZZ_EXAMPLES=2000 PYTHONPATH=src python -m pytest -q "
              "tests/test_fuzz_parsers.py   # a longer hunt", "```", ""]
    return "\n".join(lines)


def _environment() -> dict:
    try:
        import ray

        ray_version = ray.__version__
    except ImportError:
        ray_version = "not installed (Ray tests skipped)"
    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "machine": platform.machine(), "ray": ray_version}


def main(argv: list[str] | None = None) -> int:
    """Run the tests, write the report; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/reliability")
    args = parser.parse_args(argv)
    modules = sorted({name.split("::")[0] for name in FAULT_TESTS} | set(INPUT_MODULES))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    collector = Collector()
    start = time.perf_counter()
    code = pytest.main(["-q", "-p", "no:cacheprovider", *modules], plugins=[collector])
    summary = _summarise(collector.tests, time.perf_counter() - start)
    env = _environment()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump({**summary, "environment": env, "fuzz_examples": _fuzz_examples()}, handle,
                  indent=1)
        handle.write("\n")
    with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(_markdown(summary, modules, env))
    bad = summary["results_lost"] or summary["results_duplicated"]
    print(f"reliability: {summary['tests']}, lost {summary['results_lost']}, duplicated "
          f"{summary['results_duplicated']}; wrote {args.out}/README.md", file=sys.stderr)
    return 1 if code not in (0, 5) or bad else 0


if __name__ == "__main__":
    sys.exit(main())
