"""Hand-written fork server vs the standard library's, for the runner's TensorFlow jobs.

    PYTHONPATH=src python bench/fork_executors.py [--repeats 5] [--json out.json]

Measures, per way of starting a job's process:

- start-up: until the first (trivial) job can run, TensorFlow and Keras preloaded;
- per-job overhead (job wall time minus the measurement itself) of a ``cost`` job and of a tiny
  ``latency`` job (mlp, batch 1, 5 samples);
- a job that hangs past its timeout (the test-only ``sleep`` measurement, 60 s, timeout 2 s):
  seconds from the deadline to the outcome, whether the child is gone (not even a zombie, so
  its memory is freed) and whether the next job still runs without restarting anything;
- a TensorFlow job killed at its timeout while it holds memory (latency of resnet20 at batch
  256 for 60 s, timeout 8 s): the drop of the machine's ``MemAvailable`` while it ran and what
  is left of it 1 s after the kill.

Ways: ``spawn`` (``python -m archscale.runner.worker`` per job), ``forkserver`` (this
project's ``runner.forkserver``), ``mp-forkserver`` (``multiprocessing.get_context
('forkserver')`` with ``set_forkserver_preload``, one ``Process`` per job, ``join(timeout)``
then ``kill()``), ``pool`` (``concurrent.futures.ProcessPoolExecutor(max_workers=1,
max_tasks_per_child=1)`` on that context; on a timeout the only way to stop the task is to kill
the pool's worker, which breaks the pool).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import multiprocessing.forkserver
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["ARCHSCALE_TEST_MEASUREMENTS"] = "1"

from archscale.runner import worker  # noqa: E402
from archscale.runner.executors.fork import run_in_server  # noqa: E402
from archscale.runner.executors.spawn import run_worker  # noqa: E402
from archscale.runner.forkserver import ForkServer  # noqa: E402
from archscale.runner.jobs import Job, expand  # noqa: E402
from archscale.runner.sweep import sweep_from_dict  # noqa: E402

PRELOAD = ["tensorflow", "keras", "archscale.runner.worker", "archscale.runner.measurements",
           "archscale.measure.latency"]


def jobs() -> dict[str, Job]:
    """The three jobs: cost, tiny latency, hang (sleep 60 s, timeout 2 s)."""
    cost, = expand(sweep_from_dict({"measure": ["cost"], "arch": [{"preset": "mnist1d_mlp"}]}))
    latency, = expand(sweep_from_dict({
        "measure": ["latency"], "peak": False, "arch": [{"preset": "mlp"}],
        "settings": {"latency": {"min_samples": 5, "min_duration_s": 0.05,
                                 "max_warmup_s": 0.2}}}))
    hang, = expand(sweep_from_dict({"measure": ["sleep"], "seeds": [0], "timeout": 2.0,
                                    "settings": {"sleep": {"seconds": 60}},
                                    "arch": [{"preset": "mlp"}]}))
    hog, = expand(sweep_from_dict({
        "measure": ["latency"], "peak": False, "timeout": 8.0, "batch_sizes": [256],
        "arch": [{"preset": "resnet20"}],
        "settings": {"latency": {"min_samples": 100000, "min_duration_s": 60.0}}}))
    return {"cost": cost, "latency": latency, "hang": hang, "hog": hog}


def mem_available_mb() -> float:
    """``MemAvailable`` of ``/proc/meminfo`` in MiB."""
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_of(run: Callable[[], Any]) -> dict[str, Any]:
    """Run ``run()`` while sampling ``MemAvailable``: the largest drop and what is left 1 s
    after it returns (MiB)."""
    import threading

    before = mem_available_mb()
    lowest = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            lowest[0] = min(lowest[0], mem_available_mb())

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        result = run()
    finally:
        done.set()
        thread.join()
    time.sleep(1.0)
    return {"timed_out": result.get("timed_out"), "held_mb": round(before - lowest[0]),
            "left_mb_after_kill": round(before - mem_available_mb()),
            "child_gone": gone(int(result["pid"])) if result.get("pid") else None}


def gone(pid: int) -> bool:
    """The process no longer exists (not even as a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][0] in "X"
    except OSError:
        return True


# ---------------------------------------------------------------------------------------------
# multiprocessing forkserver, one Process per job
# ---------------------------------------------------------------------------------------------


def _mp_child(payload: dict[str, Any], result: str, log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    out = worker.run_job(payload)
    with open(result, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(out, default=str))
    os._exit(0)


class MpForkServer:
    """``Process`` per job from the stdlib fork server."""

    def __init__(self) -> None:
        self.ctx = multiprocessing.get_context("forkserver")
        self.ctx.set_forkserver_preload(PRELOAD)
        self.tmp = tempfile.mkdtemp(prefix="mpfs-")
        self.count = 0
        start = time.perf_counter()
        multiprocessing.forkserver.ensure_running()
        p = self.ctx.Process(target=os.getpid)
        p.start()
        p.join()
        self.start_s = time.perf_counter() - start

    def run(self, job: Job) -> dict[str, Any]:
        self.count += 1
        result = os.path.join(self.tmp, f"{self.count}.json")
        start = time.perf_counter()
        p = self.ctx.Process(target=_mp_child,
                             args=(job.payload(), result, result + ".log"))
        p.start()
        p.join(job.timeout_s)
        timed_out = p.is_alive()
        deadline = time.perf_counter()
        if timed_out:
            p.kill()
            p.join()
        wall = time.perf_counter() - start
        out = {"wall_s": wall, "timed_out": timed_out, "pid": p.pid,
               "after_deadline_s": time.perf_counter() - deadline if timed_out else None}
        if not timed_out:
            with open(result, encoding="utf-8") as handle:
                out.update(json.load(handle))
        return out

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# ProcessPoolExecutor(max_tasks_per_child=1)
# ---------------------------------------------------------------------------------------------


def _pool_job(payload: dict[str, Any]) -> dict[str, Any]:
    return {**worker.run_job(payload), "pid": os.getpid()}


class Pool:
    def __init__(self) -> None:
        self.ctx = multiprocessing.get_context("forkserver")
        self.ctx.set_forkserver_preload(PRELOAD)
        start = time.perf_counter()
        self.pool = self._new()
        self.pool.submit(os.getpid).result()
        self.start_s = time.perf_counter() - start
        self.restarts = 0

    def _new(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=self.ctx,
                                                      max_tasks_per_child=1)

    def run(self, job: Job) -> dict[str, Any]:
        start = time.perf_counter()
        future = self.pool.submit(_pool_job, job.payload())
        try:
            out = future.result(timeout=job.timeout_s)
        except concurrent.futures.TimeoutError:
            deadline = time.perf_counter()
            cancelled = future.cancel()  # False: a running task cannot be cancelled
            pids = list(self.pool._processes)  # noqa: SLF001 - the only handle there is
            for proc in list(self.pool._processes.values()):  # noqa: SLF001
                proc.kill()
            try:
                future.result()
            except concurrent.futures.process.BrokenProcessPool:
                broken = True
            else:
                broken = False
            self.pool.shutdown(wait=True)
            self.pool = self._new()  # the broken pool cannot run another job
            self.restarts += 1
            return {"wall_s": time.perf_counter() - start, "timed_out": True,
                    "pid": pids[0] if pids else None, "cancel_returned": cancelled,
                    "pool_broken": broken,
                    "after_deadline_s": time.perf_counter() - deadline}
        return {**out, "wall_s": time.perf_counter() - start, "timed_out": False}

    def close(self) -> None:
        self.pool.shutdown()


# ---------------------------------------------------------------------------------------------
# This project's ways
# ---------------------------------------------------------------------------------------------


class Spawn:
    start_s = 0.0

    def run(self, job: Job) -> dict[str, Any]:
        start = time.perf_counter()
        o = run_worker(job)
        return {"wall_s": o.wall_s, "measure_s": o.measure_s, "status": o.status,
                "timed_out": o.error_kind == "timeout", "pid": None,
                "after_deadline_s": (time.perf_counter() - start - job.timeout_s)
                if o.error_kind == "timeout" else None}

    def close(self) -> None:
        pass


class HandWritten:
    def __init__(self) -> None:
        start = time.perf_counter()
        self.server = ForkServer()
        self.start_s = time.perf_counter() - start
        self.last_pid: int | None = None

    def run(self, job: Job) -> dict[str, Any]:
        start = time.perf_counter()
        original = self.server._read  # noqa: SLF001 - record the child's pid

        def spy(timeout: float | None) -> dict[str, Any] | None:
            msg = original(timeout)
            if msg and "pid" in msg and "returncode" not in msg:
                self.last_pid = int(msg["pid"])
            return msg

        self.server._read = spy  # type: ignore[method-assign]  # noqa: SLF001
        try:
            o = run_in_server(job, self.server)
        finally:
            self.server._read = original  # type: ignore[method-assign]  # noqa: SLF001
        timed_out = o.error_kind == "timeout"
        return {"wall_s": o.wall_s, "measure_s": o.measure_s, "status": o.status,
                "timed_out": timed_out, "pid": self.last_pid,
                "after_deadline_s": (time.perf_counter() - start - job.timeout_s)
                if timed_out else None}

    def close(self) -> None:
        self.server.close()


WAYS: dict[str, Callable[[], Any]] = {"spawn": Spawn, "forkserver": HandWritten,
                                      "mp-forkserver": MpForkServer, "pool": Pool}


def measure(name: str, repeats: int) -> dict[str, Any]:
    js = jobs()
    way = WAYS[name]()
    out: dict[str, Any] = {"start_s": round(way.start_s, 3)}
    try:
        for kind in ("cost", "latency"):
            overheads = []
            for _ in range(repeats):
                r = way.run(js[kind])
                assert r.get("status") == "ok", r
                overheads.append(r["wall_s"] - float(r.get("measure_s") or 0.0))
            out[f"{kind}_overhead_s_median"] = round(statistics.median(overheads), 3)
            out[f"{kind}_overhead_s_all"] = [round(v, 3) for v in overheads]
        hang = way.run(js["hang"])
        time.sleep(0.2)
        out["hang"] = {k: (round(v, 3) if isinstance(v, float) else v)
                       for k, v in hang.items() if k not in ("row", "environment")}
        if hang.get("pid"):
            out["hang"]["child_gone"] = gone(int(hang["pid"]))
        out["hog"] = memory_of(lambda: way.run(js["hog"]))
        after = way.run(js["cost"])
        out["next_job_ok"] = after.get("status") == "ok"
        out["restarts"] = getattr(way, "restarts", 0)
    finally:
        way.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    results = {}
    for name in args.ways.split(","):
        results[name] = measure(name, args.repeats)
        print(name, json.dumps(results[name]), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"cpus": os.cpu_count(), "python": sys.version.split()[0],
                       "results": results}, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
