"""Handing freed memory back to the system, so that a helper listening for weeks stays small.

glibc's malloc keeps what the program frees for reuse, and gives back only the free memory at
the top of its heaps. Each utterance allocates and frees its buffers (the audio, pocketsphinx's
search, the verifier's tensors) in between allocations that stay, so the free pieces left
behind hold RSS up, and raise it now and then, although nothing is in use for longer than one
utterance. Measured over 200 episodes (a request, "stop", a sentence of talk) in one
conversation, as ``listen`` runs it: memory in use flat at 32.2 MB either way; RssAnon from
episode 20 to 200 74.9 -> 77.1 and 76.4 -> 76.5 MB (74.4-78.3 between) in two runs without
trimming, 71.3 -> 71.8 MB with a trim after each utterance, at 0.29 ms a trim (docs/benchmarks.md).

Trimming cannot give back a page that still holds one live block. glibc's sliding mmap threshold
makes such pages: a block of 128 KB or more is first given a mapping of its own, but each one
freed raises the threshold to its size, and from then on blocks of that size (audio buffers, the
embedding's arrays, decoder buffers) go into the heaps between small ones. ``fix_mmap_threshold``
keeps the threshold at 128 KB: in 150-minute soaks side by side the helper stayed about 6.5 MB
smaller with it from the first half hour on, at the same CPU; the slow growth after that (about
1 MB an hour) was the same either way (docs/benchmarks.md).

Where the C library is not glibc (musl, macOS), neither does anything.

``MemoryGuard`` is the bound that holds whatever the cause: past a size set in the config, the
helper restarts itself, but only between episodes, never in the middle of relief.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import time
from typing import Callable, Mapping, Optional

from voice.base.process import resident_mb

log = logging.getLogger("bedside")

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


# glibc's mallopt parameter and the threshold's own starting value (its documented default).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024


def fix_mmap_threshold(size: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``size`` bytes: larger blocks always get a mapping of their
    own, handed back to the system when freed. True when set; False where the C library is not
    glibc. Call it at start-up, before the models are loaded."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, size) == 1


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


# How often the guard reads the helper's size: a few microseconds each, and memory grows slowly.
GUARD_SECONDS = 30.0
# The built-in limit: the helper with every model loaded is about 190 MB (docs/benchmarks.md,
# issue 24), so this is far above a healthy night and far below a 2 GB Pi's memory. The systemd
# unit's MemoryMax (scripts/install-pi) is higher still, for a growth the guard cannot stop.
MEMORY_LIMIT_MB = 400.0


class MemoryGuard:
    """Says when the helper has grown past ``limit_mb`` and may restart now: only when
    ``at_rest`` (no episode, no question waiting, not speaking, nobody talking).

    A process that ``restart_process`` started and that is over the limit at its first reading
    turns the guard off (one warning): the limit is below what the helper needs, and restarting
    again would not help.
    """

    def __init__(self, limit_mb: float = MEMORY_LIMIT_MB, every: float = GUARD_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 read_mb: Callable[[], Optional[float]] = resident_mb,
                 environ: Mapping[str, str] = os.environ) -> None:
        self.limit_mb = limit_mb
        self._every = every
        self._clock = clock
        self._read_mb = read_mb
        self._checked_at = clock()
        self._restarted = RESTARTED_ENV in environ
        self.off = False
        self.last_mb: Optional[float] = None  # the size at the last reading

    def restart_due(self, at_rest: bool) -> bool:
        if self.off or not at_rest:
            return False
        now = self._clock()
        if now - self._checked_at < self._every:
            return False
        self._checked_at = now
        self.last_mb = self._read_mb()
        over = self.last_mb is not None and self.last_mb > self.limit_mb
        if over and self._restarted:
            self.off = True
            log.warning("memory: %.0f MB just after a restart, over memory_limit (%.0f MB); not restarting "
                        "again: raise memory_limit in the config", self.last_mb, self.limit_mb)
        self._restarted = False
        return over and not self.off


# Set for the process that restart_process starts.
RESTARTED_ENV = "BEDSIDE_RESTARTED_FOR_MEMORY"


def restart_process() -> None:
    """Replace this process with a fresh run of the same command (same PID, so systemd and its
    watchdog keep following it). Everything must be closed and flushed before."""
    os.environ[RESTARTED_ENV] = "1"
    os.execv(sys.executable, sys.orig_argv)
