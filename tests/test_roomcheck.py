"""``bedside room-check`` on a generated night: a known noise, and a request at a known moment."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_bedside

RATE = 16000


def noise_at(dbfs: float, seconds: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=10 ** (dbfs / 20), size=int(seconds * RATE))


@pytest.fixture(scope="module")
def night(recordings, tmp_path_factory):
    """15 minutes: 5 quiet (-60 dBFS), 5 loud (-35 dBFS, a fan), 5 quiet again, with "I have a
    cramp in my calf" said 2 minutes into the last quiet stretch. Returns (file, request's end)."""
    import soundfile

    request, _ = soundfile.read(str(recordings(["I have a cramp in my calf"], "flite:rms")))
    parts = [noise_at(-60, 300, 1), noise_at(-35, 300, 2), noise_at(-60, 120, 3)]
    request_end = sum(part.size for part in parts) / RATE + request.size / RATE
    parts += [noise_at(-60, request.size / RATE, 4) + request, noise_at(-60, 180 - request.size / RATE, 5)]
    path = tmp_path_factory.mktemp("night") / "night.flac"
    soundfile.write(str(path), np.clip(np.concatenate(parts), -1, 1), RATE, format="FLAC")
    return path, request_end


def test_room_check_finds_the_one_wake_up_and_the_noise_it_was_given(night, tmp_path):
    path, request_end = night
    plot = tmp_path / "night.png"
    result = run_bedside("room-check", str(path), "--json", "--start", "23:30", "--plot", str(plot), timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert abs(report["hours"] - 0.25) < 0.01
    (wake,) = report["wakes"]
    assert wake["intent"] == "cramp" and abs(wake["t"] - request_end) < 1.5
    assert wake["clock"] == "23:42:" + wake["clock"][-2:] and wake["clock"].startswith("23:42")
    levels = report["noise_dbfs"]
    assert len(levels) == 3
    # The background level of gaussian noise, at its quiet 20th percentile of 30 ms frames.
    assert abs(levels[0] - -60) < 1.5 and abs(levels[1] - -35) < 1.5 and abs(levels[2] - -60) < 1.5
    assert "loud noise from 23:35 to 23:40" in report["verdict"]
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_room_check_text_gives_offsets_without_a_start_time(night):
    path, _ = night
    result = run_bedside("room-check", str(path), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "would have spoken after hearing 'i have a cramp in my calf'" in result.stdout
    assert "+0:12:" in result.stdout and "loud noise from +0:05 to +0:10" in result.stdout


def test_room_check_of_a_missing_file_is_one_line(tmp_path):
    result = run_bedside("room-check", str(tmp_path / "nope.wav"))
    assert result.returncode == 1 and "no such audio file" in result.stderr and "Traceback" not in result.stderr
