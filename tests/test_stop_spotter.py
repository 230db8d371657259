"""Spotting "stop" while the helper speaks: a whole window first, sure twice in a row, louder than
the canceller's leftovers and not taken out by it, never in a second where the microphone kept
clipping; and the pipeline acts on it once."""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from voice.base.clock import VirtualClock
from voice.base.events import EpisodeEnded, Heard, Said
from voice.conversation.content import check_content
from voice.conversation.dialogue import Dialogue
from voice.conversation.pipeline import Conversation
from voice.hearing.command_model import CLASSES
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import Transcript
from voice.hearing.stop_spotter import HOP_FRAMES, IN_A_ROW, StopSpotter
from voice.sound.audio import FRAME_SAMPLES, SAMPLE_RATE
from voice.sound.echo import FarEnd

CONTENT = check_content()
MATCHER = IntentMatcher(CONTENT.intents, CONTENT.phrase_rules)
FRAMES_PER_SECOND = SAMPLE_RATE // FRAME_SAMPLES


class LoudIsStop:
    """A stand-in command model: "stop" for any window holding a sample above ``level``."""

    def __init__(self, level: int = 8000) -> None:
        self.level = level
        self.accept, self.agree, self.none = 0.8, 0.1, 0.97
        self.windows: List[int] = []

    def probabilities(self, samples: np.ndarray) -> Dict[str, float]:
        self.windows.append(samples.size)
        stop = 0.99 if np.abs(samples.astype(np.int32)).max() > self.level else 0.01
        return {name: stop if name == "stop" else (1 - stop) / (len(CLASSES) - 1) for name in CLASSES}


def frame(level: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).normal(scale=level, size=FRAME_SAMPLES).clip(-32768, 32767).astype("<i2").tobytes()


def feed(spotter: StopSpotter, frames: List[bytes], microphone: Optional[List[bytes]] = None) -> List[int]:
    """The indexes of the frames at which "stop" was spotted."""
    return [index for index, (cancelled, heard) in enumerate(zip(frames, microphone or frames))
            if spotter.hear(cancelled, heard) is not None]


def test_a_word_louder_than_the_leftovers_is_spotted_after_two_sure_windows_in_a_row():
    model = LoudIsStop()
    spotter = StopSpotter(model)
    quiet = [frame(300, seed) for seed in range(2 * FRAMES_PER_SECOND)]
    word = [frame(6000, seed) for seed in range(8)]
    spotted = feed(spotter, quiet + word + quiet[:20])
    assert spotted, "the word was not spotted"
    first = spotted[0]
    assert len(quiet) <= first <= len(quiet) + (IN_A_ROW + 1) * HOP_FRAMES
    assert set(model.windows) == {FRAME_SAMPLES * FRAMES_PER_SECOND}  # the last second, every time


def test_nothing_is_judged_before_a_whole_window_and_reset_starts_again():
    model = LoudIsStop()
    spotter = StopSpotter(model)
    assert feed(spotter, [frame(6000)] * (FRAMES_PER_SECOND - 1)) == [] and model.windows == []
    spotter.reset()
    assert feed(spotter, [frame(6000)] * (FRAMES_PER_SECOND - 1)) == [] and model.windows == []


def test_steady_loudness_with_no_rise_is_no_stop():
    """The canceller's leftovers of the helper's voice, as loud all along: the model's word alone
    does not cut the helper off."""
    spotter = StopSpotter(LoudIsStop(level=3000))
    assert feed(spotter, [frame(4000, seed) for seed in range(3 * FRAMES_PER_SECOND)]) == []


def test_a_rise_the_canceller_took_for_the_helpers_voice_is_no_stop():
    """Its leftovers of the helper's voice can rise above the rest of them (a quiet night volume,
    a filter that has learned the room) and sound like "stop" to the model; where the microphone
    held 10 dB more than what the canceller left, the loud part was the helper's, not a person's.
    The same rise with as much in the microphone is a person's word."""
    quiet = [frame(300, seed) for seed in range(2 * FRAMES_PER_SECOND)]
    word = [frame(6000, seed) for seed in range(8)]
    loud_helper = [frame(300 * 3, seed) for seed in range(len(quiet))] + [frame(6000 * 3, seed) for seed in range(8)]
    heard = quiet + word + quiet[:20]
    assert feed(StopSpotter(LoudIsStop()), heard, loud_helper + loud_helper[:20]) == []
    assert feed(StopSpotter(LoudIsStop()), heard, heard) != []


def test_a_second_in_which_the_microphone_kept_clipping_is_left_out():
    spotter = StopSpotter(LoudIsStop())
    quiet = [frame(300, seed) for seed in range(2 * FRAMES_PER_SECOND)]
    word = [frame(6000, seed) for seed in range(8)]
    clipping = [np.full(FRAME_SAMPLES, 32767, dtype="<i2").tobytes()] * len(quiet + word + quiet[:20])
    assert feed(spotter, quiet + word + quiet[:20], clipping) == []


class Speaker:
    """Speaks from the first sentence on until cut off."""

    def __init__(self) -> None:
        self.cut_at = None
        self.began = False

    def say(self, said: Said) -> None:
        self.began = True

    def adjust(self, change) -> None:
        pass

    def cut(self) -> None:
        self.cut_at = True

    def speaking(self) -> bool:
        return self.began and self.cut_at is None


class PassThrough:
    """An echo canceller with nothing to cancel."""

    far_end = FarEnd()

    def clean_both(self, frame: bytes):
        return frame, frame


class HearsStop:
    """A recognizer that hears "stop" in every utterance (as the endpointer's path may, after)."""

    name = "pocketsphinx"

    def select(self, vocabulary: str) -> None:
        pass

    def start(self) -> None:
        pass

    def accept(self, audio: bytes) -> None:
        pass

    def finish(self) -> Transcript:
        return Transcript("stop", -1.0, 0.5)


def test_a_spotted_stop_cuts_the_helper_off_and_ends_relief_once():
    clock = VirtualClock()
    speaker = Speaker()
    conversation = Conversation(HearsStop(), MATCHER, Dialogue(CONTENT, clock), clock, speaker,
                                commands=LoudIsStop(), echo=PassThrough())
    conversation.hear("cramp")
    frames = [frame(300, seed) for seed in range(2 * FRAMES_PER_SECOND)] + [frame(6000, seed) for seed in range(8)]
    frames += [frame(300, seed) for seed in range(2 * FRAMES_PER_SECOND)]
    for index, audio in enumerate(frames):
        clock.advance_to((index + 1) * FRAME_SAMPLES / SAMPLE_RATE)
        conversation.feed(audio)
    conversation.end_stream()
    assert speaker.cut_at
    stops = [event for event in conversation.events if isinstance(event, Heard) and event.intent == "stop"]
    assert len(stops) == 1 and stops[0].command.startswith("stop 0.99"), conversation.heard
    (ended,) = [event for event in conversation.events if isinstance(event, EpisodeEnded)]
    assert ended.outcome == "stopped"
