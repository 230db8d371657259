"""The pipeline: frames -> endpointer -> recognizer -> intent -> dialogue -> output.

``Conversation`` is the one path both modes use: ``simulate`` feeds it file frames with a
virtual clock, ``listen`` feeds it microphone frames with the real clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Protocol

import numpy as np

from voice.base.clock import Clock
from voice.base.events import EpisodeEnded, EpisodeStarted, Event, Heard, Said
from voice.conversation.actions import Action, AdjustVoice, Say
from voice.conversation.dialogue import IDLE_INTENTS, VOCABULARIES, WHILE_SPEAKING, Dialogue
from voice.hearing.command_model import CommandModel
from voice.hearing.decision import URGENT_INTENTS, Gates, command_opinion, gates_for, red_flag_in_words, second_opinion
from voice.hearing.endpointer import Endpointer
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import Recognizer, Transcript
from voice.hearing.stop_spotter import StopSpotter
from voice.hearing.syllables import syllable_count
from voice.hearing.verifier import Verifier
from voice.sound.audio import SAMPLE_RATE
from voice.sound.echo import EchoCanceller

MAX_INTERRUPT_SECONDS = 2.0
# With no conversation going on, a phrase must stand out: said on its own, not spotted inside a
# long stretch of talk (a radio, people chatting). See docs/benchmarks.md for how it was chosen;
# 3.5 s since the longer phrasings ("ouch, my right calf is so tight") at a slow speaker's pace.
MAX_WAKE_SECONDS = 3.5
MAX_UTTERANCE_SECONDS = 10.0
# Where the verifier gives its second opinion: what the helper hears with no conversation going
# on (and the request said again after a doubt question). Mid-conversation commands skip it.
WAKE_VOCABULARIES = frozenset({"idle", "confirm"})
# Where the command model gives its opinion (voice.hearing.command_model): mid-conversation, on the
# answer to a doubt question, and while the helper speaks; on utterances no longer than this (a
# few words at most).
COMMAND_VOCABULARIES = frozenset({"episode", "confirm", WHILE_SPEAKING})
MAX_COMMAND_SECONDS = 2.5
# The endpointer finds an utterance up to this long after it began: one found this soon after a
# spotted "stop" holds that word.
SPOTTED_WORD_SECONDS = 0.5


class Output(Protocol):
    """Where the helper's voice goes: a speaker, a WAV file, or nowhere."""

    def say(self, said: Said) -> None: ...

    def adjust(self, change: AdjustVoice) -> None: ...

    def cut(self) -> None: ...

    def speaking(self) -> bool: ...


class SilentOutput:
    """Records nothing and plays nothing: for runs that only want the transcript."""

    def say(self, said: Said) -> None:
        pass

    def adjust(self, change: AdjustVoice) -> None:
        pass

    def cut(self) -> None:
        pass

    def speaking(self) -> bool:
        return False


@dataclass
class Conversation:
    recognizer: Recognizer
    matcher: IntentMatcher
    dialogue: Dialogue
    clock: Clock
    output: Output = field(default_factory=SilentOutput)
    on_event: Callable[[Event], None] = lambda event: None
    on_utterance: Optional[Callable[[bytes], None]] = None  # gets each utterance's audio, if set
    max_wake_seconds: float = MAX_WAKE_SECONDS
    gates: Optional[Gates] = None  # default: the recognizer engine's own
    verifier: Optional[Verifier] = None  # a second opinion on wake-ups (voice.hearing.verifier)
    commands: Optional[CommandModel] = None  # hears stop, yes and no (voice.hearing.command_model)
    echo: Optional[EchoCanceller] = None  # takes the helper's own voice out of the microphone (voice.sound.echo)
    # False: events go only to ``on_event``; a service that runs for weeks keeps none of them.
    keep_events: bool = True
    events: List[Event] = field(default_factory=list)
    utterances: int = 0  # how many the recognizer decoded
    episodes: int = 0  # how many started

    def __post_init__(self) -> None:
        if self.gates is None:
            self.gates = gates_for(getattr(self.recognizer, "name", ""), verified=self.verifier is not None)
        self._vocabulary = self.dialogue.vocabulary
        self._endpointer = Endpointer()
        self._utterance: List[bytes] = []
        self._utterance_bytes = 0
        # While the helper speaks, "stop" is spotted in the echo canceller's output as it comes.
        self._spotter = StopSpotter(self.commands) if self.commands is not None and self.echo is not None else None
        self._spotted_at: Optional[float] = None  # when it last was: the utterance holding it must not count twice
        self._utterance_at = 0.0  # when the endpointer found the utterance under way
        self._handle(self.dialogue.start())

    @property
    def heard(self) -> List[Heard]:
        return [event for event in self.events if isinstance(event, Heard)]

    def hear(self, intent: str, doubtful: bool = False) -> None:
        """Hand the dialogue an intent directly, as if it had been heard (with doubt: the
        dialogue asks its question)."""
        self._handle(self.dialogue.hear(intent, doubtful=doubtful))

    def told(self, name: str) -> None:
        """An urgent alert reached ``name``: the dialogue says so (once per urgent advice)."""
        self._handle(self.dialogue.told(name))

    @property
    def at_rest(self) -> bool:
        """Between episodes: nothing under way, nothing waiting, nothing being said or heard."""
        return (not self.dialogue.in_episode and self.dialogue.next_wakeup is None
                and not self.output.speaking() and not self._endpointer.in_speech)

    @property
    def triggered(self) -> bool:
        return self.episodes > 0

    def feed(self, frame: bytes) -> None:
        """One 30 ms frame; the clock must already stand at the frame's end."""
        self.tick()
        if self.echo is not None:
            microphone = frame
            frame, cancelled = self.echo.clean_both(frame)
            if self._spotter is not None:
                self._spot_stop(cancelled, microphone)
        was_in_speech = self._endpointer.in_speech
        speech = self._endpointer.process(frame)
        self._take(speech, was_in_speech)

    def _spot_stop(self, cancelled: bytes, microphone: bytes) -> None:
        assert self._spotter is not None
        if not self.output.speaking():
            self._spotter.reset()
            return
        probability = self._spotter.hear(cancelled, microphone)
        if probability is None:
            return
        self._record(Heard(self.clock.now(), "", "stop", None, "sure", None, f"stop {probability:.2f}"))
        self.output.cut()
        self._spotted_at = self.clock.now()
        self._handle(self.dialogue.hear("stop"))

    def end_stream(self) -> None:
        """The audio ended: finish a cut-off utterance."""
        if self._endpointer.in_speech:
            rest = self._endpointer.finish()
            if rest:
                self._take_audio(rest)
            self._utterance_ended()
        self._endpointer = Endpointer()

    def tick(self) -> None:
        wakeup = self.dialogue.next_wakeup
        if wakeup is not None and wakeup <= self.clock.now():
            self._handle(self.dialogue.tick())

    def run_out_timers(self, advance_to: Callable[[float], None], limit: int = 10_000) -> None:
        """Jump the (virtual) clock from one scheduled moment to the next until nothing is left."""
        for _ in range(limit):
            wakeup = self.dialogue.next_wakeup
            if wakeup is None:
                return
            advance_to(wakeup)
            self.tick()

    def _take(self, speech: Optional[bytes], was_in_speech: bool) -> None:
        if speech is None:
            return
        if not was_in_speech:
            self._utterance_began()
        self._take_audio(speech)
        if not self._endpointer.in_speech:
            self._utterance_ended()
        elif self._utterance_bytes >= MAX_UTTERANCE_SECONDS * SAMPLE_RATE * 2:
            # Steady noise (a fan) can keep the endpointer in speech for hours: decode in pieces.
            self._utterance_ended()
            self._utterance_began()

    def _take_audio(self, speech: bytes) -> None:
        self.recognizer.accept(speech)
        self._utterance_bytes += len(speech)
        if self.on_utterance is not None or self.verifier is not None or self.commands is not None:
            self._utterance.append(speech)

    def _utterance_began(self) -> None:
        # A small vocabulary while speaking: "stop" cannot be mistaken for "it stopped".
        self._vocabulary = WHILE_SPEAKING if self.output.speaking() else self.dialogue.vocabulary
        self.recognizer.select(self._vocabulary)
        self.recognizer.start()
        self._utterance = []
        self._utterance_bytes = 0
        self._utterance_at = self.clock.now()

    def _utterance_ended(self) -> None:
        audio = b"".join(self._utterance)
        self._utterance = []
        if self.on_utterance is not None and audio:
            self.on_utterance(audio)
        transcript = self.recognizer.finish()
        self.utterances += 1
        spotted_at, self._spotted_at = self._spotted_at, None
        if spotted_at is not None and self._utterance_at <= spotted_at + SPOTTED_WORD_SECONDS:
            return  # its "stop" was acted on as it was said
        seconds = self._utterance_bytes / (SAMPLE_RATE * 2)
        if transcript is not None or self._commands_apply(self._vocabulary, seconds, audio):
            self.take(transcript or Transcript(""), seconds, audio=audio or None)

    def _commands_apply(self, vocabulary: str, seconds: float, audio: Optional[bytes]) -> bool:
        return (self.commands is not None and bool(audio) and vocabulary in COMMAND_VOCABULARIES
                and seconds <= MAX_COMMAND_SECONDS)

    def take(self, transcript: Transcript, seconds: float, vocabulary: Optional[str] = None,
             audio: Optional[bytes] = None) -> None:
        """Act on what the recognizer heard in one utterance of ``seconds``, listening with
        ``vocabulary`` (default: the one chosen when the utterance began): match its intent,
        judge how sure it is (with the command model's opinion of ``audio`` mid-conversation,
        the verifier's on a wake-up), and hand it to the dialogue."""
        match = self.matcher.match(transcript.text) if transcript.text else None
        intent = match.intent if match else None
        vocabulary = vocabulary or self._vocabulary
        certainty = self.gates.judge(vocabulary, intent, transcript.confidence) if intent else None
        # The words' own length where the engine knows it: steady noise can keep the endpointer
        # from ending an utterance long after a short request.
        spoken = transcript.seconds if transcript.seconds is not None else seconds
        command = None
        if self._commands_apply(vocabulary, seconds, audio):
            assert self.commands is not None and audio is not None
            probabilities = self.commands.probabilities(np.frombuffer(audio, dtype="<i2"))
            command = _likeliest(probabilities)
            # What the echo canceller leaves of the helper's voice comes as short utterances too.
            over_own_voice = vocabulary == WHILE_SPEAKING and self.echo is not None
            intent, certainty = command_opinion(intent, certainty, probabilities, self.commands,
                                                VOCABULARIES[vocabulary], over_own_voice)
        if intent in URGENT_INTENTS and audio and vocabulary in COMMAND_VOCABULARIES:
            intent, certainty = red_flag_in_words(intent, certainty, syllable_count(np.frombuffer(audio, dtype="<i2")))
        if intent in URGENT_INTENTS and certainty == "sure" and seconds >= MAX_UTTERANCE_SECONDS:
            certainty = "doubtful"  # a piece of longer talk cut at the limit: ask, never advise on it
        if intent is not None and certainty is None or not (intent or transcript.text):
            return  # too unclear to act on or ask about: as if nothing was said
        too_long_to_wake = not self.dialogue.in_episode and spoken > self.max_wake_seconds
        score = None
        if (certainty is not None and audio and self.verifier is not None and not too_long_to_wake
                and vocabulary in WAKE_VOCABULARIES and intent in IDLE_INTENTS):
            score = round(self.verifier.score(audio, transcript), 3)
            certainty = second_opinion(certainty, self.verifier.opinion(score), intent)
        if too_long_to_wake:
            certainty = None  # woken by nothing: let go (and recorded so, not as a question)
        self._record(Heard(self.clock.now(), transcript.text, intent, transcript.confidence, certainty, score, command))
        if intent is None or certainty is None:
            return
        if self.output.speaking():
            # Half-duplex: only a short "stop" may interrupt. The helper's own voice picked up by
            # the microphone (without echo cancellation) comes as long utterances (3.5 s and more
            # where "stop" was spotted in it; docs/benchmarks.md).
            if intent != "stop" or seconds > MAX_INTERRUPT_SECONDS:
                return
            self.output.cut()
        self._handle(self.dialogue.hear(intent, doubtful=certainty == "doubtful"))

    def _handle(self, actions: List[Action]) -> None:
        for action in actions:
            if isinstance(action, Say):
                said = Said(action.start, action.text, action.kind)
                self._record(said)
                self.output.say(said)
            elif isinstance(action, AdjustVoice):
                self.output.adjust(action)
            elif isinstance(action, (EpisodeStarted, EpisodeEnded)):
                self._record(action)

    def _record(self, event: Event) -> None:
        if isinstance(event, EpisodeStarted):
            self.episodes += 1
        if self.keep_events:
            self.events.append(event)
        self.on_event(event)


def _likeliest(probabilities: Dict[str, float]) -> str:
    """The command model's likeliest class and its probability, for the log: "stop 0.97"."""
    name = max(probabilities, key=lambda key: probabilities[key])
    return f"{name} {probabilities[name]:.2f}"
