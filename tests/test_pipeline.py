"""The pipeline's half-duplex rule: while the helper speaks, only a short "stop" cuts it off."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

from voice.audio import FRAME_SECONDS, FileSource
from voice.clock import VirtualClock
from voice.content import check_content
from voice.dialogue import VOCABULARIES, Dialogue
from voice.intents import IntentMatcher
from voice.pipeline import Conversation, Heard, SilentOutput
from voice.recognizer import Recognizer, Transcript, open_recognizer


class SpeakingOutput(SilentOutput):
    """An output that is always in the middle of a sentence, and notes when it is cut off."""

    def __init__(self) -> None:
        self.cuts = 0

    def speaking(self) -> bool:
        return True

    def cut(self) -> None:
        self.cuts += 1


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


def converse_while_speaking(wav: Path, recognizer: Optional[Recognizer] = None) -> Tuple[Conversation, SpeakingOutput]:
    content = check_content()
    matcher = IntentMatcher(content.intents)
    output = SpeakingOutput()
    clock = VirtualClock()
    recognizer = recognizer or open_recognizer("pocketsphinx", matcher.vocabularies(VOCABULARIES), None)
    conversation = Conversation(recognizer, matcher, Dialogue(content, clock), clock, output)
    for index, frame in enumerate(FileSource(wav).frames()):
        clock.advance_to((index + 1) * FRAME_SECONDS)
        conversation.feed(frame)
    conversation.end_stream()
    return conversation, output


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
