"""Giving freed memory back to the system, for a process that runs for weeks.

glibc keeps the heap pages that Python, PortAudio and espeak-ng free in per-thread arenas, and
a new PortAudio stream thread for every sentence spreads them over many arenas: RSS creeps up
though nothing is kept. ``malloc_trim(0)`` returns the free pages of every arena.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Callable, Optional

TRIM_EVERY_SECONDS = 60.0


def _load_trim() -> Optional[Callable[[int], int]]:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


class MemoryTrimmer:
    """Call ``maybe_trim()`` often; it trims at most once every ``every`` seconds."""

    def __init__(self, every: float = TRIM_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._trim = _load_trim()
        self._last = clock()

    def maybe_trim(self) -> None:
        if self._trim is None or self.clock() - self._last < self.every:
            return
        self._last = self.clock()
        self._trim(0)
