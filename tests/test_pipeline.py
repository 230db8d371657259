"""The pipeline's half-duplex rule: while the helper speaks, only a short "stop" cuts it off."""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

from voice.audio import FRAME_SECONDS, FileSource
from voice.clock import VirtualClock
from voice.content import check_content
from voice.dialogue import VOCABULARIES, Dialogue
from voice.intents import IntentMatcher
from voice.pipeline import Conversation, Heard, SilentOutput
from voice.recognizer import open_recognizer


class SpeakingOutput(SilentOutput):
    """An output that is always in the middle of a sentence, and notes when it is cut off."""

    def __init__(self) -> None:
        self.cuts = 0

    def speaking(self) -> bool:
        return True

    def cut(self) -> None:
        self.cuts += 1


def converse_while_speaking(wav: Path) -> Tuple[Conversation, SpeakingOutput]:
    content = check_content()
    matcher = IntentMatcher(content.intents)
    output = SpeakingOutput()
    clock = VirtualClock()
    conversation = Conversation(open_recognizer("pocketsphinx", matcher.vocabularies(VOCABULARIES), None),
                                matcher, Dialogue(content, clock), clock, output)
    for index, frame in enumerate(FileSource(wav).frames()):
        clock.advance_to((index + 1) * FRAME_SECONDS)
        conversation.feed(frame)
    conversation.end_stream()
    return conversation, output


def test_a_short_stop_cuts_the_helper_off(recordings):
    conversation, output = converse_while_speaking(recordings(["stop"]))
    assert output.cuts == 1


def test_stop_inside_a_long_utterance_does_not_cut_off_the_helper(recordings):
    # What the microphone hears of the helper's own voice: long, with "stop" in it.
    conversation, output = converse_while_speaking(recordings(
        ["You can say next, repeat, stop, slower, louder or quieter, whenever you like."]))
    assert [e.intent for e in conversation.events if isinstance(e, Heard)] == ["stop"]
    assert output.cuts == 0
