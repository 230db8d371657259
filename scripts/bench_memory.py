"""Memory of one long conversation, as ``bedside listen`` runs it, with and without trimming.

    .venv/bin/python scripts/bench_memory.py [--episodes 200] [--no-trim] [--json OUT]

One ``Conversation`` (pocketsphinx, the verifier, a night log in a temporary folder, no events
kept) hears the same night again and again: a cramp request (flite slt or rms), "stop", a
sentence of unrelated talk and 20 s of quiet room, on a virtual clock. After every tenth of the
episodes it prints RssAnon (what the kernel counts) and glibc's own count of memory in use and
of free memory it keeps (mallinfo2), so growth in use (a leak) and free memory held back (what
``voice.service.memory`` trims) show apart. A trim follows each decoded utterance unless --no-trim.
There is no sound device and no speaker: scripts/soak measures the whole helper.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_live import speak, status_mb  # noqa: E402
from voice.base.clock import VirtualClock  # noqa: E402
from voice.conversation.content import check_content  # noqa: E402
from voice.conversation.dialogue import VOCABULARIES, Dialogue  # noqa: E402
from voice.conversation.pipeline import Conversation  # noqa: E402
from voice.hearing.intents import IntentMatcher  # noqa: E402
from voice.hearing.recognizer import PocketsphinxRecognizer  # noqa: E402
from voice.hearing.verifier import load_verifier  # noqa: E402
from voice.night_log.history import HistoryRecorder, NightLog  # noqa: E402
from voice.service.memory import MemoryTrimmer, glibc_malloc_trim  # noqa: E402
from voice.sound.audio import FRAME_SECONDS, read_audio_file, split_frames  # noqa: E402


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def memory() -> Dict[str, float]:
    """RssAnon, and glibc's memory in use and free memory it keeps, in MB."""
    mallinfo2 = ctypes.CDLL(None).mallinfo2  # glibc 2.33 and later
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    anon = status_mb(os.getpid(), ("RssAnon",))["RssAnon"]
    return {"rss_anon_mb": round(anon, 1), "in_use_mb": round((info.uordblks + info.hblkhd) / 2**20, 2),
            "kept_free_mb": round(info.fordblks / 2**20, 2)}


def night(folder: Path) -> List[np.ndarray]:
    """The two recordings heard in turn: a request, "stop", talk, then quiet."""
    gap = np.zeros(16000, dtype=np.int16)
    stop = read_audio_file(speak("stop", "rms", folder / "stop.wav"))
    talk = read_audio_file(speak("We should leave early to catch the train", "awb", folder / "talk.wav"))
    quiet = np.random.default_rng(1).normal(scale=30, size=16000 * 20).astype(np.int16)
    return [np.concatenate([read_audio_file(speak("I have a cramp in my calf", voice, folder / f"{voice}.wav")),
                            gap, stop, gap, talk, quiet]) for voice in ("slt", "rms")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--no-trim", action="store_true", help="as the helper ran before voice.service.memory")
    parser.add_argument("--json", type=Path, help="also write the readings here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bedside-memory-"))
    recordings = night(folder)
    content = check_content()
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    recognizer = PocketsphinxRecognizer(matcher.vocabularies(VOCABULARIES))
    clock = VirtualClock()
    history = HistoryRecorder(NightLog.open(folder / "history.sqlite3"))
    dialogue = Dialogue(content, clock, 140, recent_cramps=history.recent)
    conversation = Conversation(recognizer, matcher, dialogue, clock, on_event=history.on_event, keep_events=False,
                                verifier=load_verifier("pocketsphinx"))
    trim = glibc_malloc_trim()
    trim_seconds: List[float] = []

    def timed_trim() -> None:
        started = time.perf_counter()
        trim()
        trim_seconds.append(time.perf_counter() - started)

    trimmer = None if args.no_trim or trim is None else MemoryTrimmer(trim=timed_trim)
    readings = []
    now = 0.0
    every = max(1, args.episodes // 10)
    for episode in range(args.episodes + 1):
        if episode % every == 0:
            gc.collect()
            readings.append({"episodes": conversation.episodes, "utterances": conversation.utterances, **memory()})
            print(json.dumps(readings[-1]), flush=True)
        for frame in split_frames(recordings[episode % 2]):
            now += FRAME_SECONDS
            clock.advance_to(now)
            conversation.feed(frame)
            if trimmer is not None:
                trimmer.after(conversation.utterances)
    settled = readings[1:]  # from the first tenth on: models loaded, buffers made, caches full
    middle = readings[len(readings) // 2]
    result = {
        "trim": trimmer is not None,
        "episodes": conversation.episodes,
        "rss_anon_mb_settled_first_last": [settled[0]["rss_anon_mb"], settled[-1]["rss_anon_mb"]],
        "rss_anon_mb_settled_range": [min(r["rss_anon_mb"] for r in settled), max(r["rss_anon_mb"] for r in settled)],
        # The second half only: buffers grow once to the longest utterance heard in the first.
        "in_use_kb_per_episode_second_half": round((readings[-1]["in_use_mb"] - middle["in_use_mb"]) * 1024
                                                   / max(1, readings[-1]["episodes"] - middle["episodes"]), 2),
        "trim_ms_p50": round(1000 * float(np.median(trim_seconds)), 2) if trim_seconds else None,
        "trim_ms_max": round(1000 * max(trim_seconds), 2) if trim_seconds else None,
        "readings": readings,
    }
    print(json.dumps({key: value for key, value in result.items() if key != "readings"}))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
