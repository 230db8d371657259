"""``bedside bench``: how well and how fast the helper hears, on recordings, per engine.

Every clip goes through ``simulate_samples``, the code ``bedside simulate`` runs. The numbers
and what they mean are in docs/benchmarks.md.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np

from voice.audio import SAMPLE_RATE
from voice.benchset import (COMMANDS, DISTANT, FORMANT, RED_FLAGS, SNRS_DB, TRIGGERS, VOICES, Clip, ClipSynthesizer,
                            brown_noise, continuous_stream, negative_clips, noises, spoken_clips)
from voice.content import Content
from voice.decision import Gates, gates_for
from voice.dialogue import VOCABULARIES
from voice.events import EpisodeStarted, Said
from voice.intents import IntentMatcher, Vocabulary
from voice.recognizer import Recognizer, find_vosk_model, open_recognizer
from voice.progress import terminal_progress
from voice.simulate import SimulationResult, activations, simulate_samples


@dataclass
class Recordings:
    requests: List[Clip]  # cramp requests, each followed by a "yes"
    red_flags: List[Clip]
    commands: List[Clip]
    negatives: List[Clip]
    stream: np.ndarray


CONDITIONS = ["clean", DISTANT, *[f"snr{snr}" for snr in SNRS_DB]]
RED_FLAG_INTENTS = ("red_flag", "red_flag_during")


def make_recordings(corpus: Optional[Path], which: str = "test", stream_minutes: float = 10.0,
                    conditions: Sequence[str] = CONDITIONS, quick: bool = False) -> Recordings:
    """``quick``: clean and 10 dB only, one speaker per voice (a smoke run, minutes faster)."""
    synth = ClipSynthesizer()
    try:
        noise = noises(corpus)
        voices = VOICES[which]
        if quick:
            conditions = [condition for condition in conditions if condition in ("clean", "snr10")]
        requests = spoken_clips(synth, [(text, "cramp") for text in TRIGGERS[which]], voices, noise, conditions,
                                answers=True, more_speakers=not quick)
        red_flags = spoken_clips(synth, [(text, "red_flag") for text in RED_FLAGS[which]], voices, noise,
                                 ["clean", "snr10"], answers=True)
        commands = spoken_clips(synth, COMMANDS[which], voices, noise, ["clean"])
        negatives = negative_clips(synth, corpus, noise, which, voices)
    finally:
        synth.close()
    return Recordings(requests, red_flags, commands, negatives, continuous_stream(negatives, stream_minutes))


@dataclass
class EngineReport:
    numbers: Dict[str, float]
    recall_by_voice: Dict[str, float]
    latencies: List[float]
    missed: List[str] = field(default_factory=list)
    false_triggers: List[str] = field(default_factory=list)
    confused: List[str] = field(default_factory=list)  # a cramp taken for a red flag, or the reverse


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
    if clip.expected == "red_flag":
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


def bench_engine(engine: str, content: Content, recordings: Recordings,
                 recognizer_factory: Optional[Callable[[Dict[str, Vocabulary]], Recognizer]] = None,
                 model: Optional[str] = None, gates: Optional[Gates] = None) -> EngineReport:
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    vocabularies = matcher.vocabularies(VOCABULARIES)
    load_started = time.perf_counter()
    if recognizer_factory is not None:
        recognizer = recognizer_factory(vocabularies)
    else:
        recognizer = open_recognizer(engine, vocabularies, model)
    model_load = time.perf_counter() - load_started
    gates = gates or gates_for(recognizer.name)
    audio_seconds = processing_seconds = 0.0
    utterances = 0
    show_progress = terminal_progress(engine)
    total = sum(len(clips) for clips in (recordings.requests, recordings.red_flags, recordings.commands,
                                         recordings.negatives)) + 2
    done = 0

    def run(clip: Clip, first_heard: Optional[str] = None) -> SimulationResult:
        nonlocal audio_seconds, processing_seconds, utterances, done
        result = simulate_samples(clip.name, clip.samples, recognizer, matcher, content, first_heard=first_heard,
                                  gates=gates, answer=clip.answer)
        audio_seconds += result.audio_seconds
        processing_seconds += result.processing_seconds
        utterances += result.utterances
        done += 1
        show_progress(done, total)
        return result

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
    stream = simulate_samples("continuous negatives", recordings.stream, recognizer, matcher, content, gates=gates)
    stream_wakes = activations(stream.conversation)
    stream_questions = activations(stream.conversation, questions=True)
    done += 1
    stream_hours = recordings.stream.size / SAMPLE_RATE / 3600
    idle_cpu = _idle_cpu(recognizer, matcher, content, gates)
    done += 1
    show_progress(done, total)
    latency = np.array(latencies) if latencies else np.array([np.nan])
    grammar = vocabularies["idle"].grammar()
    numbers = {
        **{f"recall_{condition}": _fraction(sum(hits), len(hits)) for condition, hits in recall.items()},
        "asked_share": _fraction(sum(asked), len(asked)),
        "red_flag_recall": _fraction(sum(red_flag_hits), len(red_flag_hits)),
        "red_flag_confusions": confusions,
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
    }
    false_triggers += [f"continuous stream at {event.t:.0f} s: {event.text!r} -> {event.intent} ({event.confidence})"
                       for event in stream_wakes + stream_questions]
    return EngineReport(numbers, {voice: _fraction(sum(hits), len(hits)) for voice, hits in by_voice.items()},
                        latencies, missed, false_triggers, confused)


def _heard(result: SimulationResult) -> str:
    return "; ".join(f"{event.text!r} -> {event.intent} ({event.certainty}, {event.confidence})"
                     for event in result.conversation.heard)


def _idle_cpu(recognizer: Recognizer, matcher: IntentMatcher, content: Content, gates: Gates,
              seconds: float = 60.0) -> float:
    """CPU time per second of quiet room noise (-50 dBFS), pipeline only (no sound card)."""
    quiet = (brown_noise(seconds, seed=11).astype(np.float64) * (32768 * 10 ** (-50 / 20) / 8000)).astype(np.int16)
    started = time.process_time()
    simulate_samples("quiet room", quiet, recognizer, matcher, content, gates=gates)
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
    conditions = ["clean", DISTANT, *[f"snr{snr}" for snr in SNRS_DB]]
    for engine, report in reports.items():
        left.plot(["clean", "distant", *[f"{snr} dB" for snr in SNRS_DB]],
                  [report.numbers.get(f"recall_{c}", np.nan) * 100 for c in conditions], marker="o", label=engine)
        right.hist(report.latencies, bins=20, alpha=0.6, label=engine)
    left.set_title("Request recall by condition (voices of people)")
    left.set_ylabel("recall (%)")
    left.set_ylim(0, 100)
    left.legend()
    right.set_title("End of speech to the answer or question")
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
        for line in report.confused:
            yield f"  confused: {line}"
        for line in report.false_triggers[:20]:
            yield f"  false trigger: {line}"
        for line in report.missed[:15]:
            yield f"  missed: {line}"
        if len(report.missed) > 15:
            yield f"  ... and {len(report.missed) - 15} more missed"

