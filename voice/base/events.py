"""What the stages tell each other and the commands: things heard and said, episodes begun and
ended, and the night log's summary of recent nights. A module of plain values, importing no
other stage, so that the dialogue, the pipeline and the night log depend on it and not on
each other."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Dict, List, Literal, Optional, Tuple, Union

# How sure the pipeline is of a phrase it heard: sure ones are acted on, doubtful ones asked about.
Certainty = Literal["sure", "doubtful"]


@dataclass(frozen=True)
class EpisodeStarted:
    at: float


@dataclass(frozen=True)
class EpisodeEnded:
    at: float
    outcome: str  # okay | stopped | red_flag | still_cramping | no_answer
    steps: Tuple[str, ...] = ()  # the relief steps gone through, in order


@dataclass(frozen=True)
class Heard:
    t: float
    text: str
    intent: Optional[str]
    confidence: Optional[float]
    certainty: Optional[Certainty] = None  # sure: acted on; doubtful: asked about first
    verifier: Optional[float] = None  # the verifier's score, where it judged a proposed wake-up
    command: Optional[str] = None  # the command model's likeliest class, where it judged: "stop 0.97"


@dataclass(frozen=True)
class Said:
    t: float
    text: str
    kind: str


Event = Union[Heard, Said, EpisodeStarted, EpisodeEnded]


@dataclass(frozen=True)
class Summary:
    """What a doctor would ask about: how often, how long, what helped, any warning signs."""

    days: int
    since: date
    until: date
    nights: int
    episodes: int
    average_minutes: Optional[float]
    per_week: Dict[str, int] = field(default_factory=dict)  # ISO week ("2026-W47") -> episodes
    outcomes: Dict[str, int] = field(default_factory=dict)
    helped: Dict[str, int] = field(default_factory=dict)  # the step an "it's gone" came at -> count
    red_flags: List[str] = field(default_factory=list)

    def as_json(self) -> Dict[str, object]:
        data = asdict(self)
        data.update(since=self.since.isoformat(), until=self.until.isoformat())
        return data
