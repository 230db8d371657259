"""The night log survives the helper being killed at any moment (SIGKILL, as a power cut or the
kernel's out-of-memory killer would end it): no damage, and every episode it had reported is there."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

KILLS = 12


def test_kill_at_random_moments_loses_no_recorded_episode_and_damages_nothing(recordings, tmp_path):
    files = [str(recordings(["I have a cramp in my calf", 1.0, "it's gone"], "flite:rms"))] * 20
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    log_folder = tmp_path / "data" / "bedside"
    rng = random.Random(20261122)
    reported = 0  # episodes whose file's result was printed: written and committed before that
    killed_mid_run = 0
    for _ in range(KILLS):
        process = subprocess.Popen([sys.executable, "-m", "voice", "simulate", "--json", "--record-history",
                                    "--engine", "pocketsphinx", *files],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        time.sleep(rng.uniform(0.8, 4.0))
        process.send_signal(signal.SIGKILL)
        out, _ = process.communicate()
        results = [json.loads(line) for line in out.splitlines() if line.endswith("}")]
        killed_mid_run += len(results) < len(files)
        reported += sum(result["triggered"] for result in results)
    assert killed_mid_run >= KILLS // 2, "the kills should land while episodes are being written"
    assert reported > 0, "no run got far enough to record an episode: lengthen the waits"

    assert not list(log_folder.glob("*.damaged-*")), "a damaged night log was set aside"
    database = sqlite3.connect(str(log_folder / "history.sqlite3"))
    try:
        assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (ended,) = database.execute("SELECT count(*) FROM episodes WHERE ended_at IS NOT NULL").fetchone()
    finally:
        database.close()
    print(f"{KILLS} kills, {killed_mid_run} mid-run; {reported} episodes reported as written, "
          f"{ended} ended episodes in the log")  # shown with pytest -s
    assert ended >= reported
    history = subprocess.run([sys.executable, "-m", "voice", "history", "--json"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert history.returncode == 0, history.stderr
