"""The benchmark's recordings: synthesized requests and commands, noise, and negatives.

Two disjoint sets of phrasings and voices, ``tuning`` and ``test``: thresholds are tuned on the
first and reported on the second, so the numbers are not tuned to the recordings they report.

The headline numbers come from voices made from recordings of people (flite's and festival's,
where they are installed): pocketsphinx's acoustic model was trained on people and hears such
voices as it hears people. Each voice is varied with sox into more speakers (tempo, pitch), and
heard clean, from across the room (quieter, with reverb) and in noise. espeak-ng's formant
voices, the helper's own, are reported on their own row. The real speech of a corpus (when
given) is split in two halves by file order: even files for tuning, odd files for testing.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from voice.bench.sounds import brown_noise
from voice.sound.audio import SAMPLE_RATE, read_audio_file

LEAD_SECONDS = 0.5
TRAIL_SECONDS = 1.0
SNRS_DB = (20, 10, 5)
DISTANT = "distant"  # -20 dB with room reverb: said from the pillow, the microphone across the room

TRIGGERS = {
    "tuning": ["cramp", "I have a cramp", "my calf hurts", "charley horse", "ow, I've got a bad cramp in my leg",
               "oh no, my foot is cramping", "I'm getting a cramp", "help, my calf is seizing up", "leg cramp",
               "my toes are cramping up", "ouch, my left calf", "I've got a terrible charley horse"],
    "test": ["oh, I have a cramp in my calf", "help, my calf hurts", "ow, I've got a terrible cramp",
             "I'm getting a calf cramp", "my leg hurts", "a bad cramp in my right leg", "my foot is cramping up",
             "ouch, charley horse", "my toes are cramping", "my left calf is so tight", "I've got cramp",
             "oh no, another cramp", "ow my calf", "my calf has cramped up"],
}
RED_FLAGS = {
    "tuning": ["my leg is swollen and red", "I have chest pain"],
    "test": ["my calf is swollen and red", "my leg is hot and swollen", "I can't breathe", "one calf is swollen"],
}
# Said of "it" during relief, when "it" is the cramping leg; the shortest has two syllables.
RED_FLAGS_DURING = {
    "tuning": ["it's swollen", "it feels warm and red"],
    "test": ["it's red", "it feels hot", "it's swollen and tender", "it looks dark"],
}
COMMANDS = {  # (spoken, expected intent)
    # One-word commands too ("continue", "quiet", "cancel", "yep"), as the test set has
    # ("next", "stop", "yes", "no"): a word that short fits the sound units least surely.
    "tuning": [("next step", "next"), ("say that again", "repeat"), ("stop talking", "stop"), ("yeah", "yes"),
               ("nope", "no"), ("I'm fine", "okay"), ("go on", "next"), ("it's gone", "okay"),
               ("continue", "next"), ("quiet", "stop"), ("cancel", "stop"), ("yep", "yes")],
    "test": [("next", "next"), ("repeat", "repeat"), ("stop", "stop"), ("yes", "yes"), ("no", "no"),
             ("I'm okay", "okay"), ("keep going", "next"), ("the cramp is gone now", "okay")],
}
# (engine, voice, words per minute, pitch 0-99); flite and festival ignore the last two.
# Speakers are not shared between the sets: flite's slt and festival's slt are one speaker,
# as are flite's kal, kal16 and festival's kal.
VOICES = {
    "tuning": [("flite", "slt", 0, 0), ("festival", "cmu_us_slt_arctic_hts", 0, 0), ("festival", "ked_diphone", 0, 0),
               ("espeak", "en-us", 150, 50), ("espeak", "en-gb+f3", 130, 60), ("espeak", "en-us+m3", 170, 40)],
    "test": [("flite", "rms", 0, 0), ("flite", "awb", 0, 0), ("flite", "kal", 0, 0), ("flite", "kal16", 0, 0),
             ("festival", "kal_diphone", 0, 0),
             ("espeak", "en-us+f4", 140, 55), ("espeak", "en-gb", 125, 45), ("espeak", "en-us+m7", 160, 35),
             ("espeak", "en-gb-x-rp+f2", 150, 65)],
}
FORMANT = "espeak"  # the engine whose voices are reported on their own row
OWN_VOICE = ("espeak", "en", 140, 50)  # the helper's own: pyttsx3's espeak-ng at the night rate
REAL_NOISE = "_real_noise"  # a condition's ending: mixed with real background noise (bench --real)
REAL_NOISE_PREFIX = "real:"  # the names of real noise tracks among the noises
NEGATIVE_SENTENCES = {  # unrelated speech, some of it near the request words
    "tuning": ["The weather is lovely this morning.", "Can you pass me the salt, please?",
               "Our camp site was next to the lake.", "Put the clamp on the edge of the table.",
               "The car park is full on Saturdays.", "She bought a new lamp for the bedroom.",
               "Horses were grazing in the field.", "The crayons are in the top drawer.",
               "My back hurts a little today.", "The cow and her calf stood by the gate.",
               "Help me carry the shopping in.", "I have a meeting at nine."],
    "test": ["We should leave early for the train.", "The meeting moved to Thursday afternoon.",
             "I think the garden needs watering again.", "My cat likes to sleep on the sofa.",
             "Turn left after the bridge.", "Have you seen my reading glasses?", "The room was cramped and damp.",
             "Dinner will be ready in ten minutes.", "I need to call my sister tomorrow.",
             "Let's watch a film tonight.", "The library closes at six.", "Can you help me with this box?",
             "My leg of the journey was the longest.", "Charlie rode his horse to town."],
}


@dataclass(frozen=True)
class Clip:
    name: str
    samples: np.ndarray  # 16 kHz mono int16
    speech_end: float  # seconds into the clip where the request ends (0 for negatives)
    expected: Optional[str]  # the intent, or None for a negative
    voice: str = ""  # the engine that made it, "corpus", "silence" or "noise"
    condition: str = "clean"  # clean | distant | snr20 | snr10 | snr5
    yes: Optional[np.ndarray] = None  # the same speaker in the same room, answering a doubt question
    no: Optional[np.ndarray] = None

    def answer(self, asked: str) -> Optional[np.ndarray]:
        """What this person says to "Did you say ...?" about ``asked``: yes to their own request,
        no to anything else (a cramp is not a swollen leg)."""
        same = asked == self.expected or {asked, self.expected} == {"red_flag", "red_flag_during"}
        return self.yes if same else self.no

    @property
    def seconds(self) -> float:
        return self.samples.size / SAMPLE_RATE


class ClipSynthesizer:
    """Speech clips from espeak-ng, flite and festival command lines, and Piper's neural voice
    of a real person where it is installed (the ``train`` extra), cached by text and voice."""

    def __init__(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="bedside-bench-"))
        self._cache: Dict[Tuple[str, tuple], np.ndarray] = {}
        self._available = {"espeak": True, "flite": shutil.which("flite") is not None,
                           "festival": shutil.which("text2wave") is not None,
                           "piper": importlib.util.find_spec("piper") is not None}
        self._piper: Dict[str, object] = {}
        self.has_sox = shutil.which("sox") is not None

    def voices(self, chosen: Sequence[tuple]) -> List[tuple]:
        return [voice for voice in chosen if self._available[voice[0]] and self._works(voice)]

    def _works(self, voice: tuple) -> bool:
        try:
            self.speech("yes", voice)
        except (subprocess.CalledProcessError, ValueError, ImportError):
            return False  # for example a festival or Piper voice that is not installed
        return True

    def speech(self, text: str, voice: tuple) -> np.ndarray:
        key = (text, voice)
        if key not in self._cache:
            engine, name, speed, pitch = voice
            out = self._folder / f"{len(self._cache)}.wav"
            if engine == "flite":
                subprocess.run(["flite", "-voice", name, "-t", text, "-o", str(out)], check=True, capture_output=True)
            elif engine == "festival":
                subprocess.run(["text2wave", "-eval", f"(voice_{name})", "-o", str(out)], input=text.encode(),
                               check=True, capture_output=True)
            elif engine == "piper":
                self._piper_speech(name, text, out)
            else:
                subprocess.run(["espeak-ng", "-v", name, "-s", str(speed), "-p", str(pitch), "-w", str(out), text],
                               check=True, capture_output=True)
            samples = _trim(read_audio_file(out))
            if samples.size < SAMPLE_RATE // 10:
                raise ValueError(f"{engine} voice {name} made no speech")
            self._cache[key] = samples
        return self._cache[key]

    def _piper_speech(self, name: str, text: str, out: Path) -> None:
        """Piper's voice ``name`` (a package ``NAME_us_piper_voice`` on PyPI, such as joe's)."""
        import wave

        from piper import PiperVoice, SynthesisConfig

        if name not in self._piper:
            package = importlib.import_module(f"{name}_us_piper_voice")
            self._piper[name] = PiperVoice.load(str(package.model_path()))
        # Without the model's sampling noise: its random numbers differ from one process to the
        # next, and training must make the same recordings every run.
        steady = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        with wave.open(str(out), "wb") as wav:
            self._piper[name].synthesize_wav(text, wav, syn_config=steady)  # type: ignore[attr-defined]

    def varied(self, samples: np.ndarray, tempo: float = 1.0, cents: float = 0.0, distant: bool = False) -> np.ndarray:
        """Another speaker from the same voice (sox tempo and pitch), or the same speaker
        from across the room: 20 dB quieter, with a bedroom's reverb."""
        effects = []
        if tempo != 1.0:
            effects += ["tempo", "-s", f"{tempo:.3f}"]
        if cents:
            effects += ["pitch", f"{cents:.0f}"]
        if distant:
            effects += ["reverb", "40", "50", "60", "gain", "-20"]
        return self.sox(samples, effects)

    @staticmethod
    def sox(samples: np.ndarray, effects: Sequence[str]) -> np.ndarray:
        """``samples`` through sox's ``effects`` (16 kHz mono int16 in and out)."""
        if not effects:
            return samples
        # -R: sox dithers its 16-bit output with noise that is new every run unless told not to.
        raw = subprocess.run(["sox", "-R", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16", "-c", "1",
                              "-", "-t", "raw", "-", *effects], input=samples.astype("<i2").tobytes(), check=True,
                             capture_output=True).stdout
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)

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


def through_speaker(samples: np.ndarray, seed: int) -> np.ndarray:
    """The helper's voice as its own microphone hears it: a small speaker's band (no bass,
    little treble), a bedroom's reverb, a few milliseconds of travel, and a little distortion."""
    rng = np.random.default_rng(seed)
    effects = ["highpass", f"{rng.uniform(150, 350):.0f}", "lowpass", f"{rng.uniform(4500, 7000):.0f}",
               "reverb", f"{rng.uniform(20, 70):.0f}", "50", f"{rng.uniform(30, 90):.0f}",
               "pad", f"{rng.uniform(0.002, 0.06):.3f}"]
    room = ClipSynthesizer.sox(samples, effects).astype(np.float64)
    peak, drive = max(float(np.abs(room).max()), 1.0), rng.uniform(1.0, 2.0)
    return np.round(np.tanh(room / peak * drive) / np.tanh(drive) * peak).astype(np.int16)


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
                 noise: Dict[str, np.ndarray], conditions: Sequence[str], answers: bool = False,
                 more_speakers: bool = True) -> List[Clip]:
    """Each phrase in each voice, and in one more speaker made from each human-recorded voice
    (tempo 0.85-1.2, pitch -300..+300 cents), under each condition. With ``answers``, each
    clip has the same speaker's "yes" and "no" in the same room, for when the helper asks
    "Did you say cramp?". Formant voices are heard clean only."""
    rng = np.random.default_rng(5)
    clips: List[Clip] = []
    for text, expected in phrases:
        for voice in synth.voices(voices):
            formant = voice[0] == FORMANT
            speakers = [(1.0, 0.0)]
            if synth.has_sox and not formant and more_speakers:
                speakers.append((float(rng.uniform(0.85, 1.2)), float(rng.uniform(-300, 300))))
            for tempo, cents in speakers:
                request = synth.varied(synth.speech(text, voice), tempo, cents)
                replies = [synth.varied(synth.speech(word, voice), tempo, cents) for word in ("yes", "no")] \
                    if answers else None
                speaker = voice[1] if tempo == 1.0 else f"{voice[1]} tempo {tempo:.2f} pitch {cents:+.0f}"
                for condition in (["clean"] if formant else conditions):
                    if condition == DISTANT and not synth.has_sox:
                        continue
                    clips.append(_spoken(synth, request, replies, condition, noise, len(clips),
                                         f"{text} / {speaker}", expected, voice[0]))
    return clips


def _spoken(synth: ClipSynthesizer, request: np.ndarray, replies: Optional[List[np.ndarray]], condition: str,
            noise: Dict[str, np.ndarray], index: int, name: str, expected: str, engine: str) -> Clip:
    speech_rms = float(np.sqrt(np.mean(request.astype(np.float64) ** 2)))

    def heard(speech: np.ndarray, seed: int) -> np.ndarray:
        if condition == DISTANT:
            speech = synth.varied(speech, distant=True)
        samples = padded(speech, seed=seed)
        if condition.startswith("snr"):  # alternate the noise kinds, from a different place each time
            real = condition.endswith(REAL_NOISE)
            kinds = sorted(kind for kind in noise if kind.startswith(REAL_NOISE_PREFIX) == real)
            kind = kinds[index % len(kinds)]
            snr = float(condition[3:].replace(REAL_NOISE, ""))
            samples = mix(samples, speech_rms, noise[kind], snr, (seed * 7919) % noise[kind].size)
        return samples

    samples = heard(request, index)
    speech_end = LEAD_SECONDS + (samples.size / SAMPLE_RATE - LEAD_SECONDS - TRAIL_SECONDS if condition == DISTANT
                                 else request.size / SAMPLE_RATE)
    yes, no = [heard(reply, index + seed) for seed, reply in zip((100_000, 200_000), replies)] if replies else (None, None)
    return Clip(name, samples, speech_end, expected, engine, condition, yes, no)


def negative_clips(synth: ClipSynthesizer, corpus: Optional[Path], noise: Dict[str, np.ndarray],
                   which: str, voices: Sequence[tuple]) -> List[Clip]:
    """This set's half of the corpus's real speech, this set's unrelated sentences in this
    set's voices, silence, and each noise alone."""
    rows = corpus_rows(corpus, "negative")[(0 if which == "tuning" else 1)::2]
    clips = [Clip(f"real speech {row['path']}", read_audio_file(corpus / row["path"]), 0.0, None, "corpus")
             for row in rows]
    usable = synth.voices(voices)
    for index, sentence in enumerate(NEGATIVE_SENTENCES[which]):
        voice = usable[index % len(usable)]
        clips.append(Clip(f"synthetic: {sentence} / {voice[1]}", padded(synth.speech(sentence, voice), seed=index),
                          0.0, None, voice[0]))
    clips.append(Clip("silence (microphone hiss only)", padded(np.zeros(8 * SAMPLE_RATE, dtype=np.int16)), 0.0,
                      None, "silence"))
    for kind, samples in sorted(noise.items()):
        if kind.startswith(REAL_NOISE_PREFIX):
            continue  # real noise is for mixing; the real streams (bench --real) are its negatives
        # The whole track: 10 s of noise alone did not show the false wake-ups that minutes of a
        # kitchen's clatter caused (bedside room-check on a built night).
        clips.append(Clip(f"{kind} noise alone", samples, 0.0, None, "noise"))
    return clips


def continuous_stream(negatives: Sequence[Clip], minutes: float = 10.0, seed: int = 3) -> np.ndarray:
    """The negatives (speech, and noise alone) joined with 0.5-2 s pauses, repeated until the
    stream is ``minutes`` long."""
    rng = np.random.default_rng(seed)
    speech = [clip.samples for clip in negatives if clip.voice != "silence"]
    parts, total = [], 0
    while total < minutes * 60 * SAMPLE_RATE:
        for samples in speech:
            gap = np.zeros(int(rng.uniform(0.5, 2.0) * SAMPLE_RATE), dtype=np.int16)
            parts += [samples, gap]
            total += samples.size + gap.size
    return np.concatenate(parts)
