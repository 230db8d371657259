"""Memory of the live components, each driven as fast as it goes, thousands of times in one process.

    .venv/bin/python scripts/bench_memory.py [--component NAME] [--iterations N] [--real ../shared/real]
                                             [--json OUT] [--no-trim]

A component is one part of ``bedside listen`` run in a loop, one iteration at a time:

* ``recognizer``: pocketsphinx decodes an utterance (each vocabulary in turn);
* ``verifier``: the verifier scores one (the speech embedding, with a fixed transcript);
* ``commands``: the command model's probabilities for one;
* ``spotter``: the echo canceller (speexdsp) and the stop spotter while the helper speaks: 2 s of
  its voice (espeak-ng) played, heard back 6 dB down with an utterance over its second half; an
  iteration is one such sentence, 67 frames and 22 looks of the command model;
* ``conversation``: the whole ``Conversation`` (pocketsphinx, the verifier, the command model, a
  night log in a temporary folder, no events kept) hearing a night again and again (a cramp
  request in flite slt or rms, "stop", a sentence of unrelated talk, 20 s of quiet room); an
  iteration is one decoded utterance;
* ``synthesis``: pyttsx3 says a sentence never said before, so its cache (filled before the first
  reading) evicts;
* ``speaker``: the ``Speaker`` plays a short sentence (0.1-0.3 s cut from one espeak-ng sentence,
  handed over by a stand-in synthesizer) on a private PulseAudio server (tests/pulse.py, its
  speaker a pipe sink with a sound card's latency), one output stream per sentence as in live
  mode; every fifth is cut off half-way, as "stop" does;
* ``microphone``: a ``MicrophoneSource`` is opened, five frames are read, and it is closed;
* ``devices``: PortAudio's device list is re-read (``refresh_devices``);
* ``faults``: the microphone is unplugged and the sound server stops delivering audio until the
  source gives up (``BedsideError``), then it is plugged back, the devices are re-read and a
  frame is read again; every fifth time the speaker is also unplugged mid-sentence and plugged back;
* ``all``: all of them in turn in one process, sharing the models as ``listen`` does.

Utterances are real with --real (one-word commands of 1 s, and audiobook speech cut to 1-8 s;
see its README.md), else flite voices (slt, rms, awb, kal16) joined to lengths of 1-8 s.

Every 100 iterations (every tenth of them when fewer than 1,000) it prints a JSON line with
RssAnon (what the kernel counts) and glibc's own count of memory in use and of free memory it
keeps (mallinfo2), so growth in use (a leak) and free memory held back show apart. A glibc
``malloc_trim`` follows every iteration, as ``listen`` trims after each utterance, and glibc's
mmap threshold is fixed as ``listen`` fixes it, unless --no-trim (glibc's defaults). The summary
per component takes the reading at 20% of the iterations as the end of warm-up (models loaded,
buffers grown to the longest utterance, caches full) and gives RssAnon then and at the end, the
slope over the readings from there on (least squares, KB per 1,000 iterations) and the change in
memory in use.

Without --component each component runs in a process of its own, one after another, then
``all``; a table of the summaries ends the output (23 minutes on two cores that another run kept
busy; the speaker's 2,000 sentences take 9 of them). The iteration counts are in ``ITERATIONS``.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import gc
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_live import speak, status_mb  # noqa: E402  (also puts tests/ on the path, for pulse)
from pulse import RATE, SPEAKER, PulseServer  # noqa: E402
from voice.base.clock import VirtualClock  # noqa: E402
from voice.base.errors import BedsideError  # noqa: E402
from voice.conversation.content import check_content  # noqa: E402
from voice.conversation.dialogue import VOCABULARIES, Dialogue  # noqa: E402
from voice.conversation.pipeline import Conversation  # noqa: E402
from voice.hearing.command_model import CommandModel, load_command_model  # noqa: E402
from voice.hearing.intents import IntentMatcher  # noqa: E402
from voice.hearing.recognizer import PocketsphinxRecognizer, Transcript  # noqa: E402
from voice.hearing.stop_spotter import StopSpotter  # noqa: E402
from voice.hearing.verifier import Verifier, load_verifier  # noqa: E402
from voice.night_log.history import HistoryRecorder, NightLog  # noqa: E402
from voice.service.memory import fix_mmap_threshold, glibc_malloc_trim  # noqa: E402
# None of these imports sounddevice, which reads PULSE_SERVER when it is first imported.
from voice.sound.audio import (FRAME_SECONDS, SAMPLE_RATE, MicrophoneSource, read_audio_file,  # noqa: E402
                               refresh_devices, split_frames)
from voice.sound.echo import EchoCanceller, FarEnd  # noqa: E402
from voice.speaking.speech import Speaker, Synthesizer  # noqa: E402

# Iterations per component by default: 6,000 utterances through the recognizer, the verifier and
# the command model, 2,000 sentences through the speaker.
ITERATIONS = {"recognizer": 2000, "verifier": 2000, "commands": 2000, "spotter": 2000, "conversation": 800,
              "synthesis": 3000, "speaker": 2000, "microphone": 250, "devices": 1000, "faults": 30, "all": 360}
COMPONENTS = [name for name in ITERATIONS if name != "all"]
NEEDS_SOUND_SERVER = {"speaker", "microphone", "devices", "faults", "all"}
WARM_UP = 0.2  # of the iterations
READ_EVERY = 100
FLITE_VOICES = ("slt", "rms", "awb", "kal16")
FLITE_TEXTS = ("stop", "yes", "I have a cramp in my calf", "my leg is cramping",
               "We should leave early to catch the train", "The meeting moved to Thursday afternoon")
REAL_COMMANDS = 60  # one-word clips
REAL_SEGMENTS = 60  # audiobook segments, 1-8 s
SYNTHESIS_FILL = 60  # sentences said before the first reading: about 40 fill the cache's 100 s
SENTENCES = ("Good.", "Breathe slowly, in and out.", "Keep the heel down and pull your toes towards you.",
             "Hold the stretch, and tell me when the cramp has eased, or say stop at any time.")


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def memory() -> Dict[str, float]:
    """RssAnon, and glibc's memory in use and free memory it keeps, in MB."""
    mallinfo2 = ctypes.CDLL(None).mallinfo2  # glibc 2.33 and later
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    anon = status_mb(os.getpid(), ("RssAnon",))["RssAnon"]
    return {"rss_anon_mb": round(anon, 1), "in_use_mb": round((info.uordblks + info.hblkhd) / 2**20, 2),
            "kept_free_mb": round(info.fordblks / 2**20, 2)}


# --- utterances -------------------------------------------------------------------------------

def real_utterances(real: Path) -> List[np.ndarray]:
    """One-word commands (1 s) and audiobook speech cut to 1-8 s, in turn."""
    with (real / "manifest.csv").open() as manifest:
        rows = list(csv.DictReader(manifest))
    commands = [row["path"] for row in rows if row["kind"] == "command"][::7][:REAL_COMMANDS]
    books = sorted(row["path"] for row in rows if row["path"].startswith("speech-long/"))[::4]
    segments = []
    for index, path in enumerate(books[:REAL_SEGMENTS]):
        audio = read_audio_file(real / path)
        seconds = 1 + index % 8
        start = (index * 7919) % max(1, audio.size - seconds * SAMPLE_RATE)
        segments.append(audio[start : start + seconds * SAMPLE_RATE])
    return [clip for pair in zip((read_audio_file(real / path) for path in commands), segments) for clip in pair]


def flite_utterances(folder: Path) -> List[np.ndarray]:
    """Each text in each flite voice, and runs of them joined, 1-8 s."""
    said = [read_audio_file(speak(text, voice, folder / f"{voice}-{index}.wav"))
            for voice in FLITE_VOICES for index, text in enumerate(FLITE_TEXTS)]
    joined = [np.concatenate(said[start : start + 1 + start % 4]) for start in range(len(said))]
    return [clip[: 8 * SAMPLE_RATE] for pair in zip(said, joined) for clip in pair]


def night(folder: Path) -> List[np.ndarray]:
    """The two recordings the conversation hears in turn: a request, "stop", talk, then quiet."""
    gap = np.zeros(SAMPLE_RATE, dtype=np.int16)
    stop = read_audio_file(speak("stop", "rms", folder / "stop.wav"))
    talk = read_audio_file(speak("We should leave early to catch the train", "awb", folder / "talk.wav"))
    quiet = np.random.default_rng(1).normal(scale=30, size=SAMPLE_RATE * 20).astype(np.int16)
    return [np.concatenate([read_audio_file(speak("I have a cramp in my calf", voice, folder / f"{voice}.wav")),
                            gap, stop, gap, talk, quiet]) for voice in ("slt", "rms")]


def helper_sentence(folder: Path) -> np.ndarray:
    """The helper's longest sentence in its own voice (espeak-ng)."""
    wav = folder / "espeak.wav"
    if not wav.exists():
        subprocess.run(["espeak-ng", "-w", str(wav), SENTENCES[-1]], check=True)
    return read_audio_file(wav)


def short_sentences(folder: Path) -> List[np.ndarray]:
    """Pieces of 0.1-0.3 s of one espeak-ng sentence, read-only as the synthesizer's cache hands them out."""
    audio = helper_sentence(folder)
    pieces = []
    for index in range(21):
        length = int((0.1 + index / 100) * SAMPLE_RATE)
        start = (index * 4001) % (audio.size - length)
        piece = audio[start : start + length].copy()
        piece.flags.writeable = False
        pieces.append(piece)
    return pieces


class SoundServer(PulseServer):
    """The tests' private PulseAudio server, its speaker a clocked pipe sink read into nowhere.
    A null sink's latency is 2 s: every sentence, however short, took 2 s to play out. This one's
    is 128 ms, as a sound card's."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self._readers: List[subprocess.Popen] = []

    def start(self) -> None:
        super().start()
        self._unload(SPEAKER)
        self.plug_speaker()

    def plug_speaker(self) -> None:
        fifo = self.folder / "speaker.fifo"
        self.pactl("load-module", "module-pipe-sink", f"sink_name={SPEAKER}", f"file={fifo}", f"rate={RATE}",
                   "channels=1", "format=s16le", "use_system_clock_for_timing=yes")
        self.pactl("set-default-sink", SPEAKER)
        self._readers.append(subprocess.Popen(["cat", str(fifo)], stdout=subprocess.DEVNULL))

    def stop(self) -> None:
        super().stop()
        for reader in self._readers:
            if reader.poll() is None:
                reader.kill()
                reader.wait()


# --- the components ---------------------------------------------------------------------------

Step = Callable[[int], None]  # one iteration; gets its number


class StandInSynthesizer:
    """Hands the speaker ready samples at once, and says when the speaker has taken a sentence."""

    def __init__(self, pieces: List[np.ndarray]) -> None:
        self.pieces = pieces
        self.taken = threading.Event()

    def synthesize(self, text: str) -> np.ndarray:
        self.taken.set()
        return self.pieces[int(text) % len(self.pieces)]

    def seconds(self, text: str) -> float:
        return self.pieces[int(text) % len(self.pieces)].size / SAMPLE_RATE


@dataclass
class Parts:
    """What the components are made of; built once per process and shared, as in ``listen``."""

    folder: Path
    real: Optional[Path]
    server: Optional[SoundServer] = None
    faults_done: int = 0  # microphones that reported themselves gone

    @cached_property
    def utterances(self) -> List[np.ndarray]:
        return real_utterances(self.real) if self.real else flite_utterances(self.folder)

    @cached_property
    def matcher(self) -> IntentMatcher:
        content = check_content()
        return IntentMatcher(content.intents, content.phrase_rules)

    @cached_property
    def recognizer(self) -> PocketsphinxRecognizer:
        return PocketsphinxRecognizer(self.matcher.vocabularies(VOCABULARIES))

    @cached_property
    def verifier(self) -> Verifier:
        return load_verifier("pocketsphinx")

    @cached_property
    def commands(self) -> CommandModel:
        return load_command_model()

    @cached_property
    def speaker(self) -> Speaker:
        return Speaker(self.stand_in, device="pulse")  # type: ignore[arg-type]  (synthesizes as one)

    @cached_property
    def stand_in(self) -> StandInSynthesizer:
        return StandInSynthesizer(short_sentences(self.folder))


def recognizer_step(parts: Parts) -> Step:
    vocabularies = list(VOCABULARIES)

    def step(iteration: int) -> None:
        parts.recognizer.select(vocabularies[iteration % len(vocabularies)])
        parts.recognizer.start()
        for frame in split_frames(parts.utterances[iteration % len(parts.utterances)]):
            parts.recognizer.accept(frame)
        parts.recognizer.finish()

    return step


def verifier_step(parts: Parts) -> Step:
    def step(iteration: int) -> None:
        samples = parts.utterances[iteration % len(parts.utterances)]
        seconds = samples.size / SAMPLE_RATE
        parts.verifier.score(samples.tobytes(), Transcript("i have a cramp in my calf", -5.0, 0.8 * seconds, -7.0))

    return step


def commands_step(parts: Parts) -> Step:
    return lambda iteration: parts.commands.probabilities(parts.utterances[iteration % len(parts.utterances)])


def spotter_step(parts: Parts) -> Step:
    far_end = FarEnd()
    canceller = EchoCanceller(far_end)
    spotter = StopSpotter(parts.commands)
    voice = helper_sentence(parts.folder)[: 2 * SAMPLE_RATE]
    echo = np.concatenate([np.zeros(SAMPLE_RATE // 50, dtype=np.int16), voice[: -SAMPLE_RATE // 50] // 2])

    def step(iteration: int) -> None:
        over = parts.utterances[iteration % len(parts.utterances)][:SAMPLE_RATE].astype(np.int32)
        heard = echo.astype(np.int32)
        heard[SAMPLE_RATE : SAMPLE_RATE + over.size] += over
        spotter.reset()
        for played, microphone in zip(split_frames(voice), split_frames(np.clip(heard, -32768, 32767).astype(np.int16))):
            far_end.played(np.frombuffer(played, dtype="<i2"))
            _, cancelled = canceller.clean_both(microphone)
            spotter.hear(cancelled, microphone)

    return step


def conversation_step(parts: Parts) -> Step:
    clock = VirtualClock()
    history = HistoryRecorder(NightLog.open(parts.folder / "history.sqlite3"))
    dialogue = Dialogue(check_content(), clock, 140, recent_cramps=history.recent)
    conversation = Conversation(parts.recognizer, parts.matcher, dialogue, clock, on_event=history.on_event,
                                keep_events=False, verifier=parts.verifier, commands=parts.commands)
    frames = (frame for recording in itertools.cycle(night(parts.folder)) for frame in split_frames(recording))
    now = 0.0

    def step(_iteration: int) -> None:
        nonlocal now
        heard = conversation.utterances
        while conversation.utterances == heard:
            now += FRAME_SECONDS
            clock.advance_to(now)
            conversation.feed(next(frames))

    return step


def synthesis_step(_parts: Parts) -> Step:
    synthesizer = Synthesizer()

    def step(iteration: int) -> None:
        synthesizer.synthesize(f"{SENTENCES[iteration % len(SENTENCES)]} {iteration}.")

    for iteration in range(-SYNTHESIS_FILL, 0):  # its cache full before the first reading, in ``all`` too
        step(iteration)
    return step


def speak_one(parts: Parts, iteration: int, cut: bool) -> None:
    """One sentence said and waited for; cut off half-way through if ``cut``."""
    speaker, synthesizer = parts.speaker, parts.stand_in
    synthesizer.taken.clear()
    speaker.say(str(iteration))
    if cut:
        synthesizer.taken.wait(5)  # taken from the queue: now cut() stops it, not the queue
        time.sleep(synthesizer.seconds(str(iteration)) / 2)
        speaker.cut()
    speaker.wait(10)


def speaker_step(parts: Parts) -> Step:
    return lambda iteration: speak_one(parts, iteration, cut=iteration % 5 == 4)


def read_frames(frames: Iterator[Optional[bytes]], count: int, timeout: float = 5.0) -> None:
    """Take ``count`` frames of audio (not the ``None`` of a read that timed out), then close."""
    deadline = time.monotonic() + timeout
    try:
        for frame in frames:
            count -= frame is not None
            if count <= 0 or time.monotonic() > deadline:
                return
    finally:
        frames.close()


def microphone_step(_parts: Parts) -> Step:
    microphone = MicrophoneSource(None, read_timeout=0.5)
    return lambda iteration: read_frames(microphone.frames(), 5)


def devices_step(_parts: Parts) -> Step:
    return lambda iteration: refresh_devices()


def until_gone(frames: Iterator[Optional[bytes]], timeout: float = 10.0) -> bool:
    """Read until the source says it is gone (True), or ``timeout`` s (False)."""
    deadline = time.monotonic() + timeout
    try:
        for _ in frames:
            if time.monotonic() > deadline:
                frames.close()
                return False
    except BedsideError:
        return True
    return False


def sinks(server: SoundServer) -> List[str]:
    return [line.split()[1] for line in server.pactl("list", "short", "sinks").stdout.splitlines()]


def faults_step(parts: Parts) -> Step:
    """A microphone lost and found; every fifth time, the speaker unplugged mid-sentence too."""
    server = parts.server
    assert server is not None
    # Quicker to give up than live mode's 5 s: what is measured is the recovery, not the wait.
    dying = MicrophoneSource(None, read_timeout=0.5, stall_seconds=1.0)
    microphone = MicrophoneSource(None, read_timeout=0.5)

    def step(iteration: int) -> None:
        frames = dying.frames()
        next(frames)
        # The sound server moves a recording whose source went away to another source; with every
        # sink (and so every monitor source) suspended nothing comes, as from a dead USB microphone.
        server.unplug_microphone()
        for sink in sinks(server):
            server.pactl("suspend-sink", sink, "1")
        parts.faults_done += until_gone(frames)
        for sink in sinks(server):
            server.pactl("suspend-sink", sink, "0")
        server.plug_microphone()
        refresh_devices()
        read_frames(microphone.frames(), 1)
        if iteration % 5 == 4:
            parts.stand_in.taken.clear()
            parts.speaker.say(str(20))  # the longest piece: 0.3 s
            parts.stand_in.taken.wait(5)
            server.unplug_speaker()
            parts.speaker.wait(10)
            server.plug_speaker()
            speak_one(parts, iteration, cut=False)

    return step


STEPS: Dict[str, Callable[[Parts], Step]] = {
    "recognizer": recognizer_step, "verifier": verifier_step, "commands": commands_step,
    "spotter": spotter_step, "conversation": conversation_step, "synthesis": synthesis_step, "speaker": speaker_step,
    "microphone": microphone_step, "devices": devices_step, "faults": faults_step,
}


def all_step(parts: Parts) -> Step:
    """Each component in turn: iteration ``n`` is iteration ``n // 10`` of component ``n % 10``."""
    steps = [STEPS[name](parts) for name in COMPONENTS]
    return lambda iteration: steps[iteration % len(steps)](iteration // len(steps))


# --- measuring --------------------------------------------------------------------------------

def slope_kb_per_1000(readings: List[Dict[str, float]]) -> float:
    """Least-squares growth of RssAnon, in KB per 1,000 iterations."""
    if len(readings) < 2:
        return 0.0
    x = np.array([reading["iterations"] for reading in readings], dtype=float)
    y = np.array([reading["rss_anon_mb"] for reading in readings], dtype=float)
    return round(float(np.polyfit(x, y, 1)[0]) * 1024 * 1000, 1)


def summarize(component: str, readings: List[Dict[str, float]], trim: bool) -> Dict[str, object]:
    iterations = readings[-1]["iterations"]
    settled = [reading for reading in readings if reading["iterations"] >= WARM_UP * iterations]
    start, end = settled[0], readings[-1]
    return {
        "component": component, "iterations": iterations, "trim": trim,
        "warm_up": f"the reading at {start['iterations']} iterations ({WARM_UP:.0%} of them)",
        "rss_anon_mb_start": start["rss_anon_mb"], "rss_anon_mb_end": end["rss_anon_mb"],
        "rss_anon_mb_delta": round(end["rss_anon_mb"] - start["rss_anon_mb"], 1),
        "rss_anon_kb_per_1000": slope_kb_per_1000(settled),
        "in_use_mb_delta": round(end["in_use_mb"] - start["in_use_mb"], 2),
        "rss_anon_mb_first": readings[0]["rss_anon_mb"],
    }


def measure(component: str, iterations: int, real: Optional[Path], trim: bool) -> Dict[str, object]:
    """Run one component (or ``all``) in this process; prints a reading every so often."""
    if trim:
        fix_mmap_threshold()
    folder = Path(tempfile.mkdtemp(prefix="bedside-memory-"))
    server = None
    if component in NEEDS_SOUND_SERVER:
        (folder / "pulse").mkdir()
        server = SoundServer(folder / "pulse")
        server.start()
        os.environ.update(server.env)  # before sounddevice is first imported
    try:
        parts = Parts(folder, real, server)
        step = (all_step if component == "all" else STEPS[component])(parts)
        step(0)  # models loaded, streams opened once: what every process pays at start
        trimmer = glibc_malloc_trim() if trim else None
        every = READ_EVERY if iterations >= 10 * READ_EVERY else max(1, iterations // 10)
        readings: List[Dict[str, float]] = []
        started = time.monotonic()
        for iteration in range(iterations + 1):
            if iteration % every == 0 or iteration == iterations:
                gc.collect()
                readings.append({"component": component, "iterations": iteration, **memory()})
                print(json.dumps(readings[-1]), flush=True)
            if iteration < iterations:
                step(iteration + 1)
                if trimmer is not None:
                    trimmer()
        if component in ("faults", "all") and parts.faults_done == 0:
            raise SystemExit(f"{component}: the microphone never reported itself gone")
    finally:
        if server is not None:
            server.stop()
    return {**summarize(component, readings, trim), "seconds": round(time.monotonic() - started),
            "readings": readings}


COLUMNS = ("component", "iterations", "rss_anon_mb_start", "rss_anon_mb_end", "rss_anon_mb_delta",
           "rss_anon_kb_per_1000", "in_use_mb_delta", "seconds")


def table(summaries: List[Dict[str, object]]) -> str:
    header = ("component", "iterations", "RssAnon warm", "RssAnon end", "delta MB", "KB/1000", "in use delta MB",
              "seconds")
    rows = [header] + [tuple(str(summary[column]) for column in COLUMNS) for summary in summaries]
    widths = [max(len(row[index]) for row in rows) for index in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in rows)


def run_each(args: argparse.Namespace) -> List[Dict[str, object]]:
    """Each component in a fresh process, then ``all``."""
    results = []
    folder = Path(tempfile.mkdtemp(prefix="bedside-memory-runs-"))
    for component in [*COMPONENTS, "all"]:
        out = folder / f"{component}.json"
        command = [sys.executable, __file__, "--component", component, "--json", str(out)]
        command += ["--iterations", str(args.iterations)] if args.iterations else []
        command += ["--real", str(args.real)] if args.real else []
        command += ["--no-trim"] if args.no_trim else []
        subprocess.run(command, check=True)
        results.append(json.loads(out.read_text()))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--component", choices=[*COMPONENTS, "all"], help="only this one, in this process")
    parser.add_argument("--iterations", type=int, help="per component (default: ITERATIONS)")
    parser.add_argument("--real", type=Path, help="folder of real recordings with manifest.csv (../shared/real)")
    parser.add_argument("--json", type=Path, help="also write the summaries and readings here")
    parser.add_argument("--no-trim", action="store_true",
                        help="glibc's defaults: no malloc_trim after each iteration, a sliding mmap threshold")
    args = parser.parse_args()
    if args.component:
        results = [measure(args.component, args.iterations or ITERATIONS[args.component], args.real,
                           not args.no_trim)]
    else:
        results = run_each(args)
    summaries = [{key: value for key, value in result.items() if key != "readings"} for result in results]
    for summary in summaries:
        print(json.dumps(summary), flush=True)
    if not args.component:
        print(table(summaries))
    if args.json:
        args.json.write_text(json.dumps(results[0] if args.component else results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
