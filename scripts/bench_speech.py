"""Does each sentence come out at the speed and volume asked for, and without a stall?

    .venv/bin/python scripts/bench_speech.py [--sentences 300] [--busy 2] [--json OUT]

One ``Synthesizer`` says new sentences (the content's steps, each with a number so that none
comes from the cache), and every fifth sentence the listener asks for a change, in turn:
"slower", "louder", "quieter" and back to the night settings. Each sentence is compared with
the espeak-ng command's own rendering of the same words at the speed and volume asked for
(``espeak-ng -s RATE -a VOLUME``): one that is within 5 % in length and loudness (RMS) came out
as asked. A sentence slower than a second to synthesize is a stall. --busy N keeps N processes
busy meanwhile, as a loaded Pi would be: pyttsx3 loses settings under load.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from voice.conversation.content import check_content  # noqa: E402
from voice.sound.audio import read_audio_file  # noqa: E402
from voice.speaking.speech import Synthesizer, VoiceSettings  # noqa: E402

# (rate factor, volume change), as the dialogue asks; the last one returns to the night settings.
CHANGES = [(0.85, 0.0), (1.0, 0.2), (1.0, -0.3), (1 / 0.85, 0.1)]
# The smallest change asked for is 15 % in speed and 17 % in volume; the same settings differ by
# up to 3 % in length and 2 % in loudness between two renderings (espeak-ng varies its pauses).
TOLERANCE = 0.05


def reference(text: str, words_per_minute: float, volume: float) -> np.ndarray:
    """The espeak-ng command's rendering, at the settings as pyttsx3 hands them to espeak-ng."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        subprocess.run(["espeak-ng", "-s", str(int(words_per_minute)),
                        "-a", str(int(round(min(1.0, max(0.1, volume)) * 100, 2))), "-w", wav.name, text],
                       check=True)
        return read_audio_file(wav.name)


def ratios(samples: np.ndarray, expected: np.ndarray) -> Dict[str, float]:
    """Length and loudness (RMS) against the espeak-ng command's rendering: 1.0 is as asked."""
    def rms(audio: np.ndarray) -> float:
        return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) or 1.0

    return {"length": round(samples.size / expected.size, 3), "loudness": round(rms(samples) / rms(expected), 3)}


def keep_busy(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def run(sentences: int, busy: int) -> Dict[str, object]:
    steps = [sentence for step in check_content().steps for sentence in step.say]
    synthesizer = Synthesizer(VoiceSettings())
    burners = [multiprocessing.Process(target=keep_busy, args=(3600.0,), daemon=True) for _ in range(busy)]
    for burner in burners:
        burner.start()
    seconds: List[float] = []
    wrong: List[Dict[str, object]] = []
    held: List[Dict[str, float]] = []  # the ratios of the sentences that came out as asked
    try:
        for index in range(sentences):
            if index and index % 5 == 0:
                synthesizer.adjust(*CHANGES[(index // 5 - 1) % len(CHANGES)])
            text = f"{steps[index % len(steps)]} {index}."
            rate, volume = synthesizer.settings.words_per_minute, synthesizer.settings.volume
            started = time.perf_counter()
            samples = synthesizer.synthesize(text)
            seconds.append(time.perf_counter() - started)
            against = ratios(samples, reference(text, rate, volume))
            if any(abs(ratio - 1) > TOLERANCE for ratio in against.values()):
                wrong.append({"sentence": index, "words_per_minute": int(rate), "volume": round(volume, 2), **against})
            else:
                held.append(against)
    finally:
        for burner in burners:
            burner.terminate()
    return {"sentences": sentences, "busy_processes": busy, "as_asked": sentences - len(wrong),
            "as_asked_ratio": round(1 - len(wrong) / sentences, 4), "stalls_over_1s": sum(s > 1.0 for s in seconds),
            "synthesis_ms_p50": round(statistics.median(seconds) * 1000, 1),
            "synthesis_ms_max": round(max(seconds) * 1000, 1),
            "as_asked_ranges": {name: [min(r[name] for r in held), max(r[name] for r in held)] for name in held[0]}
            if held else {}, "not_as_asked": wrong[:20]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--busy", type=int, default=2, help="processes kept busy meanwhile (default 2)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    result = run(args.sentences, args.busy)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
