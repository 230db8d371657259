"""``bedside room-check``: would the helper have woken up during this recorded night, and when?

It runs a whole-night recording through the same pipeline as ``bedside simulate``, streaming, and
reports each moment the helper would have spoken with nobody asking, the room's background
level every 5 minutes, and a verdict in plain words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import numpy as np

from voice.base.events import Event, Heard
from voice.base.progress import Progress
from voice.conversation.content import Content
from voice.conversation.simulate import activations, simulate_frames
from voice.hearing.command_model import CommandModel
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import Recognizer
from voice.hearing.verifier import Verifier
from voice.sound.audio import FRAME_SECONDS, FileSource, audio_seconds

WINDOW_SECONDS = 300.0
# The background level is a quiet moment's level: a low percentile of the 30 ms frames' levels
# in each window, so that talk, a cough or the helper's own voice does not count as noise.
BACKGROUND_PERCENTILE = 20
# A request from the pillow reaches a bedside microphone at about -30 dBFS; the benchmark hears
# most requests 20 dB above the noise and about half at 10 dB above it (docs/benchmarks.md).
QUIET_DBFS = -55.0
LOUD_DBFS = -42.0
SILENCE_DBFS = -120.0


@dataclass(frozen=True)
class Wake:
    t: float  # seconds into the recording
    clock: Optional[str]  # HH:MM:SS when the recording's start time is known
    heard: str
    intent: str


@dataclass(frozen=True)
class RoomReport:
    hours: float
    wakes: List[Wake]
    noise_dbfs: List[float]  # the background level of each 5 minutes
    verdict: str
    start: Optional[datetime] = None

    def as_json(self) -> Dict[str, Any]:
        return {"hours": round(self.hours, 3),
                "wakes": [{"t": round(wake.t, 2), "clock": wake.clock, "heard": wake.heard, "intent": wake.intent}
                          for wake in self.wakes],
                "noise_dbfs": [round(level, 1) for level in self.noise_dbfs], "verdict": self.verdict}

    def lines(self) -> List[str]:
        lines = [f"{self.hours:.2f} hours of recording"]
        for wake in self.wakes:
            lines.append(f"  {wake.clock or _offset(wake.t)}  would have spoken after hearing "
                         f"{wake.heard!r} ({wake.intent})")
        if not self.wakes:
            lines.append("  the helper would not have spoken once")
        lines.append("room level every 5 minutes (dBFS): " + " ".join(f"{level:.0f}" for level in self.noise_dbfs))
        lines.append(self.verdict)
        return lines


def _offset(seconds: float) -> str:
    return f"+{int(seconds // 3600):d}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"


class _LevelMeter:
    """Passes frames through, noting each frame's level and how many have gone by."""

    def __init__(self, frames: Iterator[bytes], progress: Progress, total_frames: int) -> None:
        self._frames = frames
        self._progress = progress
        self._total = total_frames
        self.count = 0
        self.windows: List[float] = []
        self._levels: List[float] = []
        self._per_window = int(round(WINDOW_SECONDS / FRAME_SECONDS))

    def __iter__(self) -> Iterator[bytes]:
        for frame in self._frames:
            samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
            rms = math.sqrt(float(np.mean(samples ** 2))) if samples.size else 0.0
            self._levels.append(20 * math.log10(rms / 32768) if rms > 0 else SILENCE_DBFS)
            self.count += 1
            if len(self._levels) == self._per_window:
                self._close_window()
            if self.count % 2000 == 0:
                self._progress(self.count, self._total)
            yield frame
        if self._levels:
            self._close_window()
        self._progress(self._total, self._total)

    def _close_window(self) -> None:
        self.windows.append(float(np.percentile(self._levels, BACKGROUND_PERCENTILE)))
        self._levels = []


def room_check(path: Path, recognizer: Recognizer, matcher: IntentMatcher, content: Content,
               start: Optional[datetime] = None, progress: Progress = lambda done, total: None,
               verifier: Optional[Verifier] = None, commands: Optional[CommandModel] = None) -> RoomReport:
    """Raises BedsideError for a file that cannot be read, as ``simulate`` does."""
    meter = _LevelMeter(FileSource(path).frames(), progress, int(audio_seconds(path) / FRAME_SECONDS))
    offsets: Dict[int, float] = {}  # id of a Heard event -> seconds into the recording

    def note(event: Event) -> None:
        if isinstance(event, Heard):
            offsets[id(event)] = meter.count * FRAME_SECONDS

    result = simulate_frames(str(path), iter(meter), recognizer, matcher, content, on_event=note, verifier=verifier,
                             commands=commands)
    conversation = result.conversation
    wakes = []
    for event in activations(conversation) + activations(conversation, questions=True):
        t = offsets.get(id(event), event.t)
        clock = (start + timedelta(seconds=t)).strftime("%H:%M:%S") if start else None
        wakes.append(Wake(t, clock, event.text, event.intent or ""))
    wakes.sort(key=lambda wake: wake.t)
    hours = meter.count * FRAME_SECONDS / 3600
    return RoomReport(hours, wakes, meter.windows, verdict(meter.windows, wakes, start), start)


def verdict(levels: List[float], wakes: List[Wake], start: Optional[datetime]) -> str:
    def at(index: int) -> str:
        seconds = index * WINDOW_SECONDS
        return (start + timedelta(seconds=seconds)).strftime("%H:%M") if start else _offset(seconds)[:-3]

    words = []
    loud = [index for index, level in enumerate(levels) if level > LOUD_DBFS]
    if not levels:
        words.append("no audio to judge")
    elif loud:
        first, last = loud[0], loud[-1]
        words.append(f"loud noise from {at(first)} to {at(last + 1)} (up to {max(levels):.0f} dBFS): move the "
                     "microphone closer to the pillow, or away from the noise (a fan, a heater)")
    elif max(levels) > QUIET_DBFS:
        words.append(f"some steady noise (up to {max(levels):.0f} dBFS); a request spoken from the pillow should "
                     "still be heard, said clearly")
    else:
        words.append("quiet room; a request spoken from the pillow should be heard")
    if wakes:
        words.append(f"the helper would have spoken {len(wakes)} time{'s' if len(wakes) > 1 else ''} (the times "
                     "above); if nobody asked for help then, something in the room sounds like a request")
    return "; ".join(words) + "."


def plot(report: RoomReport, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 3.5), dpi=100)
    hours = [index * WINDOW_SECONDS / 3600 for index in range(len(report.noise_dbfs))]
    axes.step(hours, report.noise_dbfs, where="post", label="room level (quiet moments)")
    axes.axhline(LOUD_DBFS, color="tab:red", linestyle=":", label="loud: move the microphone")
    for index, wake in enumerate(report.wakes):
        axes.axvline(wake.t / 3600, color="tab:orange", label="the helper would have spoken" if index == 0 else None)
    axes.set_xlabel("hours into the recording" if report.start is None
                    else f"hours after {report.start.strftime('%H:%M')}")
    axes.set_ylabel("dBFS")
    axes.set_title("The night at the microphone")
    axes.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)
