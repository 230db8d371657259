"""Soak test: ``bedside listen`` for a scripted night on a private PulseAudio server, with faults.

    scripts/soak [--minutes N] [--json OUT] [--corpus ../shared/corpus] [--faults KIND,...|--no-faults] [--keep DIR]

The helper runs as a user runs it (the ``bedside`` of ``.venv``) on a virtual microphone and
speaker. Into the microphone goes a night: quiet room noise all along, unrelated speech (the
corpus's real speech when given, flite sentences otherwise), and a cramp request every
REQUEST_EVERY seconds, ended by "stop" (said again in a pause while relief goes on, as a person
would; ``episodes_by_stops_said`` counts how often it took). Faults come in turn, one after a
request was answered:

* ``microphone``: the microphone source removed for 5 s, then back;
* ``speaker``: the speaker removed while the helper speaks, back after 3 s;
* ``sound_server``: the sound server killed and started again;
* ``disk_full``: the night log's filesystem (a 2 MB tmpfs; needs root) filled, and freed
  after the next request.

Each request counts as answered when the speaker sounds within ANSWER_SECONDS. After a fault,
a request is said (PROBE_EVERY seconds after the last one's wait) until one is answered:
``answered_after_fault`` gives, per fault, the seconds from the fault's end to that answer (null:
none within PROBE_FOR). Memory and CPU are read from /proc every 10 s (``rss_mb_each_minute``
keeps every sixth reading): VmRSS, and apart its RssAnon (the heap, where a leak or memory held
back by the allocator shows) and RssFile (pages of the libraries and models, bounded by their
files). ``latency_p50_s`` is rough (two recordings' clocks, tied to the wall
clock at each request to a few tenths of a second); scripts/bench_live.py measures latency.
Prints the JSON; exit code 1 if the helper crashed or a request outside a fault went unanswered
(what the helper logged and the utterances it heard while each one went unanswered are in
"unanswered_logs").
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_live import cpu_seconds, recording_start, sox, speak, status_mb  # noqa: E402
from disk import CannotMount, fill, mount_tiny_disk, unmount  # noqa: E402
from pulse import MIC, RATE, Helper, PulseServer  # noqa: E402

REQUEST_EVERY = 40.0  # seconds from one request to the next (--request-every)
ANSWER_SECONDS = 10.0
PROBE_EVERY = 1.0  # after a fault, a request this soon after the last until one is answered
PROBE_ANSWER_SECONDS = 5.0  # a probe's answer comes within a second when the helper is up
PROBE_FOR = 60.0
WARM_UP = 0.25  # the memory slope leaves out the first quarter (models and buffers settling)
QUIET_BEFORE_REQUEST = 1.0  # seconds the speaker is silent before a request is said
PAD = 0.5  # seconds of silence after each spoken clip (bench_live.speak)
STOP_TRIES = 3  # "stop" said at most this often to end one episode
STOP_HEARD_SECONDS = 5.0  # the helper ends the episode this soon after a "stop" it heard
REPLY_SECONDS = 3.0  # and its reply sounds this soon after
UNANSWERED_LOG_LINES = 20  # of the helper's log kept for each request left unanswered outside a fault
FAULTS = ["microphone", "speaker", "sound_server", "disk_full"]
REQUESTS = [("I have a cramp in my calf", "slt"), ("my calf hurts", "rms"), ("charley horse", "awb"),
            ("oh I have a cramp", "kal16"), ("my leg is cramping", "rms")]
SENTENCES = ["The weather is lovely this morning.", "Can you pass me the salt, please?",
             "We should leave early to catch the train.", "I think the garden needs watering again."]


def memory_mb(pid: int) -> Dict[str, float]:
    """VmRSS and its parts: RssAnon (the heap: what a leak grows) and RssFile (pages of mapped
    libraries and models, bounded by their files' sizes), in MB."""
    return status_mb(pid, ("VmRSS", "RssAnon", "RssFile"))


@dataclass
class Sample:
    seconds: float  # since the soak started
    memory: Dict[str, float]  # memory_mb
    cpu_s: float


def slope_mb_per_hour(samples: List[Sample], field: str) -> Optional[float]:
    """A least-squares slope over the samples after the first WARM_UP of the run."""
    settled = [entry for entry in samples if entry.seconds >= WARM_UP * samples[-1].seconds] if samples else []
    if len(settled) < 3:
        return None
    hours = [entry.seconds / 3600 for entry in settled]
    return round(float(np.polyfit(hours, [entry.memory[field] for entry in settled], 1)[0]), 2)


def medians_by_quarter(samples: List[Sample], field: str) -> List[float]:
    """The median of each quarter of the run: a lasting step shows, a passing peak does not."""
    if len(samples) < 4:
        return []
    end = samples[-1].seconds
    return [round(float(np.median([entry.memory[field] for entry in samples
                                   if quarter * end / 4 <= entry.seconds <= (quarter + 1) * end / 4])), 1)
            for quarter in range(4)]


class Night:
    """The helper, its sound server, and what is played into its microphone."""

    def __init__(self, folder: Path, corpus: Optional[Path], helper_args: Sequence[str] = ()) -> None:
        self.folder = folder
        self.server = PulseServer(folder / "pulse")
        (folder / "pulse").mkdir()
        self.server.start()
        self.disk = self._tiny_disk()
        self.requests = [speak(text, voice, folder / f"request{index}.wav")
                         for index, (text, voice) in enumerate(REQUESTS)]
        self.stop_wav = speak("stop", "rms", folder / "stop.wav")
        self.background = self._background(corpus)
        self.noise = folder / "room.raw"
        sox("-n", "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(self.noise), "synth", "60",
            "brownnoise", "gain", "-n", "-55")
        env = {"XDG_DATA_HOME": str(self.disk)} if self.disk else {}
        self.helper = Helper(self.server, folder, *helper_args, env=env)
        self.recordings = 0
        self._record()
        self._noise_stop = threading.Event()
        self._noise_player: Optional[subprocess.Popen] = None
        self._noise_thread = threading.Thread(target=self._room_noise, daemon=True)
        self._noise_thread.start()

    def _tiny_disk(self) -> Optional[Path]:
        try:
            return mount_tiny_disk(self.folder / "disk", "2m")
        except CannotMount as error:
            print(f"soak: no disk_full fault (cannot mount a tmpfs: {error})", file=sys.stderr)
            return None

    def _background(self, corpus: Optional[Path]) -> List[Path]:
        if corpus is not None and (corpus / "manifest.csv").exists():
            with (corpus / "manifest.csv").open() as manifest:
                rows = [corpus / row["path"] for row in csv.DictReader(manifest) if row["kind"] == "negative"]
            clips = []
            for index, path in enumerate(rows[:40]):
                out = self.folder / f"speech{index}.wav"
                sox(str(path), "-r", str(RATE), "-c", "1", "-b", "16", str(out))
                clips.append(out)
            return clips
        return [speak(text, voice, self.folder / f"sentence{index}.wav")
                for index, (text, voice) in enumerate(zip(SENTENCES, ["slt", "rms", "awb", "kal16"]))]

    def _room_noise(self) -> None:
        """The room's noise, streamed into the microphone without a gap. A gap of digital silence
        (paplay started anew for each loop) made the endpointer take the noise's return for
        speech for about 4 s, and a request said then was swallowed into one long utterance."""
        noise = self.noise.read_bytes()
        second = RATE * 2
        while not self._noise_stop.is_set():
            player = subprocess.Popen(
                ["pacat", "--playback", "--raw", f"--device={MIC}", f"--rate={RATE}", "--channels=1",
                 "--format=s16le"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=self.server.env)
            self._noise_player = player
            assert player.stdin is not None
            start = 0
            try:
                while not self._noise_stop.is_set() and player.poll() is None:
                    # A second at a time, over and over: the write waits while pacat's buffer is full.
                    player.stdin.write(noise[start : start + second])
                    start = (start + second) % len(noise)
            except BrokenPipeError:  # the sound server went away (a fault), or pacat was ended
                pass
            player.kill()
            player.wait()
            try:
                player.stdin.close()
            except BrokenPipeError:
                pass
            self._noise_stop.wait(0.5)  # the server may be down for a moment

    def _end_noise_player(self) -> None:
        """End pacat; the noise thread then closes its pipe and starts a new one. Only that thread
        touches the pipe: closing it while the thread writes raised ValueError (a failed soak)."""
        player = self._noise_player
        if player is not None:
            player.kill()

    def unplug_microphone(self) -> None:
        self.server.unplug_microphone()
        # The sound server moves the noise's stream to another sink rather than end it: end it, so
        # that it starts anew into the microphone once that is back.
        self._end_noise_player()

    def play(self, wav: Path) -> None:
        subprocess.run(["paplay", f"--device={MIC}", str(wav)], env=self.server.env, capture_output=True,
                       timeout=60)

    def _record(self) -> None:
        """Record the speaker, and the microphone to time requests against (as bench_live does)."""
        self.speaker = self.server.listen_to_speaker(self.folder / f"speaker{self.recordings}.raw")
        self.microphone = self.server.listen_to_microphone(self.folder / f"microphone{self.recordings}.raw")
        self.recordings += 1

    def new_recordings(self) -> None:
        self.speaker.stop()
        self.microphone.stop()
        self._record()

    def request(self, wav: Path, timeout: float = ANSWER_SECONDS) -> Optional[float]:
        """Say a request; the seconds from its end to the first sound of the answer, or None."""
        self.speaker.wait_for_quiet(QUIET_BEFORE_REQUEST, timeout=ANSWER_SECONDS)
        # Each recording's clock is tied to the wall clock anew for every request: under load a
        # recording can lose samples, and a tie made when it started would carry that error on.
        speaker_started, microphone_started = recording_start(self.speaker), recording_start(self.microphone)
        since, heard_from = self.speaker.seconds(), self.microphone.seconds()
        self.play(wav)
        loud = self.microphone.loud_seconds(since=heard_from, threshold=328)  # above the room noise
        # The request's last loud 10 ms in the microphone, on the wall clock (paplay itself
        # returns some time after the clip has played).
        ended = microphone_started + loud[-1] + 0.01 if loud else time.monotonic() - PAD
        answer = self.speaker.wait_for_speech(since=since, timeout=timeout)
        return None if answer is None else speaker_started + answer - ended

    def in_episode(self) -> bool:
        """What the helper last logged of its episodes was that one started."""
        marks = [line for line in self.helper.lines() if "episode started" in line or "episode ended" in line]
        return bool(marks) and "episode started" in marks[-1]

    def end_episode(self) -> int:
        """Say "stop" a little after the answer began, and again in a pause while the episode goes
        on, as a person would (at most STOP_TRIES times); then wait for the helper's reply to end (a
        fault's recovery is timed from a quiet helper). Returns how many times "stop" was said.

        A "stop" the helper missed would leave relief going on, and the next request could come
        as it starts a sentence: half-duplex, it would then listen for "stop" only."""
        time.sleep(3)
        said = 0
        while said < STOP_TRIES and (said == 0 or self.in_episode()):
            if said:  # again in a pause of the helper's
                self.speaker.wait_for_quiet(QUIET_BEFORE_REQUEST, timeout=ANSWER_SECONDS)
            logged = len(self.helper.lines())
            self.play(self.stop_wav)
            said += 1
            since = self.speaker.seconds()
            if self.helper.wait_for_log("episode ended", timeout=STOP_HEARD_SECONDS, after=logged):
                # The reply ("Okay. I'll be quiet.") is logged before it sounds: a pause before it
                # is no end, and what is said over it is heard as over the helper's voice.
                self.speaker.wait_for_speech(since=since, timeout=REPLY_SECONDS)
        self.speaker.wait_for_quiet(QUIET_BEFORE_REQUEST, timeout=ANSWER_SECONDS)
        return said

    def restart_server(self) -> None:
        self.speaker.stop()
        self.microphone.stop()
        self.server.process.kill()
        self.server.process.wait()
        time.sleep(2)
        self.server.start()
        self._record()

    def fill_disk(self) -> Optional[Path]:
        return fill(self.disk) if self.disk is not None else None

    def close(self) -> None:
        self._noise_stop.set()
        self._end_noise_player()
        self._noise_thread.join(timeout=5)
        self.helper.stop()
        self.speaker.stop()
        self.microphone.stop()
        self.server.stop()
        if self.disk is not None:
            unmount(self.disk)


def soak(minutes: float, corpus: Optional[Path], request_every: float = REQUEST_EVERY,
         faults: Sequence[str] = tuple(FAULTS), keep: Optional[Path] = None) -> Dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="bedside-soak-"))
    heard = (keep or folder) / "heard"  # every utterance: what a request left unanswered was heard as
    night = Night(folder, corpus, ["--keep-audio", str(heard)])
    pid = night.helper.process.pid
    rng = random.Random(20261122)
    samples: List[Sample] = []
    started = time.monotonic()
    deadline = started + minutes * 60
    next_sample = started
    latencies: List[float] = []
    answered_after_fault: Dict[str, List[Optional[float]]] = {kind: [] for kind in FAULTS}
    counts = {"requests": 0, "answered": 0}
    unanswered_outside_faults = 0
    unanswered_logs: List[List[str]] = []  # what the helper logged while each of them went unanswered
    stops_said: Counter[int] = Counter()  # episodes by how many times "stop" was said to end them
    stop_not_heard = 0  # episodes still going after STOP_TRIES
    kinds = [kind for kind in faults if kind != "disk_full" or night.disk is not None]

    def sample() -> None:
        nonlocal next_sample
        if time.monotonic() >= next_sample and night.helper.process.poll() is None:
            samples.append(Sample(time.monotonic() - started, memory_mb(pid), cpu_seconds(pid)))
            next_sample += 10.0

    def request(timeout: float = ANSWER_SECONDS) -> Optional[float]:
        counts["requests"] += 1
        latency = night.request(night.requests[counts["requests"] % len(night.requests)], timeout)
        if latency is not None:
            counts["answered"] += 1
            latencies.append(latency)
        sample()
        return latency

    def end_episode() -> None:
        nonlocal stop_not_heard
        stops_said[night.end_episode()] += 1
        stop_not_heard += night.in_episode()

    def recovered_after(ended: float) -> Optional[float]:
        while time.monotonic() < ended + PROBE_FOR and night.helper.process.poll() is None:
            if request(PROBE_ANSWER_SECONDS) is not None:
                return round(time.monotonic() - ended, 1)
            time.sleep(PROBE_EVERY)
        return None

    try:
        time.sleep(3)
        sample()
        turn = 0
        while time.monotonic() < deadline and night.helper.process.poll() is None:
            request_at = time.monotonic() + request_every
            while time.monotonic() < request_at - 8:  # unrelated speech until the request
                night.play(rng.choice(night.background))
                sample()
                time.sleep(rng.uniform(0.5, 2.0))
            logged_before, asked_at = len(night.helper.lines()), time.time()
            if request() is None:
                unanswered_outside_faults += 1
                unanswered_logs.append([f"{time.strftime('%H:%M:%S')} soak: request {counts['requests']} unanswered"]
                                       + night.helper.lines()[logged_before:][:UNANSWERED_LOG_LINES]
                                       + utterances_heard(heard, since=asked_at))
                end_episode()
                continue
            if not kinds:
                end_episode()
                continue
            kind = kinds[turn % len(kinds)]
            turn += 1
            filler = None
            if kind == "speaker":
                night.server.unplug_speaker()  # while the first step is being said
                time.sleep(3)
                night.server.plug_speaker()
                night.new_recordings()
            end_episode()
            if kind == "microphone":
                night.unplug_microphone()
                time.sleep(5)
                night.server.plug_microphone()
                night.new_recordings()  # the sound server had moved the microphone's recording elsewhere
            elif kind == "sound_server":
                night.restart_server()
            elif kind == "disk_full":
                filler = night.fill_disk()
            answered_after_fault[kind].append(recovered_after(time.monotonic()))
            end_episode()
            if filler is not None:
                filler.unlink()
    finally:
        crashed = night.helper.process.poll() is not None
        night.close()
    lines = night.helper.lines()
    cpu = ((samples[-1].cpu_s - samples[0].cpu_s) / max((samples[-1].seconds - samples[0].seconds) / 60, 1e-9)
           if len(samples) >= 2 else None)
    result = {
        "minutes": round((time.monotonic() - started) / 60, 1),
        "requests": counts["requests"],
        "answered": counts["answered"],
        "unanswered_outside_faults": unanswered_outside_faults,
        "unanswered_logs": unanswered_logs,
        "answered_after_fault": answered_after_fault,
        "episodes_by_stops_said": {str(times): stops_said[times] for times in sorted(stops_said)},
        "episodes_stop_did_not_end": stop_not_heard,
        "latency_p50_s": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        "rss_start_mb": round(samples[0].memory["VmRSS"], 1) if samples else None,
        "rss_end_mb": round(samples[-1].memory["VmRSS"], 1) if samples else None,
        "rss_slope_mb_per_hour": slope_mb_per_hour(samples, "VmRSS"),
        "rss_anon_slope_mb_per_hour": slope_mb_per_hour(samples, "RssAnon"),
        "rss_file_slope_mb_per_hour": slope_mb_per_hour(samples, "RssFile"),
        "rss_anon_mb_median_by_quarter": medians_by_quarter(samples, "RssAnon"),
        "rss_mb_each_minute": [round(entry.memory["VmRSS"], 1) for entry in samples[::6]],
        "rss_anon_mb_each_minute": [round(entry.memory["RssAnon"], 1) for entry in samples[::6]],
        "rss_file_mb_each_minute": [round(entry.memory["RssFile"], 1) for entry in samples[::6]],
        "cpu_s_per_minute": round(cpu, 2) if cpu is not None else None,
        "error_lines": [line for line in lines if " ERROR " in line or "Traceback" in line],
        "crashed": crashed,
    }
    if keep is not None:  # the recordings and the helper's log, to find out what went wrong
        shutil.copytree(folder, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("pulse", "disk"))
    shutil.rmtree(folder, ignore_errors=True)
    return result


def utterances_heard(folder: Path, since: float) -> List[str]:
    """The utterances the helper kept (``--keep-audio``) that ended at or after ``since`` (wall
    clock): when each ended, and how long it was. A request swallowed into a long utterance, or
    never heard as one, shows here even when the helper logged nothing."""
    found = []
    for path in sorted(folder.glob("*.wav")):
        ended = datetime.strptime(path.stem, "%Y%m%d-%H%M%S-%f")
        if ended.timestamp() >= since:
            with wave.open(str(path)) as utterance:
                seconds = utterance.getnframes() / utterance.getframerate()
            found.append(f"{ended:%H:%M:%S.%f}"[:-5] + f" soak: the helper heard an utterance of {seconds:.1f} s")
    return found or ["soak: the helper heard no utterance"]


def fault_kinds(text: str) -> List[str]:
    kinds = [kind for kind in text.split(",") if kind]
    unknown = sorted(set(kinds) - set(FAULTS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown fault {', '.join(unknown)}; choose from {', '.join(FAULTS)}")
    return kinds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--corpus", type=Path, help="real unrelated speech: a folder with manifest.csv")
    parser.add_argument("--request-every", type=float, default=REQUEST_EVERY, help="seconds between requests")
    parser.add_argument("--faults", type=fault_kinds, default=FAULTS,
                        help=f"the fault kinds, in turn, comma-separated (default: {','.join(FAULTS)})")
    parser.add_argument("--no-faults", action="store_const", const=[], dest="faults",
                        help="a quiet night: requests only")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the microphone and speaker recordings, the helper's log and every utterance it heard")
    args = parser.parse_args()
    result = soak(args.minutes, args.corpus, args.request_every, faults=args.faults, keep=args.keep)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 1 if result["crashed"] or result["unanswered_outside_faults"] else 0


if __name__ == "__main__":
    sys.exit(main())
