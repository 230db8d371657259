"""Recordings heard while the helper is talking, as a microphone next to its speaker hears them.
Shared by tests/test_pipeline.py and scripts/bench_own_voice.py."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

from voice.base.clock import VirtualClock
from voice.conversation.content import Content, check_content
from voice.conversation.dialogue import VOCABULARIES, Dialogue
from voice.conversation.pipeline import Conversation, SilentOutput
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import Recognizer, open_recognizer
from voice.sound.audio import FRAME_SECONDS, FileSource


class SpeakingOutput(SilentOutput):
    """An output that is always in the middle of a sentence, and notes when it is cut off."""

    def __init__(self) -> None:
        self.cuts = 0

    def speaking(self) -> bool:
        return True

    def cut(self) -> None:
        self.cuts += 1


def converse_while_speaking(wav: Path, recognizer: Optional[Recognizer] = None,
                            content: Optional[Content] = None) -> Tuple[Conversation, SpeakingOutput]:
    content = content or check_content()
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    output = SpeakingOutput()
    clock = VirtualClock()
    recognizer = recognizer or open_recognizer("pocketsphinx", matcher.vocabularies(VOCABULARIES), None)
    conversation = Conversation(recognizer, matcher, Dialogue(content, clock), clock, output)
    for index, frame in enumerate(FileSource(wav).frames()):
        clock.advance_to((index + 1) * FRAME_SECONDS)
        conversation.feed(frame)
    conversation.end_stream()
    return conversation, output
