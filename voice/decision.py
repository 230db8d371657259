"""How sure a heard phrase is: act on it, ask about it, or let it go.

Each engine hands over what it heard with a confidence on its own scale. Two gates per intent
turn that into a ``Certainty``: at or above the upper gate the helper acts at once; between the
gates it asks one short question first (the dialogue does that); below the lower gate the
phrase is dropped as if nothing was said. Gates depend on what the helper listens for: waking
up needs a clearer phrase than answering mid-conversation, and "stop" while the helper talks
must stand out from the helper's own voice in the microphone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple

from voice.events import Certainty


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
# (voice.recognizer). Chosen with scripts/tune_pocketsphinx.py on the benchmark's tuning set and
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


def gates_for(engine: str) -> Gates:
    return GATES.get(engine, ALWAYS_SURE)
