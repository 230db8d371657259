"""Clocks for the dialogue: the real one, and a virtual one that simulations move by hand."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since an arbitrary start; never goes backwards."""
        ...


class SystemClock:
    """Wall-clock seconds (monotonic, so a clock change at night cannot confuse timers)."""

    def now(self) -> float:
        return time.monotonic()


class VirtualClock:
    """A clock that only moves when told: simulations jump over holds instantly."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance_to(self, when: float) -> None:
        self._now = max(self._now, when)
