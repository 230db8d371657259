"""Recognizer engines: speech frames in, text out, behind one small interface.

Two real engines:

* ``vosk``: Kaldi models; used when a Vosk model directory is found. Its vocabulary is
  restricted to the content's sentences plus ``[unk]``, so anything else comes out as ``[unk]``.
* ``pocketsphinx``: its English model ships inside the PyPI package, so it always works.
  Each utterance is decoded against a grammar of the content's sentences, and kept only when
  it fits its sentence well (a confidence gate), which keeps background speech from turning
  into commands.

An engine knows several named vocabularies (for example "idle": only what may start a
conversation, "episode": every command) and ``select`` picks one between utterances; a small
vocabulary is both more accurate and harder to trigger by chance.
The pipeline's endpointer decides where an utterance starts and ends; an engine only sees the
frames in between (``start``, ``accept`` per frame, ``finish``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Set, Tuple

from voice.audio import SAMPLE_RATE
from voice.errors import BedsideError
from voice.paths import data_home

ENGINES = ("auto", "vosk", "pocketsphinx")
VOSK_MODEL_NAME = "vosk-model-small-en-us-0.15"
VOSK_MODEL_HELP = (
    f"get {VOSK_MODEL_NAME} with 'bedside model download' (or copy its zip over and use "
    "'bedside model install FILE.zip'), or use --engine pocketsphinx"
)
PROJECT_MODELS = Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class Transcript:
    """What an engine heard in one utterance; ``confidence`` is None where the engine has none."""

    text: str
    confidence: Optional[float] = None


class Recognizer(Protocol):
    name: str
    model: str

    def select(self, vocabulary: str) -> None:
        """Use this named vocabulary from the next utterance on."""

    def start(self) -> None:
        """Begin an utterance."""

    def accept(self, audio: bytes) -> None:
        """Feed 16 kHz mono int16 audio of the current utterance."""

    def finish(self) -> Optional[Transcript]:
        """End the utterance and return what was heard, or None."""


# --- model discovery ------------------------------------------------------------------------

def user_models_dir() -> Path:
    return data_home() / "models"


def is_vosk_model(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()


def find_vosk_model(explicit: Optional[str] = None) -> Optional[Path]:
    """The Vosk model to use: ``--model``, then ``VOSK_MODEL_PATH``, then ``models/vosk-model-*``
    in the project, then the user's data directory. An explicit path that is not a model is an error."""
    for label, value in (("--model", explicit), ("VOSK_MODEL_PATH", os.environ.get("VOSK_MODEL_PATH"))):
        if value:
            path = Path(value).expanduser()
            if not is_vosk_model(path):
                raise BedsideError(f"{label} {path} is not a Vosk model directory (no am/final.mdl); "
                                   + VOSK_MODEL_HELP)
            return path
    for folder in (PROJECT_MODELS, Path.cwd() / "models", user_models_dir()):
        for candidate in sorted(folder.glob("vosk-model-*")):
            if candidate.is_dir() and is_vosk_model(candidate):
                return candidate
    return None


Vocabularies = Mapping[str, Sequence[str]]


def open_recognizer(engine: str, vocabularies: Vocabularies, model: Optional[str] = None) -> Recognizer:
    """Create the engine the user asked for (``auto`` picks Vosk when a model is found)."""
    if engine not in ENGINES:
        raise BedsideError(f"unknown engine '{engine}'; choose one of: {', '.join(ENGINES)}")
    vosk_model = find_vosk_model(model) if engine in ("auto", "vosk") else None
    if engine == "vosk" and vosk_model is None:
        raise BedsideError(f"no Vosk model found ({VOSK_MODEL_NAME}); " + VOSK_MODEL_HELP)
    if vosk_model is not None:
        return VoskRecognizer(vosk_model, vocabularies)
    return PocketsphinxRecognizer(vocabularies)


# --- Vosk -----------------------------------------------------------------------------------

class VoskRecognizer:
    name = "vosk"

    def __init__(self, model_path: Path, vocabularies: Vocabularies) -> None:
        import vosk

        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(model_path))
        except Exception as error:  # vosk raises a bare Exception for a model it cannot load
            raise BedsideError(f"cannot load the Vosk model at {model_path} ({error}); "
                               + VOSK_MODEL_HELP) from None
        self.model = str(model_path)
        self._recognizers = {}
        for name, sentences in vocabularies.items():
            grammar = json.dumps(sorted(set(sentences)) + ["[unk]"])
            self._recognizers[name] = vosk.KaldiRecognizer(self._model, SAMPLE_RATE, grammar)
            self._recognizers[name].SetWords(True)
        self._recognizer = next(iter(self._recognizers.values()))

    def select(self, vocabulary: str) -> None:
        self._recognizer = self._recognizers[vocabulary]

    def start(self) -> None:
        self._recognizer.Reset()

    def accept(self, audio: bytes) -> None:
        self._recognizer.AcceptWaveform(audio)

    def finish(self) -> Optional[Transcript]:
        result = json.loads(self._recognizer.FinalResult())
        text = result.get("text", "").strip()
        if not text:
            return None
        confidences = [word["conf"] for word in result.get("result", []) if "conf" in word]
        return Transcript(text, min(confidences) if confidences else None)


# --- pocketsphinx ---------------------------------------------------------------------------

# An utterance is accepted only when it fits its phrase well: the mean, over the phrase's speech
# frames, of the natural-log gap between the phrase's acoustic score and the best-scoring sound
# unit of each frame (0 is a perfect fit; a phrase forced onto other words scores far lower).
# Mid-conversation the person is expected to answer, so the bar is lower there than for waking
# up; it is highest for "stop" while the helper talks, where the microphone also hears the
# helper's own voice. Keys are the dialogue's vocabulary names. Chosen with
# scripts/tune_pocketsphinx.py on the benchmark's tuning set, and the helper's own voice fed back
# (docs/benchmarks.md).
MIN_CONFIDENCE = -2.8
MIN_CONFIDENCE_BY_VOCABULARY = {"episode": -4.4, "while_speaking": -2.4}


class PocketsphinxRecognizer:
    """Each utterance is decoded against a grammar of the vocabulary's sentences (a prefix tree,
    so shared beginnings are searched once), after it ends: the whole utterance is then known,
    so its loudness and spectrum are normalized over all of it, which is what makes a single
    short phrase recognizable at the start of a quiet night."""

    name = "pocketsphinx"

    def __init__(self, vocabularies: Vocabularies, min_confidence: float = MIN_CONFIDENCE,
                 min_confidence_by_vocabulary: Mapping[str, float] = MIN_CONFIDENCE_BY_VOCABULARY) -> None:
        import pocketsphinx

        model_dir = Path(pocketsphinx.get_model_path("en-us"))
        self.model = f"{model_dir} (en-us, packaged with pocketsphinx)"
        config = pocketsphinx.Config()
        config["hmm"] = str(model_dir / "en-us")
        config["dict"] = str(model_dir / "cmudict-en-us.dict")
        config["lm"] = None
        config["loglevel"] = "FATAL"
        self._decoder = pocketsphinx.Decoder(config)
        self._check_pronunciations({s for sentences in vocabularies.values() for s in sentences})
        self._sentences = {name: frozenset(sentences) for name, sentences in vocabularies.items()}
        for name, sentences in vocabularies.items():
            start, final, transitions = prefix_tree(sentences)
            self._decoder.add_fsg(name, self._decoder.create_fsg(name, start, final, transitions))
        self._min_confidence = {name: min_confidence_by_vocabulary.get(name, min_confidence) for name in vocabularies}
        self._vocabulary = next(iter(vocabularies))
        self._audio: List[bytes] = []

    def _check_pronunciations(self, sentences: Set[str]) -> None:
        """A clear error before the grammar is built (pocketsphinx would only say it failed)."""
        words = {word for sentence in sentences for word in sentence.split()}
        missing = sorted(word for word in words if self._decoder.lookup_word(word) is None)
        if missing:
            raise BedsideError(
                f"pocketsphinx's English dictionary has no pronunciation for: {', '.join(missing)}; "
                "reword those phrases in the content file"
            )

    def select(self, vocabulary: str) -> None:
        self._vocabulary = vocabulary

    def start(self) -> None:
        self._audio = []

    def accept(self, audio: bytes) -> None:
        self._audio.append(audio)

    def finish(self) -> Optional[Transcript]:
        audio, self._audio = b"".join(self._audio), []
        if not audio:
            return None
        self._decoder.activate_search(self._vocabulary)
        self._decoder.start_utt()
        self._decoder.process_raw(audio, False, True)
        self._decoder.end_utt()
        hypothesis = self._decoder.hyp()
        # When no sentence fits to its end, pocketsphinx returns the best beginning of one.
        if hypothesis is None or hypothesis.hypstr not in self._sentences[self._vocabulary]:
            return None
        confidence = self._confidence()
        if confidence < self._min_confidence[self._vocabulary]:
            return None
        return Transcript(hypothesis.hypstr, round(confidence, 3))

    def _confidence(self) -> float:
        score = 0.0
        frames = 0
        for segment in self._decoder.seg() or []:
            if segment.word.startswith(("<", "[", "+")):  # silence and noise fillers
                continue
            # pocketsphinx hands scores out as probabilities; a long poor fit underflows to 0.
            score += math.log(segment.ascore) if segment.ascore > 0 else UNDERFLOW_LOG
            frames += segment.end_frame - segment.start_frame + 1
        return score / frames if frames else UNDERFLOW_LOG


UNDERFLOW_LOG = -745.0  # math.log of the smallest positive double


def prefix_tree(sentences: Iterable[str]) -> Tuple[int, int, List[tuple]]:
    """A finite-state grammar accepting exactly ``sentences``, as pocketsphinx's ``create_fsg``
    takes it: (start state, final state, [(from, to, probability, word) or (from, to, probability)])."""
    states: Dict[Tuple[str, ...], int] = {(): 0}
    transitions: List[tuple] = []
    ends = set()
    for sentence in sorted(set(sentences)):
        path: Tuple[str, ...] = ()
        for word in sentence.split():
            following = path + (word,)
            if following not in states:
                states[following] = len(states)
                transitions.append((states[path], states[following], 1.0, word))
            path = following
        ends.add(states[path])
    final = len(states)
    transitions += [(end, final, 1.0) for end in sorted(ends)]
    return 0, final, transitions
