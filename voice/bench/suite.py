"""``bedside bench``: how well and how fast the helper hears, on recordings, per engine.

Every clip goes through ``simulate_samples``, the code ``bedside simulate`` runs. The numbers
and what they mean are in docs/benchmarks.md.
"""

from __future__ import annotations

import hashlib
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from voice.base.clock import VirtualClock
from voice.base.errors import BedsideError
from voice.base.events import EpisodeStarted, Said
from voice.base.process import resident_mb
from voice.base.progress import terminal_progress
from voice.bench.real import RealRecordings, RealReport, bench_real, earlier_words, first_words, make_real_recordings
from voice.bench.recordings import (COMMANDS, DISTANT, FORMANT, OWN_VOICE, REAL_NOISE, REAL_NOISE_PREFIX, RED_FLAGS,
                                    RED_FLAGS_DURING, SNRS_DB, TRIGGERS, VOICES, Clip, ClipSynthesizer,
                                    continuous_stream, negative_clips, noises, spoken_clips)
from voice.bench.sounds import brown_noise
from voice.conversation.content import Content
from voice.conversation.dialogue import VOCABULARIES, Dialogue
from voice.conversation.pipeline import MAX_UTTERANCE_SECONDS, Conversation, Output
from voice.conversation.simulate import SimulationResult, activations, simulate_samples
from voice.hearing.command_model import WEIGHTS as COMMAND_WEIGHTS, CommandModel, load_command_model
from voice.hearing.decision import Gates, Opinion, gates_for
from voice.hearing.intents import IntentMatcher, Vocabulary
from voice.hearing.recognizer import Recognizer, Transcript, WholeUtterance, find_vosk_model, open_recognizer
from voice.hearing.verifier import WEIGHTS, Verifier, load_verifier
from voice.sound.audio import SAMPLE_RATE
from voice.sound.echo import FarEnd, echo_canceller


@dataclass
class Recordings:
    requests: List[Clip]  # cramp requests, each followed by a "yes"
    red_flags: List[Clip]
    red_flags_during: List[Clip]  # said mid-relief
    commands: List[Clip]
    negatives: List[Clip]
    stream: np.ndarray
    real: Optional[RealRecordings] = None  # real people and rooms (``--real``)


CONDITIONS = ["clean", DISTANT, *[f"snr{snr}" for snr in SNRS_DB]]
REAL_NOISE_CONDITIONS = [f"snr{snr}{REAL_NOISE}" for snr in (10, 5)]
RED_FLAG_INTENTS = ("red_flag", "red_flag_during")


def make_recordings(corpus: Optional[Path], which: str = "test", stream_minutes: float = 10.0,
                    conditions: Sequence[str] = CONDITIONS, quick: bool = False, real: Optional[Path] = None,
                    content: Optional[Content] = None) -> Recordings:
    """``quick``: clean and 10 dB only, one speaker per voice (a smoke run, minutes faster).
    ``real``: a folder of real people and rooms (benchreal), with ``content`` for what the
    helper says when someone talks over it."""
    synth = ClipSynthesizer()
    try:
        noise = noises(corpus)
        voices = VOICES[which]
        if quick:
            conditions = [condition for condition in conditions if condition in ("clean", "snr10")]
        real_recordings = None
        if real is not None and content is not None:
            own_voice = synth.speech(first_words(content), OWN_VOICE)
            real_recordings = make_real_recordings(real, which, own_voice, synth.speech(earlier_words(content), OWN_VOICE))
            noise.update({REAL_NOISE_PREFIX + name: samples for name, samples in real_recordings.noise.items()})
            conditions = [*conditions, *REAL_NOISE_CONDITIONS[: 1 if quick else 2]]
        requests = spoken_clips(synth, [(text, "cramp") for text in TRIGGERS[which]], voices, noise, conditions,
                                answers=True, more_speakers=not quick)
        red_flags = spoken_clips(synth, [(text, "red_flag") for text in RED_FLAGS[which]], voices, noise,
                                 ["clean", "snr10"], answers=True)
        red_flags_during = spoken_clips(synth, [(text, "red_flag_during") for text in RED_FLAGS_DURING[which]], voices,
                                        noise, ["clean", "snr10"], answers=True)
        commands = spoken_clips(synth, COMMANDS[which], voices, noise, ["clean"])
        negatives = negative_clips(synth, corpus, noise, which, voices)
    finally:
        synth.close()
    return Recordings(requests, red_flags, red_flags_during, commands, negatives,
                      continuous_stream(negatives, stream_minutes), real_recordings)


@dataclass
class EngineReport:
    numbers: Dict[str, Any]  # numbers, and the verifier's name and ``without_verifier``
    recall_by_voice: Dict[str, float]
    latencies: List[float]
    missed: List[str] = field(default_factory=list)
    false_triggers: List[str] = field(default_factory=list)
    confused: List[str] = field(default_factory=list)  # a cramp taken for a red flag, or the reverse
    real: Optional[RealReport] = None


def _fraction(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 0.0


@dataclass(frozen=True)
class Outcome:
    """What became of one spoken request."""

    started: bool  # relief (or, for a red flag, the urgent advice) began
    asked: bool  # a doubt question came first
    confused: bool  # urgent advice for a cramp, or relief with no urgent advice for a red flag
    latency: Optional[float]  # end of speech to the first word of the answer or question


def outcome(result: SimulationResult, clip: Clip) -> Outcome:
    events = result.conversation.events
    said = [event for event in events if isinstance(event, Said)]
    urgent = any(event.kind == "urgent" for event in said)
    if clip.expected in RED_FLAG_INTENTS:
        started = urgent
        confused = not urgent and any(isinstance(event, EpisodeStarted) for event in events)
    else:
        started = any(isinstance(event, EpisodeStarted) for event in events)
        confused = urgent
    first = next((event for event in said if event.kind in ("question", "info", "step", "urgent")), None)
    asked = started and first is not None and first.kind == "question"
    latency = None
    if first is not None and result.decision_seconds:
        latency = first.t - clip.speech_end + result.decision_seconds[0]
    return Outcome(started, asked, confused, latency)


class MemoRecognizer(WholeUtterance):
    """An engine that remembers what it heard in each utterance, so the benchmark's second pass
    (without the verifier) decodes only the utterances the first pass did not."""

    def __init__(self, engine: Recognizer) -> None:
        super().__init__()
        self._engine = engine
        self.name, self.model = engine.name, engine.model
        self._vocabulary = ""
        self._heard: Dict[tuple, Optional[Transcript]] = {}

    def select(self, vocabulary: str) -> None:
        self._vocabulary = vocabulary
        self._engine.select(vocabulary)

    def finish(self) -> Optional[Transcript]:
        audio = self.whole_utterance()
        key = (self._vocabulary, hashlib.blake2b(audio, digest_size=16).digest())
        if key not in self._heard:
            self._engine.start()
            self._engine.accept(audio)
            self._heard[key] = self._engine.finish()
        return self._heard[key]


class TimedVerifier:
    """A verifier that keeps the time each of its scores took."""

    def __init__(self, verifier: Verifier) -> None:
        self._verifier = verifier
        self.seconds: List[float] = []

    def score(self, audio: bytes, transcript: Transcript) -> float:
        started = time.perf_counter()
        score = self._verifier.score(audio, transcript)
        self.seconds.append(time.perf_counter() - started)
        return score

    def opinion(self, score: float) -> Opinion:
        return self._verifier.opinion(score)

    @property
    def kind(self) -> str:
        return self._verifier.kind


# What ``without_verifier`` repeats from the run without it.
WITHOUT_VERIFIER_NUMBERS = ("recall_clean", "recall_snr10", "recall_distant", "red_flag_recall", "red_flag_confusions",
                            "red_flag_during_recall", "false_wakes_per_hour", "questions_per_hour", "false_trigger_rate_utterances",
                            "asked_share", "recall_snr10_real_noise", "real_wakes_per_hour", "real_wakes_per_hour_by_set",
                            "snoring_wakes")


def bench_with_verifier(engine: str, content: Content, recordings: Recordings, model: Optional[str] = None,
                        weights: Optional[Path] = WEIGHTS,
                        command_weights: Optional[Path] = COMMAND_WEIGHTS) -> EngineReport:
    """The engine with the verifier of ``weights`` (when they load), and the same recordings
    without it under ``without_verifier``; each utterance is decoded once for both. The command
    model of ``command_weights`` (when it loads) hears commands in both."""
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    load_started = time.perf_counter()
    recognizer = MemoRecognizer(open_recognizer(engine, matcher.vocabularies(VOCABULARIES), model))
    model_load = time.perf_counter() - load_started
    verifier, rss_before, rss_loaded = None, (resident_mb() or 0.0), 0.0
    if weights is not None:
        try:
            loaded = load_verifier(recognizer.name, weights)
        except BedsideError as error:
            print(f"bedside: {error}; benchmarking without it", file=sys.stderr)
        else:
            # What it adds to the helper: the models, and their buffers at the longest utterance.
            loaded.score(brown_noise(MAX_UTTERANCE_SECONDS).tobytes(), Transcript("cramp", -3.0, 1.0, -3.0))
            rss_loaded = (resident_mb() or 0.0) - rss_before
            verifier = TimedVerifier(loaded)
    commands = None
    if command_weights is not None:
        try:
            commands = load_command_model(command_weights)
        except BedsideError as error:
            print(f"bedside: {error}", file=sys.stderr)
    report = bench_engine(engine, content, recordings, lambda vocabularies: recognizer, verifier=verifier,
                          commands=commands)
    report.numbers["model_load_s"] = round(model_load, 3)
    if verifier is None:
        return report
    seconds = np.array(verifier.seconds or [np.nan]) * 1000
    report.numbers.update({
        "verifier": verifier.kind,
        "verifier_scored_utterances": len(verifier.seconds),
        "verifier_ms_per_utterance_p50": round(float(np.percentile(seconds, 50)), 1),
        "verifier_ms_per_utterance_p95": round(float(np.percentile(seconds, 95)), 1),
        "verifier_rss_mb": round(rss_loaded, 1),
    })
    without = bench_engine(engine, content, recordings, lambda vocabularies: recognizer, commands=commands)
    report.numbers["without_verifier"] = {name: without.numbers[name] for name in WITHOUT_VERIFIER_NUMBERS
                                          if name in without.numbers}
    return report


def bench_engine(engine: str, content: Content, recordings: Recordings,
                 recognizer_factory: Optional[Callable[[Dict[str, Vocabulary]], Recognizer]] = None,
                 model: Optional[str] = None, gates: Optional[Gates] = None,
                 verifier: Optional[Verifier] = None, commands: Optional[CommandModel] = None) -> EngineReport:
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    vocabularies = matcher.vocabularies(VOCABULARIES)
    load_started = time.perf_counter()
    if recognizer_factory is not None:
        recognizer = recognizer_factory(vocabularies)
    else:
        recognizer = open_recognizer(engine, vocabularies, model)
    model_load = time.perf_counter() - load_started
    gates = gates or gates_for(recognizer.name, verified=verifier is not None)
    audio_seconds = processing_seconds = 0.0
    utterances = 0
    show_progress = terminal_progress(engine)
    total = sum(len(clips) for clips in (recordings.requests, recordings.red_flags, recordings.red_flags_during,
                                         recordings.commands, recordings.negatives)) + 2
    if recordings.real is not None:
        total += len(recordings.real.streams) + 2 * len(recordings.real.commands)
    done = 0

    def simulated(name: str, samples: np.ndarray, first_heard: Optional[str] = None, first_doubtful: bool = False,
                  answer: Optional[Callable[[str], Optional[np.ndarray]]] = None) -> SimulationResult:
        nonlocal audio_seconds, processing_seconds, utterances, done
        result = simulate_samples(name, samples, recognizer, matcher, content, first_heard=first_heard, gates=gates,
                                  answer=answer, verifier=verifier, first_doubtful=first_doubtful, commands=commands)
        audio_seconds += result.audio_seconds
        processing_seconds += result.processing_seconds
        utterances += result.utterances
        done += 1
        show_progress(done, total)
        return result

    def run(clip: Clip, first_heard: Optional[str] = None) -> SimulationResult:
        return simulated(clip.name, clip.samples, first_heard, answer=clip.answer)

    def converse(clock: VirtualClock, output: Output, far_end: FarEnd) -> Conversation:
        return Conversation(recognizer, matcher, Dialogue(content, clock), clock, output, gates=gates, verifier=verifier,
                            commands=commands, echo=echo_canceller(far_end))

    recall: Dict[str, List[bool]] = {}
    by_voice: Dict[str, List[bool]] = {}
    asked: List[bool] = []
    latencies: List[float] = []
    missed: List[str] = []
    confusions = 0
    confused: List[str] = []

    def judged(clip: Clip) -> Outcome:
        nonlocal confusions
        simulated = run(clip)
        result = outcome(simulated, clip)
        confusions += result.confused
        if result.confused:
            confused.append(f"{clip.expected} {clip.condition}: {clip.name}: heard {_heard(simulated)}")
        return result

    for clip in recordings.requests:
        result = judged(clip)
        condition = clip.condition + ("_formant" if clip.voice == FORMANT else "")
        recall.setdefault(condition, []).append(result.started)
        if clip.condition == "clean":
            by_voice.setdefault(clip.voice, []).append(result.started)
        if result.started and clip.voice != FORMANT:
            asked.append(result.asked)
            if clip.condition == "clean" and result.latency is not None:
                latencies.append(result.latency)
        if not result.started:
            missed.append(f"{condition}: {clip.name}")
    red_flag_hits = []
    for clip in recordings.red_flags:
        result = judged(clip)
        if clip.voice != FORMANT:
            red_flag_hits.append(result.started)
        if not result.started:
            missed.append(f"red flag {clip.condition}: {clip.name}")
    during_hits = []
    for clip in recordings.red_flags_during:
        result = outcome(run(clip, first_heard="cramp"), clip)
        if clip.voice != FORMANT:
            during_hits.append(result.started)
        if not result.started:
            missed.append(f"red flag during relief {clip.condition}: {clip.name}")
    correct = 0
    for clip in recordings.commands:
        result = run(clip, first_heard="cramp")
        intents = [event.intent for event in result.conversation.heard if event.intent]
        if intents[:1] == [clip.expected]:
            correct += 1
        else:
            missed.append(f"command {clip.name}: heard {intents[:1] or 'nothing'}")
    false_triggers: List[str] = []
    for clip in recordings.negatives:
        answered = activations(run(clip).conversation)
        if answered:
            false_triggers.append(f"{clip.name}: {answered[0].text!r} -> {answered[0].intent} "
                                  f"({answered[0].confidence})")
    stream = simulate_samples("continuous negatives", recordings.stream, recognizer, matcher, content, gates=gates,
                              verifier=verifier, commands=commands)
    stream_wakes = activations(stream.conversation)
    stream_questions = activations(stream.conversation, questions=True)
    done += 1
    stream_hours = recordings.stream.size / SAMPLE_RATE / 3600
    real = bench_real(recordings.real, simulated, converse) if recordings.real is not None else None
    idle_cpu = _idle_cpu(recognizer, matcher, content, gates, verifier)
    done += 1
    show_progress(done, total)
    latency = np.array(latencies) if latencies else np.array([np.nan])
    grammar = vocabularies["idle"].grammar()
    numbers = {
        **{f"recall_{condition}": _fraction(sum(hits), len(hits)) for condition, hits in recall.items()},
        "asked_share": _fraction(sum(asked), len(asked)),
        "red_flag_recall": _fraction(sum(red_flag_hits), len(red_flag_hits)),
        "red_flag_confusions": confusions,
        "red_flag_during_recall": _fraction(sum(during_hits), len(during_hits)),
        "command_accuracy": _fraction(correct, len(recordings.commands)),
        "false_wakes_per_hour": round(len(stream_wakes) / stream_hours, 3),
        "questions_per_hour": round(len(stream_questions) / stream_hours, 3),
        "false_triggers_per_hour": round(len(stream_wakes) / stream_hours, 3),
        "false_trigger_rate_utterances": _fraction(len(false_triggers), len(recordings.negatives)),
        "rtf": round(processing_seconds / audio_seconds, 4),
        "decode_ms_per_utterance": round(processing_seconds * 1000 / max(utterances, 1), 1),
        "idle_grammar_states": grammar.states,
        "idle_grammar_transitions": len(grammar.transitions),
        "latency_p50_s": round(float(np.percentile(latency, 50)), 3),
        "latency_p95_s": round(float(np.percentile(latency, 95)), 3),
        "idle_cpu_fraction": round(idle_cpu, 5),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "model_load_s": round(model_load, 3),
        "continuous_negative_minutes": round(stream_hours * 60, 1),
        "continuous_false_triggers": len(stream_wakes),
        "continuous_questions": len(stream_questions),
        **(real.numbers if real is not None else {}),
    }
    false_triggers += [f"continuous stream at {event.t:.0f} s: {event.text!r} -> {event.intent} ({event.confidence})"
                       for event in stream_wakes + stream_questions]
    return EngineReport(numbers, {voice: _fraction(sum(hits), len(hits)) for voice, hits in by_voice.items()},
                        latencies, missed, false_triggers, confused, real)


def _heard(result: SimulationResult) -> str:
    return "; ".join(f"{event.text!r} -> {event.intent} ({event.certainty}, {event.confidence})"
                     for event in result.conversation.heard)


def _idle_cpu(recognizer: Recognizer, matcher: IntentMatcher, content: Content, gates: Gates,
              verifier: Optional[Verifier] = None, seconds: float = 60.0) -> float:
    """CPU time per second of quiet room noise (-50 dBFS), pipeline only (no sound card)."""
    quiet = (brown_noise(seconds, seed=11).astype(np.float64) * (32768 * 10 ** (-50 / 20) / 8000)).astype(np.int16)
    started = time.process_time()
    simulate_samples("quiet room", quiet, recognizer, matcher, content, gates=gates, verifier=verifier)
    return (time.process_time() - started) / seconds


def engines_to_bench(requested: str, model: Optional[str]) -> List[str]:
    if requested != "all":
        return [requested]
    return ["pocketsphinx"] + (["vosk"] if find_vosk_model(model) else [])
