"""The benchmark's recordings: synthesized requests and commands, noise, and negatives.

Two disjoint sets of phrasings and voices, ``tuning`` and ``test``: thresholds are tuned on the
first and reported on the second, so the numbers are not tuned to the recordings they report.
Speech is made with espeak-ng (a runtime dependency, so this works on a user's Pi), and also
with flite voices where flite is installed.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from voice.audio import SAMPLE_RATE, read_audio_file

LEAD_SECONDS = 0.5
TRAIL_SECONDS = 1.0
SNRS_DB = (20, 10, 5)

TRIGGERS = {
    "tuning": ["cramp", "I have a cramp", "my calf hurts", "charley horse", "I have a cramp in my calf",
               "ouch my leg", "leg cramp", "I've got a cramp", "my leg is cramping", "it's cramping"],
    "test": ["I've got a cramp in my leg", "ouch my calf", "my calf is cramping", "calf cramp",
             "help me I have a cramp", "I have a charley horse", "my foot hurts", "a cramp in my calf",
             "my leg hurts", "night cramp"],
}
COMMANDS = {  # (spoken, expected intent)
    "tuning": [("next step", "next"), ("say that again", "repeat"), ("stop talking", "stop"), ("yeah", "yes"),
               ("nope", "no"), ("I'm fine", "okay"), ("go on", "next"), ("it's gone", "okay")],
    "test": [("next", "next"), ("repeat", "repeat"), ("stop", "stop"), ("yes", "yes"), ("no", "no"),
             ("I'm okay", "okay")],
}
# (engine, voice, words per minute, pitch 0-99); flite ignores the last two.
VOICES = {
    "tuning": [("espeak", "en-us", 150, 50), ("espeak", "en-gb+f3", 130, 60), ("espeak", "en-us+m3", 170, 40),
               ("flite", "slt", 0, 0), ("flite", "kal", 0, 0)],
    "test": [("espeak", "en-us+f4", 140, 55), ("espeak", "en-gb", 125, 45), ("espeak", "en-us+m7", 160, 35),
             ("espeak", "en-gb-x-rp+f2", 150, 65), ("flite", "rms", 0, 0), ("flite", "awb", 0, 0)],
}
NEGATIVE_SENTENCES = [  # unrelated speech, some of it near the trigger words
    "The weather is lovely this morning.", "Can you pass me the salt, please?", "We should leave early for the train.",
    "The meeting moved to Thursday afternoon.", "I think the garden needs watering again.",
    "Our camp site was next to the lake.", "Put the clamp on the edge of the table.",
    "The car park is full on Saturdays.", "My cat likes to sleep on the sofa.", "Turn left after the bridge.",
    "She bought a new lamp for the bedroom.", "Have you seen my reading glasses?",
    "The children are playing in the yard.", "Dinner will be ready in ten minutes.",
    "Horses were grazing in the field.", "I need to call my sister tomorrow.",
    "The crayons are in the top drawer.", "Let's watch a film tonight.", "This soup could use more pepper.",
    "The library closes at six.",
]
NEGATIVE_VOICES = [("espeak", "en-us", 150, 50), ("espeak", "en-gb+f3", 135, 60)]


@dataclass(frozen=True)
class Clip:
    name: str
    samples: np.ndarray  # 16 kHz mono int16
    speech_end: float  # seconds into the clip where the speech ends (0 for negatives)
    expected: Optional[str]  # the intent, or None for a negative
    voice: str = ""
    snr_db: Optional[float] = None  # None: clean

    @property
    def seconds(self) -> float:
        return self.samples.size / SAMPLE_RATE


class ClipSynthesizer:
    """Speech clips from espeak-ng / flite command lines, cached by text and voice."""

    def __init__(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="bedside-bench-"))
        self._cache: Dict[Tuple[str, tuple], np.ndarray] = {}
        self.has_flite = shutil.which("flite") is not None

    def voices(self, chosen: Sequence[tuple]) -> List[tuple]:
        return [voice for voice in chosen if voice[0] != "flite" or self.has_flite]

    def speech(self, text: str, voice: tuple) -> np.ndarray:
        key = (text, voice)
        if key not in self._cache:
            engine, name, speed, pitch = voice
            out = self._folder / f"{len(self._cache)}.wav"
            if engine == "flite":
                command = ["flite", "-voice", name, "-t", text, "-o", str(out)]
            else:
                command = ["espeak-ng", "-v", name, "-s", str(speed), "-p", str(pitch), "-w", str(out), text]
            subprocess.run(command, check=True, capture_output=True)
            self._cache[key] = _trim(read_audio_file(out))
        return self._cache[key]

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)


def _trim(samples: np.ndarray, threshold: int = 300) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


MIC_NOISE_DBFS = -66.0


def padded(speech: np.ndarray, seed: int = 0) -> np.ndarray:
    """Speech with silence around it, and a microphone's own faint hiss (no real recording is
    digitally silent, and pocketsphinx's feature normalization misbehaves on exact zeros)."""
    lead = np.zeros(int(LEAD_SECONDS * SAMPLE_RATE), dtype=np.int16)
    trail = np.zeros(int(TRAIL_SECONDS * SAMPLE_RATE), dtype=np.int16)
    clip = np.concatenate([lead, speech, trail]).astype(np.float64)
    hiss = np.random.default_rng(seed).normal(scale=32768 * 10 ** (MIC_NOISE_DBFS / 20), size=clip.size)
    return np.clip(np.round(clip + hiss), -32768, 32767).astype(np.int16)


def mix(clean: np.ndarray, speech_rms: float, noise: np.ndarray, snr_db: float, offset: int) -> np.ndarray:
    """Add ``noise`` (looped from ``offset``) so that speech RMS over noise RMS is ``snr_db``."""
    reps = int(np.ceil((offset + clean.size) / noise.size)) + 1
    segment = np.tile(noise, reps)[offset : offset + clean.size].astype(np.float64)
    noise_rms = float(np.sqrt(np.mean(segment ** 2))) or 1.0
    segment *= speech_rms / (noise_rms * 10 ** (snr_db / 20))
    return np.clip(clean.astype(np.float64) + segment, -32768, 32767).astype(np.int16)


def brown_noise(seconds: float, seed: int = 7) -> np.ndarray:
    """A fan's steady rumble: integrated white noise, high-passed to keep it from drifting."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(size=int(seconds * SAMPLE_RATE)))
    walk -= np.convolve(walk, np.ones(800) / 800, mode="same")
    return (walk / np.max(np.abs(walk)) * 8000).astype(np.int16)


def noises(corpus: Optional[Path]) -> Dict[str, np.ndarray]:
    found = {"fan": brown_noise(60.0)}
    for row in corpus_rows(corpus, "noise"):
        found["kitchen"] = read_audio_file(corpus / row["path"])
    return found


def corpus_rows(corpus: Optional[Path], kind: str) -> List[Dict[str, str]]:
    if corpus is None:
        return []
    with (corpus / "manifest.csv").open(newline="") as manifest:
        return [row for row in csv.DictReader(manifest) if row["kind"] == kind]


def spoken_clips(synth: ClipSynthesizer, phrases: Sequence[Tuple[str, str]], voices: Sequence[tuple],
                 noise: Dict[str, np.ndarray], snrs: Sequence[Optional[float]]) -> List[Clip]:
    clips = []
    for text, expected in phrases:
        for voice in synth.voices(voices):
            speech = synth.speech(text, voice)
            clean = padded(speech, seed=len(clips))
            speech_rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
            for snr in snrs:
                samples = clean
                if snr is not None:  # alternate the noise kinds, from a different place each time
                    kind = sorted(noise)[len(clips) % len(noise)]
                    samples = mix(clean, speech_rms, noise[kind], snr, (len(clips) * 7919) % noise[kind].size)
                clips.append(Clip(f"{text} / {voice[1]}", samples, LEAD_SECONDS + speech.size / SAMPLE_RATE,
                                  expected, voice[0], snr))
    return clips


def negative_clips(synth: ClipSynthesizer, corpus: Optional[Path], noise: Dict[str, np.ndarray]) -> List[Clip]:
    clips = [Clip(f"real speech {row['path']}", read_audio_file(corpus / row["path"]), 0.0, None, "corpus")
             for row in corpus_rows(corpus, "negative")]
    for index, sentence in enumerate(NEGATIVE_SENTENCES):
        voice = NEGATIVE_VOICES[index % len(NEGATIVE_VOICES)]
        clips.append(Clip(f"synthetic: {sentence}", padded(synth.speech(sentence, voice), seed=index), 0.0, None,
                          "espeak"))
    clips.append(Clip("silence (microphone hiss only)", padded(np.zeros(8 * SAMPLE_RATE, dtype=np.int16)), 0.0,
                      None, "silence"))
    for kind, samples in sorted(noise.items()):
        clips.append(Clip(f"{kind} noise alone", samples[: 10 * SAMPLE_RATE], 0.0, None, "noise"))
    return clips


def continuous_stream(negatives: Sequence[Clip], minutes: float = 10.0, seed: int = 3) -> np.ndarray:
    """The negatives joined with 0.5-2 s pauses, repeated until the stream is ``minutes`` long."""
    rng = np.random.default_rng(seed)
    speech = [clip.samples for clip in negatives if clip.voice in ("corpus", "espeak")]
    parts, total = [], 0
    while total < minutes * 60 * SAMPLE_RATE:
        for samples in speech:
            gap = np.zeros(int(rng.uniform(0.5, 2.0) * SAMPLE_RATE), dtype=np.int16)
            parts += [samples, gap]
            total += samples.size + gap.size
    return np.concatenate(parts)
