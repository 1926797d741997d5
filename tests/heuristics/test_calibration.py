"""Latency calibration: cache location, environment fingerprint, refusal of missing / stale /
foreign calibrations, the latency model, and (TensorFlow) a real calibration plus --verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import archscale
from archscale.cli import main
from archscale.heuristics.calibration import (CalibrationError, LatencyModel, LayerRates,
                                              cache_dir, calibration_path, load_calibration,
                                              save_calibration)
from archscale.heuristics.propose import propose
from archscale.environment import (FINGERPRINT_KEYS, environment, fingerprint,
                                           fingerprint_differences)
from archscale.specs import Budget, Task

DAY = 86400.0


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSCALE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def rates(batch_size: int = 1, age_days: float = 0.0, **overrides) -> LayerRates:
    values = dict(conv_gflops=50.0, depthwise_gflops=5.0, dense_gflops=40.0,
                  elementwise_gelements=2.0, overhead_ms=0.01,
                  measured_at=time.time() - age_days * DAY)
    values.update(overrides)
    return LayerRates(batch_size=batch_size, **values)


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("ARCHSCALE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "archscale"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "archscale"
    monkeypatch.setenv("ARCHSCALE_CACHE_DIR", str(tmp_path / "mine"))
    assert calibration_path() == tmp_path / "mine" / "latency_calibration.json"


def test_environment_fingerprint_is_pure_python():
    env = environment()
    assert env["cpu_count"] >= 1 and env["usable_cores"] >= 1 and env["cpu_model"]
    assert env["archscale"] == archscale.__version__
    assert set(fingerprint()) == set(FINGERPRINT_KEYS)
    assert fingerprint_differences(fingerprint()) == []
    other = {**fingerprint(), "cpu_model": "Imaginary CPU"}
    assert fingerprint_differences(other) == [f"cpu_model: 'Imaginary CPU' != "
                                              f"{env['cpu_model']!r}"]
    code = ("import sys; from archscale.environment import environment; e = "
            "environment(); assert 'tensorflow' not in sys.modules; print(e['tensorflow'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(env["tensorflow"])


def test_missing_calibration_is_refused_with_the_command_to_run(cache):
    with pytest.raises(CalibrationError, match=r"there is none at .*run 'archscale propose "
                                               r"--calibrate --batch 4'"):
        load_calibration(4)


def test_saved_calibration_loads_and_keeps_other_batches(cache):
    save_calibration(rates(1))
    save_calibration(rates(8, conv_gflops=80.0))
    assert load_calibration(1).conv_gflops == 50.0
    assert load_calibration(8).conv_gflops == 80.0
    data = json.loads(calibration_path().read_text())
    assert data["fingerprint"] == fingerprint() and set(data["entries"]) == {"1", "8"}
    with pytest.raises(CalibrationError, match=r"no entry for batch 2 \(measured: 1, 8\).*"
                                               r"--calibrate --batch 2"):
        load_calibration(2)


def test_stale_calibration_is_refused(cache):
    save_calibration(rates(1, age_days=31))
    with pytest.raises(CalibrationError, match=r"is 31 days old \(limit 30\).*--calibrate"):
        load_calibration(1)
    assert load_calibration(1, now=time.time() - 2 * DAY).batch_size == 1


def test_foreign_calibration_is_refused(cache):
    save_calibration(rates(1))
    data = json.loads(calibration_path().read_text())
    data["fingerprint"]["cpu_model"] = "Some Other CPU"
    data["fingerprint"]["tensorflow"] = "0.1"
    calibration_path().write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match=r"different environment \(cpu_model: 'Some "
                                               r"Other CPU' != .*tensorflow.*--calibrate"):
        load_calibration(1)
    save_calibration(rates(4))  # a foreign file is replaced, not merged
    assert set(json.loads(calibration_path().read_text())["entries"]) == {"4"}


@pytest.mark.parametrize("text", ["{not json", json.dumps({"version": 99})])
def test_unreadable_calibration_is_refused(cache, text):
    cache.mkdir(parents=True)
    calibration_path().write_text(text)
    with pytest.raises(CalibrationError, match="--calibrate"):
        load_calibration(1)


def test_latency_model_scales_with_size_batch_and_correction():
    model = LatencyModel(rates(1))
    small = archscale.profile(archscale.preset("resnet20"))
    large = archscale.profile(archscale.preset("resnet56"))
    assert 0 < model.predict_ms(small, 1) < model.predict_ms(large, 1)
    assert model.predict_ms(small, 8) > model.predict_ms(small, 1)
    assert LatencyModel(rates(1), 2.0).predict_ms(small, 1) == pytest.approx(
        2 * model.predict_ms(small, 1))
    dense_part = 2 * small.macs / 50e9 * 1e3  # conv MACs at 50 GFLOP/s
    assert model.predict_ms(small, 1) > dense_part
    assert model.macs_within(1.0, 1) == pytest.approx(25e6)


def test_latency_budget_uses_the_calibration_without_tensorflow(cache):
    save_calibration(rates(1))
    task = Task(input_shape=(32, 32, 3), classes=10, samples=50_000)
    p = propose(task, Budget(max_latency_ms=1.0, batch_size=1))
    assert p.predicted["latency_ms"] <= 1.0 and p.binding in ("max_latency_ms", "capacity")
    assert p.utilisation[p.binding]["fraction"] >= 0.9
    code = ("import sys; from archscale.cli import main; rc = main(['propose', '--input', "
            "'32x32x3', '--classes', '10', '--samples', '50000', '--max-latency-ms', '1']); "
            "sys.exit(rc or int('tensorflow' in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "ARCHSCALE_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr
    assert "latency (batch 1)" in proc.stdout and "<- binding" in proc.stdout


def test_verify_never_grows_back_to_a_size_measured_over_the_limit(cache, monkeypatch):
    """verify's decisions on a scripted run of timings (the timing itself is the TensorFlow
    test below): over the limit, then far under it, then a noisy 85 %; the spec that came
    in under must not be grown back to the size that measured over."""
    from archscale.measure import latency_calibration

    save_calibration(rates(1))
    limit = 1.0
    first = propose(Task(input_shape=(32, 32, 3), classes=10, samples=50_000),
                    Budget(max_latency_ms=limit, batch_size=1))
    timings = iter([1.15 * limit, 0.4 * limit, 0.85 * limit, 0.85 * limit])
    seen: list[int] = []

    def scripted(proposal, batch_size, quick):
        seen.append(proposal.predicted["macs"])
        return {"median_ms": next(timings), "p90_ms": 0.0, "samples": 1.0}

    monkeypatch.setattr(latency_calibration, "_measure_spec", scripted)
    verified = latency_calibration.verify(first)
    v = verified.verification
    assert seen[0] == first.predicted["macs"] and seen[1] < seen[0]
    assert v["status"] == "fits" and v["measured_ms"] == pytest.approx(0.4 * limit)
    assert verified.predicted["macs"] == seen[1] < first.predicted["macs"]
    assert len(v["rounds"]) == 2


@pytest.mark.tf
@pytest.mark.serial  # times real models against a 3 ms limit
def test_real_calibration_then_verify(cache, capsys):
    """Calibrate this machine for real (TensorFlow), then --verify a proposal against it."""
    assert main(["propose", "--calibrate", "--batch", "1", "--json"]) == 0
    calibration = json.loads(capsys.readouterr().out)["calibration"]
    assert calibration["batch_size"] == 1 and calibration["conv_gflops"] > 0
    assert calibration["overhead_ms"] > 0 and calibration_path().exists()
    measured = load_calibration(1)
    assert measured.dense_gflops > 0 and measured.depthwise_gflops > 0

    argv = ["propose", "--input", "32x32x3", "--classes", "10", "--samples", "50000",
            "--max-latency-ms", "3", "--batch", "1"]
    assert main([*argv, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["predicted"]["latency_ms"] <= 3.0
    code = main([*argv, "--verify", "--json"])
    verified = json.loads(capsys.readouterr().out)
    v = verified["verification"]
    assert v["rounds"] and all(r["measured_ms"] > 0 for r in v["rounds"])
    if verified["predicted"]["macs"] > first["predicted"]["macs"]:  # grown: it was far under
        assert v["rounds"][0]["measured_ms"] < 0.8 * 3.0
    elif verified["predicted"]["macs"] < first["predicted"]["macs"]:  # shrunk: it was over
        assert v["rounds"][0]["measured_ms"] > 3.0
    if v["status"] == "fits":
        assert code == 0 and v["measured_ms"] <= 3.0
    else:
        assert code == 1 and len(v["rounds"]) == 4
