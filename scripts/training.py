"""What both training scripts (train_verifier.py, train_commands.py) make their recordings from:
the training voices and how they are varied, ordinary sentences, the helper's own lines, the
noises requests are mixed with, and which real speakers are held out.

Nothing here overlaps the benchmark's test set (voice/bench/recordings.py): its voices, sentences and
real test rows stay out.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Dict, List, Optional, Set

import numpy as np

from voice.bench.real import real_rows
from voice.bench.recordings import VOICES
from voice.bench.sounds import brown_noise
from voice.hearing.intents import IntentMatcher
from voice.sound.audio import SAMPLE_RATE, read_audio_file

# The tuning set's voices, Piper's joe (where installed: the ``train`` extra), and espeak-ng
# voices the test set does not use. The test set's flite and festival voices stay out, so that
# its requests are spoken by voices the verifier never heard.
TRAIN_VOICES = VOICES["tuning"] + [("piper", "joe", 0, 0),
                                   ("espeak", "en-us+m1", 140, 45), ("espeak", "en-us+f2", 150, 60),
                                   ("espeak", "en-gb-scotland", 135, 50), ("espeak", "en-us+m5", 160, 30),
                                   ("espeak", "en-gb+f5", 145, 70), ("espeak", "en-029", 150, 50),
                                   ("espeak", "en-us+f3", 130, 55), ("espeak", "en-gb-x-gbclan+m2", 145, 40)]
FORTUNE_SENTENCES = 1500


def template_sentences(matcher: IntentMatcher, intent: str, count: int, rng: np.random.Generator,
                       excluded: Set[str] = frozenset()) -> List[str]:
    """Up to ``count`` different sentences of the intent's templates (random walks over its
    grammar), none of them in ``excluded``."""
    following, ends = matcher.vocabulary([intent]).grammar().arcs()
    found: Dict[str, None] = {}
    for _ in range(count * 20):
        if len(found) >= count:
            break
        state, words = 0, []
        while True:
            choices = sorted(following.get(state, {}).items())
            if state in ends and (not choices or rng.random() < 0.35):
                break
            word, state = choices[rng.integers(len(choices))]
            words.append(word)
        sentence = " ".join(words)
        if sentence not in excluded:
            found[sentence] = None
    return list(found)


def fortune_sentences(rng: np.random.Generator, count: int = FORTUNE_SENTENCES) -> List[str]:
    folder = Path("/usr/share/games/fortunes")
    texts = []
    for path in sorted(folder.glob("*")):
        if path.suffix or not path.is_file():
            continue
        for fortune in path.read_text(errors="replace").split("\n%\n"):
            # Sentences, and their clauses too: what the endpointer cuts from talk is often short.
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(fortune.split())):
                clauses = [clause.strip() for clause in re.split(r"[,;:]", sentence)]
                for text in [sentence] + (clauses if len(clauses) > 1 else []):
                    if 2 <= len(text.split()) <= 14 and re.fullmatch(r"[A-Za-z][A-Za-z ,.'?!-]+", text):
                        texts.append(text)
    if not texts:
        raise SystemExit("no fortune texts found: sudo apt-get install fortune-mod fortunes-min")
    return [texts[index] for index in sorted(rng.choice(len(texts), size=min(count, len(texts)),
                                                        replace=False))]


def own_lines(content_path: Path) -> List[str]:
    """Everything the helper says, from its content file."""
    import yaml

    data = yaml.safe_load(content_path.read_text())
    lines: List[str] = []

    def walk(value, key: str = "") -> None:
        if key in ("phrase_rules", "intents", "sources", "settings"):
            return
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and len(value.split()) >= 3:
            lines.append(re.sub(r"\{\w+\}", "five", value))

    walk(data)
    return lines


def speech_commands_speaker(path: Path) -> str:
    """Speech Commands names each clip SPEAKER_nohash_N (WORD_SPEAKER_nohash_N for its other words)."""
    return path.name.split("_nohash_")[0].split("_")[-1]


def speaker_held_out(speaker: str) -> bool:
    """A real speaker's rows are held out together (a quarter of the speakers)."""
    return hashlib.sha256(speaker.encode()).digest()[0] % 4 == 0


def training_noise(real: Optional[Path]) -> Dict[str, np.ndarray]:
    """The noises requests are mixed with: a fan, white noise, and real recordings (``--real``)."""
    noise = {"fan": brown_noise(60.0, seed=23),
             "white": np.random.default_rng(29).normal(scale=3000, size=60 * SAMPLE_RATE).astype(np.int16)}
    if real is not None:
        noise.update({f"real:{row.label}": read_audio_file(row.file) for row in real_rows(real, "tuning")
                      if row.kind == "noise"})
    return noise


def speaker_effects(tempo: float, cents: float, distant: bool, rng: np.random.Generator) -> List[str]:
    """sox effects that make another speaker of a voice (tempo, pitch), half the time heard
    through another microphone (its low and high end cut), and from across the room for the
    ``distant`` condition (a bedroom's reverb, 14-26 dB quieter)."""
    effects = []
    if rng.random() < 0.5:  # first: sox's pitch changes the rate inside the chain
        effects += ["highpass", f"{rng.uniform(60, 300):.0f}", "lowpass", f"{rng.uniform(3500, 7500):.0f}"]
    effects += ["tempo", "-s", f"{tempo:.3f}", "pitch", f"{cents:.0f}"]
    if distant:
        effects += ["reverb", f"{rng.uniform(30, 80):.0f}", f"{rng.uniform(30, 70):.0f}", f"{rng.uniform(40, 100):.0f}",
                    "gain", f"{rng.uniform(-26, -14):.1f}"]
    return effects


