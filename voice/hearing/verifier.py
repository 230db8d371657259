"""A learned second opinion on a wake-up the recognizer proposes.

The recognizer only knows which of its sentences fits an utterance best; ordinary talk in the
bedroom sometimes fits one well enough. The verifier, a small network trained by
``scripts/train_verifier`` on synthetic requests and ordinary speech, scores the same
utterance from 0 (not a request to the helper) to 1. It runs only when the recognizer proposes
to wake up, so a silent or quiet room costs it nothing.

Its features are one of (chosen when training, stored with the weights):

* ``recognizer``: what pocketsphinx already knows (the sentence's and the least sure word's
  confidence, how long the words and the utterance last, how many words);
* ``embedding``: a pretrained speech embedding of the audio (``voice.hearing.embedding``), pooled;
* ``both``: the two side by side.

How the two opinions combine is ``voice.hearing.decision.second_opinion``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from voice.base.errors import BedsideError
from voice.base.paths import PACKAGE_DATA
from voice.hearing.decision import Opinion
from voice.hearing.embedding import SpeechEmbedding
from voice.hearing.recognizer import Transcript
from voice.sound.audio import SAMPLE_RATE

WEIGHTS = PACKAGE_DATA / "verifier.npz"
FEATURE_KINDS = ("recognizer", "embedding", "both")
RETRAIN_HELP = "rebuild it with scripts/train_verifier, or turn it off (verifier: off, or --verifier off)"


def recognizer_features(transcript: Transcript, utterance_seconds: float) -> np.ndarray:
    words = max(len(transcript.text.split()), 1)
    spoken = transcript.seconds or utterance_seconds
    confidence = transcript.confidence if transcript.confidence is not None else 0.0
    worst = transcript.worst_word if transcript.worst_word is not None else confidence
    return np.array([confidence, worst, spoken, utterance_seconds, words, spoken / words,
                     spoken / max(utterance_seconds, 0.01)], dtype=np.float64)


def features(kind: str, embedding: Optional[SpeechEmbedding], audio: bytes, transcript: Transcript) -> np.ndarray:
    """The verifier's input for one utterance (its 16 kHz int16 audio and the transcript)."""
    samples = np.frombuffer(audio, dtype="<i2")
    parts = []
    if kind in ("recognizer", "both"):
        parts.append(recognizer_features(transcript, samples.size / SAMPLE_RATE))
    if kind in ("embedding", "both"):
        assert embedding is not None
        parts.append(embedding.pooled(samples).astype(np.float64))
    return np.concatenate(parts)


@dataclass(frozen=True)
class Verifier:
    """A multilayer perceptron (ReLU, then a sigmoid) over standardized features."""

    kind: str
    engine: str  # whose confidences the recognizer features are on ("" if none are used)
    mean: np.ndarray
    scale: np.ndarray
    layers: Tuple[Tuple[np.ndarray, np.ndarray], ...]
    accept: float  # at or above: a request
    reject: float  # below: not one; in between: unsure
    embedding: Optional[SpeechEmbedding] = None

    def score(self, audio: bytes, transcript: Transcript) -> float:
        return self.score_features(features(self.kind, self.embedding, audio, transcript))

    def score_features(self, values: np.ndarray) -> float:
        activation = (values - self.mean) / self.scale
        for index, (weights, bias) in enumerate(self.layers):
            activation = activation @ weights + bias
            if index < len(self.layers) - 1:
                activation = np.maximum(activation, 0.0)
        return float(1.0 / (1.0 + np.exp(-activation[0])))

    def opinion(self, score: float) -> Opinion:
        return "yes" if score >= self.accept else "no" if score < self.reject else "unsure"

    def save(self, path: Path) -> None:
        arrays = {f"w{index}": weights for index, (weights, _) in enumerate(self.layers)}
        arrays.update({f"b{index}": bias for index, (_, bias) in enumerate(self.layers)})
        with path.open("wb") as out:
            np.savez(out, kind=self.kind, engine=self.engine, mean=self.mean, scale=self.scale,
                     thresholds=np.array([self.accept, self.reject]), **arrays)


def load_verifier(engine: str, path: Union[str, Path, None] = None) -> Verifier:
    """The trained verifier from ``path`` (default: the shipped ``WEIGHTS``); a ``BedsideError``
    (one line: what is wrong, what to do) if its weights are missing or damaged, or were trained
    on another engine's confidences."""
    path = Path(path) if path else WEIGHTS
    try:
        with np.load(path, allow_pickle=False) as data:
            kind, trained_for = str(data["kind"]), str(data["engine"])
            count = sum(1 for name in data.files if name.startswith("w"))
            layers = tuple((data[f"w{index}"], data[f"b{index}"]) for index in range(count))
            mean, scale, (accept, reject) = data["mean"], data["scale"], data["thresholds"]
    except FileNotFoundError:
        raise BedsideError(f"the verifier's weights are missing ({path}); {RETRAIN_HELP}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise BedsideError(f"the verifier's weights in {path} are damaged ({error}); {RETRAIN_HELP}") from None
    if kind not in FEATURE_KINDS or not layers or layers[0][0].shape[0] != mean.size:
        raise BedsideError(f"the verifier's weights in {path} do not fit together; {RETRAIN_HELP}")
    if trained_for and trained_for != engine:
        raise BedsideError(f"the verifier was trained on {trained_for}'s confidences, not {engine}'s; "
                           f"{RETRAIN_HELP}")
    embedding = SpeechEmbedding() if kind in ("embedding", "both") else None
    return Verifier(kind, trained_for, mean, scale, layers, float(accept), float(reject), embedding)
