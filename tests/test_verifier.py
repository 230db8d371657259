"""The verifier: the shipped weights load and judge real recordings; broken weights are one line
and the helper goes on without them; and the table of both opinions, red flags included."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from conftest import damaged_copy, run_bedside
from voice.base.clock import VirtualClock
from voice.base.events import EpisodeStarted, Said
from voice.bench.recordings import padded
from voice.bench.sounds import brown_noise
from voice.conversation.content import check_content
from voice.conversation.dialogue import VOCABULARIES, Dialogue
from voice.conversation.pipeline import Conversation
from voice.conversation.simulate import simulate_samples
from voice.hearing.decision import Gate, Gates, second_opinion
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import PocketsphinxRecognizer, Transcript
from voice.hearing.verifier import WEIGHTS, Verifier, load_verifier, recognizer_features
from voice.sound.audio import SAMPLE_RATE, read_audio_file

CONTENT = check_content()
MATCHER = IntentMatcher(CONTENT.intents, CONTENT.phrase_rules)
REQUEST = "oh no, my calf is cramping"


@pytest.fixture(scope="module")
def recognizer() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(MATCHER.vocabularies(VOCABULARIES))


def _scored(verifier: Verifier, recognizer: PocketsphinxRecognizer, path: Path) -> float:
    audio = read_audio_file(path).astype("<i2").tobytes()
    transcript = recognizer.decode(audio, "idle")
    assert transcript is not None
    return verifier.score(audio, transcript)


def test_the_shipped_verifier_scores_a_request_above_ordinary_speech(recordings, recognizer):
    verifier = load_verifier("pocketsphinx")
    assert 0.0 <= verifier.reject <= verifier.accept <= 1.0
    for voice in ("flite:rms", "festival:kal_diphone"):
        request = _scored(verifier, recognizer, recordings([REQUEST], voice))
        talk = _scored(verifier, recognizer, recordings(["I think the garden needs watering again"], voice))
        assert request > talk, voice
        assert verifier.opinion(request) == "yes", (voice, request)


@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated", "wrong shape"])
def test_broken_weights_are_one_line_and_the_helper_runs_without_them(recordings, tmp_path, damage):
    weights = damaged_copy(WEIGHTS, tmp_path / "verifier.npz", damage)
    result = run_bedside("simulate", "--json", "--engine", "pocketsphinx", "--verifier-weights", str(weights),
                         str(recordings([REQUEST])))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "verifier" in line]
    assert len(lines) == 1 and "going on without it" in lines[0] and "scripts/train_verifier" in lines[0], \
        result.stderr
    assert "Traceback" not in result.stderr
    output = json.loads(result.stdout)
    assert output["triggered"]
    assert all(heard["verifier"] is None for heard in output["heard"])


def test_simulate_shows_the_verifiers_score_for_a_wake_up_only(recordings):
    result = run_bedside("simulate", "--json", "--engine", "pocketsphinx",
                         str(recordings([REQUEST, 1.0, "next step"])))
    assert result.returncode == 0, result.stderr
    heard = json.loads(result.stdout)["heard"]
    assert heard[0]["intent"] == "cramp" and isinstance(heard[0]["verifier"], float), heard
    assert all(entry["verifier"] is None for entry in heard[1:]), heard  # mid-conversation: not asked
    off = run_bedside("simulate", "--json", "--engine", "pocketsphinx", "--verifier", "off", str(recordings([REQUEST])))
    assert all(entry["verifier"] is None for entry in json.loads(off.stdout)["heard"])


# --- both opinions ------------------------------------------------------------------------

TABLE = [  # recognizer, verifier, what a cramp request gets, what a red flag gets
    ("sure", "yes", "sure", "sure"),
    ("sure", "unsure", "doubtful", "doubtful"),
    ("sure", "no", None, "doubtful"),
    ("doubtful", "yes", "doubtful", "doubtful"),
    ("doubtful", "unsure", None, "doubtful"),
    ("doubtful", "no", None, None),  # both find it unlikely: the one red flag let go
]


@pytest.mark.parametrize("certainty, opinion, cramp, red_flag", TABLE)
def test_the_table_of_both_opinions(certainty, opinion, cramp, red_flag):
    assert second_opinion(certainty, opinion, "cramp") == cramp
    assert second_opinion(certainty, opinion, "causes") == cramp
    assert second_opinion(certainty, opinion, "red_flag") == red_flag
    assert second_opinion(certainty, opinion, "red_flag_during") == red_flag


def constant_verifier(score: float) -> Verifier:
    """A real verifier whose weights ignore the features: it always says ``score``."""
    size = recognizer_features(Transcript("cramp", -1.0), 1.0).size
    bias = np.array([math.log(score / (1 - score))])
    return Verifier("recognizer", "pocketsphinx", np.zeros(size), np.ones(size),
                    ((np.zeros((size, 1)), bias),), accept=0.7, reject=0.3)


GATES = Gates(default=Gate(sure=-2.0, doubtful=-4.0), by_vocabulary={"episode": Gate(sure=-4.0, doubtful=-4.0)},
              by_intent={("idle", "red_flag"): Gate(sure=-2.0, doubtful=-6.0)})
AUDIO = bytes(32000)  # what the verifier is handed; the constant verifier does not look at it


def night(score: float, heard: list) -> Conversation:
    clock = VirtualClock()
    dialogue = Dialogue(CONTENT, clock)
    conversation = Conversation(None, MATCHER, dialogue, clock, gates=GATES, verifier=constant_verifier(score))
    for text, confidence in heard:
        clock.advance_to(clock.now() + 30)
        conversation.tick()
        conversation.take(Transcript(text, confidence), 1.5, vocabulary=dialogue.vocabulary, audio=AUDIO)
    return conversation


def _said_kinds(conversation: Conversation) -> list:
    return [event.kind for event in conversation.events if isinstance(event, Said)]


def test_a_sure_request_the_verifier_rejects_wakes_no_one_and_is_shown():
    conversation = night(0.1, [("I have a cramp", -1.0)])
    assert _said_kinds(conversation) == []
    (heard,) = conversation.heard
    assert (heard.intent, heard.certainty, heard.verifier) == ("cramp", None, 0.1)


def test_a_sure_request_the_verifier_doubts_is_asked_about():
    conversation = night(0.5, [("I have a cramp", -1.0)])
    assert _said_kinds(conversation) == ["question"]


def test_a_red_flag_is_asked_about_unless_both_opinions_find_it_unlikely():
    assert _said_kinds(night(0.05, [("my calf is swollen and red", -1.0)])) == ["question"]  # recognizer sure
    assert _said_kinds(night(0.5, [("my calf is swollen and red", -5.0)])) == ["question"]  # verifier unsure
    doubted = night(0.05, [("my calf is swollen and red", -5.0)])
    assert _said_kinds(doubted) == []
    assert (doubted.heard[0].intent, doubted.heard[0].certainty) == ("red_flag", None)


def test_mid_conversation_commands_skip_the_verifier():
    conversation = night(0.99, [("I have a cramp", -1.0)])
    assert any(isinstance(event, EpisodeStarted) for event in conversation.events)
    clock = conversation.clock
    clock.advance_to(clock.now() + 5)
    conversation.take(Transcript("next", -1.0), 0.5, vocabulary="episode", audio=AUDIO)
    last = conversation.heard[-1]
    assert last.intent == "next" and last.verifier is None



class NeverAsked(Verifier):
    def score(self, audio: bytes, transcript: Transcript) -> float:
        raise AssertionError("the verifier was asked in a quiet room")


def test_a_quiet_room_costs_the_verifier_nothing(recognizer):
    ready = constant_verifier(0.9)
    never = NeverAsked(**{field.name: getattr(ready, field.name) for field in fields(ready)})
    hiss = padded(np.zeros(20 * SAMPLE_RATE, dtype=np.int16))
    fan = (brown_noise(20.0, seed=11).astype(np.float64) * (32768 * 10 ** (-50 / 20) / 8000)).astype(np.int16)
    for quiet in (hiss, fan):
        result = simulate_samples("quiet room", quiet, recognizer, MATCHER, CONTENT, verifier=never)
        assert result.conversation.heard == []


def test_the_mel_model_runs_in_fixed_blocks_with_the_numbers_of_one_whole_pass():
    """Resizing the mel model to each utterance's length grew memory with every new length; the
    blocks it runs in now must give exactly what one pass over the whole utterance gives."""
    from voice.hearing.embedding import MEL_BLOCK_SAMPLES, SpeechEmbedding, _invoke

    embedding, whole = SpeechEmbedding(), SpeechEmbedding()
    rng = np.random.default_rng(5)
    for length in (100, 12_800, 32_351, 32_353, 64_511, 100_000, 160_159):
        samples = (rng.standard_normal(length) * 3000).astype(np.float32)
        padded_audio = np.zeros((1, max(length, 12_800)), dtype=np.float32)
        padded_audio[0, :length] = samples
        whole._mel.resize_tensor_input(whole._mel.get_input_details()[0]["index"], padded_audio.shape)
        whole._mel.allocate_tensors()
        expected = np.squeeze(_invoke(whole._mel, padded_audio), axis=(0, 1))
        assert np.array_equal(embedding._melspectrogram(samples), expected), length
    assert [tuple(detail["shape"]) for detail in embedding._mel.get_input_details()] == [(1, MEL_BLOCK_SAMPLES)]
