"""The dialogue state machine, driven by a fake clock: every path, no audio."""

from __future__ import annotations

from typing import List, Optional

import pytest

from voice.base.clock import VirtualClock
from voice.base.events import EpisodeEnded, EpisodeStarted
from voice.conversation.actions import AdjustVoice, Say, Wait
from voice.conversation.content import check_content
from voice.conversation.dialogue import EPISODE_INTENTS, IDLE_INTENTS, Dialogue

CONTENT = check_content()


class Night:
    """A dialogue plus its clock, with helpers to hear intents and let time pass."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.dialogue = Dialogue(CONTENT, self.clock)
        self.actions: list = list(self.dialogue.start())

    def hear(self, intent: str, at: Optional[float] = None) -> list:
        if at is not None:
            self.clock.advance_to(at)
        new = self.dialogue.hear(intent)
        self.actions += new
        return new

    def run(self, until: float) -> list:
        """Tick at every scheduled moment up to ``until``."""
        new = []
        while self.dialogue.next_wakeup is not None and self.dialogue.next_wakeup <= until:
            self.clock.advance_to(self.dialogue.next_wakeup)
            new += self.dialogue.tick()
        self.clock.advance_to(until)
        self.actions += new
        return new

    def said(self, actions: Optional[list] = None) -> List[str]:
        return [a.text for a in (self.actions if actions is None else actions) if isinstance(a, Say)]

    def ended(self) -> List[str]:
        return [a.outcome for a in self.actions if isinstance(a, EpisodeEnded)]


def test_trigger_reassures_and_gives_the_first_step_in_the_same_breath():
    night = Night()
    actions = night.hear("cramp", at=5)
    assert isinstance(actions[0], EpisodeStarted)
    said = night.said(actions)
    assert said[0] == CONTENT.disclaimer
    assert said[1].startswith(CONTENT.intro) and "Straighten your leg" in said[1]
    assert isinstance(actions[-1], Wait)


def test_hold_is_counted_down_then_the_next_step_follows():
    night = Night()
    night.hear("cramp")
    said = night.said(night.run(until=60))
    assert CONTENT.steps[0].while_holding in said
    assert "10 more seconds." in said
    assert any(s.startswith(CONTENT.hold_done) and "stand up" in s for s in said)


def test_without_answers_it_goes_through_every_step_then_falls_silent():
    night = Night()
    night.hear("cramp")
    night.run(until=3600)
    said = " ".join(night.said())
    for step in CONTENT.steps:
        assert step.say[0] in said
    assert night.said()[-1] == CONTENT.replies["no_answer"]
    assert night.ended() == ["no_answer"]
    assert night.dialogue.next_wakeup is None  # never loops all night
    assert night.run(until=8 * 3600) == []


@pytest.mark.parametrize("intent, expected_outcome, expected_text", [
    ("stop", "stopped", CONTENT.replies["stopped"]),
    ("okay", "okay", "I'm glad it's easing"),
    ("red_flag", "red_flag", "Please call emergency services or a doctor now."),
])
def test_ways_an_episode_ends(intent, expected_outcome, expected_text):
    night = Night()
    night.hear("cramp")
    night.run(until=20)
    actions = night.hear(intent)
    assert expected_text in " ".join(night.said(actions))
    assert night.ended() == [expected_outcome]
    assert not night.dialogue.in_episode


def test_its_gone_ends_kindly_with_exactly_one_prevention_tip():
    night = Night()
    night.hear("cramp")
    (text,) = night.said(night.hear("okay", at=30))
    assert sum(tip in text for tip in CONTENT.prevention_tips) == 1


def test_red_flag_gets_urgent_advice_first_even_when_idle():
    night = Night()
    actions = night.hear("red_flag", at=100)
    says = [a for a in actions if isinstance(a, Say)]
    assert says[0].kind == "urgent" and "emergency services" in says[0].text
    assert "Don't rub or stretch" in says[0].text


@pytest.mark.parametrize("command", ["next", "repeat", "stop", "slower", "louder", "quieter"])
def test_commands_work_at_any_point_of_an_episode(command):
    for moment in (1, 20, 45, 200):
        night = Night()
        night.hear("cramp")
        night.run(until=moment)
        if not night.dialogue.in_episode:
            continue
        assert night.hear(command), f"{command} did nothing at {moment} s"


def test_next_skips_the_hold_and_repeat_says_the_step_again():
    night = Night()
    night.hear("cramp")
    night.run(until=20)
    assert "stand up" in night.said(night.hear("next"))[0]
    assert "stand up" in night.said(night.hear("repeat"))[0]


def test_slower_louder_quieter_adjust_the_voice():
    night = Night()
    night.hear("cramp")
    slower = night.hear("slower")
    assert AdjustVoice(rate_factor=0.85) in slower and night.dialogue.words_per_minute < 140
    assert any(isinstance(a, AdjustVoice) and a.volume_change > 0 for a in night.hear("louder"))
    assert any(isinstance(a, AdjustVoice) and a.volume_change < 0 for a in night.hear("quieter"))


def test_cramp_still_there_after_the_protocol_gets_seek_care_advice():
    night = Night()
    night.hear("cramp")
    night.run(until=270)  # through every step, to the question
    assert night.said()[-1] == CONTENT.check
    text = " ".join(night.said(night.hear("yes")))
    assert CONTENT.topics["seek_care"][0] in text
    assert night.ended() == ["still_cramping"]


def test_no_after_the_protocol_ends_kindly():
    night = Night()
    night.hear("cramp")
    night.run(until=270)
    assert night.said()[-1] == CONTENT.check
    night.hear("no")
    assert night.ended() == ["okay"]


def test_a_long_cramp_gets_seek_care_advice_once():
    night = Night()
    night.hear("cramp")
    for moment in range(30, 700, 30):  # keeps saying "repeat" for more than ten minutes
        night.run(until=moment)
        night.hear("repeat")
    seek = CONTENT.topics["seek_care"][0]
    assert sum(seek in text for text in night.said()) == 1


@pytest.mark.parametrize("topic", ["causes", "prevention", "seek_care"])
def test_questions_are_answered_outside_a_cramp(topic):
    night = Night()
    (text,) = night.said(night.hear(topic))
    assert text == " ".join(CONTENT.topics[topic])
    assert not night.dialogue.in_episode


def test_a_question_during_a_cramp_is_answered_then_the_step_goes_on():
    night = Night()
    night.hear("cramp")
    night.run(until=20)
    said = night.said(night.hear("causes"))
    assert said[0] == " ".join(CONTENT.topics["causes"])
    assert said[1].startswith(CONTENT.replies["resume"]) and "Straighten your leg" in said[1]


def test_disclaimer_once_a_night():
    night = Night()
    night.hear("cramp")
    night.hear("okay", at=60)
    night.hear("cramp", at=3600)
    assert night.said().count(CONTENT.disclaimer) == 1
    night.hear("okay", at=3700)
    night.hear("cramp", at=3600 * 14)
    assert night.said().count(CONTENT.disclaimer) == 2


def test_idle_listens_only_for_what_can_start_a_conversation():
    night = Night()
    assert night.dialogue.listening_for == IDLE_INTENTS
    for intent in ("next", "okay", "yes", "no", "thanks"):
        assert night.hear(intent) == []
    night.hear("cramp")
    assert night.dialogue.listening_for == EPISODE_INTENTS


def test_someone_told_of_urgent_advice_is_said_once_and_never_without_it():
    night = Night()
    assert night.dialogue.told("Sam") == []  # nothing urgent was said: nobody was told of anything
    night.hear("red_flag")
    first = [a for a in night.dialogue.told("Sam") if isinstance(a, Say)]
    assert [say.text for say in first] == ["I've let Sam know."]
    urgent_end = next(a for a in night.actions if isinstance(a, Say) and a.kind == "urgent")
    assert first[0].start > urgent_end.start  # after the urgent advice, not over it
    assert night.dialogue.told("Sam") == []  # once


def test_the_advice_a_caregiver_hears_about_has_its_own_kind():
    still = Night()
    still.hear("cramp")
    for _ in CONTENT.steps:
        still.hear("next")
    answer = still.hear("yes")  # "Is the cramp still there?"
    assert [say.kind for say in answer if isinstance(say, Say)] == ["seek_care"]  # the still_cramping alert
    asked = Night()
    asked.hear("seek_care")  # a question answered: no alert
    assert [say.kind for say in asked.actions if isinstance(say, Say)] == ["info"]
