"""Caregiver alerts: what is worth telling someone, as one JSON object per alert.

``AlertRules`` watches the conversation's events (the same ones the night log gets) and turns
the ones the user chose in ``alerts: events`` into ``Alert`` values. It does no I/O; the
``voice.alerts.courier`` sends what it makes. Delivery is at least once: a receiver drops duplicates
by ``id``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Dict, FrozenSet, Optional

from voice.base.events import EpisodeEnded, EpisodeStarted, Event, Heard, Said

ALERT_KINDS = ("red_flag", "still_cramping", "frequent_cramps", "episode", "helper_unwell")
DEFAULT_EVENTS = frozenset({"red_flag", "still_cramping", "frequent_cramps", "helper_unwell"})
TEST_KIND = "test"  # ``bedside alert test``; never made by the rules

# What a helper's ``Said.kind`` means for someone who is not in the room.
_SAID_KINDS = {"urgent": "red_flag", "seek_care": "still_cramping", "frequent": "frequent_cramps"}


@dataclass(frozen=True)
class Alert:
    id: str
    kind: str  # one of ALERT_KINDS, or TEST_KIND
    time: datetime
    text: str  # for a person: what happened and what the helper said
    details: Dict[str, object] = field(default_factory=dict)  # e.g. "heard": the words

    def as_json(self) -> Dict[str, object]:
        return {**self.details, "id": self.id, "kind": self.kind,
                "time": self.time.astimezone().isoformat(timespec="seconds"), "text": self.text}

    @classmethod
    def from_json(cls, data: Dict[str, object]) -> "Alert":
        details = {key: value for key, value in data.items() if key not in ("id", "kind", "time", "text")}
        return cls(str(data["id"]), str(data["kind"]), datetime.fromisoformat(str(data["time"])),
                   str(data["text"]), details)


def new_alert(kind: str, text: str, now: datetime, **details: object) -> Alert:
    return Alert(uuid.uuid4().hex, kind, now.astimezone().replace(microsecond=0), text, dict(details))


class AlertRules:
    """Events in, alerts out, for the kinds in ``events``."""

    def __init__(self, events: FrozenSet[str], wall_clock: Callable[[], datetime] = datetime.now,
                 source: str = "live") -> None:
        self.events = events
        self.wall_clock = wall_clock
        self.source = source  # "simulate" alerts say so, so nobody mistakes a test for a night
        self._red_flag_words: Optional[str] = None

    def on_event(self, event: Event) -> Optional[Alert]:
        if isinstance(event, Heard) and event.intent in ("red_flag", "red_flag_during"):
            self._red_flag_words = event.text
            return None
        if isinstance(event, Said):
            kind = _SAID_KINDS.get(event.kind)
            if kind == "red_flag":
                words, self._red_flag_words = self._red_flag_words, None
                return self._make(kind, f"Urgent: the bedside helper heard \"{words or 'a red-flag sign'}\" and told "
                                        "them to call emergency services or a doctor now.", heard=words)
            if kind == "still_cramping":
                return self._make(kind, "A cramp is not easing: the bedside helper advised seeing a doctor.")
            if kind == "frequent_cramps":
                return self._make(kind, f"Frequent cramps: {event.text}")
            return None
        if isinstance(event, EpisodeStarted):
            return self._make("episode", "A cramp started; the bedside helper is guiding relief.", phase="start")
        if isinstance(event, EpisodeEnded):
            return self._make("episode", f"The cramp episode ended ({event.outcome.replace('_', ' ')}).",
                              phase="end", outcome=event.outcome)
        return None

    def helper_unwell(self, reason: str) -> Optional[Alert]:
        return self._make("helper_unwell", f"The bedside helper needs a look: {reason}.")

    def _make(self, kind: str, text: str, **details: object) -> Optional[Alert]:
        if kind not in self.events:
            return None
        if self.source != "live":
            details["source"] = self.source
        return new_alert(kind, text, self.wall_clock(), **{k: v for k, v in details.items() if v is not None})
