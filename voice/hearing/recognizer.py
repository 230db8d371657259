"""Recognizer engines: speech frames in, text out, behind one small interface.

Two real engines:

* ``vosk``: Kaldi models; used when a Vosk model directory is found. Its vocabulary is
  restricted to the words of the content's phrases plus ``[unk]``, so anything else comes out as ``[unk]``.
* ``pocketsphinx``: its English model ships inside the PyPI package, so it always works.
  Each utterance is decoded against a grammar compiled from the content's phrase templates
  (a loop of frequent English words can compete with the requests while idle; measured, and
  off by default: see DECOY_COUNT).

Both hand back what they heard with a confidence; ``voice.hearing.decision`` judges it.

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
from typing import Dict, List, Mapping, Optional, Protocol, Set

import numpy as np

from voice.base.errors import BedsideError
from voice.base.paths import PROJECT_MODELS, data_home
from voice.hearing.grammar import Grammar, load_decoys
from voice.hearing.intents import Vocabulary
from voice.sound.audio import SAMPLE_RATE

ENGINES = ("auto", "vosk", "pocketsphinx")
VOSK_MODEL_NAME = "vosk-model-small-en-us-0.15"
VOSK_MODEL_HELP = (
    f"get {VOSK_MODEL_NAME} with 'bedside model download' (or copy its zip over and use "
    "'bedside model install FILE.zip'), or use --engine pocketsphinx"
)


@dataclass(frozen=True)
class Transcript:
    """What an engine heard in one utterance; ``confidence`` is None where the engine has none."""

    text: str
    confidence: Optional[float] = None
    seconds: Optional[float] = None  # from the first word's start to the last word's end, if known
    worst_word: Optional[float] = None  # the least sure word's confidence, on the same scale
    complete: bool = True  # False: the best beginning of a sentence (``decode`` only)


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


Vocabularies = Mapping[str, Vocabulary]


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
    """Vosk listens for the vocabulary's words in any order, plus ``[unk]`` for every other
    word; the intent matcher then keeps only whole sentences. (Listing the sentences instead
    would mean hundreds of thousands of them: the templates combine freely.)"""

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
        for name, vocabulary in vocabularies.items():
            grammar = json.dumps(vocabulary.words + ["[unk]"])
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
        if not text or "[unk]" in text.split():
            return None
        words = result.get("result", [])
        confidences = [word["conf"] for word in words if "conf" in word]
        seconds = words[-1]["end"] - words[0]["start"] if words and "start" in words[0] else None
        lowest = min(confidences) if confidences else None
        return Transcript(text, lowest, seconds, lowest)


# --- pocketsphinx ---------------------------------------------------------------------------

# Vocabularies that may get a decoy loop (voice.hearing.grammar): those that can wake the helper up,
# where ordinary speech needs somewhere better to go than the nearest request; DECOY_COUNT of
# the shipped frequent words, each taken with probability DECOY_WEIGHT. Measured with
# scripts/tune_pocketsphinx.py on the tuning set, at the chosen gates: 200 decoys took false
# wake-ups from 4 to 0 an hour, but recall from across the room from 0.61 to 0.14 and at 10 dB
# from 0.54 to 0.25, so they are off by default (docs/benchmarks.md).
# Wider than pocketsphinx's defaults (1e-48, 1e-48, 7e-29, 30000 HMMs a frame): with a grammar
# of a million sentences the defaults pruned the right one early, so that a few milliseconds
# more silence before a request turned "ouch, my right calf is so tight" (-2.4) into "bad leg
# cramp in my toes" (-5.1); docs/benchmarks.md.
SEARCH_BEAMS = {"beam": 1e-64, "pbeam": 1e-64, "wbeam": 1e-48, "maxhmmpf": -1}
DECOY_VOCABULARIES = frozenset({"idle", "confirm"})
DECOY_COUNT = 0
DECOY_WEIGHT = 0.1


class WholeUtterance:
    """For an engine that decodes an utterance once it has ended: its audio is kept until then."""

    def __init__(self) -> None:
        self._audio: List[bytes] = []

    def start(self) -> None:
        self._audio = []

    def accept(self, audio: bytes) -> None:
        self._audio.append(audio)

    def whole_utterance(self) -> bytes:
        """The utterance's audio, handed over once (the next ``finish`` starts empty)."""
        audio, self._audio = b"".join(self._audio), []
        return audio


class PocketsphinxRecognizer(WholeUtterance):
    """Each utterance is decoded against a grammar compiled from the vocabulary's templates,
    after it ends: the whole utterance is then known, so its loudness and spectrum are
    normalized over all of it, which is what makes a single short phrase recognizable at the
    start of a quiet night.

    The confidence is the mean, over the sentence's speech frames, of the natural-log gap
    between the sentence's acoustic score and the best-scoring sound unit of each frame (0 is
    a perfect fit; a sentence forced onto other words scores far lower). What to do with it is
    decided elsewhere (``voice.hearing.decision``)."""

    name = "pocketsphinx"

    def __init__(self, vocabularies: Vocabularies, decoy_count: int = DECOY_COUNT,
                 decoy_weight: float = DECOY_WEIGHT) -> None:
        import pocketsphinx

        super().__init__()
        model_dir = Path(pocketsphinx.get_model_path("en-us"))
        self.model = f"{model_dir} (en-us, packaged with pocketsphinx)"
        config = pocketsphinx.Config()
        config["hmm"] = str(model_dir / "en-us")
        config["dict"] = str(model_dir / "cmudict-en-us.dict")
        config["lm"] = None
        config["loglevel"] = "FATAL"
        # The best path of the search itself: a word lattice over the decoy loop is large
        # and slow to search again (measured: 20 times slower, docs/benchmarks.md).
        config["bestpath"] = False
        for name, value in SEARCH_BEAMS.items():
            config[name] = value
        self._decoder = pocketsphinx.Decoder(config)
        grammars = {name: vocabulary.grammar() for name, vocabulary in vocabularies.items()}
        self._check_pronunciations({word for grammar in grammars.values() for word in grammar.words})
        decoys = [word for word in load_decoys()[:decoy_count]
                  if self._decoder.lookup_word(word) is not None] if decoy_count else []
        self._grammars: Dict[str, Grammar] = {}
        for name, grammar in grammars.items():
            self._grammars[name] = grammar
            if name in DECOY_VOCABULARIES and decoys:
                grammar = grammar.with_decoys(decoys, decoy_weight)
            self._decoder.add_fsg(name, self._decoder.create_fsg(name, 0, grammar.final, grammar.transitions))
        self._vocabulary = next(iter(vocabularies))

    def _check_pronunciations(self, words: Set[str]) -> None:
        """A clear error before the grammar is built (pocketsphinx would only say it failed)."""
        missing = sorted(word for word in words if self._decoder.lookup_word(word) is None)
        if missing:
            raise BedsideError(
                f"pocketsphinx's English dictionary has no pronunciation for: {', '.join(missing)}; "
                "reword those phrases in the content file"
            )

    def select(self, vocabulary: str) -> None:
        self._vocabulary = vocabulary

    def finish(self) -> Optional[Transcript]:
        audio = self.whole_utterance()
        transcript = self.decode(audio, self._vocabulary) if audio else None
        # Decoys mean "nothing asked"; and when no sentence fits to its end, pocketsphinx
        # returns the best beginning of one.
        return transcript if transcript is not None and transcript.complete else None

    def forget_history(self) -> None:
        """Decode the next utterance as if it were the first: pocketsphinx carries its estimate
        of the voice's mean spectrum from one utterance to the next, so a result depends a
        little on what came before. Training needs results that do not depend on the order."""
        self._decoder.reinit_feat()

    def decode(self, audio: bytes, vocabulary: str) -> Optional[Transcript]:
        """One utterance against the vocabulary, including a best beginning of a sentence
        (``complete`` False) where none fits to the end; the verifier's training wants those."""
        self._decoder.activate_search(vocabulary)
        self._decoder.start_utt()
        self._decoder.process_raw(with_noise_floor(audio), False, True)
        self._decoder.end_utt()
        hypothesis = self._decoder.hyp()
        if hypothesis is None:
            return None
        words = [segment for segment in self._decoder.seg() or []
                 if not segment.word.startswith(("<", "[", "+"))]  # not silence and noise fillers
        seconds = (words[-1].end_frame + 1 - words[0].start_frame) / FRAMES_PER_SECOND if words else None
        worst = min((self._confidence([word]) for word in words), default=UNDERFLOW_LOG)
        return Transcript(hypothesis.hypstr, round(self._confidence(words), 3), seconds, round(worst, 3),
                          self._grammars[vocabulary].accepts(hypothesis.hypstr.split()))

    @staticmethod
    def _confidence(words: list) -> float:
        score = 0.0
        frames = 0
        for segment in words:
            # pocketsphinx hands scores out as probabilities; a long poor fit underflows to 0.
            score += math.log(segment.ascore) if segment.ascore > 0 else UNDERFLOW_LOG
            frames += segment.end_frame - segment.start_frame + 1
        return score * SENSCR_SCALE / frames if frames else UNDERFLOW_LOG


def with_noise_floor(audio: bytes) -> bytes:
    """The audio with a microphone's faint hiss (-66 dBFS) added. A real microphone always has
    one; a file can hold exact digital silence (the helper's own voice written by ``bedside say``
    does), whose log energies are extreme and throw off pocketsphinx's whole-utterance feature
    normalization: "I have a cramp in my calf" in the helper's voice fit its sentence at -5.9
    with pocketsphinx's own dither, -3.5 with this floor (docs/benchmarks.md)."""
    samples = np.frombuffer(audio, dtype="<i2").astype(np.float64)
    hiss = np.random.default_rng(len(samples)).normal(scale=NOISE_FLOOR, size=samples.size)
    return np.clip(np.round(samples + hiss), -32768, 32767).astype("<i2").tobytes()


NOISE_FLOOR = 32768 * 10 ** (-66 / 20)
UNDERFLOW_LOG = -745.0  # math.log of the smallest positive double
# Without ``bestpath``, segment scores come straight from the search, where pocketsphinx keeps
# acoustic scores shifted right by 10 bits (SENSCR_SHIFT); this puts them back on the scale of
# natural-log probabilities.
SENSCR_SCALE = 1024.0
FRAMES_PER_SECOND = 100
