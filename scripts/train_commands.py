"""Train the command model (voice/hearing/command_model.py) from nothing: make the recordings, cut them
as the helper does, fit a small network, choose its thresholds, write the weights.

    scripts/train_commands --real ../shared/real [--out voice/data/commands.npz]

Training data, never the benchmark's test rows or voices (voice/bench/recordings.py):

* real people (``--real``, its *tuning* rows of Speech Commands: a quarter of those speakers is
  held out to choose the thresholds): "stop", "yes" and "no", and other words ("go", "up",
  "left", ...) as none of them; each heard clean, from across the room, and in noise;
* synthetic voices (scripts/training.py) saying every phrasing of stop, yes and no in the
  content, the other commands, and ordinary words and phrases;
* as none of them: what the echo canceller leaves of the helper's own voice (its lines through
  its speaker and a room, with and without a person's word over them; the utterances that hold
  none of the word), noise, snoring and night sounds made here.

Each recording is cut into utterances by the helper's own endpointer. A word said over the
helper's voice is not trained on as that word: what the canceller lets through of it lost most
of the word (docs/benchmarks.md, "Barge-in").

Everything is seeded and fitted on one thread, so a second run writes the same weights.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"  # before numpy loads: one thread gives the same sums every run

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training import (TRAIN_VOICES, fortune_sentences, own_lines, speaker_effects, speaker_held_out,  # noqa: E402
                      speech_commands_speaker, template_sentences, training_noise)
from voice.bench.real import real_rows, rms, speech_span  # noqa: E402
from voice.bench.recordings import FORMANT, OWN_VOICE, ClipSynthesizer, mix, padded, through_speaker  # noqa: E402
from voice.bench.sounds import NIGHT_SOUNDS, night_sound, snoring_like  # noqa: E402
from voice.conversation.content import check_content  # noqa: E402
from voice.conversation.dialogue import EPISODE_INTENTS  # noqa: E402
from voice.hearing.command_model import CLASSES, STEP_FRAMES, WEIGHTS, WORDS, CommandModel, Layers  # noqa: E402
from voice.hearing.embedding import SpeechEmbedding  # noqa: E402
from voice.hearing.endpointer import timed_utterances, utterances  # noqa: E402
from voice.hearing.intents import IntentMatcher  # noqa: E402
from voice.sound.audio import FRAME_SAMPLES, SAMPLE_RATE, read_audio_file  # noqa: E402
from voice.sound.echo import EchoCanceller, FarEnd  # noqa: E402

SEED = 23
EXCLUDED_VOICES: Sequence[tuple] = ()  # left out of training, to check the model on a voice it never heard
# Phrasings of each word's intent in the content, and of the other commands, per intent: all of
# them where there are fewer ("quiet" and "cancel" are "stop" too; "I'm fine" and "go on" are
# commands, not "none of them"), and this many of the open-ended ones (cramp, red flags).
PHRASINGS = 40
SYNTHETIC_RENDERINGS = {"stop": 8, "yes": 8, "no": 8, "command": 4, "other": 3}
# Words people say that are no command (Speech Commands' own vocabulary among them).
OTHER_WORDS = ["go", "up", "down", "left", "right", "on", "off", "bed", "bird", "cat", "dog", "happy", "house",
               "tree", "wow", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
               "forward", "backward", "follow", "learn", "visual", "top", "shop", "drop", "yet", "yellow",
               "snow", "know", "nose", "note", "yesterday", "stuff", "spot", "guess"]
SHORT_SENTENCES = 300
PEOPLE_SHARE = 0.7  # of the synthetic renderings, in voices made from recordings of people
# Each real word: clean, and in this many more conditions drawn from the rest.
REAL_CONDITIONS = ("distant", "snr20", "snr10", "snr5", "echo")
REAL_RENDERINGS = 4
ECHO_DB = (-10.0, 10.0)  # the person against the helper's voice in the microphone, before echo cancellation
HIDDEN = 64
ALPHA = 1.0
MAX_SECONDS = 3.0  # utterances longer than this are no command worth the model's opinion


@dataclass(frozen=True)
class Job:
    label: str  # one of CLASSES
    # A sentence; or "file:PATH" (a real recording), "noise:KIND", "snoring:", "night:KIND",
    # or "own:LINE" (the helper's own voice alone, through the echo canceller)
    source: str
    voice: tuple
    tempo: float
    cents: float
    condition: str  # clean | distant | snrN | echo (the helper's own voice under it)
    seed: int
    held_out: bool
    group: str


def plan(real: Path, matcher: IntentMatcher, noise_names: Sequence[str], own: Sequence[str]) -> List[Job]:
    rng = np.random.default_rng(SEED)
    people = [voice for voice in TRAIN_VOICES if voice[0] != FORMANT and voice not in EXCLUDED_VOICES]
    formant = [voice for voice in TRAIN_VOICES if voice[0] == FORMANT]
    jobs: List[Job] = []

    def synthetic(label: str, text: str, group: str) -> None:
        """Renderings of a phrase, a quarter of them held out: the phrasings are the content's
        own, so what must carry over is to other speakers and rooms, not to other words."""
        for _ in range(SYNTHETIC_RENDERINGS[label]):
            # Mostly voices made from people: the words must carry over to people, not to espeak-ng.
            voices = people if rng.random() < PEOPLE_SHARE else formant
            voice = voices[rng.integers(len(voices))]
            condition = "clean" if voice[0] == FORMANT else str(rng.choice(("clean",) + REAL_CONDITIONS))
            jobs.append(Job(label, text, voice, float(rng.uniform(0.8, 1.25)), float(rng.uniform(-350, 350)),
                            condition, int(rng.integers(1 << 30)), bool(rng.random() < 0.25), group))

    for word in WORDS:
        for text in template_sentences(matcher, word, PHRASINGS, rng):
            synthetic(word, text, f"synthetic {word}")
    for intent in sorted(EPISODE_INTENTS - set(WORDS)):
        for text in template_sentences(matcher, intent, PHRASINGS, rng):
            synthetic("command", text, "synthetic other commands")
    short = [text for text in fortune_sentences(rng, 4 * SHORT_SENTENCES) if len(text.split()) <= 4][:SHORT_SENTENCES]
    for text in OTHER_WORDS + short:
        synthetic("other", text, "synthetic other words")
    for index, row in enumerate(row for row in real_rows(real, "tuning") if row.folder == "commands"):
        label = row.label if row.label in WORDS else "other"
        speaker = speech_commands_speaker(row.file)
        conditions = ["clean"] + list(rng.choice(REAL_CONDITIONS, size=REAL_RENDERINGS - 1, replace=False))
        if "echo" not in conditions and rng.random() < 0.5:
            conditions.append("echo")
        for condition in conditions:
            jobs.append(Job(label, f"file:{row.file}", (), 1.0, 0.0, str(condition), int(rng.integers(1 << 30)),
                            speaker_held_out(speaker), f"real {label}"))
    for index, line in enumerate(own):  # every window of each line, at two loudnesses
        for _ in range(2):
            jobs.append(Job("other", f"own:{line}", OWN_VOICE, 1.0, 0.0, "echo", int(rng.integers(1 << 30)),
                            index % 4 == 0, "own voice"))
    for index, kind in enumerate(noise_names):
        jobs.append(Job("other", f"noise:{kind}", (), 1.0, 0.0, "clean", 100 + index, index % 4 == 0, "noise"))
    for index in range(20):
        jobs.append(Job("other", "snoring:", (), 1.0, 0.0, "clean", 200 + index, index % 4 == 0, "noise"))
    for kind in NIGHT_SOUNDS:
        for index in range(4):
            jobs.append(Job("other", f"night:{kind}", (), 1.0, 0.0, "clean", 300 + index, index % 4 == 0, "noise"))
    return jobs


_worker: Dict[str, object] = {}


def _start_worker(folder: str, noise: Dict[str, np.ndarray], own: Sequence[str]) -> None:
    tempfile.tempdir = folder
    _worker.update(embedding=SpeechEmbedding(), synth=ClipSynthesizer(), noise=noise, own=list(own))


def spoken(job: Job, rng: np.random.Generator) -> np.ndarray:
    """The words of a job, before the room: a real recording's word (trimmed to where it is
    loud) or a synthetic voice's, varied into another speaker."""
    synth: ClipSynthesizer = _worker["synth"]  # type: ignore[assignment]
    if job.source.startswith("file:"):
        samples = read_audio_file(job.source[len("file:"):])
        return samples[speech_span(samples)]
    speech = synth.speech(job.source, job.voice)
    if job.voice[0] == FORMANT:
        return speech
    return synth.sox(speech, speaker_effects(job.tempo, job.cents, False, rng))


def heard(job: Job, words: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The words in the room of the job's condition (not ``echo``), with silence around them."""
    synth: ClipSynthesizer = _worker["synth"]  # type: ignore[assignment]
    noise: Dict[str, np.ndarray] = _worker["noise"]  # type: ignore[assignment]
    if job.condition == "distant":
        words = synth.sox(words, speaker_effects(1.0, 0.0, True, rng))
    samples = padded(words, seed=job.seed)
    if job.condition.startswith("snr"):
        kinds = sorted(noise)
        track = noise[kinds[rng.integers(len(kinds))]]
        samples = mix(samples, rms(words), track, float(job.condition[3:]), int(rng.integers(track.size)))
    return samples


def own_voice(line: str, rng: np.random.Generator) -> np.ndarray:
    """The helper saying ``line``, at least three seconds of it (repeated if shorter)."""
    synth: ClipSynthesizer = _worker["synth"]  # type: ignore[assignment]
    voice = synth.speech(line, OWN_VOICE)
    return np.tile(voice, 1 + 3 * SAMPLE_RATE // max(voice.size, 1))


def over_own_voice(line: str, words: Optional[np.ndarray], rng: np.random.Generator) -> Tuple[np.ndarray, Optional[slice]]:
    """What the pipeline hears when the helper says ``line`` (through its speaker and a random
    room, then cleaned by the echo canceller, which knows what was played) and someone says
    ``words`` over it, at least 1.5 s in; and where the words are."""
    played = own_voice(line, rng)
    room = through_speaker(played, seed=int(rng.integers(1 << 30))).astype(np.float64)
    mixed = padded(np.zeros(room.size, dtype=np.int16), seed=int(rng.integers(99))).astype(np.float64)[: room.size]
    span = None
    if words is None:
        mixed += room * 10 ** (rng.uniform(-45, -15) / 20) * 32768 / max(rms(room), 1.0)
    else:
        start = int(rng.integers(int(1.5 * SAMPLE_RATE), max(int(1.6 * SAMPLE_RATE), room.size - words.size)))
        end = min(start + words.size, room.size)
        gain = rms(words) / max(rms(room[start:end]), 1.0) / 10 ** (rng.uniform(*ECHO_DB) / 20)
        mixed += room * gain
        mixed[start:end] += words[: end - start]
        span = slice(start, end)
    far_end = FarEnd()
    canceller = EchoCanceller(far_end)
    heard = np.clip(np.round(mixed), -32768, 32767).astype(np.int16)
    played = np.pad(played, (0, max(0, heard.size - played.size)))[: heard.size]
    cleaned = []
    for start in range(0, heard.size - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        far_end.played(played[start : start + FRAME_SAMPLES])
        cleaned.append(np.frombuffer(canceller.clean(heard[start : start + FRAME_SAMPLES].tobytes()), dtype="<i2"))
    return np.concatenate(cleaned), span


def echo_leftovers(mixed: np.ndarray, words: Optional[slice]) -> List[np.ndarray]:
    """The utterances the endpointer cuts from ``mixed`` that hold none of the ``words``: what
    the echo canceller left of the helper's voice."""
    found = []
    for audio, end in timed_utterances(mixed):
        start = end - len(audio) // 2
        if len(audio) <= MAX_SECONDS * SAMPLE_RATE * 2 and (words is None or end <= words.start or start >= words.stop):
            found.append(np.frombuffer(audio, dtype="<i2"))
    return found


def featurize(job: Job) -> List[Tuple[np.ndarray, str]]:
    """The pooled embedding of each utterance the job gives the model, and its class."""
    embedding: SpeechEmbedding = _worker["embedding"]  # type: ignore[assignment]
    rng = np.random.default_rng(job.seed)
    own: List[str] = _worker["own"]  # type: ignore[assignment]
    if job.source.startswith("own:"):
        found = [(samples, "other") for samples in echo_leftovers(*over_own_voice(job.source[len("own:"):], None, rng))]
    elif job.condition == "echo":
        line = own[rng.integers(len(own))]
        words = spoken(job, rng).astype(np.float64)
        found = [(samples, "other") for samples in echo_leftovers(*over_own_voice(line, words, rng))]
    else:
        if job.source == "snoring:":
            parts = utterances(padded(snoring_like(20.0, seed=job.seed), seed=job.seed))
        elif job.source.startswith("night:"):
            parts = utterances(padded(night_sound(job.source[len("night:"):], 20.0, seed=job.seed), seed=job.seed))
        elif job.source.startswith("noise:"):
            track: np.ndarray = _worker["noise"][job.source[len("noise:"):]]  # type: ignore[index]
            start = int(rng.integers(max(1, track.size - 10 * SAMPLE_RATE)))
            parts = utterances(padded(track[start : start + 10 * SAMPLE_RATE], seed=job.seed))
        else:
            parts = utterances(heard(job, spoken(job, rng), rng))
            if job.label != "other" and parts:
                parts = [max(parts, key=len)]  # the word itself; a click beside it is no "stop"
        found = [(np.frombuffer(part, dtype="<i2"), job.label) for part in parts
                 if len(part) <= MAX_SECONDS * SAMPLE_RATE * 2]
    return [(embedding.pooled(samples, STEP_FRAMES).astype(np.float64), label) for samples, label in found]


def collect(jobs: List[Job], workers: int, noise: Dict[str, np.ndarray], own: Sequence[str]) -> Dict[str, np.ndarray]:
    started = time.monotonic()
    rows: List[Tuple[Job, np.ndarray, str]] = []
    with tempfile.TemporaryDirectory(prefix="bedside-commands-") as folder, \
            Pool(workers, initializer=_start_worker, initargs=(folder, noise, own)) as pool:
        for index, found in enumerate(pool.imap(featurize, jobs, chunksize=8)):
            rows += [(jobs[index], values, label) for values, label in found]
            if index % 500 == 0:
                print(f"  {index}/{len(jobs)} recordings, {time.monotonic() - started:.0f} s", file=sys.stderr)
    return {"label": np.array([CLASSES.index(label) for _, _, label in rows]),
            "held_out": np.array([job.held_out for job, _, _ in rows]),
            "group": np.array([job.group + (" over own voice" if job.condition == "echo" else "")
                               for job, _, _ in rows]),
            "features": np.stack([values for _, values, _ in rows])}


def network(values: np.ndarray, targets: np.ndarray) -> Tuple[np.ndarray, np.ndarray, Layers]:
    """A network fitted on standardized ``values``: their mean and scale, and its layers."""
    from sklearn.neural_network import MLPClassifier

    mean, scale = values.mean(axis=0), values.std(axis=0) + 1e-6
    fitted = MLPClassifier(hidden_layer_sizes=(HIDDEN,), alpha=ALPHA, max_iter=600, random_state=SEED)
    fitted.fit((values - mean) / scale, targets)
    layers = tuple((weights.astype(np.float32), bias.astype(np.float32))
                   for weights, bias in zip(fitted.coefs_, fitted.intercepts_))
    return mean.astype(np.float32), scale.astype(np.float32), layers


def fit(data: Dict[str, np.ndarray]) -> CommandModel:
    train = ~data["held_out"]
    model = CommandModel(*network(data["features"][train], data["label"][train]), 1.0, 0.0, 1.0)
    return replace(model, **thresholds(model, data))


# Chosen on the held-out quarter (speakers, and renderings of the synthetic phrases). At 0.95 and
# 0.99 the last two let a tenth of the held-out speakers' other words through as a command during
# relief or after the doubt question; at 0.93 and 0.98, two thirds as many, with their stop, yes
# and no heard as before and the synthetic commands nearly so (docs/benchmarks.md, "The command
# model"; 0.97 dropped a tenth more of those, "go on" and "I'm fine" among them).
FALSE_ACCEPT = 0.01  # of what is none of the words, at most this share reaches ``accept`` (and overrides)
KEEP_AGREED = 0.93  # of each word heard as itself by the recognizer, this share is kept (``agree``)
KEEP_COMMANDS = 0.98  # of the other commands, this share stays under ``none`` (not dropped as no command)


def thresholds(model: CommandModel, data: Dict[str, np.ndarray]) -> Dict[str, float]:
    held = data["held_out"]
    probabilities = np.array([[model.probabilities_of(row)[name] for name in CLASSES]
                              for row in data["features"][held]])
    labels = data["label"][held]
    words = labels < len(WORDS)
    best_word = probabilities[:, : len(WORDS)].max(axis=1)
    accept = float(np.quantile(best_word[~words], 1 - FALSE_ACCEPT))
    own_class = probabilities[np.arange(labels.size), np.minimum(labels, len(WORDS) - 1)]
    agree = float(np.quantile(own_class[words], 1 - KEEP_AGREED))
    commands = labels == CLASSES.index("command")
    none = float(np.quantile(probabilities[commands, CLASSES.index("other")], KEEP_COMMANDS))
    return {"accept": round(min(accept, 0.99), 4), "agree": round(min(agree, accept), 4),
            "none": round(min(none, 0.999), 4)}


def report(data: Dict[str, np.ndarray], model: CommandModel) -> None:
    """Per kind of recording, held out and fitted: how often each class is the most probable and
    a word reaches ``accept``."""
    for name, mask in (("held out", data["held_out"]), ("fitted", ~data["held_out"])):
        for group in sorted(set(data["group"])):
            chosen = mask & (data["group"] == group)
            if chosen.any():
                found = [model.probabilities_of(row) for row in data["features"][chosen]]
                best = [max(probabilities, key=lambda key: probabilities[key]) for probabilities in found]
                counts = ", ".join(f"{label} {best.count(label) / len(best):.3f}" for label in CLASSES
                                   if best.count(label))
                accepted = np.mean([max(probabilities[word] for word in WORDS) >= model.accept for probabilities in found])
                print(f"  {name:8} {group:26} {chosen.sum():5}: {counts}; accepted {accepted:.3f}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, required=True,
                        help="real people (../shared/real): its tuning rows of Speech Commands are used")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--features-out", type=Path, help="keep every utterance's features here")
    parser.add_argument("--features-in", type=Path, help="fit on features kept by an earlier run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--without-voice", metavar="ENGINE:NAME", action="append", default=[],
                        help="leave a training voice out (to check the model on it afterwards)")
    args = parser.parse_args(argv)
    global EXCLUDED_VOICES
    EXCLUDED_VOICES = [voice for voice in TRAIN_VOICES if f"{voice[0]}:{voice[1]}" in args.without_voice]
    started = time.monotonic()
    if args.features_in:
        with np.load(args.features_in) as kept:
            data = {name: kept[name] for name in kept.files}
    else:
        content_path = ROOT / "voice" / "data" / "content.yaml"
        content = check_content(content_path)
        noise = training_noise(args.real)
        own = own_lines(content_path)
        jobs = plan(args.real, IntentMatcher(content.intents, content.phrase_rules), sorted(noise), own)
        print(f"{len(jobs)} recordings to make", file=sys.stderr)
        data = collect(jobs, args.workers, noise, own)
        if args.features_out:
            np.savez(args.features_out, **data)
    print(f"{len(data['label'])} utterances, {time.monotonic() - started:.0f} s", file=sys.stderr)
    model = fit(data)
    report(data, model)
    model.save(args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} (accept {model.accept}, agree {model.agree}, none {model.none}; "
          f"sha256 {digest[:16]}) "
          f"in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
