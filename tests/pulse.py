"""A private PulseAudio server with a virtual microphone and a virtual speaker, for live-mode tests.

Two null sinks: ``bedside_speaker`` is where the helper plays, and its monitor is what a test
hears; ``bedside_mic`` is where a test plays recordings, and its monitor is the default source,
so for the helper it is the microphone. The server runs in its own runtime directory and never
touches a user's sound setup.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

SPEAKER = "bedside_speaker"
MIC = "bedside_mic"
# Another output, as a Pi has HDMI: when the speaker goes, the sound server moves sound here (no
# one hears it) instead of into the virtual microphone, its only other sink.
ELSEWHERE = "bedside_elsewhere"
RATE = 16000


class PulseUnavailable(Exception):
    pass


class PulseServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "native"
        self.env: Dict[str, str] = {
            **os.environ,
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(folder / "runtime"),
            "PULSE_STATE_PATH": str(folder / "state"),
            "PULSE_COOKIE": str(folder / "cookie"),
            "HOME": str(folder),  # keeps the server's and clients' state out of the real home
        }
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
            raise PulseUnavailable("pulseaudio and pulseaudio-utils are not installed (scripts/test installs them)")
        script = self.folder / "bedside.pa"
        script.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}\n"
            f"load-module module-null-sink sink_name={SPEAKER} rate={RATE}\n"
            f"load-module module-null-sink sink_name={MIC} rate={RATE}\n"
            f"load-module module-null-sink sink_name={ELSEWHERE} rate={RATE}\n"
            f"set-default-sink {SPEAKER}\n"
            f"set-default-source {MIC}.monitor\n"
        )
        log = (self.folder / "pulseaudio.log").open("w")
        self.process = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1",
             "--disallow-exit", "--system=no", "--log-target=stderr"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PulseUnavailable(f"pulseaudio exited: {self.log_tail()}")
            if self.pactl("info", check=False).returncode == 0:
                return
            time.sleep(0.2)
        self.stop()
        raise PulseUnavailable(f"pulseaudio did not answer within 15 s: {self.log_tail()}")

    def log_tail(self) -> str:
        return " | ".join((self.folder / "pulseaudio.log").read_text().splitlines()[-3:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, check=check,
                              timeout=10)

    def unplug_speaker(self) -> None:
        self.pactl("set-default-sink", ELSEWHERE)
        self._unload(SPEAKER)

    def plug_speaker(self) -> None:
        self.pactl("load-module", "module-null-sink", f"sink_name={SPEAKER}", f"rate={RATE}")
        self.pactl("set-default-sink", SPEAKER)

    def _unload(self, sink: str) -> None:
        modules = self.pactl("list", "short", "modules").stdout.splitlines()
        index = next(line.split()[0] for line in modules if f"sink_name={sink}" in line)
        self.pactl("unload-module", index)

    def unplug_microphone(self) -> None:
        self._unload(MIC)

    def plug_microphone(self) -> None:
        self.pactl("load-module", "module-null-sink", f"sink_name={MIC}", f"rate={RATE}")
        self.pactl("set-default-source", f"{MIC}.monitor")

    def play_into_microphone(self, wav: Path) -> None:
        """Speak ``wav`` into the virtual microphone; returns when it has been played."""
        with wave.open(str(wav)) as audio:
            seconds = audio.getnframes() / audio.getframerate()
        subprocess.run(["paplay", f"--device={MIC}", str(wav)], env=self.env, check=True, timeout=seconds + 30)

    def listen_to_speaker(self, out: Path) -> "SinkRecording":
        """What the helper says."""
        return SinkRecording(self, out, SPEAKER)

    def listen_to_microphone(self, out: Path) -> "SinkRecording":
        """What is played into the microphone (to time the helper's answer against it)."""
        return SinkRecording(self, out, MIC)


class SinkRecording:
    """What a virtual sink plays, recorded as raw 16 kHz mono int16 while the test runs."""

    def __init__(self, server: PulseServer, out: Path, sink: str) -> None:
        self.out = out
        self.process = subprocess.Popen(
            ["parecord", f"--device={sink}.monitor", "--raw", "--format=s16le", f"--rate={RATE}",
             "--channels=1", "--latency-msec=20", str(out)],
            env=server.env,
        )
        self._wait_for_data()

    def _wait_for_data(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not self.out.exists() or self.out.stat().st_size == 0):
            time.sleep(0.05)

    def samples(self, since: float = 0.0) -> np.ndarray:
        """The recording from ``since`` seconds on (read from there: an hour's file is 115 MB)."""
        with self.out.open("rb") as recording:
            recording.seek(int(since * RATE) * 2)
            data = recording.read()
        return np.frombuffer(data[: len(data) // 2 * 2], dtype=np.int16)

    def loud_seconds(self, since: float = 0.0, threshold: int = 500) -> List[float]:
        """Start times (seconds into the recording) of 10 ms blocks louder than ``threshold``."""
        first = math.ceil(since * 100 - 1e-9)  # the first block starting at or after ``since``
        samples = self.samples(first / 100)
        block = RATE // 100
        blocks = samples[: samples.size // block * block].reshape(-1, block)
        loud = np.flatnonzero(np.abs(blocks.astype(np.int32)).max(axis=1) > threshold)
        return [(first + index) / 100 for index in loud]

    def seconds(self) -> float:
        return self.out.stat().st_size // 2 / RATE

    def wait_for_speech(self, since: float, timeout: float) -> Optional[float]:
        """The recording time of the first loud block after ``since``, or ``None`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loud = self.loud_seconds(since)
            if loud:
                return loud[0]
            time.sleep(0.05)
        return None

    def wait_for_quiet(self, seconds: float = 1.0, timeout: float = 40.0) -> bool:
        """Until nothing was loud for the last ``seconds``; False after ``timeout`` s. A request
        said over the helper's own voice is not listened for (only "stop" is), and an answer
        must not be mistaken for the end of an earlier sentence: trials start in quiet."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.loud_seconds(since=max(0.0, self.seconds() - seconds)):
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Helper:
    """``bedside listen`` as a user runs it, on the virtual devices; its log goes to a file."""

    def __init__(self, server: PulseServer, folder: Path, *args: str, env: Optional[Dict[str, str]] = None) -> None:
        self.log = folder / "helper.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voice", "listen", "--engine", "pocketsphinx",
             "--input-device", "pulse", "--output-device", "pulse", *args],
            env={**server.env, "XDG_CONFIG_HOME": str(folder / "config"), **(env or {})},
            stdout=subprocess.DEVNULL, stderr=self.log.open("w"),
        )
        if not self.wait_for_log("listening", timeout=60):
            self.stop()
            raise AssertionError(f"the helper did not start listening: {self.log.read_text()}")

    def lines(self) -> List[str]:
        return self.log.read_text().splitlines()

    def wait_for_log(self, needle: str, timeout: float, after: int = 0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in self.lines()[after:]):
                return True
            if self.process.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def assert_clean_exit(self) -> None:
        assert self.process.returncode == 0, (self.process.returncode, self.lines())
        assert not any("Traceback" in line or "Logging error" in line for line in self.lines()), self.lines()

    def stop(self) -> float:
        """SIGTERM, as systemd sends it; returns how long the helper took to exit."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return time.monotonic() - started
