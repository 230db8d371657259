"""Memory freed by a thread goes back to the system when the listening loop trims it."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from voice.memory import MemoryTrimmer


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_trimming_returns_what_a_finished_thread_freed():
    kept = []

    def speak_like_a_stream_thread() -> None:
        blocks = [np.ones(8000) for _ in range(1000)]  # 64 KB each: heap, not mmap, in the thread's arena
        kept.extend(blocks[::50])  # a few stay alive, so the arena cannot simply shrink from its top
        del blocks

    thread = threading.Thread(target=speak_like_a_stream_thread)
    thread.start()
    thread.join()
    before = rss_mb()
    MemoryTrimmer(every=0.0).maybe_trim()
    assert before - rss_mb() > 30, "about 60 MB were freed; malloc_trim should hand most of it back"


def test_it_trims_at_most_once_per_interval():
    now = [0.0]
    trimmer = MemoryTrimmer(every=60.0, clock=lambda: now[0])
    calls = []
    trimmer._trim = calls.append
    for moment in (1.0, 59.0, 61.0, 62.0, 125.0):
        now[0] = moment
        trimmer.maybe_trim()
    assert calls == [0, 0]
