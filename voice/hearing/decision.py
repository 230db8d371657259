"""How sure a heard phrase is: act on it, ask about it, or let it go.

Each engine hands over what it heard with a confidence on its own scale. Two gates per intent
turn that into a ``Certainty``: at or above the upper gate the helper acts at once; between the
gates it asks one short question first (the dialogue does that); below the lower gate the
phrase is dropped as if nothing was said. Gates depend on what the helper listens for: waking
up needs a clearer phrase than answering mid-conversation, and "stop" while the helper talks
must stand out from the helper's own voice in the microphone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, FrozenSet, Literal, Mapping, Optional, Protocol, Tuple

from voice.base.events import Certainty

# The verifier's view of a proposed wake-up (voice.hearing.verifier): a request, not one, or unsure.
Opinion = Literal["yes", "unsure", "no"]
URGENT_INTENTS = frozenset({"red_flag", "red_flag_during"})


@dataclass(frozen=True)
class Gate:
    """``sure`` is the upper gate, ``doubtful`` the lower (equal: no question band)."""

    sure: float
    doubtful: float

    def judge(self, confidence: float) -> Optional[Certainty]:
        if confidence >= self.sure:
            return "sure"
        if confidence >= self.doubtful:
            return "doubtful"
        return None


def second_opinion(certainty: Certainty, opinion: Opinion, intent: str) -> Optional[Certainty]:
    """Both opinions on a proposed wake-up: act ("sure"), ask first ("doubtful"), or stay
    silent (None).

    ============  ========  =========  ==========
    recognizer    verifier  cramp ...  red flag
    ============  ========  =========  ==========
    sure          yes       act        act
    sure          unsure    ask        ask
    sure          no        silent     ask
    doubtful      yes       ask        ask
    doubtful      unsure    silent     ask
    doubtful      no        silent     silent
    ============  ========  =========  ==========

    A red flag is dropped only when both opinions find it unlikely: on real talk, asking about
    every doubtful one made most of the questions the helper asked (docs/benchmarks.md).
    """
    if opinion == "yes":
        return certainty
    if intent in URGENT_INTENTS:
        return None if certainty == "doubtful" and opinion == "no" else "doubtful"
    return "doubtful" if certainty == "sure" and opinion == "unsure" else None


# The command model's words (voice.hearing.command_model.WORDS), and the fewest syllables a red flag said
# mid-conversation has: "it's red" is two (the content's shortest); a single word is never one.
COMMAND_WORDS = ("stop", "yes", "no")
MIN_RED_FLAG_SYLLABLES = 2
Judged = Tuple[Optional[str], Optional[Certainty]]


def red_flag_in_words(intent: Optional[str], certainty: Optional[Certainty], syllables: int) -> Judged:
    """A red flag heard mid-conversation in fewer than two syllables (voice.hearing.syllables):
    real people's single words ("right", "on", "off") came out as "it's red" and "it is hot". When
    the recognizer was sure, it is asked about (a weak "it's" in noise can be missed by the count);
    when it was in doubt too, it is nothing. Anything else stays as heard."""
    if intent in URGENT_INTENTS and syllables < MIN_RED_FLAG_SYLLABLES:
        return (intent, "doubtful") if certainty == "sure" else (None, None)
    return intent, certainty


def command_opinion(intent: Optional[str], certainty: Optional[Certainty], probabilities: Mapping[str, float],
                    thresholds: "CommandThresholds", listening: FrozenSet[str],
                    over_own_voice: bool = False) -> Judged:
    """The command model's view of a short utterance mid-conversation (``probabilities`` of
    voice.hearing.command_model.CLASSES) weighed against what the recognizer heard (``intent`` at
    ``certainty``, None if nothing or below its gates); ``over_own_voice``: heard while the
    helper speaks (and what the echo canceller left of its voice is most of what the recognizer
    gets).

    ================================================  ================  ==================
    command model                                     recognizer        decision
    ================================================  ================  ==================
    a word at or above ``accept``, listened for       anything          that word, sure
    anything else, over the helper's own voice        anything          nothing
    that word at or above ``agree``                   stop, yes or no   that word, sure
    that word below ``agree``                         stop, yes or no   nothing
    one of the words more likely than not             a red flag        nothing
    none of these ("other") at or above ``none``      a red flag        the red flag, ask
                                                      within its gates
    none of these ("other") at or above ``none``      anything else     nothing
    otherwise                                         anything else     as the recognizer
    ================================================  ================  ==================

    "stop" thus beats "okay" and "no", and a red flag needs sound that is no command (and, by
    ``red_flag_in_words``, more than one syllable to be acted on at once). A red flag is never dropped on the model's
    "none of these" alone (it was trained on words and short sentences, which a red flag is
    too): at worst it is asked about. Nor is one raised by it: below the recognizer's gates it
    stays nothing.
    """
    word = max(COMMAND_WORDS, key=lambda name: probabilities[name])
    if probabilities[word] >= thresholds.accept and word in listening:
        return word, "sure"
    if over_own_voice:
        return None, None
    if intent in COMMAND_WORDS:
        return (intent, "sure") if probabilities[intent] >= thresholds.agree else (None, None)
    if intent in URGENT_INTENTS and sum(probabilities[name] for name in COMMAND_WORDS) > 0.5:
        return None, None
    if intent is not None and probabilities["other"] >= thresholds.none:
        return (intent, "doubtful") if intent in URGENT_INTENTS and certainty is not None else (None, None)
    return intent, certainty


class CommandThresholds(Protocol):
    """Where the command model's probabilities decide (voice.hearing.command_model.CommandModel)."""

    accept: float
    agree: float
    none: float


@dataclass(frozen=True)
class Gates:
    """The gates of one engine: per vocabulary, with exceptions per (vocabulary, intent)."""

    default: Gate
    by_vocabulary: Mapping[str, Gate] = field(default_factory=dict)
    by_intent: Mapping[Tuple[str, str], Gate] = field(default_factory=dict)

    def gate(self, vocabulary: str, intent: str) -> Gate:
        return self.by_intent.get((vocabulary, intent)) or self.by_vocabulary.get(vocabulary) or self.default

    def judge(self, vocabulary: str, intent: str, confidence: Optional[float]) -> Optional[Certainty]:
        """``None`` confidence (an engine without one) counts as sure."""
        return "sure" if confidence is None else self.gate(vocabulary, intent).judge(confidence)


# pocketsphinx: the mean natural-log gap per speech frame to the best-scoring sound unit
# (voice.hearing.recognizer). Chosen with scripts/tune_pocketsphinx.py on the benchmark's tuning set and
# the helper's own voice fed back (docs/benchmarks.md).
_RED_FLAG_POCKETSPHINX = Gate(sure=-3.6, doubtful=-4.8)  # a red flag is asked about, not dropped
POCKETSPHINX = Gates(
    default=Gate(sure=-3.6, doubtful=-4.0),
    by_vocabulary={
        "episode": Gate(sure=-5.2, doubtful=-5.2),  # an expected answer: no question
        "while_speaking": Gate(sure=-2.4, doubtful=-2.4),
    },
    by_intent={
        # Asking for the night log's summary or for help is no request for relief, and such
        # phrases were the commonest false wake-ups in ordinary talk ("give me a summary" in
        # coffee orders at -2.6 to -3.0 on the tuning set): a clear phrase, or nothing.
        ("idle", "summary"): Gate(sure=-2.4, doubtful=-2.4),
        ("idle", "help"): Gate(sure=-2.4, doubtful=-2.4),
        ("confirm", "yes"): Gate(sure=-3.6, doubtful=-3.6),  # the answer to a doubt question
        ("confirm", "no"): Gate(sure=-3.6, doubtful=-3.6),
        ("idle", "red_flag"): _RED_FLAG_POCKETSPHINX,
        ("confirm", "red_flag"): _RED_FLAG_POCKETSPHINX,
        ("episode", "red_flag"): Gate(sure=-4.0, doubtful=-4.8),
        ("episode", "red_flag_during"): Gate(sure=-4.0, doubtful=-4.8),
    },
)

# With the verifier's second opinion (voice.hearing.verifier), a cramp request or a red flag may be
# proposed from less: the verifier decides whether to act, ask or stay silent (second_opinion).
# On the held-out quarter of the verifier's training data (scripts/train_verifier), -5.6 instead
# of -4.8 heard 297 instead of 282 of 312 requests and 69 instead of 61 red flags, and woke it
# for 13 instead of 9 of 797 other utterances (synthetic sentences; no more real speech).
# Questions keep their gate: a missed "why do cramps happen?" costs little, and "what time is it"
# came out as "what causes it" at -4.7.
_VERIFIED = Gate(sure=-3.6, doubtful=-5.6)
POCKETSPHINX_VERIFIED = replace(POCKETSPHINX, by_intent={
    **POCKETSPHINX.by_intent, **{(vocabulary, intent): _VERIFIED for vocabulary in ("idle", "confirm")
                                 for intent in ("cramp", "red_flag")}})

# Vosk: the lowest word confidence of the phrase (0 to 1). Not measured here: no Vosk model can
# be had on the build machine; these follow Vosk's usual scale, and bench adds a vosk entry
# wherever a model is installed.
_RED_FLAG_VOSK = Gate(sure=0.8, doubtful=0.4)
VOSK = Gates(
    default=Gate(sure=0.8, doubtful=0.55),
    by_vocabulary={"episode": Gate(sure=0.5, doubtful=0.5), "while_speaking": Gate(sure=0.8, doubtful=0.8)},
    by_intent={("confirm", "yes"): Gate(sure=0.7, doubtful=0.7), ("confirm", "no"): Gate(sure=0.7, doubtful=0.7),
               ("idle", "red_flag"): _RED_FLAG_VOSK, ("confirm", "red_flag"): _RED_FLAG_VOSK,
               ("episode", "red_flag"): Gate(sure=0.6, doubtful=0.35),
               ("episode", "red_flag_during"): Gate(sure=0.6, doubtful=0.35)},
)

ALWAYS_SURE = Gates(default=Gate(sure=float("-inf"), doubtful=float("-inf")))
GATES: Dict[str, Gates] = {"pocketsphinx": POCKETSPHINX, "vosk": VOSK}


def gates_for(engine: str, verified: bool = False) -> Gates:
    """The engine's gates; ``verified``: those for when the verifier judges every wake-up."""
    if verified and engine == "pocketsphinx":
        return POCKETSPHINX_VERIFIED
    return GATES.get(engine, ALWAYS_SURE)
