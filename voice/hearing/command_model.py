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

A second, smaller head on the same embedding judges what the stop spotter
(``voice.hearing.stop_spotter``) looks at while the helper speaks: one second of the canceller's
output, a real person's word inside what it left of the helper's voice. Trained on just such
seconds, it told a "stop" there from everything else far better than the classes above, which
were trained on whole utterances (docs/benchmarks.md, "The spotter's own head").
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
class StopHead:
    """P("stop") for a second of the echo canceller's output while the helper speaks: a
    multilayer perceptron over the standardized, pooled embedding, its one output a logistic."""

    mean: np.ndarray
    scale: np.ndarray
    layers: "Layers"
    sure: float  # the spotter is sure of "stop" at or above this

    def probability_of(self, values: np.ndarray) -> float:
        activation = float(_forward(self.layers, (values - self.mean) / self.scale)[0])
        return float(1.0 / (1.0 + np.exp(-activation)))


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
    stop_head: Optional[StopHead] = None  # weights made before it have none

    def features(self, samples: np.ndarray) -> np.ndarray:
        assert self.embedding is not None
        return self.embedding.pooled(samples, STEP_FRAMES).astype(np.float64)

    def probabilities(self, samples: np.ndarray) -> Dict[str, float]:
        return self.probabilities_of(self.features(samples))

    def probabilities_of(self, values: np.ndarray) -> Dict[str, float]:
        activation = _forward(self.layers, (values - self.mean) / self.scale)
        exponent = np.exp(activation - activation.max())
        return dict(zip(CLASSES, (exponent / exponent.sum()).tolist()))

    def stop_while_speaking(self, samples: np.ndarray) -> float:
        """P("stop") for a second of the canceller's output while the helper speaks: its own
        head's, or (weights without one) the classes' "stop"."""
        values = self.features(samples)
        if self.stop_head is not None:
            return self.stop_head.probability_of(values)
        return self.probabilities_of(values)["stop"]

    def save(self, path: Path) -> None:
        arrays = _layer_arrays(self.layers)
        if self.stop_head is not None:
            head = self.stop_head
            arrays.update({f"stop_{name}": value for name, value in _layer_arrays(head.layers).items()})
            arrays.update(stop_mean=head.mean, stop_scale=head.scale, stop_sure=np.array(head.sure))
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
            stop_head = _stop_head(data) if "stop_sure" in data.files else None
    except FileNotFoundError:
        raise BedsideError(f"the command model is missing ({path}); {RETRAIN_HELP}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise BedsideError(f"the command model in {path} is damaged ({error}); {RETRAIN_HELP}") from None
    if (classes != CLASSES or not _fits(layers, mean, len(CLASSES))
            or stop_head is not None and not _fits(stop_head.layers, stop_head.mean, 1)):
        raise BedsideError(f"the command model in {path} does not fit together; {RETRAIN_HELP}")
    return CommandModel(mean, scale, layers, float(accept), float(agree), float(none), SpeechEmbedding(), stop_head)


Layers = Tuple[Tuple[np.ndarray, np.ndarray], ...]


def _layers(data, prefix: str = "") -> Layers:
    count = sum(1 for name in data.files if name.startswith(f"{prefix}w"))
    return tuple((data[f"{prefix}w{index}"], data[f"{prefix}b{index}"]) for index in range(count))


def _layer_arrays(layers: Layers) -> Dict[str, np.ndarray]:
    arrays = {f"w{index}": weights for index, (weights, _) in enumerate(layers)}
    arrays.update({f"b{index}": bias for index, (_, bias) in enumerate(layers)})
    return arrays


def _stop_head(data) -> StopHead:
    return StopHead(data["stop_mean"], data["stop_scale"], _layers(data, "stop_"), float(data["stop_sure"]))


def _fits(layers: Layers, mean: np.ndarray, outputs: int) -> bool:
    return bool(layers) and layers[0][0].shape[0] == mean.size and layers[-1][1].size == outputs


def _forward(layers: Layers, activation: np.ndarray) -> np.ndarray:
    """Through the layers: ReLU between them, the last one's output as it is."""
    for index, (weights, bias) in enumerate(layers):
        activation = activation @ weights + bias
        if index < len(layers) - 1:
            activation = np.maximum(activation, 0.0)
    return activation
