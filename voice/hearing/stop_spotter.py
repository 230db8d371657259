"""Spotting "stop" while the helper speaks, without waiting for the end of an utterance.

While the helper talks, what the echo canceller leaves of its voice keeps the endpointer in
speech: a "stop" said over it often never ends as an utterance of its own in time (65 of 128
real ones on the tuning speakers). So, from the moment the helper starts speaking, the command
model (voice.hearing.command_model) looks at the last second of the canceller's output every
90 ms, and "stop" is spotted when it is sure of it twice in a row, in a second that holds
something louder than what the canceller usually leaves of the helper. On the tuning speakers
(docs/benchmarks.md, "Barge-in") this cut the helper off for 95 of 128 real "stop"s said over
its voice at equal loudness, against 14 waiting for utterances, with 1 false cut in 86 runs of
its voice alone or with other words over it. A second in which the microphone clipped again and
again is left out: the canceller's filter is linear, and what it leaves of a clipped echo can
sound like anything, "stop" too (a loud word clips only at its peaks).
"""

from __future__ import annotations

from collections import deque
from typing import Deque, Dict, Optional, Protocol

import numpy as np

from voice.sound.audio import FRAME_SAMPLES, SAMPLE_RATE

WINDOW_SECONDS = 1.0
HOP_FRAMES = 3  # 90 ms of 30 ms frames
SURE = 0.85  # the model's probability of "stop" in one window
IN_A_ROW = 2
# The window's loudest 100 ms must stand this far above the median 100 ms of the last two
# seconds (mostly the canceller's leftovers of the helper's voice).
RISE_DB = 6.0
HISTORY_SECONDS = 2.0
CLIPPED = 32000  # a microphone sample this loud (of 32767) was cut off at full scale
CLIPPED_SHARE = 0.25  # of a window's frames, clipped: the helper's voice itself is clipping
BLOCK = SAMPLE_RATE // 100  # loudness is kept per 10 ms
LOUDNESS_BLOCKS = 10  # and compared per 100 ms


class StopModel(Protocol):
    def probabilities(self, samples: np.ndarray) -> Dict[str, float]: ...


class StopSpotter:
    """Fed the canceller's output frame by frame while the helper speaks; ``reset`` when it
    starts speaking again."""

    def __init__(self, model: StopModel) -> None:
        self._model = model
        self._window = round(WINDOW_SECONDS * SAMPLE_RATE)
        self._samples: Deque[np.ndarray] = deque(maxlen=self._window // FRAME_SAMPLES)
        self._clipped: Deque[bool] = deque(maxlen=self._window // FRAME_SAMPLES)
        self._powers: Deque[float] = deque(maxlen=round(HISTORY_SECONDS * 100))
        self._frames = 0
        self._sure_in_a_row = 0

    def reset(self) -> None:
        self._samples.clear()
        self._clipped.clear()
        self._powers.clear()
        self._frames = 0
        self._sure_in_a_row = 0

    def hear(self, frame: bytes, microphone: bytes) -> Optional[float]:
        """The model's probability of "stop" when it is spotted with this frame (the canceller's
        output of the ``microphone`` frame), else None."""
        samples = np.frombuffer(frame, dtype="<i2")
        self._samples.append(samples)
        self._clipped.append(bool(np.abs(np.frombuffer(microphone, dtype="<i2").astype(np.int32)).max() >= CLIPPED))
        blocks = samples[: samples.size // BLOCK * BLOCK].astype(np.float64).reshape(-1, BLOCK)
        self._powers.extend(np.mean(blocks ** 2, axis=1).tolist())
        self._frames += 1
        if len(self._samples) < self._samples.maxlen or self._frames % HOP_FRAMES:
            return None
        if sum(self._clipped) >= CLIPPED_SHARE * len(self._clipped):
            self._sure_in_a_row = 0
            return None
        probability = self._model.probabilities(np.concatenate(self._samples))["stop"]
        sure = probability >= SURE and self._rise_db() >= RISE_DB
        self._sure_in_a_row = self._sure_in_a_row + 1 if sure else 0
        return probability if self._sure_in_a_row >= IN_A_ROW else None

    def _rise_db(self) -> float:
        powers = np.array(self._powers)
        sums = np.concatenate([[0.0], np.cumsum(powers)])
        loudness = 10 * np.log10((sums[LOUDNESS_BLOCKS:] - sums[:-LOUDNESS_BLOCKS]) / LOUDNESS_BLOCKS + 1.0)
        in_window = loudness[-(self._window // BLOCK - LOUDNESS_BLOCKS + 1):]
        return float(in_window.max() - np.median(loudness))
