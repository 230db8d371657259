"""Spotting "stop" while the helper speaks, without waiting for the end of an utterance.

While the helper talks, what the echo canceller leaves of its voice keeps the endpointer in
speech: a "stop" said over it often never ends as an utterance of its own in time (65 of 128
real ones on the tuning speakers). So, from the moment the helper starts speaking, the command
model (voice.hearing.command_model) looks at the last second of the canceller's output every
90 ms, and "stop" is spotted when it is sure of it twice in a row, in a second whose loudest
part stands out from what the canceller usually leaves of the helper and is not the helper's
voice itself (the canceller took less than ``ECHO_DOMINATED_DB`` out of it). On the tuning
speakers (docs/benchmarks.md, "Barge-in") this cut the helper off for 93 of 128 real "stop"s
said over its first words at equal loudness (110 once the canceller has learned the room from
an earlier line), and its own voice alone, from a quiet night volume to a loud one, never (6
of 20 runs before the second rule). A second in which the microphone clipped again and again
is left out: the canceller's filter is linear, and what it leaves of a clipped echo can sound
like anything, "stop" too (a loud word clips only at its peaks).
"""

from __future__ import annotations

from collections import deque
from typing import Deque, Dict, Optional, Protocol

import numpy as np

from voice.sound.audio import FRAME_SAMPLES, SAMPLE_RATE
from voice.sound.echo import ECHO_DOMINATED_DB

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
        self._microphone_powers: Deque[float] = deque(maxlen=round(HISTORY_SECONDS * 100))
        self._frames = 0
        self._sure_in_a_row = 0

    def reset(self) -> None:
        self._samples.clear()
        self._clipped.clear()
        self._powers.clear()
        self._microphone_powers.clear()
        self._frames = 0
        self._sure_in_a_row = 0

    def hear(self, frame: bytes, microphone: bytes) -> Optional[float]:
        """The model's probability of "stop" when it is spotted with this frame (the canceller's
        output of the ``microphone`` frame), else None."""
        samples = np.frombuffer(frame, dtype="<i2")
        heard = np.frombuffer(microphone, dtype="<i2")
        self._samples.append(samples)
        self._clipped.append(bool(np.abs(heard.astype(np.int32)).max() >= CLIPPED))
        self._powers.extend(_block_powers(samples))
        self._microphone_powers.extend(_block_powers(heard))
        self._frames += 1
        if len(self._samples) < self._samples.maxlen or self._frames % HOP_FRAMES:
            return None
        if sum(self._clipped) >= CLIPPED_SHARE * len(self._clipped):
            self._sure_in_a_row = 0
            return None
        probability = self._model.probabilities(np.concatenate(self._samples))["stop"]
        sure = probability >= SURE and self._loudest_is_a_person()
        self._sure_in_a_row = self._sure_in_a_row + 1 if sure else 0
        return probability if self._sure_in_a_row >= IN_A_ROW else None

    def _loudest_is_a_person(self) -> bool:
        """The window's loudest 100 ms stand ``RISE_DB`` above the median 100 ms of the last two
        seconds, and the canceller took less than ``ECHO_DOMINATED_DB`` out of them: more, and
        they were mostly the helper's own voice (as for the endpointer). What it leaves of that
        voice can sound like "stop" to the model ("not a doctor", "toes up") and stand out from
        the rest of what it leaves: at a quiet night volume, and once its filter has learned the
        room."""
        left, heard = _loudness_db(self._powers), _loudness_db(self._microphone_powers)
        in_window = slice(left.size - (self._window // BLOCK - LOUDNESS_BLOCKS + 1), left.size)
        loudest = in_window.start + int(np.argmax(left[in_window]))
        return left[loudest] - np.median(left) >= RISE_DB and heard[loudest] - left[loudest] < ECHO_DOMINATED_DB


def _block_powers(samples: np.ndarray) -> list:
    blocks = samples[: samples.size // BLOCK * BLOCK].astype(np.float64).reshape(-1, BLOCK)
    return np.mean(blocks ** 2, axis=1).tolist()


def _loudness_db(powers: Deque[float]) -> np.ndarray:
    """The loudness (dB) of every run of ``LOUDNESS_BLOCKS`` blocks (100 ms)."""
    sums = np.concatenate([[0.0], np.cumsum(np.array(powers))])
    return 10 * np.log10((sums[LOUDNESS_BLOCKS:] - sums[:-LOUDNESS_BLOCKS]) / LOUDNESS_BLOCKS + 1.0)
