"""A real bedroom, made in the test (no corpus needed): the helper stays quiet through snoring and
other night sounds, and through talk and single words that ask it nothing; and the pieces the
benchmark measures real rooms with."""

from __future__ import annotations

import numpy as np
import pytest

from voice.base.clock import VirtualClock
from voice.base.events import Said
from voice.bench.real import EchoingSpeaker, barge_in, earlier_words, first_words, hiss, own_voice_alone, rms
from voice.bench.recordings import ClipSynthesizer, padded, through_speaker
from voice.bench.sounds import NIGHT_SOUNDS, brown_noise, night_sound, snoring_like
from voice.conversation.content import check_content
from voice.conversation.dialogue import VOCABULARIES, Dialogue
from voice.conversation.pipeline import Conversation
from voice.conversation.simulate import simulate_samples
from voice.hearing.command_model import load_command_model
from voice.hearing.endpointer import Endpointer
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import PocketsphinxRecognizer
from voice.hearing.verifier import load_verifier
from voice.sound.audio import SAMPLE_RATE, read_audio_file
from voice.sound.echo import EchoCanceller, FarEnd

CONTENT = check_content()
MATCHER = IntentMatcher(CONTENT.intents, CONTENT.phrase_rules)


@pytest.fixture(scope="module")
def helper():
    recognizer = PocketsphinxRecognizer(MATCHER.vocabularies(VOCABULARIES))
    return recognizer, load_verifier("pocketsphinx"), load_command_model()


def spoke(samples: np.ndarray, helper) -> list:
    recognizer, verifier, commands = helper
    result = simulate_samples("room", samples, recognizer, MATCHER, CONTENT, verifier=verifier, commands=commands)
    return [event.text for event in result.conversation.events if isinstance(event, Said)]


def test_snoring_all_night_long_wakes_no_one(helper):
    for seed in range(3):
        assert spoke(padded(snoring_like(90.0, seed=100 + seed)), helper) == [], seed


def test_other_night_sounds_wake_no_one(helper):
    for index, kind in enumerate(NIGHT_SOUNDS):
        assert spoke(padded(night_sound(kind, 30.0, seed=200 + index)), helper) == [], kind


def test_talk_and_single_words_that_ask_nothing_wake_no_one(helper, recordings):
    words = ["The radio says it will rain tomorrow.", 1.0, "yes", 1.5, "no", 1.5, "up", 1.5, "left", 1.5, "go", 1.5,
             "I left my phone downstairs, can you get it?", 1.0, "stop", 1.5, "Turn the light off.", 1.0]
    for voice in ("flite:awb", "festival:kal_diphone"):
        assert spoke(read_audio_file(recordings(words, voice)), helper) == [], voice


def test_a_request_in_the_same_room_is_still_answered(helper, recordings):
    """A partner snores (28 dB below the request); asked "Did you say cramp?", they say yes.
    Most nights it is answered; where snores join the request into one long utterance, it is
    not (7 of these 10 at the time of writing: a known limit, docs/benchmarks.md)."""
    samples = read_audio_file(recordings(["Turn the light off.", 2.0, "ouch, I have a cramp in my calf", 3.0, "yes"],
                                         "flite:awb"))
    answered = 0
    for seed in range(300, 310):
        snoring = snoring_like(samples.size / SAMPLE_RATE, seed=seed).astype(np.float64) * 0.3
        answered += CONTENT.intro in " ".join(spoke(np.clip(samples + snoring, -32768, 32767).astype(np.int16), helper))
    assert answered >= 7, answered


# --- the echo canceller and barge-in --------------------------------------------------------

def test_the_far_end_hands_out_what_was_played_in_order_and_silence_after():
    far_end = FarEnd()
    far_end.played(np.arange(1, 701, dtype=np.int16))
    assert far_end.take(480).tolist() == list(range(1, 481))
    rest = far_end.take(480)
    assert rest[:220].tolist() == list(range(481, 701)) and not rest[220:].any()
    assert not far_end.take(480).any()


def test_the_echo_canceller_takes_most_of_the_helpers_voice_out_and_leaves_silence_alone():
    synth = ClipSynthesizer()
    try:
        played = synth.speech("Straighten your leg. Gently pull your toes up, towards your knee. Hold it there.",
                              ("espeak", "en", 140, 50))
    finally:
        synth.close()
    echo = through_speaker(played, seed=5)
    far_end = FarEnd()
    canceller = EchoCanceller(far_end)
    frames = echo.size // 480
    cleaned = []
    for index in range(frames):
        far_end.played(np.pad(played, (0, echo.size))[index * 480 : (index + 1) * 480])
        cleaned.append(np.frombuffer(canceller.clean(echo[index * 480 : (index + 1) * 480].tobytes()), dtype="<i2"))
    settled = slice(2 * SAMPLE_RATE, frames * 480)  # after its first two seconds
    reduction = 20 * np.log10(rms(echo[settled]) / max(rms(np.concatenate(cleaned)[settled]), 1.0))
    assert reduction > 10, reduction
    quiet = hiss(48_000, seed=3)
    canceller = EchoCanceller(FarEnd())
    assert b"".join(canceller.clean(quiet[i : i + 480].tobytes()) for i in range(0, 48_000, 480)) == quiet.tobytes()


@pytest.mark.parametrize("level_dbfs", [-70.0, -65.0, -60.0])
def test_a_quiet_rooms_rumble_coming_back_after_the_helper_speaks_is_no_speech(level_dbfs):
    """While the helper speaks, the chunks the canceller finds to be mostly its voice are turned
    down far below a quiet room's rumble; without the room's quiet put back under them, the
    rumble's return after each line was "speech" to the endpointer for about 3 s."""
    synth = ClipSynthesizer()
    try:
        played = synth.speech("Okay. I'll be quiet. Say cramp if you need me.", ("espeak", "en", 140, 50))
    finally:
        synth.close()
    before, after = 3 * SAMPLE_RATE, played.size + 3 * SAMPLE_RATE
    rumble = brown_noise((before + after) / SAMPLE_RATE, seed=3).astype(np.float64)
    room = np.round(rumble * 32768 * 10 ** (level_dbfs / 20) / rms(rumble)).astype("<i2")
    speaker = np.pad(played, (before, after))
    far_end = FarEnd()
    canceller = EchoCanceller(far_end)
    endpointer = Endpointer()
    speech_after_its_voice = 0
    for start in range(0, room.size - 480 + 1, 480):  # the microphone hears only the room
        far_end.played(speaker[start : start + 480])
        cleaned = canceller.clean(room[start : start + 480].tobytes())
        assert np.frombuffer(cleaned, dtype="<i2").any(), f"digital silence at {start / SAMPLE_RATE:.2f} s"
        endpointer.process(cleaned)
        speech_after_its_voice += endpointer.in_speech and start >= before + played.size
    assert speech_after_its_voice * 0.03 < 0.3


def test_the_helpers_own_voice_in_the_microphone_never_cuts_it_off(helper):
    """Through its speaker and a room, louder or quieter, its voice is no "stop" (with the echo
    canceller and the command model as in live mode)."""
    recognizer, verifier, commands = helper
    synth = ClipSynthesizer()
    try:
        played = synth.speech(CONTENT.disclaimer + " " + CONTENT.intro + " " + " ".join(CONTENT.steps[0].say),
                              ("espeak", "en", 140, 50))
    finally:
        synth.close()

    def converse(clock: VirtualClock, output: EchoingSpeaker, far_end: FarEnd) -> Conversation:
        return Conversation(recognizer, MATCHER, Dialogue(CONTENT, clock), clock, output, verifier=verifier,
                            commands=commands, echo=EchoCanceller(far_end))

    for seed, gain_db in ((1, -6.0), (2, 0.0), (3, 6.0)):
        echo = through_speaker(played, seed=seed).astype(np.float64) * 10 ** (gain_db / 20)
        assert barge_in(converse, played, echo, hiss(echo.size, seed=seed)) is None, (seed, gain_db)


def test_the_helpers_voice_at_night_volume_or_after_learning_the_room_never_cuts_it_off(helper):
    """What the canceller leaves of the helper's voice stands out from the rest at a quiet night
    volume, and once its filter has learned the room from an earlier line: "not a doctor" and
    "toes up" then sounded like "stop" to the command model (6 of these 20 runs of the benchmark's
    ``own_voice_self_cuts`` cut the helper off before the spotter asked whether the canceller took
    the loud part for the helper's voice)."""
    recognizer, verifier, commands = helper
    synth = ClipSynthesizer()
    try:
        played, before = (synth.speech(text, ("espeak", "en", 140, 50))
                          for text in (first_words(CONTENT), earlier_words(CONTENT)))
    finally:
        synth.close()

    def converse(clock: VirtualClock, output: EchoingSpeaker, far_end: FarEnd) -> Conversation:
        return Conversation(recognizer, MATCHER, Dialogue(CONTENT, clock), clock, output, verifier=verifier,
                            commands=commands, echo=EchoCanceller(far_end))

    for room, level_dbfs, learned in ((5, -36.0, False), (6, -42.0, False), (5, -36.0, True), (5, -24.0, True)):
        cut_at = own_voice_alone(converse, played, before, room, level_dbfs, learned)
        assert cut_at is None, (room, level_dbfs, learned, cut_at)


@pytest.mark.parametrize("voice", ["flite:awb", "festival:cmu_us_slt_arctic_hts"])
def test_stop_said_over_the_helpers_own_voice_cuts_it_off_within_a_second(helper, recordings, voice):
    """A "stop" as loud as the helper's voice at the microphone, said 2 s into its first words:
    the echo canceller keeps the word whole and the stop spotter hears it as it is said. (The
    command model, made for real people, does not call some synthetic voices' "stop" a stop even
    alone: flite's rms 0.11, festival's kal 0.06; theirs are left to the endpointer's path.)"""
    recognizer, verifier, commands = helper
    synth = ClipSynthesizer()
    try:
        played = synth.speech(CONTENT.disclaimer + " " + CONTENT.intro, ("espeak", "en", 140, 50))
    finally:
        synth.close()
    word = read_audio_file(recordings(["stop"], voice))
    word = word[np.flatnonzero(np.abs(word) > 300)[0]:]  # from its first sound
    start = 2 * SAMPLE_RATE
    person = np.concatenate([hiss(start, seed=4), word])
    room = through_speaker(played, seed=5).astype(np.float64)
    echo = room * rms(word[: SAMPLE_RATE // 2]) / rms(room)

    def converse(clock: VirtualClock, output: EchoingSpeaker, far_end: FarEnd) -> Conversation:
        return Conversation(recognizer, MATCHER, Dialogue(CONTENT, clock), clock, output, verifier=verifier,
                            commands=commands, echo=EchoCanceller(far_end))

    cut_at = barge_in(converse, played, echo, person)
    word_end = (start + np.flatnonzero(np.abs(word) > 300)[-1]) / SAMPLE_RATE
    assert cut_at is not None and word_end - 0.3 <= cut_at <= word_end + 1.0, (cut_at, word_end)
