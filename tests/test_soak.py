"""A short soak (scripts/soak): the helper on virtual devices for a few minutes of a night with
every fault kind, answering every request, recovering from each fault, never crashing."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pulse import PulseServer, PulseUnavailable
from voice.service.live import utterance_keeper

SOAK = Path(__file__).resolve().parent.parent / "scripts" / "soak.py"


def test_a_short_soak_answers_every_request_and_recovers_from_each_fault(tmp_path):
    (tmp_path / "pulse").mkdir()
    try:  # the same check the live tests make: skip, saying why, only if PulseAudio cannot start
        probe = PulseServer(tmp_path / "pulse")
        probe.start()
        probe.stop()
    except PulseUnavailable as error:
        pytest.skip(f"PulseAudio cannot start here: {error}")
    out = tmp_path / "soak.json"
    run = subprocess.run([sys.executable, str(SOAK), "--minutes", "3.2", "--request-every", "10",
                          "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert out.exists(), run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert not result["crashed"], json.dumps(result)
    assert result["unanswered_outside_faults"] == 0 and result["answered"] >= 6, json.dumps(result)
    for kind in ("microphone", "speaker", "sound_server"):
        assert result["answered_after_fault"][kind], f"no {kind} fault happened: {json.dumps(result)}"
        assert all(seconds is not None and seconds <= 20 for seconds in result["answered_after_fault"][kind]), json.dumps(result)
    if result["answered_after_fault"]["disk_full"]:  # only where a tmpfs can be mounted (root)
        assert all(seconds is not None for seconds in result["answered_after_fault"]["disk_full"]), json.dumps(result)
    # A rough figure (two recordings' clocks, tied to the wall clock at each request to a few
    # tenths of a second; scripts/bench_live.py measures latency properly): answered promptly.
    assert result["latency_p50_s"] is not None and 0 < result["latency_p50_s"] < 3, json.dumps(result)
    assert len(result["rss_mb_each_minute"]) >= 2 and len(result["rss_anon_mb_each_minute"]) >= 2, json.dumps(result)
    assert not any("Traceback" in line for line in result["error_lines"]), json.dumps(result)
    assert run.returncode == 0, run.stderr[-2000:]


def test_an_unanswered_request_shows_the_utterances_the_helper_heard(tmp_path, monkeypatch):
    """What the soak reports for a request left unanswered: the utterances the helper kept, read
    back from the names its ``--keep-audio`` gives them."""
    monkeypatch.syspath_prepend(str(SOAK.parent))
    soak = importlib.import_module("soak")
    keep = utterance_keeper(tmp_path / "heard")
    keep(np.zeros(16000 * 2, dtype=np.int16).tobytes())
    time.sleep(0.01)
    since = time.time()
    assert soak.utterances_heard(tmp_path / "heard", since) == ["soak: the helper heard no utterance"]
    keep(np.zeros(16000 * 7, dtype=np.int16).tobytes())
    [line] = soak.utterances_heard(tmp_path / "heard", since)
    assert line.endswith("soak: the helper heard an utterance of 7.0 s")
