"""Freed memory goes back to the system while the helper listens (voice.service.memory)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voice.service.memory import RESTARTED_ENV, MemoryGuard, MemoryTrimmer, glibc_malloc_trim


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
    monkeypatch.setattr("voice.service.memory.glibc_malloc_trim", lambda: None)
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


LARGE_BLOCK_AFTER_A_LARGER_ONE_FREED = (
    "import ctypes, sys\n"
    "from voice.service.memory import fix_mmap_threshold\n"
    "if sys.argv[1] == 'fixed' and not fix_mmap_threshold(256 << 10):\n"
    "    sys.exit(3)\n"
    "libc = ctypes.CDLL(None)\n"
    "class Mallinfo2(ctypes.Structure):\n"
    "    _fields_ = [(name, ctypes.c_size_t) for name in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd',\n"
    "                'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]\n"
    "libc.mallinfo2.restype = Mallinfo2\n"
    "libc.malloc.restype = ctypes.c_void_p\n"
    "libc.malloc.argtypes = [ctypes.c_size_t]\n"
    "libc.free.argtypes = [ctypes.c_void_p]\n"
    "libc.free(libc.malloc(8 << 20))\n"  # an 8 MB block freed: a sliding threshold rises to 8 MB
    "for size in (192 << 10, 512 << 10):\n"
    "    mapped = libc.mallinfo2().hblks\n"
    "    block = libc.malloc(size)\n"
    "    print(libc.mallinfo2().hblks - mapped, end=' ')\n")


@pytest.mark.parametrize("threshold, own_mappings", [("sliding", "0 0"), ("fixed", "0 1")])
def test_with_the_threshold_fixed_blocks_above_it_get_their_own_mapping_after_a_larger_one_was_freed(
        tmp_path, threshold, own_mappings):
    if not hasattr(ctypes.CDLL(None), "mallinfo2"):
        pytest.skip("this C library has no mallinfo2 (not glibc 2.33 or later)")
    script = tmp_path / "blocks.py"
    script.write_text(LARGE_BLOCK_AFTER_A_LARGER_ONE_FREED)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    result = subprocess.run([sys.executable, str(script), threshold], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    # A 192 KB and a 512 KB block; with the threshold fixed at 256 KB only the larger one gets a
    # mapping of its own (given back whole when freed), whatever was freed before.
    assert result.stdout.strip() == own_mappings


class Readings:
    """A fake size: what ``read_mb`` returns, and how often it was asked."""

    def __init__(self, mb: float) -> None:
        self.mb = mb
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.mb


def test_the_guard_reads_the_size_only_at_rest_and_every_so_often():
    now = [0.0]
    size = Readings(250.0)
    guard = MemoryGuard(limit_mb=300.0, every=30.0, clock=lambda: now[0], read_mb=size, environ={})
    now[0] = 100.0
    assert not guard.restart_due(at_rest=False) and size.reads == 0  # in an episode: not even read
    assert not guard.restart_due(at_rest=True) and size.reads == 1  # under the limit
    size.mb = 350.0
    now[0] += 10.0
    assert not guard.restart_due(at_rest=True) and size.reads == 1  # read again only after 30 s
    now[0] += 20.0
    assert guard.restart_due(at_rest=True) and guard.last_mb == 350.0


def test_a_restarted_helper_already_over_the_limit_turns_the_guard_off(caplog):
    now = [0.0]
    size = Readings(350.0)
    guard = MemoryGuard(limit_mb=300.0, every=30.0, clock=lambda: now[0], read_mb=size,
                        environ={RESTARTED_ENV: "1"})
    now[0] = 30.0
    assert not guard.restart_due(at_rest=True) and guard.off
    assert "raise memory_limit" in caplog.text
    now[0] = 60.0
    assert not guard.restart_due(at_rest=True) and size.reads == 1


def test_a_restarted_helper_under_the_limit_restarts_again_when_it_grows():
    now = [0.0]
    size = Readings(200.0)
    guard = MemoryGuard(limit_mb=300.0, every=30.0, clock=lambda: now[0], read_mb=size, environ={RESTARTED_ENV: "1"})
    now[0] = 30.0
    assert not guard.restart_due(at_rest=True)
    size.mb, now[0] = 320.0, 60.0
    assert guard.restart_due(at_rest=True) and not guard.off


def test_the_process_restarts_as_the_same_command_and_knows_it_was_restarted(tmp_path):
    script = tmp_path / "again.py"
    script.write_text(
        "import os, sys\n"
        "from voice.service.memory import RESTARTED_ENV, restart_process\n"
        "print(os.getpid(), sys.argv[1:], RESTARTED_ENV in os.environ, flush=True)\n"
        "if RESTARTED_ENV not in os.environ:\n"
        "    restart_process()\n")
    env = {key: value for key, value in os.environ.items() if key != RESTARTED_ENV}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    result = subprocess.run([sys.executable, str(script), "listen", "--x"], capture_output=True, text=True,
                            env=env, timeout=60)
    first, second = result.stdout.splitlines()
    assert first.split(" ", 1)[1] == "['listen', '--x'] False"
    assert second.split(" ", 1)[1] == "['listen', '--x'] True"
    assert first.split()[0] == second.split()[0]  # the same process: systemd keeps following it
