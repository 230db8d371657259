"""``bedside bench``: how well and how fast the helper hears, on recordings, per engine.

Every clip goes through ``simulate_samples``, the code ``bedside simulate`` runs. The numbers
and what they mean are in docs/benchmarks.md.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

import numpy as np

from voice.audio import SAMPLE_RATE
from voice.benchset import (COMMANDS, SNRS_DB, TRIGGERS, VOICES, Clip, ClipSynthesizer, brown_noise,
                            continuous_stream, negative_clips, noises, spoken_clips)
from voice.content import Content
from voice.dialogue import VOCABULARIES, EpisodeEnded, EpisodeStarted
from voice.intents import IntentMatcher
from voice.pipeline import Conversation, Heard, Said
from voice.recognizer import Recognizer, find_vosk_model, open_recognizer
from voice.progress import terminal_progress
from voice.simulate import SimulationResult, simulate_samples


@dataclass
class Recordings:
    positives: List[Clip]
    commands: List[Clip]
    negatives: List[Clip]
    stream: np.ndarray


def make_recordings(corpus: Optional[Path], which: str = "test", stream_minutes: float = 10.0) -> Recordings:
    synth = ClipSynthesizer()
    try:
        noise = noises(corpus)
        positives = spoken_clips(synth, [(text, "cramp") for text in TRIGGERS[which]], VOICES[which], noise,
                                 [None, *SNRS_DB])
        commands = spoken_clips(synth, COMMANDS[which], VOICES[which], noise, [None])
        negatives = negative_clips(synth, corpus, noise)
    finally:
        synth.close()
    return Recordings(positives, commands, negatives, continuous_stream(negatives, stream_minutes))


@dataclass
class EngineReport:
    numbers: Dict[str, float]
    recall_by_voice: Dict[str, float]
    latencies: List[float]
    missed: List[str] = field(default_factory=list)
    false_triggers: List[str] = field(default_factory=list)


def _fraction(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 0.0


def bench_engine(engine: str, content: Content, recordings: Recordings,
                 recognizer_factory: Optional[Callable[[Dict[str, List[str]]], Recognizer]] = None,
                 model: Optional[str] = None) -> EngineReport:
    matcher = IntentMatcher(content.intents)
    vocabularies = matcher.vocabularies(VOCABULARIES)
    load_started = time.perf_counter()
    if recognizer_factory is not None:
        recognizer = recognizer_factory(vocabularies)
    else:
        recognizer = open_recognizer(engine, vocabularies, model)
    model_load = time.perf_counter() - load_started
    audio_seconds = processing_seconds = 0.0
    show_progress = terminal_progress(engine)
    total = len(recordings.positives) + len(recordings.commands) + len(recordings.negatives) + 2
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        show_progress(done, total)

    def run(clip: Clip, first_heard: Optional[str] = None) -> SimulationResult:
        nonlocal audio_seconds, processing_seconds
        result = simulate_samples(clip.name, clip.samples, recognizer, matcher, content, first_heard=first_heard)
        audio_seconds += result.audio_seconds
        processing_seconds += result.processing_seconds
        step()
        return result

    recall: Dict[str, List[bool]] = {}
    by_voice: Dict[str, List[bool]] = {}
    latencies: List[float] = []
    missed: List[str] = []
    for clip in recordings.positives:
        result = run(clip)
        heard = [event for event in result.conversation.heard if event.intent == "cramp"]
        condition = "clean" if clip.snr_db is None else f"snr{clip.snr_db:g}"
        recall.setdefault(condition, []).append(bool(heard))
        if clip.snr_db is None:
            by_voice.setdefault(clip.voice, []).append(bool(heard))
            if heard:
                latencies.append(heard[0].t - clip.speech_end + result.decision_seconds[0])
        if not heard:
            missed.append(f"{condition}: {clip.name}")
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
            false_triggers.append(f"{clip.name}: {answered[0].text!r} -> {answered[0].intent}")
    stream_triggers = _continuous(recognizer, matcher, content, recordings.stream)
    step()
    stream_hours = recordings.stream.size / SAMPLE_RATE / 3600
    idle_cpu = _idle_cpu(recognizer, matcher, content)
    step()
    latency = np.array(latencies) if latencies else np.array([np.nan])
    numbers = {
        **{f"recall_{condition}": _fraction(sum(hits), len(hits)) for condition, hits in recall.items()},
        "command_accuracy": _fraction(correct, len(recordings.commands)),
        "false_triggers_per_hour": round(stream_triggers / stream_hours, 3),
        "false_trigger_rate_utterances": _fraction(len(false_triggers), len(recordings.negatives)),
        "rtf": round(processing_seconds / audio_seconds, 4),
        "latency_p50_s": round(float(np.percentile(latency, 50)), 3),
        "latency_p95_s": round(float(np.percentile(latency, 95)), 3),
        "idle_cpu_fraction": round(idle_cpu, 5),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "model_load_s": round(model_load, 3),
        "continuous_negative_minutes": round(stream_hours * 60, 1),
        "continuous_false_triggers": stream_triggers,
    }
    return EngineReport(numbers, {voice: _fraction(sum(hits), len(hits)) for voice, hits in by_voice.items()},
                        latencies, missed, false_triggers)


def activations(conversation: Conversation) -> List[Heard]:
    """Each time the helper woke up by mistake: a phrase heard with no conversation going on
    that it said something in reply to. (Once awake, what follows is one false trigger, not many;
    a phrase the dialogue ignores, such as "next" when idle, wakes no one.)"""
    answered = []
    in_episode = False
    for index, event in enumerate(conversation.events):
        if isinstance(event, (EpisodeStarted, EpisodeEnded)):
            in_episode = isinstance(event, EpisodeStarted)
        if isinstance(event, Heard) and event.intent and not in_episode:
            following = conversation.events[index + 1 :]
            reply = next((e for e in following if isinstance(e, (Heard, Said))), None)
            if isinstance(reply, Said):
                answered.append(event)
    return answered


def _continuous(recognizer: Recognizer, matcher: IntentMatcher, content: Content, stream: np.ndarray) -> int:
    """Feed one long stream of unrelated speech, as a night would; count what the helper answered."""
    return len(activations(simulate_samples("continuous negatives", stream, recognizer, matcher, content).conversation))


def _idle_cpu(recognizer: Recognizer, matcher: IntentMatcher, content: Content, seconds: float = 60.0) -> float:
    """CPU time per second of quiet room noise (-50 dBFS), pipeline only (no sound card)."""
    quiet = (brown_noise(seconds, seed=11).astype(np.float64) * (32768 * 10 ** (-50 / 20) / 8000)).astype(np.int16)
    started = time.process_time()
    simulate_samples("quiet room", quiet, recognizer, matcher, content)
    return (time.process_time() - started) / seconds


def engines_to_bench(requested: str, model: Optional[str]) -> List[str]:
    if requested != "all":
        return [requested]
    return ["pocketsphinx"] + (["vosk"] if find_vosk_model(model) else [])


def plot(reports: Dict[str, EngineReport], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    conditions = ["clean", *[f"snr{snr}" for snr in SNRS_DB]]
    for engine, report in reports.items():
        left.plot(["clean", *[f"{snr} dB" for snr in SNRS_DB]],
                  [report.numbers.get(f"recall_{c}", np.nan) * 100 for c in conditions], marker="o", label=engine)
        right.hist(report.latencies, bins=20, alpha=0.6, label=engine)
    left.set_title("Trigger recall by signal-to-noise ratio")
    left.set_ylabel("recall (%)")
    left.set_ylim(0, 100)
    left.legend()
    right.set_title("End of speech to decision")
    right.set_xlabel("seconds")
    right.set_ylabel("requests")
    right.legend()
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)


def summary_lines(reports: Dict[str, EngineReport]) -> Iterable[str]:
    for engine, report in reports.items():
        yield f"== {engine}"
        for name, value in report.numbers.items():
            yield f"  {name:32} {value}"
        yield f"  {'recall_clean by voice':32} " + ", ".join(f"{v} {r}" for v, r in report.recall_by_voice.items())
        for line in report.false_triggers[:10]:
            yield f"  false trigger: {line}"
        for line in report.missed[:15]:
            yield f"  missed: {line}"
        if len(report.missed) > 15:
            yield f"  ... and {len(report.missed) - 15} more missed"

