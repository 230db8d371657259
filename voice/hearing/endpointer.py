"""The endpointer: where an utterance starts and ends, so that silence is never decoded.

pocketsphinx's WebRTC-style voice-activity endpointer decides; this adds a pre-roll. The
endpointer starts an utterance where most of a window is speech, which can be a few
milliseconds after the first sound, or after a short first word ("ouch, my calf") that it
did not count. The recognizer needs a little silence before the first word: measured on
one recording, "ouch, my right calf is so tight" came out as that sentence when the
utterance began 0.18 s before the speech, and as "bad leg cramp in my toes" when it began
0.05 s before it, the difference being one-bit dither in the silence (docs/benchmarks.md).
"""

from __future__ import annotations

from collections import deque
from typing import Deque, List, Optional, Tuple

import numpy as np

from voice.sound.audio import FRAME_BYTES, FRAME_SECONDS, SAMPLE_RATE, split_frames

PRE_ROLL_SECONDS = 0.3


class Endpointer:
    """Feed 30 ms frames to ``process``; it returns the audio of speech (with the pre-roll
    before its first frame), or None between utterances. ``in_speech`` tells which."""

    def __init__(self, window: float = 0.3, ratio: float = 0.9, mode: int = 1,
                 pre_roll: float = PRE_ROLL_SECONDS) -> None:
        import pocketsphinx

        self._endpointer = pocketsphinx.Endpointer(window=window, ratio=ratio, vad_mode=mode,
                                                   sample_rate=SAMPLE_RATE)
        assert self._endpointer.frame_bytes == FRAME_BYTES
        self._pre_roll_frames = round(pre_roll / FRAME_SECONDS)
        # The endpointer hands out each frame a window late; keep enough to reach back further.
        self._recent: Deque[Tuple[int, bytes]] = deque(
            maxlen=round(window / FRAME_SECONDS) + self._pre_roll_frames + 1)
        self._fed = 0  # frames so far
        self._ended = 0  # the frame after the last one handed out

    @property
    def in_speech(self) -> bool:
        return self._endpointer.in_speech

    def process(self, frame: bytes) -> Optional[bytes]:
        was_in_speech = self._endpointer.in_speech
        self._recent.append((self._fed, frame))
        self._fed += 1
        speech = self._endpointer.process(frame)
        if speech is not None and not was_in_speech:
            first = round(self._endpointer.speech_start / FRAME_SECONDS)
            earliest = max(first - self._pre_roll_frames, self._ended)
            speech = b"".join(audio for index, audio in self._recent if earliest <= index < first) + speech
        if was_in_speech and not self._endpointer.in_speech:
            self._ended = round(self._endpointer.speech_end / FRAME_SECONDS)
        return speech

    def finish(self) -> Optional[bytes]:
        """The stream ended in speech: the rest of the utterance, which the endpointer still holds."""
        if not self._endpointer.in_speech:
            return None
        return self._endpointer.end_stream(bytes(FRAME_BYTES))


def utterances(samples: np.ndarray, pre_roll: float = PRE_ROLL_SECONDS) -> List[bytes]:
    """The utterances an endpointer cuts from a whole recording, as the pipeline gets them."""
    return [audio for audio, _ in timed_utterances(samples, pre_roll)]


def timed_utterances(samples: np.ndarray, pre_roll: float = PRE_ROLL_SECONDS) -> List[Tuple[bytes, int]]:
    """Each utterance, with the sample where the endpointer ended it (it begins about its own
    length before)."""
    endpointer = Endpointer(pre_roll=pre_roll)
    found: List[Tuple[bytes, int]] = []
    current: List[bytes] = []
    end = 0
    for frame in split_frames(samples):
        end += len(frame) // 2
        speech = endpointer.process(frame)
        if speech is not None:
            current.append(speech)
        if current and not endpointer.in_speech:
            found.append((b"".join(current), end))
            current = []
    if endpointer.in_speech:
        found.append((b"".join(current) + (endpointer.finish() or b""), end))
    return found
