"""Real people and real rooms for ``bedside bench --real DIR`` (a folder with ``manifest.csv``,
such as ../shared/real; its README says what is in it).

Synthetic voices cannot show how the helper does in a real bedroom, so this measures:

* **streams heard while idle**, one per set: audiobook reading, single words from hundreds of
  people, snoring, other night sounds. Every time the helper would have spoken (relief, an
  answer, or a doubt question, which wakes the sleeper just the same) is a wake-up;
* **real people's commands**: "stop", "yes" and "no" during relief and after a doubt question;
  other words ("go", "up", "left"...) there, which are no command; and "stop" while the helper
  speaks, with the helper's own voice in the microphone (through its speaker and the room) as
  in live mode, where the echo canceller gets what the speaker played;
* **real background noise** (its ``noise/`` tracks) for mixing into the synthetic requests.

Rows are taken by the manifest's ``split`` (``tuning`` or ``test``, by speaker; noise is in
both). Nothing here is needed by the tests: a user machine has no such folder.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from voice.base.clock import VirtualClock
from voice.base.events import Heard, Said
from voice.bench.recordings import MIC_NOISE_DBFS, Clip, padded, through_speaker
from voice.conversation.actions import AdjustVoice, Say
from voice.conversation.content import Content
from voice.conversation.dialogue import Dialogue
from voice.conversation.pipeline import Conversation, Output
from voice.conversation.simulate import SimulationResult, activations
from voice.hearing.decision import COMMAND_WORDS
from voice.sound.audio import FRAME_SAMPLES, SAMPLE_RATE, read_audio_file
from voice.sound.echo import FarEnd

STREAM_SETS = ("audiobook", "words", "snoring", "night_sounds")
# The helper's own voice as the microphone hears it, against the person's "stop": as loud.
ECHO_DB = 0.0
BARGE_IN_SECONDS = 1.0  # "stop" must cut the helper off this soon after the word ends
# ... and not before this much of it was said: cut off during the word counts ("sto" is heard;
# the word's span, within 30 dB of its loudest, runs on into breath and room for 0.8-1 s).
HEARD_SECONDS = 0.25
# The helper's voice alone in the microphone, from a quiet night volume to a loud one (dBFS), in
# two rooms: it must never take itself for a "stop".
SELF_CUT_LEVELS_DBFS = (-42.0, -36.0, -30.0, -24.0, -18.0)
SELF_CUT_ROOMS = (5, 6)
FALSE_CUT_EVERY = 4  # of the words that are no "stop", these many apart are said over the helper
RED_FLAGS = ("red_flag", "red_flag_during")


@dataclass(frozen=True)
class RealRow:
    file: Path
    folder: str  # the manifest path's first part: commands, speech-long, bedroom or noise
    kind: str  # command | negative | noise
    label: str

    @property
    def stream_set(self) -> str:
        if self.folder == "bedroom":
            return "snoring" if self.label == "snoring" else "night_sounds"
        return {"speech-long": "audiobook", "commands": "words"}.get(self.folder, "")


def real_rows(folder: Path, which: str) -> List[RealRow]:
    """The manifest's rows of this split (``tuning`` or ``test``), and the noise of both."""
    with (folder / "manifest.csv").open(newline="") as manifest:
        return [RealRow(folder / row["path"], row["path"].split("/")[0], row["kind"], row["label"])
                for row in csv.DictReader(manifest) if row["split"] in (which, "both")]


@dataclass
class RealRecordings:
    streams: Dict[str, np.ndarray]  # set name -> one continuous recording, heard while idle
    commands: List[Clip]  # each real word, with a little room hiss around it; expected: the command or None
    noise: Dict[str, np.ndarray]  # name -> real background noise, for mixing into requests
    own_voice: np.ndarray  # what the helper says first after "cramp", in its own voice
    earlier_voice: np.ndarray  # a line it said before (a step of an earlier episode), in its own voice


def make_real_recordings(folder: Path, which: str, own_voice: np.ndarray, earlier_voice: np.ndarray,
                         seed: int = 3) -> RealRecordings:
    rows = real_rows(folder, which)
    rng = np.random.default_rng(seed)
    streams: Dict[str, np.ndarray] = {}
    for name in STREAM_SETS:
        parts = []
        for row in rows:
            if row.kind != "noise" and row.stream_set == name:
                gap = int(rng.uniform(0.3, 1.5) * SAMPLE_RATE)
                parts += [read_audio_file(row.file), hiss(gap, seed=len(parts))]
        if parts:
            streams[name] = np.concatenate(parts)
    noise = {row.label: read_audio_file(row.file) for row in rows if row.kind == "noise"}
    return RealRecordings(streams, command_clips(rows), noise, own_voice, earlier_voice)


def command_clips(rows: Sequence[RealRow]) -> List[Clip]:
    """Each real word of ``rows`` with a little room hiss around it; expected: the command, or
    None for another word."""
    return [Clip(f"{row.label}: {row.file.name}", padded(read_audio_file(row.file), seed=index),
                 speech_end=0.0, expected=row.label if row.label in COMMAND_WORDS else None,
                 voice="real", condition=row.label)
            for index, row in enumerate(row for row in rows if row.folder == "commands")]


def first_words(content: Content) -> str:
    """What the helper says first when someone says "cramp": what a "stop" talks over."""
    return " ".join(action.text for action in Dialogue(content, VirtualClock()).hear("cramp") if isinstance(action, Say))


def earlier_words(content: Content) -> str:
    """A line the helper said in an earlier episode of the night (its second step): what its echo
    canceller learned the room from."""
    return " ".join(content.steps[min(1, len(content.steps) - 1)].say)


def hiss(samples: int, seed: int = 0) -> np.ndarray:
    """A quiet room's microphone: faint hiss, no digital silence."""
    noise = np.random.default_rng(seed).normal(scale=32768 * 10 ** (MIC_NOISE_DBFS / 20), size=samples)
    return np.round(noise).astype(np.int16)


@dataclass
class RealReport:
    numbers: Dict[str, object]
    wakes: List[str] = field(default_factory=list)
    command_misses: List[str] = field(default_factory=list)


# One run of the helper on a recording, as ``bedside simulate`` runs it:
# ``run(name, samples, first_heard=None, first_doubtful=False)``.
Run = Callable[..., SimulationResult]
# A conversation as the benchmark runs them, on this clock and speaker, with this speaker's far
# end for echo cancellation.
Converse = Callable[[VirtualClock, Output, FarEnd], Conversation]


def bench_real(recordings: RealRecordings, run: Run, converse: Converse) -> RealReport:
    report = RealReport({})
    _streams(recordings, run, report)
    _commands(recordings, run, report)
    _barge_in(recordings, converse, report)
    return report


def _streams(recordings: RealRecordings, run: Run, report: RealReport) -> None:
    by_set: Dict[str, float] = {}
    minutes: Dict[str, float] = {}
    total_wakes, total_hours = 0, 0.0
    for name, samples in recordings.streams.items():
        result = run(f"real stream: {name}", samples)
        woke = sorted(activations(result.conversation) + activations(result.conversation, questions=True),
                      key=lambda event: event.t)
        hours = samples.size / SAMPLE_RATE / 3600
        by_set[name] = round(len(woke) / hours, 2)
        minutes[name] = round(hours * 60, 1)
        total_wakes += len(woke)
        total_hours += hours
        report.wakes += [f"{name} at {event.t:.0f} s: {event.text!r} -> {event.intent} ({event.certainty}, "
                         f"{event.confidence}, verifier {event.verifier})" for event in woke]
        if name == "snoring":
            report.numbers["snoring_wakes"] = len(woke)
    report.numbers.update({
        "real_wakes_per_hour": round(total_wakes / total_hours, 2) if total_hours else 0.0,
        "real_wakes_per_hour_by_set": by_set,
        "real_stream_minutes_by_set": minutes,
        "real_wakes": total_wakes,
    })


def acted_on(result: SimulationResult) -> List[Heard]:
    """What the helper heard and did something about (acted on, or asked about)."""
    return [event for event in result.conversation.heard if event.intent and event.certainty is not None]


def _commands(recordings: RealRecordings, run: Run, report: RealReport) -> None:
    """Each real word during relief, and after the doubt question "Did you say cramp?"."""
    right: Dict[str, List[bool]] = {word: [] for word in COMMAND_WORDS}
    by_context: Dict[str, List[bool]] = {}
    confusions: Counter = Counter()
    others_as_commands: List[bool] = []
    red_flags = urgent = 0
    for clip in recordings.commands:
        for context in ("during_relief", "after_question"):
            result = run(clip.name, clip.samples, first_heard="cramp", first_doubtful=context == "after_question")
            heard = acted_on(result)
            first = heard[0].intent if heard else None
            red_flags += any(event.intent in RED_FLAGS for event in heard)
            urgent += any(event.intent in RED_FLAGS and event.certainty == "sure" for event in heard)
            if first != clip.expected:
                confusions[f"{clip.expected or 'other word'} -> {first or 'nothing'}"] += 1
                if clip.expected is not None:
                    report.command_misses.append(f"{context}: {clip.name}: heard {_heard(result)}")
            if clip.expected is None:
                others_as_commands.append(first is not None)
            else:
                right[clip.expected].append(first == clip.expected)
                by_context.setdefault(context, []).append(first == clip.expected)
    every = [hit for hits in right.values() for hit in hits]
    report.numbers.update({
        "real_command_accuracy": _fraction(every),
        "real_command_accuracy_by_word": {word: _fraction(hits) for word, hits in right.items()},
        "real_command_accuracy_by_context": {context: _fraction(hits) for context, hits in by_context.items()},
        "real_other_words_as_command": _fraction(others_as_commands),
        "command_red_flag_confusions": red_flags,  # urgent advice, or the red-flag question
        "command_red_flag_urgent": urgent,  # of those, urgent advice at once
        "real_command_confusions": dict(confusions.most_common()),
    })


def _heard(result: SimulationResult) -> str:
    return "; ".join(f"{event.text!r} -> {event.intent} ({event.certainty}, {event.confidence})"
                     for event in result.conversation.heard) or "nothing"


def _barge_in(recordings: RealRecordings, converse: Converse, report: RealReport) -> None:
    """Each real "stop", said 1.5-3 s into the helper's first words after "cramp", while the
    microphone hears the helper's voice through its speaker and the room (voice.bench.recordings.
    through_speaker), ``ECHO_DB`` against the word; cut off from ``HEARD_SECONDS`` into the word
    to ``BARGE_IN_SECONDS`` after its end counts. Once with the echo canceller new (the night's
    first words; it heard only the quiet room before them), once after it has learned the room
    from an earlier line (a later episode). Then other words said the same way, which must not
    cut it off; and the helper's voice alone, to count how often it cuts itself off."""
    room = through_speaker(recordings.own_voice, seed=5).astype(np.float64)
    earlier_room = through_speaker(recordings.earlier_voice, seed=5).astype(np.float64)
    for key, learned in (("real_barge_in_stop", False), ("real_barge_in_stop_learned", True)):
        rng = np.random.default_rng(11)
        hits, delays = [], []
        early = 0
        for clip in recordings.commands:
            if clip.expected != "stop":
                continue
            person, echo, span, start = _said_over_helper(clip, room, rng)
            heard_at, stop_end = (start + span.start) / SAMPLE_RATE + HEARD_SECONDS, (start + span.stop) / SAMPLE_RATE
            earlier = (recordings.earlier_voice, earlier_room * (rms(echo) / max(rms(earlier_room), 1.0))) \
                if learned else None
            cut_at = barge_in(converse, recordings.own_voice, echo, person, earlier)
            hits.append(cut_at is not None and heard_at <= cut_at <= stop_end + BARGE_IN_SECONDS)
            if cut_at is not None:
                delays.append(cut_at - stop_end)
                early += cut_at < heard_at
        report.numbers[key] = _fraction(hits)
        if not learned:
            report.numbers["real_barge_in_delay_p50_s"] = round(float(np.median(delays)), 2) if delays else None
            report.numbers["real_barge_in_early_cuts"] = early  # before HEARD_SECONDS of the word
    report.numbers["real_barge_in_false_cuts"] = _false_cuts(recordings, converse, room)
    report.numbers["own_voice_self_cuts"] = self_cuts(converse, recordings.own_voice, recordings.earlier_voice)
    report.numbers["own_voice_self_cut_runs"] = 2 * len(SELF_CUT_LEVELS_DBFS) * len(SELF_CUT_ROOMS)


def _said_over_helper(clip: Clip, room: np.ndarray,
                      rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, slice, int]:
    """A real word said 1.5-3 s into the helper's first words (``room``: its voice as the
    microphone hears it): the person's part of the microphone, the helper's voice ``ECHO_DB``
    against the word, where the word is in the clip, and the sample it was said at."""
    start = int(rng.uniform(1.5, 3.0) * SAMPLE_RATE)
    person = np.concatenate([hiss(start, seed=start), clip.samples])
    span = speech_span(clip.samples)
    echo = room * (rms(clip.samples[span]) / max(rms(room), 1.0) * 10 ** (ECHO_DB / 20))
    return person, echo, span, start


def _false_cuts(recordings: RealRecordings, converse: Converse, room: np.ndarray) -> float:
    """How often a word that is no "stop" ("yes", "no", "go", "left"...), said as the "stop"s
    are over the helper's first words with its echo canceller new, cut the helper off by
    ``BARGE_IN_SECONDS`` after the word. Every ``FALSE_CUT_EVERY``th such word: each runs the
    helper's line up to there."""
    rng = np.random.default_rng(12)
    cuts = []
    for clip in [clip for clip in recordings.commands if clip.expected != "stop"][::FALSE_CUT_EVERY]:
        person, echo, span, start = _said_over_helper(clip, room, rng)
        end = start + span.stop + int(BARGE_IN_SECONDS * SAMPLE_RATE)
        cuts.append(barge_in(converse, recordings.own_voice, echo[:end], person[:end]) is not None)
    return _fraction(cuts)


def self_cuts(converse: Converse, played: np.ndarray, earlier_played: np.ndarray) -> int:
    """How often the helper's voice alone in the microphone cut it off: at each of
    ``SELF_CUT_LEVELS_DBFS`` in each of ``SELF_CUT_ROOMS``, with the echo canceller new and after
    it has learned the room from ``earlier_played``."""
    return sum(own_voice_alone(converse, played, earlier_played, room, level, learned) is not None
               for room in SELF_CUT_ROOMS for level in SELF_CUT_LEVELS_DBFS for learned in (False, True))


def own_voice_alone(converse: Converse, played: np.ndarray, earlier_played: np.ndarray, room: int,
                    level_dbfs: float, learned: bool) -> Optional[float]:
    """The helper says ``played`` and the microphone hears only that, through ``room`` (a seed of
    voice.bench.recordings.through_speaker) at ``level_dbfs``; ``learned``: its echo canceller
    first learned the room from ``earlier_played``. Returns the moment it cut itself off, or None."""
    echo, earlier_echo = (through_speaker(signal, seed=room).astype(np.float64) for signal in (played, earlier_played))
    echo, earlier_echo = (signal * 32768 * 10 ** (level_dbfs / 20) / max(rms(signal), 1.0)
                          for signal in (echo, earlier_echo))
    earlier = (earlier_played, earlier_echo) if learned else None
    return barge_in(converse, played, echo, hiss(echo.size + SAMPLE_RATE, seed=room), earlier)


def barge_in(converse: Converse, played: np.ndarray, echo: np.ndarray, person: np.ndarray,
             earlier: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> Optional[float]:
    """The helper hears "cramp" and starts speaking, playing ``played``; while it speaks the
    microphone gets ``echo`` (its voice as the microphone hears it) as well as ``person``.
    ``earlier``: what the helper played and the microphone heard before, which the echo
    canceller has learned the room from. Returns the moment it was cut off, or None."""
    clock = VirtualClock()
    speaker = EchoingSpeaker(clock, played.size / SAMPLE_RATE)
    far_end = FarEnd()
    conversation = converse(clock, speaker, far_end)
    if earlier is not None:
        _learn_room(conversation, far_end, *earlier)
    _hear_quiet_room(conversation)
    conversation.hear("cramp")
    length = max(echo.size, person.size) // FRAME_SAMPLES * FRAME_SAMPLES + FRAME_SAMPLES
    played, echo, person = (np.pad(signal.astype(np.float64), (0, max(0, length - signal.size)))
                            for signal in (played, echo, person))
    for start in range(0, length, FRAME_SAMPLES):
        frame = slice(start, start + FRAME_SAMPLES)
        heard = person[frame]
        if speaker.speaking():
            far_end.played(played[frame].astype(np.int16))
            heard = heard + echo[frame]
        clock.advance_to((start + FRAME_SAMPLES) / SAMPLE_RATE)
        conversation.feed(np.clip(np.round(heard), -32768, 32767).astype("<i2").tobytes())
        if speaker.cut_at is not None:
            return speaker.cut_at
    conversation.end_stream()
    return speaker.cut_at


def _learn_room(conversation: Conversation, far_end: FarEnd, played: np.ndarray, echo: np.ndarray) -> None:
    """Run the conversation's echo canceller over an earlier line of the helper's: its filter
    keeps what it learned of the room, as it does all night."""
    assert conversation.echo is not None
    length = min(played.size, echo.size) // FRAME_SAMPLES * FRAME_SAMPLES
    heard = np.clip(np.round(echo[:length] + hiss(length, seed=length)), -32768, 32767).astype("<i2")
    for start in range(0, length, FRAME_SAMPLES):
        far_end.played(played[start : start + FRAME_SAMPLES].astype(np.int16))
        conversation.echo.clean(heard[start : start + FRAME_SAMPLES].tobytes())


def _hear_quiet_room(conversation: Conversation) -> None:
    """A second of the quiet room for the echo canceller, as live it hears the room around
    "cramp" before the helper answers: the room it puts back under its own voice (comfort
    noise, voice.sound.echo)."""
    if conversation.echo is None:
        return
    quiet = hiss(SAMPLE_RATE, seed=1).astype("<i2")
    for start in range(0, quiet.size - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        conversation.echo.clean(quiet[start : start + FRAME_SAMPLES].tobytes())


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def speech_span(samples: np.ndarray) -> slice:
    """Where the word is: the 10 ms blocks within 30 dB of the loudest."""
    blocks = samples[: samples.size // 160 * 160].astype(np.float64).reshape(-1, 160)
    energy = 10 * np.log10(np.mean(blocks ** 2, axis=1) + 1.0)
    loud = np.flatnonzero(energy > energy.max() - 30)
    return slice(int(loud[0] * 160), int((loud[-1] + 1) * 160)) if loud.size else slice(0, samples.size)


def _fraction(hits: Sequence[bool]) -> float:
    return round(sum(hits) / len(hits), 4) if hits else 0.0


class EchoingSpeaker:
    """The helper's speaker in virtual time, for barge-in: it speaks from the first ``say`` for
    as long as its own voice lasts, and is silent once cut off."""

    def __init__(self, clock: VirtualClock, seconds: float) -> None:
        self._clock = clock
        self._seconds = seconds
        self.began: Optional[float] = None
        self.cut_at: Optional[float] = None

    def say(self, said: Said) -> None:
        if self.began is None:
            self.began = said.t

    def adjust(self, change: AdjustVoice) -> None:
        pass

    def cut(self) -> None:
        if self.cut_at is None:
            self.cut_at = self._clock.now()

    def speaking(self) -> bool:
        return self.began is not None and self.cut_at is None and self._clock.now() < self.began + self._seconds
