"""scripts/bench_memory.py in a few iterations: each component runs, reads its memory and sums it up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pulse import PulseServer, PulseUnavailable

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench_memory.py"
SUMMARY_KEYS = {"component", "iterations", "trim", "warm_up", "rss_anon_mb_start", "rss_anon_mb_end",
                "rss_anon_mb_delta", "rss_anon_kb_per_1000", "in_use_mb_delta", "seconds", "readings"}
READING_KEYS = {"component", "iterations", "rss_anon_mb", "in_use_mb", "kept_free_mb"}


def bench(component: str, iterations: int, out: Path) -> dict:
    run = subprocess.run([sys.executable, str(BENCH), "--component", component, "--iterations", str(iterations),
                          "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert SUMMARY_KEYS <= result.keys(), result
    assert result["component"] == component and result["iterations"] == iterations and result["trim"]
    assert [reading["iterations"] for reading in result["readings"]] == list(range(0, iterations + 1, iterations // 10))
    assert all(reading.keys() == READING_KEYS for reading in result["readings"])
    assert 5 < result["rss_anon_mb_start"] < 400 and 5 < result["rss_anon_mb_end"] < 400
    assert abs(result["rss_anon_mb_delta"] - (result["rss_anon_mb_end"] - result["rss_anon_mb_start"])) < 0.11
    return result


@pytest.mark.parametrize("component", ["recognizer", "synthesis"])
def test_a_component_is_run_over_and_over_and_its_memory_summed_up(component, tmp_path):
    result = bench(component, 20, tmp_path / "memory.json")
    assert result["warm_up"] == "the reading at 4 iterations (20% of them)"
    print(json.dumps({key: value for key, value in result.items() if key != "readings"}))


def test_the_speaker_plays_on_a_private_sound_server(tmp_path):
    try:  # the same check the live tests make: skip, saying why, only if PulseAudio cannot start
        probe = PulseServer(tmp_path)
        probe.start()
        probe.stop()
    except PulseUnavailable as error:
        pytest.skip(f"PulseAudio cannot start here: {error}")
    bench("speaker", 10, tmp_path / "memory.json")
