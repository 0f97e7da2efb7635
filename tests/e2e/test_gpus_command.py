"""`gpupool gpus`: the real binary loading NVML with dlopen — the driver's library (absent on
machines without NVIDIA GPUs) or the stand-in of tests/fakes/fake_nvml.cpp — and a simulated set."""
import json
import os
import subprocess

from conftest import BINARY


def gpus(*args):
    return subprocess.run([BINARY, "gpus", *args], capture_output=True, text=True, timeout=30)


def test_without_nvml_it_says_so_and_fails():
    missing = gpus("--nvml", "/nonexistent/libnvidia-ml.so.1")
    assert missing.returncode == 1
    assert "NVML library /nonexistent/libnvidia-ml.so.1 not found" in missing.stderr


def test_it_reads_gpus_through_an_nvml_library():
    shown = gpus("--nvml", os.environ["GPUPOOL_FAKE_NVML"], "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["simulated"] is False and report["driver_cuda"] == "12.4"
    first, second = report["gpus"]
    assert first["model"] == "H100-80GB-HBM3" and first["memory_mb"] == 81920
    assert first["links"] == ["same", "nvlink"]
    assert (first["utilization_percent"], first["memory_used_mb"], first["temperature_c"]) == (73, 10240, 61)
    assert (first["power_w"], first["power_limit_w"]) == (312.5, 700)
    assert second["power_w"] is None and second["utilization_percent"] is None, "not supported: no figure"
    assert first["processes"] == [], "the stand-in runs no process unless a test adds one"


def test_a_simulated_set_is_labelled_simulated():
    table = gpus("--simulate", "2xA100-80GB")
    assert table.returncode == 0, table.stderr
    assert "2 GPU(s) (SIMULATED)" in table.stdout and "A100-80GB" in table.stdout
