"""The command model: how its opinion and the recognizer's decide mid-conversation (a table, then
whole conversations with a stand-in model), the shipped model on recordings, and broken weights
as one line with the recognizer going on alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest
from conftest import damaged_copy, run_bedside

from voice.base.clock import VirtualClock
from voice.base.events import EpisodeEnded, Said
from voice.conversation.content import check_content
from voice.conversation.dialogue import VOCABULARIES, WHILE_SPEAKING, Dialogue
from voice.conversation.pipeline import Conversation
from voice.hearing.command_model import CLASSES, WEIGHTS, load_command_model
from voice.hearing.decision import POCKETSPHINX, Gates, command_opinion
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import Transcript
from voice.sound.audio import read_audio_file

CONTENT = check_content()
MATCHER = IntentMatcher(CONTENT.intents, CONTENT.phrase_rules)
EPISODE = VOCABULARIES["episode"]


@dataclass(frozen=True)
class Thresholds:
    accept: float = 0.8
    agree: float = 0.1
    none: float = 0.97


def said(**probabilities: float) -> Dict[str, float]:
    """The model's probabilities: those given, the rest shared evenly."""
    rest = (1.0 - sum(probabilities.values())) / (len(CLASSES) - len(probabilities))
    return {name: probabilities.get(name, rest) for name in CLASSES}


ROWS = [
    # (what happens, recognizer's intent and certainty, the model, decision)
    ("stop beats okay", "okay", "sure", said(stop=0.95), ("stop", "sure")),
    ("stop beats no", "no", "sure", said(stop=0.9), ("stop", "sure")),
    ("the model hears what the recognizer missed", None, None, said(no=0.95), ("no", "sure")),
    ("nothing either can stand behind", None, None, said(no=0.5), (None, None)),
    ("the recognizer's word, the model agreeing a little", "no", None, said(no=0.3), ("no", "sure")),
    ("the recognizer's word, the model hearing none of it", "yes", "sure", said(yes=0.01, other=0.9),
     (None, None)),
    ("a red flag that sounds like a command word", "red_flag_during", "sure", said(stop=0.6), (None, None)),
    ("a red flag, no command word in it", "red_flag_during", "doubtful", said(command=0.9),
     ("red_flag_during", "doubtful")),
    ("another command", "next", "sure", said(command=0.9), ("next", "sure")),
    ("no command at all", "next", "sure", said(other=0.99), (None, None)),
    ("a red flag below the gates stays nothing, whatever the model", "red_flag_during", None, said(other=0.99),
     (None, None)),
    ("a red flag the model hears as no command is asked about", "red_flag_during", "sure", said(other=0.99),
     ("red_flag_during", "doubtful")),
    ("a word not listened for now", "repeat", "sure", said(yes=0.95), ("repeat", "sure")),
    ("stop over the helper's own voice", None, None, said(stop=0.85), ("stop", "sure")),
    ("the helper's own voice heard as stop", "stop", "sure", said(stop=0.6), (None, None)),
]


@pytest.mark.parametrize("what, intent, certainty, probabilities, decision", ROWS, ids=[r[0] for r in ROWS])
def test_the_command_opinion_table(what, intent, certainty, probabilities, decision):
    listening = EPISODE - {"yes"} if what == "a word not listened for now" else EPISODE
    speaking = "own voice" in what
    if speaking:
        listening = VOCABULARIES[WHILE_SPEAKING]
    assert command_opinion(intent, certainty, probabilities, Thresholds(), listening,
                           over_own_voice=speaking) == decision, what


class StandInModel(Thresholds):
    """A command model that hears what it is told to, for whole conversations."""

    def __init__(self, probabilities: Dict[str, float]) -> None:
        self.heard = probabilities

    def probabilities(self, samples: np.ndarray) -> Dict[str, float]:
        return self.heard


def relief_then(text: str, confidence: float, seconds: float, probabilities: Optional[Dict[str, float]],
                audio: Optional[bytes] = None, gates: Optional[Gates] = None) -> Conversation:
    """Relief under way, then ``text`` heard in ``audio`` (default: ``seconds`` of silence), with
    the stand-in command model hearing ``probabilities`` (None: no command model), judged by
    ``gates`` (default: every phrase is sure)."""
    clock = VirtualClock()
    dialogue = Dialogue(CONTENT, clock)
    commands = StandInModel(probabilities) if probabilities is not None else None
    conversation = Conversation(None, MATCHER, dialogue, clock, commands=commands, gates=gates)
    conversation.hear("cramp")
    clock.advance_to(clock.now() + 20)
    conversation.tick()
    conversation.take(Transcript(text, confidence, seconds), seconds + 0.6, vocabulary="episode",
                      audio=audio if audio is not None else bytes(int(seconds * 32000)))
    return conversation


def spoken(recording: Path) -> bytes:
    return read_audio_file(recording).astype("<i2").tobytes()


def urgent(conversation: Conversation) -> bool:
    return any(isinstance(event, Said) and event.kind == "urgent" for event in conversation.events)


def test_a_short_utterance_during_relief_heard_as_a_red_flag_gives_no_urgent_advice():
    conversation = relief_then("it's warm and red", -3.0, 0.5, said(stop=0.45, other=0.45))
    assert not [event for event in conversation.events if isinstance(event, Said) and event.kind == "urgent"]
    assert not any(isinstance(event, EpisodeEnded) for event in conversation.events)


def test_stop_heard_as_okay_or_no_stops_the_relief():
    for text in ("it's gone", "no"):
        conversation = relief_then(text, -2.0, 0.5, said(stop=0.95))
        (ended,) = [event for event in conversation.events if isinstance(event, EpisodeEnded)]
        assert ended.outcome == "stopped", text
        assert conversation.heard[-1].command == "stop 0.95"


def test_a_longer_red_flag_the_model_hears_as_no_word_still_gives_urgent_advice(recordings):
    audio = spoken(recordings(["it's swollen and red"], "flite:rms"))
    conversation = relief_then("it's swollen and red", -2.0, 1.3, said(command=0.9), audio)
    assert [event.kind for event in conversation.events if isinstance(event, Said)][-1] == "urgent"


@pytest.mark.parametrize("with_model", [True, False], ids=["with the command model", "recognizer alone"])
@pytest.mark.parametrize("voice", ["flite:awb", "festival:kal_diphone"])
def test_one_word_heard_as_a_red_flag_during_relief_is_asked_about_or_nothing(recordings, voice, with_model):
    """Real people's "right", "on" and "off" came out as "it's red" and "it is hot". One syllable
    heard clearly as a red flag is asked about; heard in doubt, it is nothing. Two syllables
    ("it's red", the shortest red flag the content knows) are urgent at once."""
    model = said(other=0.9) if with_model else None
    for word in ("right", "on", "off"):
        for confidence, asked in ((-2.0, True), (-4.5, False)):
            conversation = relief_then("it's red", confidence, 0.8, model, spoken(recordings([word], voice)),
                                       POCKETSPHINX)
            assert not urgent(conversation) and conversation.dialogue.in_episode, (word, conversation.heard)
            last = [event for event in conversation.events if isinstance(event, Said)][-1]
            assert (last.text == CONTENT.confirm["red_flag_during"]) == asked, (word, confidence, last)
    conversation = relief_then("it's red", -2.0, 0.8, model, spoken(recordings(["it's red"], voice)))
    assert urgent(conversation), conversation.heard


# --- the shipped model ----------------------------------------------------------------------

@pytest.mark.parametrize("voice", ["flite:awb", "festival:kal_diphone"])
def test_a_request_then_stop_ends_the_relief(recordings, voice):
    result = run_bedside("simulate", "--json", "--engine", "pocketsphinx",
                         str(recordings(["I have a cramp in my calf", 1.2, "stop"], voice)))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    intents = [heard["intent"] for heard in output["heard"]]
    assert intents[:2] == ["cramp", "stop"], output["heard"]
    assert output["said"][-1]["text"] == CONTENT.replies["stopped"]


@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated", "wrong shape"])
def test_a_broken_command_model_is_one_line_and_the_recognizer_hears_alone(recordings, tmp_path, damage):
    weights = damaged_copy(WEIGHTS, tmp_path / "commands.npz", damage)
    result = run_bedside("simulate", "--json", "--engine", "pocketsphinx", "--command-model-weights", str(weights),
                         str(recordings(["I have a cramp in my calf", 1.2, "stop"], "flite:awb")))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "command model" in line]
    assert len(lines) == 1 and "scripts/train_commands" in lines[0] and "Traceback" not in result.stderr, result.stderr
    heard = json.loads(result.stdout)["heard"]
    assert [entry["intent"] for entry in heard][:2] == ["cramp", "stop"]
    assert all(entry["command_model"] is None for entry in heard)


def test_the_shipped_model_loads_with_thresholds_in_order():
    model = load_command_model()
    assert 0.0 < model.agree <= model.accept < 1.0 and 0.0 < model.none < 1.0
