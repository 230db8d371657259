"""``bedside simulate``: the whole pipeline on recorded files, with a virtual clock.

The clock follows the audio, taken turn by turn: while the helper speaks, the recording waits
(a person in bed listens before answering), so a recording needs only short pauses between
phrases. Once a file ends, scheduled moments (holds, pauses) are jumped over instantly until
the dialogue has nothing left to say.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional

import numpy as np

from voice.base.clock import VirtualClock
from voice.base.events import EpisodeEnded, EpisodeStarted, Event, Heard, Said
from voice.conversation.actions import AdjustVoice
from voice.conversation.content import Content
from voice.conversation.dialogue import Dialogue
from voice.conversation.pipeline import Conversation, Output, SilentOutput
from voice.hearing.command_model import CommandModel
from voice.hearing.decision import Gates
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import Recognizer
from voice.hearing.verifier import Verifier
from voice.night_log.history import HistoryRecorder, NightLog
from voice.sound.audio import FRAME_SECONDS, SAMPLE_RATE, FileSource, split_frames
from voice.speaking.speech import Synthesizer

GAP_SECONDS = 0.4


class RecordingOutput:
    """Synthesizes everything said into one growing buffer, for ``--say-to``."""

    def __init__(self, synthesizer: Synthesizer) -> None:
        self.synthesizer = synthesizer
        self.chunks: List[np.ndarray] = []

    def say(self, said: Said) -> None:
        self.chunks += [self.synthesizer.synthesize(said.text),
                        np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.int16)]

    def adjust(self, change: AdjustVoice) -> None:
        self.synthesizer.adjust(change.rate_factor, change.volume_change)

    def cut(self) -> None:
        pass

    def speaking(self) -> bool:
        return False

    def samples(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)


@dataclass
class SimulationResult:
    file: str
    engine: str
    conversation: Conversation
    audio_seconds: float
    processing_seconds: float
    decision_seconds: List[float] = field(default_factory=list)  # processing time of each deciding frame

    @property
    def utterances(self) -> int:
        return self.conversation.utterances

    def as_json(self) -> Dict[str, Any]:
        return {
            "file": self.file,
            "engine": self.engine,
            "heard": [{"t": round(event.t, 2), "text": event.text, "intent": event.intent,
                       "confidence": event.confidence, "certainty": event.certainty, "verifier": event.verifier,
                       "command_model": event.command}
                      for event in self.conversation.events if isinstance(event, Heard)],
            "said": [{"t": round(event.t, 2), "text": event.text, "kind": event.kind}
                     for event in self.conversation.events if isinstance(event, Said)],
            "triggered": self.conversation.triggered,
        }

    def lines(self) -> List[str]:
        lines = [f"== {self.file}"]
        for event in self.conversation.events:
            if isinstance(event, Heard):
                meaning = f" -> {event.intent}" if event.intent else " (no intent)"
                if event.verifier is not None:
                    meaning += f" (verifier {event.verifier:.2f})"
                if event.command is not None:
                    meaning += f" (command model: {event.command})"
                if event.certainty == "doubtful":
                    meaning += " (not sure: asking)"
                elif event.intent and event.certainty is None:
                    meaning += " (not a request: let go)"
                lines.append(f"{event.t:7.2f}  heard: {event.text}{meaning}")
            elif isinstance(event, Said):
                lines.append(f"{event.t:7.2f}  said:  {event.text}")
        if not any(isinstance(event, (Heard, Said)) for event in self.conversation.events):
            lines.append("         (nothing heard, nothing said)")
        return lines


def simulate_file(path: Path, recognizer: Recognizer, matcher: IntentMatcher, content: Content,
                  output: Optional[Output] = None, words_per_minute: float = 140.0,
                  night_log: Optional[NightLog] = None, at: Optional[datetime] = None,
                  on_event: Optional[Callable[[Event], None]] = None,
                  verifier: Optional[Verifier] = None, commands: Optional[CommandModel] = None) -> SimulationResult:
    """Run one recording through the pipeline as one night's conversation.

    With ``night_log``, its episodes are recorded there as if the recording began at ``at``
    (default: now), and the dialogue sees the log as ``listen`` would. ``on_event`` sees each
    event as it happens (``simulate --alerts``).
    """
    return simulate_frames(str(path), FileSource(path).frames(), recognizer, matcher, content, output,
                           words_per_minute, night_log, at, on_event=on_event, verifier=verifier, commands=commands)


def simulate_samples(name: str, samples: np.ndarray, recognizer: Recognizer, matcher: IntentMatcher,
                     content: Content, output: Optional[Output] = None, words_per_minute: float = 140.0,
                     night_log: Optional[NightLog] = None, at: Optional[datetime] = None,
                     first_heard: Optional[str] = None, gates: Optional[Gates] = None,
                     answer: Optional[Callable[[str], Optional[np.ndarray]]] = None,
                     verifier: Optional[Verifier] = None, first_doubtful: bool = False,
                     commands: Optional[CommandModel] = None) -> SimulationResult:
    """``simulate_file`` on samples in memory; see ``simulate_frames``."""
    return simulate_frames(name, split_frames(samples), recognizer, matcher, content, output, words_per_minute,
                           night_log, at, first_heard, gates, answer, verifier=verifier, first_doubtful=first_doubtful,
                           commands=commands)


def simulate_frames(name: str, frames: Iterable[bytes], recognizer: Recognizer, matcher: IntentMatcher,
                    content: Content, output: Optional[Output] = None, words_per_minute: float = 140.0,
                    night_log: Optional[NightLog] = None, at: Optional[datetime] = None,
                    first_heard: Optional[str] = None, gates: Optional[Gates] = None,
                    answer: Optional[Callable[[str], Optional[np.ndarray]]] = None,
                    on_event: Optional[Callable[[Event], None]] = None,
                    verifier: Optional[Verifier] = None, first_doubtful: bool = False,
                    commands: Optional[CommandModel] = None) -> SimulationResult:
    """Run 30 ms frames through the pipeline as one night's conversation, taking them as they
    come (a whole night never needs to be in memory); ``on_event`` sees each event as it happens. ``first_heard`` is an intent the dialogue hears
    before the audio starts (the benchmark uses "cramp" to test commands mid-episode), with
    doubt if ``first_doubtful`` (so the recording answers the doubt question);
    ``answer`` gives what is heard next if the recording ended with the helper asking a doubt
    question, given the intent asked about (the benchmark's "yes" or "no", said only when
    asked, as a person would)."""
    started = time.perf_counter()
    clock = VirtualClock()
    began = at or datetime.now()
    history = HistoryRecorder(night_log, lambda: began + timedelta(seconds=clock.now()), source="simulated")
    dialogue = Dialogue(content, clock, words_per_minute, recent_cramps=history.recent if night_log else None)

    def record(event: Event) -> None:
        history.on_event(event)
        if on_event is not None:
            on_event(event)

    conversation = Conversation(recognizer, matcher, dialogue, clock, output or SilentOutput(), record, gates=gates,
                                verifier=verifier, commands=commands)
    if first_heard:
        conversation.hear(first_heard, doubtful=first_doubtful)
    decisions: List[float] = []
    count = _play(frames, conversation, clock, decisions)
    reply = answer(dialogue.asking) if answer is not None and dialogue.asking is not None else None
    if reply is not None:
        conversation.end_stream()
        count += _play(split_frames(reply), conversation, clock, decisions)
    conversation.end_stream()
    conversation.run_out_timers(clock.advance_to)
    return SimulationResult(name, recognizer.name, conversation, count * FRAME_SECONDS,
                            time.perf_counter() - started, decisions)


def _play(frames: Iterable[bytes], conversation: Conversation, clock: VirtualClock, decisions: List[float]) -> int:
    """Feed a recording frame by frame from the clock's time on, holding it back while the
    helper speaks; the processing time of each frame that decided something goes to
    ``decisions``. Returns the number of frames."""
    dialogue = conversation.dialogue
    begin = clock.now()
    waited = 0.0  # seconds the recording was held back while the helper spoke
    index = -1
    for index, frame in enumerate(frames):
        clock.advance_to(begin + (index + 1) * FRAME_SECONDS + waited)
        events_before = len(conversation.events)
        frame_started = time.perf_counter()
        conversation.feed(frame)
        if any(isinstance(event, Heard) for event in conversation.events[events_before:]):
            decisions.append(time.perf_counter() - frame_started)
        if dialogue.speaking_until > clock.now():
            waited += dialogue.speaking_until - clock.now()
            clock.advance_to(dialogue.speaking_until)
    return index + 1


def activations(conversation: Conversation, questions: bool = False) -> List[Heard]:
    """Each time the helper woke up by mistake: a phrase heard with no conversation going on
    that it said something in reply to. (Once awake, what follows is one false trigger, not many;
    a phrase the dialogue ignores, such as "next" when idle, wakes no one.) With ``questions``,
    the times it only asked a doubt question instead."""
    answered = []
    in_episode = False
    for index, event in enumerate(conversation.events):
        if isinstance(event, (EpisodeStarted, EpisodeEnded)):
            in_episode = isinstance(event, EpisodeStarted)
        if isinstance(event, Heard) and event.intent and not in_episode and event.intent not in ("yes", "no"):
            following = conversation.events[index + 1 :]
            reply = next((e for e in following if isinstance(e, (Heard, Said))), None)
            if isinstance(reply, Said) and (reply.kind == "question") == questions:
                answered.append(event)
            elif not questions and isinstance(reply, Heard) and reply.intent == "yes":
                # a question answered "yes" by more background speech: a wake-up after all
                after = following[following.index(reply) + 1 :]
                said = next((e for e in after if isinstance(e, (Heard, Said))), None)
                if isinstance(said, Said):
                    answered.append(event)
    return answered
