"""The pipeline's half-duplex rule: while the helper speaks, only a short "stop" cuts it off."""

from __future__ import annotations

from typing import Optional, Tuple

from speaking import converse_while_speaking
from voice.base.clock import VirtualClock
from voice.base.events import Heard, Said
from voice.conversation.content import check_content
from voice.conversation.dialogue import Dialogue
from voice.conversation.pipeline import Conversation
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import Transcript


class HearsStopInEverything:
    """A recognizer that hears "stop" in any utterance, as a weaker engine might in the helper's
    own "...you can say next, repeat, stop...": it isolates the pipeline's own rule."""

    name = model = "hears-stop"

    def select(self, vocabulary: str) -> None:
        pass

    def start(self) -> None:
        pass

    def accept(self, audio: bytes) -> None:
        pass

    def finish(self) -> Optional[Transcript]:
        return Transcript("stop")


def test_a_short_stop_cuts_the_helper_off(recordings):
    conversation, output = converse_while_speaking(recordings(["stop"]))
    assert output.cuts == 1


OWN_VOICE = "You can say next, repeat, stop, slower, louder or quieter, whenever you like."


def test_the_helpers_own_voice_saying_stop_does_not_cut_it_off(recordings):
    # What the microphone hears of the helper's own voice: long, with "stop" in it.
    conversation, output = converse_while_speaking(recordings([OWN_VOICE]))
    assert output.cuts == 0


def test_a_stop_heard_in_a_long_utterance_is_ignored_while_speaking(recordings):
    conversation, output = converse_while_speaking(recordings([OWN_VOICE]), HearsStopInEverything())
    assert [e.intent for e in conversation.events if isinstance(e, Heard)] == ["stop"]
    assert output.cuts == 0


def test_a_short_stop_heard_by_any_engine_cuts_the_helper_off(recordings):
    conversation, output = converse_while_speaking(recordings(["stop"]), HearsStopInEverything())
    assert output.cuts == 1


def text_conversation(**options) -> Tuple[Conversation, Dialogue, VirtualClock]:
    """A conversation fed transcripts (``take``) rather than sound: no recognizer."""
    content = check_content()
    clock = VirtualClock()
    dialogue = Dialogue(content, clock)
    return Conversation(None, IntentMatcher(content.intents, content.phrase_rules), dialogue, clock, **options), \
        dialogue, clock


def test_a_conversation_that_keeps_no_events_hands_each_one_on_and_grows_nothing():
    handed: list = []
    conversation, dialogue, clock = text_conversation(on_event=handed.append, keep_events=False)
    for night in range(50):  # fifty cramps, each ended by "it's gone"
        clock.advance_to(clock.now() + 3600)
        for text in ("i have a cramp", "it's gone"):
            conversation.take(Transcript(text, None), 1.5, vocabulary=dialogue.vocabulary)
            clock.advance_to(clock.now() + 30)
            conversation.tick()
    assert conversation.events == []
    assert conversation.triggered and conversation.episodes == 50
    assert sum(isinstance(event, Heard) for event in handed) == 100


def test_a_request_inside_long_talk_is_let_go_and_recorded_as_let_go():
    """A wake-up phrase heard in an utterance longer than ``max_wake_seconds`` (a radio, people
    talking) wakes no one, and what is recorded says so: the log must not say it is asking."""
    conversation, dialogue, _ = text_conversation()
    said_before = sum(isinstance(event, Said) for event in conversation.events)
    conversation.take(Transcript("i have a cramp", None), conversation.max_wake_seconds + 2.0,
                      vocabulary=dialogue.vocabulary)
    heard = [event for event in conversation.events if isinstance(event, Heard)]
    assert [(event.intent, event.certainty) for event in heard] == [("cramp", None)]
    assert sum(isinstance(event, Said) for event in conversation.events) == said_before
    assert not dialogue.in_episode
