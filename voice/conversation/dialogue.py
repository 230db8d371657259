"""The dialogue manager: a pure state machine that guides someone through a cramp.

Events come in (``hear(intent)``, ``tick()``), actions go out (``Say``, ``Wait``, ``ListenFor``,
``AdjustVoice``, ``EpisodeStarted``, ``EpisodeEnded``). Time comes only from the injected clock,
so a simulation can run a whole night in milliseconds and tests can step through every path.
The dialogue never does I/O; the runner (``voice.conversation.pipeline``) turns actions into sound.
"""

from __future__ import annotations

from typing import Callable, FrozenSet, List, Optional

from voice.base.clock import Clock
from voice.base.events import EpisodeEnded, EpisodeStarted, Summary
from voice.conversation.actions import Action, AdjustVoice, ListenFor, Say, Wait, estimate_speech_seconds
from voice.conversation.content import Content
from voice.hearing.decision import URGENT_INTENTS

# Given a number of days, the night log's summary of them; None when no log is kept.
RecentCramps = Callable[[int], Optional[Summary]]

# When idle, few intents are listened for: short commands are easy to hear by chance in
# background speech, and they mean nothing until a conversation has started. ("stop" is
# listened for whenever the helper speaks; see WHILE_SPEAKING.)
IDLE_INTENTS = frozenset({"cramp", "red_flag", "causes", "prevention", "seek_care", "summary", "help"})
EPISODE_INTENTS = IDLE_INTENTS | {
    "next", "repeat", "okay", "yes", "no", "slower", "louder", "quieter", "thanks", "stop",
    "red_flag_during",  # "it feels warm": a red flag only when "it" can be the cramping leg
    "still_cramping",  # "it's still there": go over the current step again
}
# After a doubt question ("Did you say cramp?") while idle: the answer ("stop" answers no), or
# the request again.
CONFIRM_INTENTS = IDLE_INTENTS | {"yes", "no", "stop"}
# While the helper's own voice plays, only "stop" may interrupt it (see pipeline.Conversation).
WHILE_SPEAKING = "while_speaking"
VOCABULARIES = {"idle": IDLE_INTENTS, "episode": EPISODE_INTENTS, "confirm": CONFIRM_INTENTS,
                WHILE_SPEAKING: frozenset({"stop"})}
# A second doubtful request this soon after the first counts as sure: people in pain say it again.
# Not for red flags: urgent advice is frightening, so a doubtful red flag is always asked about
# (background talk heard twice in doubt as "one leg is swollen" gave it in a soak).
REPEAT_SECONDS = 20.0

RATE_STEP = 0.85  # "slower" multiplies the speaking rate by this
VOLUME_STEP = 0.15


class Dialogue:
    """One night's conversation. Create it once and keep it for the whole night."""

    def __init__(self, content: Content, clock: Clock, words_per_minute: float = 140.0,
                 speech_seconds: Callable[[str, float], float] = estimate_speech_seconds,
                 recent_cramps: Optional[RecentCramps] = None) -> None:
        self.content = content
        self.clock = clock
        self.words_per_minute = words_per_minute
        self._speech_seconds = speech_seconds
        self._recent_cramps = recent_cramps
        self._steps_used: List[str] = []
        self._suggested_at: Optional[float] = None
        self._phase = "idle"  # idle | step | hold | check
        self._step = 0
        self._episode_start = 0.0
        self._seek_care_given = False
        self._disclaimer_at: Optional[float] = None
        self._tip = 0
        self._speech_end = 0.0
        self._last_said: List[str] = []
        # Scheduled sayings of the current phase: (time, text), then what happens at ``_deadline``.
        self._cues: List[tuple] = []
        self._deadline: Optional[float] = None
        # A doubt question waiting for its answer: the intent asked about, and until when.
        self._asked: Optional[str] = None
        self._asked_until = 0.0
        self._doubted_at: dict = {}  # intent -> when it was last heard with doubt
        self._urgent_untold = False  # urgent advice given; nobody has been told of it yet

    # --- public -------------------------------------------------------------------------

    @property
    def in_episode(self) -> bool:
        return self._phase != "idle"

    @property
    def speaking_until(self) -> float:
        """When everything said so far will have been spoken (by the speech-time estimate)."""
        return self._speech_end

    @property
    def vocabulary(self) -> str:
        """The name of the vocabulary (in ``VOCABULARIES``) to listen with now."""
        if self.in_episode:
            return "episode"
        return "confirm" if self._asked is not None else "idle"

    @property
    def asking(self) -> Optional[str]:
        """The intent a doubt question is waiting to hear "yes" about, if any."""
        return self._asked

    @property
    def listening_for(self) -> FrozenSet[str]:
        return VOCABULARIES[self.vocabulary]

    @property
    def next_wakeup(self) -> Optional[float]:
        """The clock time at which ``tick()`` has something to do, or None when idle."""
        times = [cue[0] for cue in self._cues] + ([self._deadline] if self._deadline is not None else [])
        if self._asked is not None:
            times.append(self._asked_until)
        return min(times) if times else None

    def start(self) -> List[Action]:
        return [ListenFor(IDLE_INTENTS)]

    def hear(self, intent: str, doubtful: bool = False) -> List[Action]:
        """React to one recognized intent; intents not listened for are ignored.

        ``doubtful``: heard, but not clearly. The helper then asks one short question (the
        content's ``confirm``) and acts on "yes"; intents without a question are let go. The
        same request heard with doubt twice within ``REPEAT_SECONDS`` counts as sure, except a
        red flag, which is asked about again."""
        if intent not in self.listening_for:
            return []
        if self._asked is not None and intent in ("yes", "no", "stop"):
            return self._answered(intent == "yes") + self._wait_action()
        if doubtful and not self._doubt_confirmed(intent):
            return self._ask(intent) + self._wait_action()
        self._asked = None
        actions: List[Action] = getattr(self, f"_on_{intent}")()
        return actions + self._wait_action()

    def told(self, name: str) -> List[Action]:
        """An alert about the urgent advice reached ``name`` (the runner saw it delivered): say so,
        once per urgent advice. Never called unless it really was delivered."""
        if not self._urgent_untold:
            return []
        self._urgent_untold = False
        return self._say(self.content.replies["told"].format(name=name)) + self._wait_action()

    def tick(self) -> List[Action]:
        """Let time pass: say due countdowns, move on when a pause ran out."""
        now = self.clock.now()
        actions: List[Action] = []
        if self._asked is not None and self._asked_until <= now:
            self._asked = None  # no answer to the doubt question: stay quiet
        while self._cues and self._cues[0][0] <= now:
            _, text = self._cues.pop(0)
            actions += self._say(text, "countdown")
        if self._deadline is not None and self._deadline <= now:
            self._deadline = None
            actions += self._on_deadline()
        if (self.in_episode and not self._seek_care_given
                and now - self._episode_start >= self.content.settings.long_cramp_seconds):
            self._seek_care_given = True
            actions += self._say(" ".join(self.content.topics["seek_care"]), "seek_care")
        return actions + (self._wait_action() if actions else [])

    # --- doubt ---------------------------------------------------------------------------

    def _doubt_confirmed(self, intent: str) -> bool:
        """A doubtful request said again soon after counts as sure; otherwise remember it."""
        if intent in URGENT_INTENTS:
            return False
        now = self.clock.now()
        before = self._doubted_at.get(intent)
        self._doubted_at[intent] = now
        if before is not None and now - before <= REPEAT_SECONDS:
            del self._doubted_at[intent]
            return True
        return False

    def _ask(self, intent: str) -> List[Action]:
        question = self.content.confirm.get(intent)
        if question is None:
            return []
        self._asked = intent
        actions = self._say(question, "question")
        self._asked_until = self._speech_end + self.content.settings.confirm_wait_seconds
        return actions

    def _answered(self, yes: bool) -> List[Action]:
        intent, self._asked = self._asked, None
        if not yes:
            return []  # "no": go quiet, or carry on with the cramp steps as they were
        self._doubted_at.pop(intent, None)
        return getattr(self, f"_on_{intent}")()

    # --- intents ------------------------------------------------------------------------

    def _on_cramp(self) -> List[Action]:
        if self._phase == "check":
            return self._on_yes()
        if self.in_episode:  # "it still hurts" during the steps: go over the current step again
            return self._present_step(self._step)
        return self._start_episode()

    def _on_still_cramping(self) -> List[Action]:
        return self._on_cramp()

    def _on_next(self) -> List[Action]:
        return self._advance()

    def _on_repeat(self) -> List[Action]:
        if self._phase == "check":
            return self._ask_check()
        if self.in_episode:
            return self._present_step(self._step)
        return self._say(" ".join(self._last_said), "reply") if self._last_said else []

    def _on_stop(self) -> List[Action]:
        if not self.in_episode:
            return []  # the runner has already cut off any speech
        return self._say(self.content.replies["stopped"]) + self._end("stopped")

    def _on_okay(self) -> List[Action]:
        tips = self.content.prevention_tips
        tip = tips[self._tip % len(tips)]
        self._tip += 1
        actions = self._say(self.content.replies["okay"].format(tip=tip)) + self._end("okay")
        return actions + self._suggest_doctor_if_frequent()

    def _suggest_doctor_if_frequent(self) -> List[Action]:
        """After relief, once a night: cramps on many recent nights are worth a doctor's visit."""
        frequent = self.content.frequent_cramps
        now = self.clock.now()
        if self._recent_cramps is None or (self._suggested_at is not None and now - self._suggested_at < 20 * 3600):
            return []
        summary = self._recent_cramps(frequent.within_days)
        if summary is None or summary.nights < frequent.nights:
            return []
        self._suggested_at = now
        return self._say(frequent.suggest.format(nights=summary.nights, days=frequent.within_days), "frequent")

    def _on_summary(self) -> List[Action]:
        frequent = self.content.frequent_cramps
        days = frequent.within_days
        summary = self._recent_cramps(days) if self._recent_cramps else None
        if summary is None:
            text = frequent.no_log
        elif summary.episodes == 0:
            text = frequent.no_cramps.format(days=days)
        else:
            text = frequent.summary.format(days=days, nights=summary.nights, episodes=summary.episodes,
                                           minutes=f"{summary.average_minutes or 0:.0f}")
        return self._answer_text(text)

    def _on_yes(self) -> List[Action]:
        if self._phase != "check":
            return []
        replies = self.content.replies
        self._seek_care_given = True
        text = " ".join([replies["still_cramping"], *self.content.topics["seek_care"], replies["again"]])
        return self._say(text, "seek_care") + self._end("still_cramping")

    def _on_no(self) -> List[Action]:
        return self._on_okay() if self._phase == "check" else []

    def _on_red_flag(self) -> List[Action]:
        self._urgent_untold = True
        actions = self._say(" ".join(self.content.topics["urgent"]), "urgent")
        return actions + (self._end("red_flag") if self.in_episode else [])

    def _on_red_flag_during(self) -> List[Action]:
        return self._on_red_flag()

    def _on_causes(self) -> List[Action]:
        return self._answer("causes")

    def _on_prevention(self) -> List[Action]:
        return self._answer("prevention")

    def _on_seek_care(self) -> List[Action]:
        self._seek_care_given = self._seek_care_given or self.in_episode
        return self._answer("seek_care")

    def _on_help(self) -> List[Action]:
        return self._say(self.content.replies["help"])

    def _on_thanks(self) -> List[Action]:
        return self._say(self.content.replies["thanks"])

    def _on_slower(self) -> List[Action]:
        self.words_per_minute *= RATE_STEP
        return [AdjustVoice(rate_factor=RATE_STEP)] + self._say(self.content.replies["slower"])

    def _on_louder(self) -> List[Action]:
        return [AdjustVoice(volume_change=VOLUME_STEP)] + self._say(self.content.replies["louder"])

    def _on_quieter(self) -> List[Action]:
        return [AdjustVoice(volume_change=-VOLUME_STEP)] + self._say(self.content.replies["quieter"])

    # --- the relief protocol -------------------------------------------------------------

    def _start_episode(self) -> List[Action]:
        now = self.clock.now()
        self._episode_start = now
        self._seek_care_given = False
        self._steps_used = []
        actions: List[Action] = [EpisodeStarted(now), ListenFor(EPISODE_INTENTS)]
        every = self.content.settings.disclaimer_every_hours * 3600.0
        if self._disclaimer_at is None or now - self._disclaimer_at >= every:
            self._disclaimer_at = now
            actions += self._say(self.content.disclaimer, "info")
        return actions + self._present_step(0, lead_in=self.content.intro)

    def _present_step(self, index: int, lead_in: str = "") -> List[Action]:
        self._step = index
        step = self.content.steps[index]
        if step.id not in self._steps_used:
            self._steps_used.append(step.id)
        actions = self._say(" ".join(([lead_in] if lead_in else []) + list(step.say)), "step")
        start = self._speech_end
        if step.hold_seconds:
            self._phase = "hold"
            end = start + step.hold_seconds
            cues = []
            if step.while_holding and step.hold_seconds > 15:
                cues.append((start + 5.0, step.while_holding))
            for remaining in sorted(self.content.settings.countdown_at_seconds, reverse=True):
                if remaining < step.hold_seconds and (not cues or end - remaining > cues[-1][0] + 3):
                    cues.append((end - remaining, self.content.countdown.format(seconds=f"{remaining:g}")))
            self._cues = cues
            self._deadline = end
        else:
            self._phase = "step"
            self._cues = []
            self._deadline = start + self.content.settings.step_wait_seconds
        return actions

    def _advance(self) -> List[Action]:
        if self._phase == "check" or not self.in_episode:
            return []
        if self._step + 1 < len(self.content.steps):
            return self._present_step(self._step + 1)
        return self._ask_check()

    def _ask_check(self) -> List[Action]:
        self._phase = "check"
        self._cues = []
        actions = self._say(self.content.check, "step")
        self._deadline = self._speech_end + self.content.settings.answer_wait_seconds
        return actions

    def _on_deadline(self) -> List[Action]:
        if self._phase == "hold":
            lead_in = self.content.hold_done
            if self._step + 1 < len(self.content.steps):
                return self._present_step(self._step + 1, lead_in=lead_in)
            return self._say(lead_in, "step") + self._ask_check()
        if self._phase == "step":
            return self._advance()
        if self._phase == "check":  # no answer: fall silent for the night
            return self._say(self.content.replies["no_answer"]) + self._end("no_answer")
        return []

    def _answer(self, topic: str) -> List[Action]:
        return self._answer_text(" ".join(self.content.topics[topic]))

    def _answer_text(self, text: str) -> List[Action]:
        actions = self._say(text, "info")
        if self._phase in ("step", "hold"):  # a question mid-cramp: then carry on with the same step
            return actions + self._present_step(self._step, lead_in=self.content.replies["resume"])
        if self._phase == "check":
            return actions + self._ask_check()
        return actions

    def _end(self, outcome: str) -> List[Action]:
        self._phase = "idle"
        self._cues = []
        self._deadline = None
        return [EpisodeEnded(self.clock.now(), outcome, tuple(self._steps_used)), ListenFor(IDLE_INTENTS)]

    # --- helpers ------------------------------------------------------------------------

    def _say(self, text: str, kind: str = "reply") -> List[Action]:
        start = max(self.clock.now(), self._speech_end)
        self._speech_end = start + self._speech_seconds(text, self.words_per_minute)
        if kind != "countdown":
            self._last_said = [text]
        return [Say(text, kind, start)]

    def _wait_action(self) -> List[Action]:
        wakeup = self.next_wakeup
        return [Wait(wakeup)] if wakeup is not None else []

