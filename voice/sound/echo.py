"""The helper's own voice, taken back out of the microphone (acoustic echo cancellation).

On a bedside box the speaker is a hand's width from the microphone: while the helper speaks,
the microphone hears mostly the helper, and a "stop" from the pillow drowns in it. WebRTC's
echo canceller (AEC3, from the ``pywebrtc-audio`` package) knows what the speaker played (the
*far end*) and removes what of it comes back into the microphone, about 20 dB of it in a room
with reverb (docs/benchmarks.md). It runs only while the speaker plays and a moment after (the
voice still rings in the room); the rest of the night the microphone's audio passes untouched
and costs nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Deque, Optional

import numpy as np

from voice.base.errors import BedsideError
from voice.sound.audio import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger("bedside")
CHUNK = SAMPLE_RATE // 100  # AEC3 works on 10 ms
TAIL_SECONDS = 0.5  # after the speaker falls silent, its voice still rings in the room this long
FAR_END_SECONDS = 2.0  # at most this much played audio waits for the microphone
# What AEC3 leaves of the helper's voice (its residual, 20-40 dB down) still sounds like speech
# to the endpointer, which then never ends an utterance while the helper speaks. A 10 ms chunk
# that the canceller took this much out of was mostly the helper's own voice (a person talking
# over it keeps most of their chunk): it is turned down by ``SUPPRESS_DB`` more.
ECHO_DOMINATED_DB = 10.0
SUPPRESS_DB = 30.0


class FarEnd:
    """What the speaker played, in order, for the echo canceller: the speaker's thread hands in
    each block it plays, the listening thread takes as much as it records. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blocks: Deque[np.ndarray] = deque()
        self._waiting = 0

    def played(self, samples: np.ndarray) -> None:
        """16 kHz mono int16 that just went to the speaker."""
        with self._lock:
            self._blocks.append(np.array(samples, dtype=np.int16))
            self._waiting += samples.size
            while self._waiting > FAR_END_SECONDS * SAMPLE_RATE:  # the microphone fell behind: keep it near
                self._waiting -= self._blocks.popleft().size

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` samples played (silence where nothing was)."""
        out = np.zeros(count, dtype=np.int16)
        filled = 0
        with self._lock:
            while filled < count and self._blocks:
                block = self._blocks[0]
                used = min(block.size, count - filled)
                out[filled : filled + used] = block[:used]
                filled += used
                self._waiting -= used
                if used == block.size:
                    self._blocks.popleft()
                else:
                    self._blocks[0] = block[used:]
        return out


class EchoCanceller:
    """Cleans each 30 ms microphone frame of what ``far_end`` says the speaker played."""

    def __init__(self, far_end: FarEnd) -> None:
        try:
            from pywebrtc_audio import EchoCanceller as Aec3
        except ImportError:
            raise BedsideError("echo cancellation needs pywebrtc-audio: run scripts/setup "
                               "(or: pip install pywebrtc-audio), or set echo_cancellation: off") from None
        self._aec = Aec3(SAMPLE_RATE, 1, 0)  # it finds the speaker-to-microphone delay itself
        self.far_end = far_end
        self._quiet_frames = TAIL_FRAMES  # frames since the speaker last played anything

    def clean(self, frame: bytes) -> bytes:
        far = self.far_end.take(FRAME_SAMPLES)
        self._quiet_frames = 0 if far.any() else self._quiet_frames + 1
        if self._quiet_frames >= TAIL_FRAMES:
            return frame
        near = np.frombuffer(frame, dtype="<i2")
        return np.concatenate([self._clean_chunk(near[start : start + CHUNK], far[start : start + CHUNK])
                               for start in range(0, FRAME_SAMPLES, CHUNK)]).astype("<i2").tobytes()

    def _clean_chunk(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        cleaned = np.asarray(self._aec.process(near, far), dtype=np.float64)
        removed_db = 10 * np.log10((_power(near) + 1.0) / (_power(cleaned) + 1.0))
        if removed_db >= ECHO_DOMINATED_DB:
            cleaned *= 10 ** (-SUPPRESS_DB / 20)
        return np.round(cleaned)


def _power(samples: np.ndarray) -> float:
    return float(np.mean(np.square(samples, dtype=np.float64)))


TAIL_FRAMES = round(TAIL_SECONDS * SAMPLE_RATE / FRAME_SAMPLES)


def echo_canceller(far_end: FarEnd) -> Optional[EchoCanceller]:
    """An echo canceller, or None (said in one line) where pywebrtc-audio is not installed."""
    try:
        return EchoCanceller(far_end)
    except BedsideError as error:
        log.warning("%s", error)
        return None
