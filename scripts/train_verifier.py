"""Train the verifier (voice/verifier.py) from nothing: make the recordings, cut and decode them
as the helper does, fit a small network, choose its two thresholds, write the weights.

    scripts/train_verifier [--corpus ../shared/corpus] [--features both] [--out voice/data/verifier.npz]

Training data is made here and never overlaps the benchmark's test set (voice/benchset.py):

* positives: sentences drawn at random from the content's own wake-up templates (every intent
  the helper wakes up for, so every phrasing family), minus the test set's sentences;
* negatives: ordinary sentences (Debian's fortune-mod texts), near-misses written here
  ("camp", "clamp", "a calf in the field"), the helper's own lines in its own voice, noise
  alone, and, with ``--corpus``, the tuning half of its real speech (even files; the benchmark
  tests on the odd ones);
* voices: the tuning set's speakers (flite slt, festival slt and ked) and espeak-ng voices the
  test set does not use, each varied with sox (tempo, pitch), some from across the room
  (reverb, -20 dB), some in noise at 20, 10 or 5 dB.

Everything is seeded and the network is fitted on one thread, so a second run writes the same
weights. The features of every utterance are kept (``--features-out``) to compare the feature
kinds without making the recordings again (``--features-in``).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"  # before numpy loads: one thread gives the same sums every run

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice.audio import SAMPLE_RATE, read_audio_file  # noqa: E402
from voice.benchset import (FORMANT, RED_FLAGS, TRIGGERS, VOICES, ClipSynthesizer, brown_noise, corpus_rows,  # noqa: E402
                            mix, padded)
from voice.content import check_content  # noqa: E402
from voice.decision import gates_for  # noqa: E402
from voice.dialogue import IDLE_INTENTS, VOCABULARIES  # noqa: E402
from voice.embedding import SpeechEmbedding  # noqa: E402
from voice.endpointer import utterances  # noqa: E402
from voice.intents import IntentMatcher, normalize  # noqa: E402
from voice.pipeline import MAX_WAKE_SECONDS  # noqa: E402
from voice.recognizer import PocketsphinxRecognizer  # noqa: E402
from voice.verifier import FEATURE_KINDS, WEIGHTS, Verifier, recognizer_features  # noqa: E402

SEED = 16
# The tuning set's voices, and espeak-ng voices the test set does not use.
TRAIN_VOICES = VOICES["tuning"] + [("espeak", "en-us+m1", 140, 45), ("espeak", "en-us+f2", 150, 60),
                                   ("espeak", "en-gb-scotland", 135, 50), ("espeak", "en-us+m5", 160, 30),
                                   ("espeak", "en-gb+f5", 145, 70), ("espeak", "en-029", 150, 50)]
OWN_VOICE = ("espeak", "en", 140, 50)  # pyttsx3's espeak-ng at the helper's night rate
SENTENCES_PER_INTENT = {"cramp": 150, "red_flag": 70, "causes": 25, "prevention": 25, "seek_care": 25,
                        "summary": 12, "help": 12}
RENDERINGS = 3  # each positive sentence in this many voices and rooms
FORTUNE_SENTENCES = 1500
NEAR_MISSES = [
    "we went to camp by the lake", "put the clamp on the table", "the room was cramped and hot",
    "a calf was born on the farm", "the cow licked her calf", "the car park is full", "my back is a bit stiff",
    "I cramped my style", "the stamp is on the letter", "my cat is sleeping on the bed",
    "the lamp is too bright", "help me find my keys", "my leg of the trip was long", "Charlie has a horse",
    "the horse is in the stable", "the tramp walked down the road", "a damp cloth on the counter",
    "I need a cup of tea", "my head hurts a little", "my feet are cold", "the calf muscle workout was hard",
    "is it time to get up", "turn off the light please", "what time is it", "the baby is crying",
    "I can't sleep tonight", "set an alarm for seven", "my phone is charging", "the dog needs to go out",
    "the weather will be cold tomorrow", "I left the window open", "shall we go for a walk",
    "cramp is a town in the story", "she cramps the dough into the tin", "my toes are cold",
    "the heater is making a noise", "I have a meeting at nine", "the clock is ticking",
    "swollen rivers after the rain", "the red car is outside", "I could not breathe for laughing",
    "my chest of drawers is full", "it's warm in here", "how are you feeling", "goodnight, sleep well",
]
TUNING_SHARE = 0.25  # of the sentences (and corpus files), held out to choose the thresholds
HIDDEN = 32
# L2 weight per feature kind: the least held-out other speech accepted at the chosen request
# share, in a sweep of 0.01 / 0.1 / 1 / 3 on the held-out quarter of this training data.
ALPHA = {"recognizer": 0.01, "embedding": 3.0, "both": 1.0}
CONDITIONS = (("clean", 0.4), ("distant", 0.2), ("snr20", 0.15), ("snr10", 0.15), ("snr5", 0.1))


@dataclass(frozen=True)
class Job:
    """One recording to make and cut into utterances."""

    label: int  # 1: a request to the helper
    text: str  # the sentence, or "corpus:PATH" / "noise:KIND"
    voice: tuple
    tempo: float
    cents: float
    condition: str
    seed: int
    held_out: bool  # for choosing the thresholds, not for fitting


def wake_sentences(matcher: IntentMatcher, rng: np.random.Generator) -> List[str]:
    """Sentences drawn from each wake-up intent's templates (a random walk over its grammar)."""
    excluded = {normalize(text) for text in TRIGGERS["test"] + RED_FLAGS["test"]}
    sentences = []
    for intent in sorted(IDLE_INTENTS):
        following, ends = matcher.vocabulary([intent]).grammar().arcs()
        found: Dict[str, None] = {}
        for _ in range(SENTENCES_PER_INTENT[intent] * 20):
            if len(found) >= SENTENCES_PER_INTENT[intent]:
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
        sentences += list(found)
    return sentences + TRIGGERS["tuning"] + RED_FLAGS["tuning"]


def fortune_sentences(rng: np.random.Generator) -> List[str]:
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
    return [texts[index] for index in sorted(rng.choice(len(texts), size=min(FORTUNE_SENTENCES, len(texts)),
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


def plan(corpus: Optional[Path], matcher: IntentMatcher, content_path: Path) -> List[Job]:
    rng = np.random.default_rng(SEED)
    people = [voice for voice in TRAIN_VOICES if voice[0] != FORMANT]
    formant = [voice for voice in TRAIN_VOICES if voice[0] == FORMANT]
    jobs: List[Job] = []

    def add(label: int, text: str, renderings: int, held_out: bool, voices: Sequence[tuple]) -> None:
        for _ in range(renderings):
            voice = voices[rng.integers(len(voices))]
            formant_voice = voice[0] == FORMANT
            condition = "clean" if formant_voice else str(rng.choice([c for c, _ in CONDITIONS],
                                                                      p=[p for _, p in CONDITIONS]))
            jobs.append(Job(label, text, voice, float(rng.uniform(0.85, 1.2)), float(rng.uniform(-300, 300)),
                            condition, int(rng.integers(1 << 30)), held_out))

    for index, sentence in enumerate(wake_sentences(matcher, rng)):
        add(1, sentence, RENDERINGS, index % 4 == 0, people + formant)
    for index, sentence in enumerate(fortune_sentences(rng) + NEAR_MISSES):
        add(0, sentence, 1, index % 4 == 0, people + formant)
    for index, line in enumerate(own_lines(content_path)):
        jobs.append(Job(0, line, OWN_VOICE, 1.0, 0.0, "clean", index, index % 4 == 0))
    for index, kind in enumerate(["fan", "white", "fan", "white"]):
        jobs.append(Job(0, f"noise:{kind}", (), 1.0, 0.0, "clean", 1000 + index, index % 4 == 0))
    rows = corpus_rows(corpus, "negative")[0::2]  # the tuning half; the benchmark tests on the other
    for index, row in enumerate(rows):
        jobs.append(Job(0, f"corpus:{corpus / row['path']}", (), 1.0, 0.0, "clean", index, index % 4 == 0))
    return jobs


_worker: Dict[str, object] = {}


def _start_worker(content_path: str, folder: str) -> None:
    tempfile.tempdir = folder  # the synthesizer's files, removed with the folder when all is done
    content = check_content(content_path)
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    vocabularies = matcher.vocabularies({"idle": VOCABULARIES["idle"]})
    _worker.update(recognizer=PocketsphinxRecognizer(vocabularies), embedding=SpeechEmbedding(),
                   synth=ClipSynthesizer(), matcher=matcher, fan=brown_noise(60.0, seed=23),
                   white=np.random.default_rng(29).normal(scale=3000, size=60 * SAMPLE_RATE).astype(np.int16))


def render(job: Job) -> np.ndarray:
    synth: ClipSynthesizer = _worker["synth"]  # type: ignore[assignment]
    if job.text.startswith("corpus:"):
        return read_audio_file(job.text[len("corpus:"):])
    if job.text.startswith("noise:"):
        noise = _worker[job.text[len("noise:"):]]
        return padded(noise[job.seed % 7 * SAMPLE_RATE:][: 20 * SAMPLE_RATE], seed=job.seed)  # type: ignore[index]
    speech = synth.speech(job.text, job.voice)
    if job.voice[0] != FORMANT:
        speech = synth.varied(speech, job.tempo, job.cents, distant=job.condition == "distant")
    samples = padded(speech, seed=job.seed)
    if job.condition.startswith("snr"):
        rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
        noise = _worker["fan" if job.seed % 2 else "white"]
        samples = mix(samples, rms, noise, float(job.condition[3:]), job.seed % (50 * SAMPLE_RATE))  # type: ignore[arg-type]
    return samples


def featurize(job: Job) -> List[Tuple[np.ndarray, np.ndarray, str, float]]:
    """(recognizer features, embedding features, heard, confidence) of each utterance the
    recognizer proposes a wake-up for, as the pipeline would see it."""
    recognizer: PocketsphinxRecognizer = _worker["recognizer"]  # type: ignore[assignment]
    embedding: SpeechEmbedding = _worker["embedding"]  # type: ignore[assignment]
    rows = []
    for audio in utterances(render(job)):
        recognizer.forget_history()  # the same features whichever worker, after whichever job
        transcript = recognizer.decode(audio, "idle")
        if transcript is None or not transcript.text:
            continue
        seconds = len(audio) / 2 / SAMPLE_RATE
        if (transcript.seconds or seconds) > MAX_WAKE_SECONDS:
            continue  # the pipeline never wakes up for something this long
        samples = np.frombuffer(audio, dtype="<i2")
        rows.append((recognizer_features(transcript, seconds), embedding.pooled(samples).astype(np.float64),
                     transcript.text, transcript.confidence if transcript.complete else -99.0))
    return rows


def collect(jobs: List[Job], content_path: Path, workers: int) -> Dict[str, np.ndarray]:
    started, rows = time.monotonic(), []
    with tempfile.TemporaryDirectory(prefix="bedside-train-") as folder, \
            Pool(workers, initializer=_start_worker, initargs=(str(content_path), folder)) as pool:
        for index, found in enumerate(pool.imap(featurize, jobs, chunksize=4)):
            rows += [(jobs[index], *row) for row in found]
            if index % 200 == 0:
                print(f"  {index}/{len(jobs)} recordings, {time.monotonic() - started:.0f} s", file=sys.stderr)
    return {"label": np.array([job.label for job, *_ in rows]),
            "held_out": np.array([job.held_out for job, *_ in rows]),
            "recognizer": np.stack([row[1] for row in rows]), "embedding": np.stack([row[2] for row in rows]),
            "heard": np.array([row[3] for row in rows]), "confidence": np.array([row[4] for row in rows]),
            "source": np.array([job.text[:60] for job, *_ in rows])}


def inputs(data: Dict[str, np.ndarray], kind: str) -> np.ndarray:
    return {"recognizer": data["recognizer"], "embedding": data["embedding"],
            "both": np.hstack([data["recognizer"], data["embedding"]])}[kind]


def fit(data: Dict[str, np.ndarray], kind: str) -> Verifier:
    from sklearn.neural_network import MLPClassifier

    values, labels, held_out = inputs(data, kind), data["label"], data["held_out"]
    train = ~held_out
    mean, scale = values[train].mean(axis=0), values[train].std(axis=0) + 1e-6
    network = MLPClassifier(hidden_layer_sizes=(HIDDEN,), alpha=ALPHA[kind], max_iter=400, random_state=SEED)
    network.fit((values[train] - mean) / scale, labels[train])
    layers = tuple((weights.astype(np.float32), bias.astype(np.float32))
                   for weights, bias in zip(network.coefs_, network.intercepts_))
    verifier = Verifier(kind, "pocketsphinx" if kind != "embedding" else "", mean.astype(np.float32),
                        scale.astype(np.float32), layers, 1.0, 0.0)
    accept, reject = thresholds(verifier, values[held_out], labels[held_out], data["confidence"][held_out])
    return Verifier(kind, verifier.engine, verifier.mean, verifier.scale, layers, accept, reject)


# On the held-out utterances the recognizer would act on or ask about: keep this share of the
# requests at or above ``accept`` (acted on at once), and all of them at or above ``reject``
# (asked about, when the recognizer was sure): a request the verifier alone drops is the costly
# mistake. (At 0.99, the first test run lost 5 of 140 clean requests; docs/benchmarks.md.)
KEEP_ACCEPTED = 0.97
KEEP_NOT_REJECTED = 1.0


def thresholds(verifier: Verifier, values: np.ndarray, labels: np.ndarray,
               confidences: np.ndarray) -> Tuple[float, float]:
    gate = gates_for("pocketsphinx", verified=True).gate("idle", "cramp").doubtful
    proposed = confidences >= gate
    scores = np.array([verifier.score_features(row) for row in values])
    positives = np.sort(scores[(labels == 1) & proposed])
    accept = float(positives[int((1 - KEEP_ACCEPTED) * positives.size)])
    reject = float(positives[int((1 - KEEP_NOT_REJECTED) * positives.size)])
    # Rounded down: a threshold rounded up would drop the request it was set at.
    return math.floor(accept * 1e4) / 1e4, math.floor(min(reject, accept) * 1e4) / 1e4


def report(data: Dict[str, np.ndarray], verifier: Verifier) -> None:
    values, labels = inputs(data, verifier.kind), data["label"]
    held = data["held_out"]
    gate = gates_for("pocketsphinx", verified=True).gate("idle", "cramp").doubtful
    proposed = data["confidence"] >= gate
    scores = np.array([verifier.score_features(row) for row in values])
    for name, mask in (("held out", held), ("fitted", ~held)):
        for label, what in ((1, "requests"), (0, "other speech")):
            chosen = mask & proposed & (labels == label)
            if chosen.any():
                print(f"  {verifier.kind:10} {name:8} {what:12} proposed {chosen.sum():4}: "
                      f"accepted {np.mean(scores[chosen] >= verifier.accept):.3f}, "
                      f"rejected {np.mean(scores[chosen] < verifier.reject):.3f}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="real speech (../shared/corpus); its even files are used")
    parser.add_argument("--features", choices=FEATURE_KINDS, default="both")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--features-out", type=Path, help="keep every utterance's features here")
    parser.add_argument("--features-in", type=Path, help="fit on features kept by an earlier run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    content_path = ROOT / "voice" / "data" / "content.yaml"
    started = time.monotonic()
    if args.features_in:
        with np.load(args.features_in) as kept:
            data = {name: kept[name] for name in kept.files}
    else:
        content = check_content(content_path)
        jobs = plan(args.corpus, IntentMatcher(content.intents, content.phrase_rules), content_path)
        print(f"{len(jobs)} recordings to make ({sum(job.label for job in jobs)} requests)", file=sys.stderr)
        data = collect(jobs, content_path, args.workers)
        if args.features_out:
            np.savez(args.features_out, **data)
    print(f"{len(data['label'])} utterances ({int(data['label'].sum())} requests), "
          f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    verifier = fit(data, args.features)
    report(data, verifier)
    verifier.save(args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.features}; accept {verifier.accept}, reject {verifier.reject}; "
          f"sha256 {digest[:16]}) in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
