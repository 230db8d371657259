"""Freed memory goes back to the system while the helper listens (voice.memory)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from voice.memory import MemoryTrimmer, glibc_malloc_trim


def rss_anon_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def test_it_trims_after_each_decoded_utterance_and_once_a_minute_otherwise():
    now = [0.0]
    trims = []
    trimmer = MemoryTrimmer(every=60.0, clock=lambda: now[0], trim=lambda: trims.append(now[0]))
    for _ in range(100):  # frames of a quiet room: no utterance decoded
        now[0] += 0.03
        assert not trimmer.after(0)
    assert trimmer.after(1) and trims == [now[0]]  # an utterance was just decoded
    now[0] += 30.0
    assert not trimmer.after(1)
    now[0] += 30.0  # a minute since the last trim
    assert trimmer.after(1) and len(trims) == 2
    assert not trimmer.after(1)


def test_without_glibc_nothing_is_trimmed(monkeypatch):
    monkeypatch.setattr("voice.memory.glibc_malloc_trim", lambda: None)
    trimmer = MemoryTrimmer(every=0.0)
    assert not trimmer.after(1) and not trimmer.after(2)


def test_glibcs_trim_gives_freed_memory_in_the_middle_of_the_heap_back():
    trim = glibc_malloc_trim()
    if trim is None:
        pytest.skip("this C library has no malloc_trim (not glibc)")
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(2048) for _ in range(40_000)]  # 80 MB in small pieces, as decoding makes
    for block in blocks:
        ctypes.memset(block, 1, 2048)
    before = rss_anon_mb()
    for block in blocks[:-1]:  # the last one stays, so the free space is not at the heap's top
        libc.free(block)
    kept = rss_anon_mb()
    trim()
    after = rss_anon_mb()
    libc.free(blocks[-1])
    assert kept > before - 20, (before, kept)  # malloc kept what was freed...
    assert after < kept - 50, (before, kept, after)  # ...until the trim gave it back
