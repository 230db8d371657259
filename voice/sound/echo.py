"""The helper's own voice, taken back out of the microphone (acoustic echo cancellation).

On a bedside box the speaker is a hand's width from the microphone: while the helper speaks,
the microphone hears mostly the helper, and a "stop" from the pillow drowns in it. speexdsp's
echo canceller (``libspeexdsp``, Debian's ``libspeexdsp1``; through ctypes) knows what the
speaker played (the *far end*), and its adaptive filter removes what of that comes back into
the microphone; its preprocessor then suppresses what the filter left. WebRTC's AEC3 removed
more of the helper (25 against 18 dB) but muted the first quarter second of a word said over
it, the "st" of "stop", 16 to 33 dB; speexdsp keeps it whole (docs/benchmarks.md, "Barge-in").
It runs only while the speaker plays and a moment after (the voice still rings in the room);
the rest of the night the microphone's audio passes untouched and costs nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections import deque
from typing import Deque, List, Optional, Tuple

import numpy as np

from voice.base.errors import BedsideError
from voice.sound.audio import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger("bedside")
CHUNK = SAMPLE_RATE // 100  # speexdsp works on 10 ms here
FILTER_SECONDS = 0.3  # the echo path the filter learns: the speaker, the room's first reflections
TAIL_SECONDS = 0.5  # after the speaker falls silent, its voice still rings in the room this long
FAR_END_SECONDS = 2.0  # at most this much played audio waits for the microphone
# The preprocessor's suppression of what the filter left (dB; speexdsp's own defaults are -40
# and -15), and its light denoising: the settings measured in docs/benchmarks.md.
ECHO_SUPPRESS_DB = -40
ECHO_SUPPRESS_ACTIVE_DB = -15
NOISE_SUPPRESS_DB = -3
# What the canceller leaves of the helper's voice still sounds like speech to the endpointer,
# which then never ends an utterance while the helper speaks. A 10 ms chunk that the canceller
# took this much out of was mostly the helper's own voice (a person talking over it keeps most
# of their chunk): for the endpointer it is turned down by ``SUPPRESS_DB`` more.
ECHO_DOMINATED_DB = 6.0
SUPPRESS_DB = 30.0
# Turned down that far, such a chunk falls far below the room's own noise, and when the helper
# falls silent the noise comes back as a step that the endpointer's VAD takes for speech for up
# to 4 s: what the person said next was then swallowed into one long utterance that began
# while the helper spoke (docs/benchmarks.md, "Comfort noise"). As telephone echo cancellers do,
# the room's quiet is put back under it: the quietest quarter of the chunks heard in the
# ROOM_SECONDS before the helper spoke (a person's word there is left out), in turn.
ROOM_SECONDS = 3.0
COMFORT_SHARE = 0.25


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
        self._speexdsp = _Speexdsp()
        self.far_end = far_end
        self._quiet_frames = TAIL_FRAMES  # frames since the speaker last played anything
        self._room: Deque[np.ndarray] = deque(maxlen=round(ROOM_SECONDS * SAMPLE_RATE / FRAME_SAMPLES))
        self._comfort: Optional[List[np.ndarray]] = None  # chosen from _room when the speaker starts
        self._comfort_turn = 0

    def clean(self, frame: bytes) -> bytes:
        """The frame for the endpointer: cleaned, and chunks that were mostly the helper turned
        down further."""
        return self.clean_both(frame)[0]

    def clean_both(self, frame: bytes) -> Tuple[bytes, bytes]:
        """The frame for the endpointer (as ``clean``), and as the canceller left it (for
        spotting "stop" while the helper speaks, voice.hearing.stop_spotter)."""
        far = self.far_end.take(FRAME_SAMPLES)
        self._quiet_frames = 0 if far.any() else self._quiet_frames + 1
        near = np.frombuffer(frame, dtype="<i2")
        if self._quiet_frames >= TAIL_FRAMES:
            self._room.append(near)
            self._comfort = None
            return frame, frame
        if self._comfort is None:
            self._comfort = self._quietest_chunks()
        cancelled = np.concatenate([self._speexdsp.cancel(near[start : start + CHUNK], far[start : start + CHUNK])
                                    for start in range(0, FRAME_SAMPLES, CHUNK)])
        gated = cancelled.astype(np.float64)
        for start in range(0, FRAME_SAMPLES, CHUNK):
            chunk = slice(start, start + CHUNK)
            removed_db = 10 * np.log10((_power(near[chunk]) + 1.0) / (_power(cancelled[chunk]) + 1.0))
            if removed_db >= ECHO_DOMINATED_DB:
                gated[chunk] *= 10 ** (-SUPPRESS_DB / 20)
                if self._comfort:
                    gated[chunk] += self._comfort[self._comfort_turn % len(self._comfort)]
                    self._comfort_turn += 1
        return (np.clip(np.round(gated), -32768, 32767).astype("<i2").tobytes(),
                cancelled.astype("<i2").tobytes())

    def _quietest_chunks(self) -> List[np.ndarray]:
        """The room's quiet: the quietest quarter of its 10 ms chunks of late, in the order they
        came (none before anything was heard)."""
        if not self._room:
            return []
        chunks = np.concatenate(list(self._room)).reshape(-1, CHUNK)
        power = np.mean(np.square(chunks, dtype=np.float64), axis=1)
        quietest = np.sort(np.argsort(power)[: max(1, round(COMFORT_SHARE * power.size))])
        return [chunks[index].astype(np.float64) for index in quietest]


class _Speexdsp:
    """One speexdsp echo canceller and its preprocessor, on 10 ms chunks (ctypes on libspeexdsp)."""

    # From speex_echo.h and speex_preprocess.h.
    _ECHO_SET_SAMPLING_RATE = 24
    _SET_DENOISE, _SET_NOISE_SUPPRESS, _SET_ECHO_SUPPRESS, _SET_ECHO_SUPPRESS_ACTIVE, _SET_ECHO_STATE = 0, 18, 20, 22, 24

    def __init__(self) -> None:
        lib = _library()
        self._lib = lib
        self._echo = lib.speex_echo_state_init(CHUNK, round(FILTER_SECONDS * SAMPLE_RATE))
        self._preprocess = lib.speex_preprocess_state_init(CHUNK, SAMPLE_RATE)
        if not self._echo or not self._preprocess:
            raise BedsideError("speexdsp could not start its echo canceller; set echo_cancellation: off")
        lib.speex_echo_ctl(self._echo, self._ECHO_SET_SAMPLING_RATE, ctypes.byref(ctypes.c_int(SAMPLE_RATE)))
        lib.speex_preprocess_ctl(self._preprocess, self._SET_ECHO_STATE, ctypes.c_void_p(self._echo))
        for request, value in ((self._SET_DENOISE, 1), (self._SET_NOISE_SUPPRESS, NOISE_SUPPRESS_DB),
                               (self._SET_ECHO_SUPPRESS, ECHO_SUPPRESS_DB),
                               (self._SET_ECHO_SUPPRESS_ACTIVE, ECHO_SUPPRESS_ACTIVE_DB)):
            lib.speex_preprocess_ctl(self._preprocess, request, ctypes.byref(ctypes.c_int(value)))

    def cancel(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        near = np.ascontiguousarray(near, dtype=np.int16)
        far = np.ascontiguousarray(far, dtype=np.int16)
        out = np.empty(CHUNK, dtype=np.int16)
        self._lib.speex_echo_cancellation(self._echo, near.ctypes.data, far.ctypes.data, out.ctypes.data)
        self._lib.speex_preprocess_run(self._preprocess, out.ctypes.data)
        return out

    def __del__(self) -> None:
        lib = getattr(self, "_lib", None)
        if lib is not None:
            if self._preprocess:
                lib.speex_preprocess_state_destroy(self._preprocess)
            if self._echo:
                lib.speex_echo_state_destroy(self._echo)


_LIBRARY: Optional[ctypes.CDLL] = None


def _library() -> ctypes.CDLL:
    """libspeexdsp, loaded once, with its functions' types declared."""
    global _LIBRARY
    if _LIBRARY is None:
        name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            raise BedsideError("echo cancellation needs speexdsp: run scripts/setup "
                               "(or: sudo apt-get install libspeexdsp1), or set echo_cancellation: off") from None
        pointer, integer = ctypes.c_void_p, ctypes.c_int
        for function, restype, argtypes in (
                ("speex_echo_state_init", pointer, [integer, integer]),
                ("speex_echo_ctl", integer, [pointer, integer, pointer]),
                ("speex_echo_cancellation", None, [pointer, pointer, pointer, pointer]),
                ("speex_echo_state_destroy", None, [pointer]),
                ("speex_preprocess_state_init", pointer, [integer, integer]),
                ("speex_preprocess_ctl", integer, [pointer, integer, pointer]),
                ("speex_preprocess_run", integer, [pointer, pointer]),
                ("speex_preprocess_state_destroy", None, [pointer])):
            getattr(lib, function).restype = restype
            getattr(lib, function).argtypes = argtypes
        _LIBRARY = lib
    return _LIBRARY


def _power(samples: np.ndarray) -> float:
    return float(np.mean(np.square(samples, dtype=np.float64)))


TAIL_FRAMES = round(TAIL_SECONDS * SAMPLE_RATE / FRAME_SAMPLES)


def echo_canceller(far_end: FarEnd) -> Optional[EchoCanceller]:
    """An echo canceller, or None (said in one line) where speexdsp is not installed."""
    try:
        return EchoCanceller(far_end)
    except BedsideError as error:
        log.warning("%s", error)
        return None
