"""The command model: whether a short utterance is "stop", "yes" or "no", from its sound alone.

Mid-conversation the words that matter most are the shortest. The recognizer forces every sound
onto one of its sentences, so a sleepy real "stop" came out as "okay", "slower", and even as
"it's warm and red". This small network looks at the pretrained speech embedding of the
utterance (``voice.hearing.embedding``; Google's, made for spotting keywords) and was trained by
``scripts/train_commands`` on real people saying these words (the tuning speakers of Speech
Commands) and on synthetic voices, against other commands, other words, noise and the helper's
own voice (what the echo canceller, voice.sound.echo, leaves of it: while the helper speaks, a "stop"
comes through the canceller too). It gives a probability to each of ``CLASSES``;
``voice.hearing.decision.command_opinion`` weighs it against the recognizer.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from voice.base.errors import BedsideError
from voice.base.paths import PACKAGE_DATA
from voice.hearing.decision import COMMAND_WORDS
from voice.hearing.embedding import SpeechEmbedding

WEIGHTS = PACKAGE_DATA / "commands.npz"
WORDS = COMMAND_WORDS  # stop, yes, no
CLASSES = (*WORDS, "command", "other")  # command: another command; other: none of them
STEP_FRAMES = 8  # an embedding window every 80 ms: a word lasts only a few
RETRAIN_HELP = "rebuild it with scripts/train_commands; meanwhile the recognizer alone hears commands"


@dataclass(frozen=True)
class CommandModel:
    """A multilayer perceptron over the standardized, pooled embedding: ReLU, then softmax over
    ``CLASSES``."""

    mean: np.ndarray
    scale: np.ndarray
    layers: "Layers"
    accept: float  # a word's probability at or above this: that word, whatever the recognizer heard
    agree: float  # the recognizer's word is kept at or above this; below, it was something else
    none: float  # "none of these" at or above this: no command at all, whatever the recognizer heard
    embedding: Optional[SpeechEmbedding] = None

    def features(self, samples: np.ndarray) -> np.ndarray:
        assert self.embedding is not None
        return self.embedding.pooled(samples, STEP_FRAMES).astype(np.float64)

    def probabilities(self, samples: np.ndarray) -> Dict[str, float]:
        return self.probabilities_of(self.features(samples))

    def probabilities_of(self, values: np.ndarray) -> Dict[str, float]:
        activation = _forward(self.layers, (values - self.mean) / self.scale)
        exponent = np.exp(activation - activation.max())
        return dict(zip(CLASSES, (exponent / exponent.sum()).tolist()))

    def save(self, path: Path) -> None:
        arrays = {f"w{index}": weights for index, (weights, _) in enumerate(self.layers)}
        arrays.update({f"b{index}": bias for index, (_, bias) in enumerate(self.layers)})
        with path.open("wb") as out:
            np.savez(out, classes=np.array(CLASSES), mean=self.mean, scale=self.scale,
                     thresholds=np.array([self.accept, self.agree, self.none]), **arrays)


def load_command_model(path: Union[str, Path, None] = None) -> CommandModel:
    """The trained command model from ``path`` (default: the shipped ``WEIGHTS``); a
    ``BedsideError`` (one line: what is wrong, what to do) if it is missing or damaged."""
    path = Path(path) if path else WEIGHTS
    try:
        with np.load(path, allow_pickle=False) as data:
            classes = tuple(str(name) for name in data["classes"])
            layers = _layers(data)
            mean, scale, (accept, agree, none) = data["mean"], data["scale"], data["thresholds"]
    except FileNotFoundError:
        raise BedsideError(f"the command model is missing ({path}); {RETRAIN_HELP}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise BedsideError(f"the command model in {path} is damaged ({error}); {RETRAIN_HELP}") from None
    if classes != CLASSES or not layers or layers[0][0].shape[0] != mean.size or layers[-1][1].size != len(CLASSES):
        raise BedsideError(f"the command model in {path} does not fit together; {RETRAIN_HELP}")
    return CommandModel(mean, scale, layers, float(accept), float(agree), float(none), SpeechEmbedding())


Layers = Tuple[Tuple[np.ndarray, np.ndarray], ...]


def _layers(data) -> Layers:
    count = sum(1 for name in data.files if name.startswith("w"))
    return tuple((data[f"w{index}"], data[f"b{index}"]) for index in range(count))


def _forward(layers: Layers, activation: np.ndarray) -> np.ndarray:
    """Through the layers: ReLU between them, the last one's output as it is."""
    for index, (weights, bias) in enumerate(layers):
        activation = activation @ weights + bias
        if index < len(layers) - 1:
            activation = np.maximum(activation, 0.0)
    return activation
