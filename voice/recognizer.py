"""Recognizer engines: speech frames in, text out, behind one small interface.

Two real engines:

* ``vosk``: Kaldi models; used when a Vosk model directory is found. Its vocabulary is
  restricted to the content's sentences plus ``[unk]``, so anything else comes out as ``[unk]``.
* ``pocketsphinx``: its English model ships inside the PyPI package, so it always works.
  It runs in keyphrase-spotting mode over the content's sentences: every phrase is scored
  against a phone-loop garbage model, which keeps background speech from turning into commands.

An engine knows several named vocabularies (for example "idle": only what may start a
conversation, "episode": every command) and ``select`` picks one between utterances; a small
vocabulary is both more accurate and harder to trigger by chance.
The pipeline's endpointer decides where an utterance starts and ends; an engine only sees the
frames in between (``start``, ``accept`` per frame, ``finish``).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Protocol, Sequence

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

    def partial(self) -> str:
        """Best guess so far in the current utterance ("" for none)."""

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

    def partial(self) -> str:
        return json.loads(self._recognizer.PartialResult()).get("partial", "")

    def finish(self) -> Optional[Transcript]:
        result = json.loads(self._recognizer.FinalResult())
        text = result.get("text", "").strip()
        if not text:
            return None
        confidences = [word["conf"] for word in result.get("result", []) if "conf" in word]
        return Transcript(text, min(confidences) if confidences else None)


# --- pocketsphinx ---------------------------------------------------------------------------

# A keyphrase is reported when its score beats the garbage model by 1e-(SLOPE * phones + OFFSET).
# Short phrases get strict thresholds (they are easy to hit by chance), long ones lenient ones.
# Chosen with scripts/tune_kws.py on the benchmark's tuning set: 2.5 kept 3.0's recall with
# 20 % fewer false triggers per hour (docs/benchmarks.md).
KWS_SLOPE = 2.5
KWS_OFFSET = -5.0
KWS_EXPONENT_RANGE = (3.0, 45.0)


class PocketsphinxRecognizer:
    name = "pocketsphinx"

    def __init__(self, vocabularies: Vocabularies, slope: float = KWS_SLOPE, offset: float = KWS_OFFSET) -> None:
        import pocketsphinx

        model_dir = Path(pocketsphinx.get_model_path("en-us"))
        self.model = f"{model_dir} (en-us, packaged with pocketsphinx)"
        config = pocketsphinx.Config()
        config["hmm"] = str(model_dir / "en-us")
        config["dict"] = str(model_dir / "cmudict-en-us.dict")
        config["lm"] = None
        config["loglevel"] = "FATAL"
        self._decoder = pocketsphinx.Decoder(config)
        self._phones = self._pronunciations(
            model_dir / "cmudict-en-us.dict", sorted({s for sentences in vocabularies.values() for s in sentences}))
        for name, sentences in vocabularies.items():
            self._add_keyphrases(name, "\n".join(
                f"{sentence} /1e-{self.threshold_exponent(len(self._phones[sentence]), slope, offset):.0f}/"
                for sentence in sentences
            ))
        self._vocabulary = ""
        self.select(next(iter(vocabularies)))
        self._in_utterance = False

    @staticmethod
    def threshold_exponent(phones: int, slope: float = KWS_SLOPE, offset: float = KWS_OFFSET) -> float:
        low, high = KWS_EXPONENT_RANGE
        return min(high, max(low, slope * phones + offset))

    @staticmethod
    def _pronunciations(dictionary: Path, sentences: Sequence[str]) -> Dict[str, List[str]]:
        words = {word for sentence in sentences for word in sentence.split()}
        phones: Dict[str, List[str]] = {}
        with open(dictionary, encoding="utf-8") as lines:
            for line in lines:
                word, _, pronunciation = line.partition(" ")
                if word in words and word not in phones:
                    phones[word] = pronunciation.split()
        missing = sorted(words - set(phones))
        if missing:
            raise BedsideError(
                f"pocketsphinx's English dictionary has no pronunciation for: {', '.join(missing)}; "
                "reword those phrases in the content file"
            )
        return {sentence: [p for word in sentence.split() for p in phones[word]] for sentence in sentences}

    def _add_keyphrases(self, name: str, keyphrases: str) -> None:
        """pocketsphinx reads keyphrase lists only from a file."""
        with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as handle:
            handle.write(keyphrases + "\n")
        try:
            self._decoder.add_kws(name, handle.name)
        finally:
            os.unlink(handle.name)

    def select(self, vocabulary: str) -> None:
        # Tracked here: pocketsphinx's current_search() crashes before any search is active.
        if self._vocabulary != vocabulary:
            self._decoder.activate_search(vocabulary)
            self._vocabulary = vocabulary

    def start(self) -> None:
        self._decoder.start_utt()
        self._in_utterance = True

    def accept(self, audio: bytes) -> None:
        self._decoder.process_raw(audio, False, False)

    def partial(self) -> str:
        hypothesis = self._decoder.hyp()
        return " ".join(hypothesis.hypstr.split()) if hypothesis else ""

    def finish(self) -> Optional[Transcript]:
        if not self._in_utterance:
            return None
        self._decoder.end_utt()
        self._in_utterance = False
        spotted = [segment.word.strip() for segment in (self._decoder.seg() or [])]
        best = max(spotted, key=lambda phrase: len(self._phones.get(phrase, ())), default="")
        return Transcript(best) if best else None
