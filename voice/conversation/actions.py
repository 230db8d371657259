"""What the dialogue asks of the pipeline: say this, wait until then, listen for these, change the
voice; and how long a sentence takes to say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Union

from voice.base.events import EpisodeEnded, EpisodeStarted


@dataclass(frozen=True)
class Say:
    text: str
    kind: str = "reply"  # step | countdown | urgent | seek_care | frequent | info | reply | question
    start: float = 0.0  # when speaking it begins, after anything said before it


@dataclass(frozen=True)
class Wait:
    """Call ``tick()`` again at this clock time (unless something is heard first)."""

    until: float


@dataclass(frozen=True)
class ListenFor:
    intents: FrozenSet[str]


@dataclass(frozen=True)
class AdjustVoice:
    rate_factor: float = 1.0
    volume_change: float = 0.0


Action = Union[Say, Wait, ListenFor, AdjustVoice, EpisodeStarted, EpisodeEnded]


def estimate_speech_seconds(text: str, words_per_minute: float) -> float:
    """How long speaking ``text`` takes: words at the speaking rate plus a pause per sentence."""
    sentences = max(1, sum(text.count(mark) for mark in ".?!:"))
    return len(text.split()) * 60.0 / words_per_minute + 0.35 * sentences
