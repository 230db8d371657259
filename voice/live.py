"""``bedside listen``: the always-on bedside loop on a real microphone and speaker.

Same ``Conversation`` as ``simulate``, with the system clock and real devices. A microphone that
is missing or unplugged is logged once and retried every few seconds; the loop never gives up on it.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Optional

from voice.audio import Device, MicrophoneSource
from voice.clock import SystemClock
from voice.content import Content
from voice.dialogue import AdjustVoice, Dialogue, EpisodeEnded, EpisodeStarted
from voice.errors import BedsideError
from voice.intents import IntentMatcher
from voice.pipeline import Conversation, Event, Heard, Said
from voice.recognizer import Recognizer
from voice.speech import Speaker

log = logging.getLogger("bedside")

RETRY_SECONDS = 3.0


class SpeakerOutput:
    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker

    def say(self, said: Said) -> None:
        self.speaker.say(said.text)

    def adjust(self, change: AdjustVoice) -> None:
        self.speaker.synthesizer.adjust(change.rate_factor, change.volume_change)

    def cut(self) -> None:
        self.speaker.cut()

    def speaking(self) -> bool:
        return self.speaker.speaking()


def log_event(event: Event) -> None:
    if isinstance(event, Heard):
        log.info("heard: %r intent=%s", event.text, event.intent)
    elif isinstance(event, Said):
        log.info("said: %s", event.text)
    elif isinstance(event, EpisodeStarted):
        log.info("episode started")
    elif isinstance(event, EpisodeEnded):
        log.info("episode ended: %s", event.outcome)


def listen(recognizer: Recognizer, matcher: IntentMatcher, content: Content, speaker: Speaker,
           input_device: Device = None, stop: Optional[threading.Event] = None) -> None:
    """Run until SIGTERM, SIGINT or ``stop`` is set."""
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    clock = SystemClock()
    dialogue = Dialogue(content, clock, speaker.synthesizer.settings.words_per_minute)
    conversation = Conversation(recognizer, matcher, dialogue, clock, SpeakerOutput(speaker), log_event)
    microphone = MicrophoneSource(input_device, read_timeout=0.5)
    missing_logged = False
    log.info("listening; say \"cramp\" when you need me")
    try:
        while not stop.is_set():
            try:
                for frame in microphone.frames():
                    if missing_logged:
                        log.info("microphone is back")
                        missing_logged = False
                    if stop.is_set():
                        break
                    if frame is None:
                        conversation.tick()
                    else:
                        conversation.feed(frame)
            except BedsideError as error:
                if not missing_logged:
                    log.error("%s; retrying every %.0f s", error, RETRY_SECONDS)
                    missing_logged = True
                conversation.tick()
                stop.wait(RETRY_SECONDS)
    finally:
        if microphone.overflows:
            log.warning("audio input overflowed %d times", microphone.overflows)
        speaker.close()
