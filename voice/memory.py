"""Handing freed memory back to the system, so that a helper listening for weeks stays small.

glibc's malloc keeps what the program frees for reuse, and gives back only the free memory at
the top of its heaps. Each utterance allocates and frees its buffers (the audio, pocketsphinx's
search, the verifier's tensors) in between allocations that stay, so the free pieces left
behind hold RSS up, and raise it now and then, although nothing is in use for longer than one
utterance. Measured over 200 episodes (a request, "stop", a sentence of talk) in one
conversation, as ``listen`` runs it: memory in use flat at 32.2 MB either way; RssAnon from
episode 20 to 200 74.9 -> 77.1 and 76.4 -> 76.5 MB (74.4-78.3 between) in two runs without
trimming, 71.3 -> 71.8 MB with a trim after each utterance, at 0.29 ms a trim (docs/benchmarks.md).

Where the C library is not glibc (musl, macOS), trimming does nothing.
"""

from __future__ import annotations

import ctypes
import time
from typing import Callable, Optional

# Trim at most this often; and also without a new utterance (what the speaker and the audio
# threads free is given back too).
TRIM_SECONDS = 60.0


def glibc_malloc_trim() -> Optional[Callable[[], None]]:
    """glibc's ``malloc_trim(0)``: every arena's free pages go back to the system; or None."""
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process already uses
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class MemoryTrimmer:
    """Called from the listening loop: trims once an utterance has been decoded (what it used
    was just freed), and at least every ``every`` seconds."""

    def __init__(self, every: float = TRIM_SECONDS, clock: Callable[[], float] = time.monotonic,
                 trim: Optional[Callable[[], None]] = None) -> None:
        self._every = every
        self._clock = clock
        self._trim = trim if trim is not None else glibc_malloc_trim()
        self._utterances = 0
        self._trimmed_at = clock()

    def after(self, utterances: int) -> bool:
        """``utterances``: how many the conversation has decoded so far. True when it trimmed."""
        if self._trim is None:
            return False
        now = self._clock()
        if utterances == self._utterances and now - self._trimmed_at < self._every:
            return False
        self._utterances, self._trimmed_at = utterances, now
        self._trim()
        return True
