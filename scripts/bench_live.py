"""Live-mode benchmark: ``bedside listen`` on a private PulseAudio server with virtual devices.

Measures what the always-on helper costs and how fast it answers:
  * CPU seconds per minute of digital silence, and of quiet room noise (brown noise at -50 dBFS);
  * CPU seconds per minute of continuous unrelated speech (the corpus's real speech if --corpus
    is given, else espeak-ng sentences);
  * peak RSS of the helper process;
  * time from the end of a spoken cramp request to the first sound from the speaker.

Run after scripts/setup --test:  .venv/bin/python scripts/bench_live.py [--corpus ../shared/corpus]
Prints one line per number and, with --json OUT, writes them as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pulse import RATE, Helper, PulseServer, SinkRecording  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REQUESTS = [  # (text, flite voice): varied phrasings and voices
    ("I have a cramp in my calf", "slt"), ("my calf hurts", "rms"), ("charley horse", "awb"),
    ("cramp", "kal"), ("my leg is cramping", "slt"), ("help me I have a cramp", "rms"),
    ("ouch my calf", "awb"), ("I've got a cramp", "kal"), ("my calf is cramping", "slt"),
    ("leg cramp", "rms"),
]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def status_mb(pid: int, names: Tuple[str, ...]) -> Dict[str, float]:
    """Memory figures from /proc/PID/status (VmHWM, VmRSS, RssAnon, RssFile, ...), in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in names:
            found[name] = int(value.split()[0]) / 1024
    return found


def peak_rss_mb(pid: int) -> float:
    return status_mb(pid, ("VmHWM",)).get("VmHWM", float("nan"))


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def speak(text: str, voice: str, out: Path) -> Path:
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(raw)], check=True)
    sox(str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out), "pad", "0.3", "0.5")
    return out


def unrelated_speech(folder: Path, corpus: Optional[Path], seconds: float) -> Path:
    parts: List[str] = []
    if corpus is not None:
        with (corpus / "manifest.csv").open() as manifest:
            parts = [str(corpus / row["path"]) for row in csv.DictReader(manifest) if row["kind"] == "negative"]
    else:
        sentences = ["The weather is lovely this morning.", "Can you pass me the salt, please?",
                     "We should leave early to catch the train.", "The meeting moved to Thursday afternoon.",
                     "I think the garden needs watering again."]
        for index, sentence in enumerate(sentences):
            part = folder / f"sentence{index}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us+f3" if index % 2 else "en-gb", "-w", str(part), sentence],
                           check=True)
            parts.append(str(part))
    converted = []
    total = 0.0
    for index, part in enumerate(parts * 20):
        out = folder / f"speech{index}.wav"
        sox(part, "-r", str(RATE), "-c", "1", "-b", "16", str(out), "pad", "0", "0.3")
        converted.append(str(out))
        total += float(subprocess.run(["soxi", "-D", str(out)], capture_output=True, text=True).stdout)
        if total >= seconds:
            break
    stream = folder / "unrelated_speech.wav"
    sox(*converted, str(stream))
    return stream


def recording_start(recording: SinkRecording) -> float:
    """Wall-clock time of a recording's first sample; the earliest estimate is the best one,
    since data arriving late only makes a recording look shorter."""
    estimates = []
    for _ in range(20):
        estimates.append(time.monotonic() - recording.seconds())
        time.sleep(0.01)
    return min(estimates)


def measure_cpu(server: PulseServer, folder: Path, wav: Optional[Path], seconds: float) -> Tuple[float, float]:
    """CPU seconds per minute while ``wav`` (or nothing: digital silence) plays into the mic;
    returns it with the helper's peak RSS in MB."""
    helper = Helper(server, folder)
    try:
        time.sleep(3)  # let start-up settle
        before, started = cpu_seconds(helper.process.pid), time.monotonic()
        if wav is None:
            time.sleep(seconds)
        else:
            server.play_into_microphone(wav)
        used, elapsed = cpu_seconds(helper.process.pid) - before, time.monotonic() - started
        return used / elapsed * 60, peak_rss_mb(helper.process.pid)
    finally:
        helper.stop()


def measure_latency(server: PulseServer, folder: Path) -> List[float]:
    latencies = []
    for index, (text, voice) in enumerate(REQUESTS):
        trial = folder / f"trial{index}"
        trial.mkdir()
        wav = speak(text, voice, trial / "request.wav")
        speaker = server.listen_to_speaker(trial / "speaker.raw")
        mic = server.listen_to_microphone(trial / "mic.raw")
        helper = Helper(server, trial)
        try:
            time.sleep(1)
            mic_start, speaker_start = recording_start(mic), recording_start(speaker)
            mic_at = mic.seconds()
            server.play_into_microphone(wav)
            loud_in_mic = mic.loud_seconds(since=mic_at, threshold=328)
            answer = speaker.wait_for_speech(since=0.0, timeout=8)
            if answer is None or not loud_in_mic:
                print(f"  {text!r} ({voice}): no answer", file=sys.stderr)
                continue
            spoken_end = mic_start + loud_in_mic[-1] + 0.01
            latency = speaker_start + answer - spoken_end
            latencies.append(latency)
            print(f"  {text!r} ({voice}): {latency:.2f} s", file=sys.stderr)
        finally:
            helper.stop()
            speaker.stop()
            mic.stop()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="folder with manifest.csv of real unrelated speech")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each CPU measurement")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bedside-bench-live-"))
    server = PulseServer(folder)
    server.start()
    results: Dict[str, float] = {}
    try:
        noise = folder / "room_noise.wav"
        sox("-n", "-r", str(RATE), "-c", "1", "-b", "16", str(noise), "synth", str(args.seconds),
            "brownnoise", "gain", "-n", "-50")
        speech = unrelated_speech(folder, args.corpus, args.seconds)
        for name, wav in (("silence", None), ("room_noise", noise), ("speech", speech)):
            run = folder / name
            run.mkdir()
            cpu, rss = measure_cpu(server, run, wav, args.seconds)
            results[f"cpu_s_per_min_{name}"] = round(cpu, 3)
            results[f"peak_rss_mb_{name}"] = round(rss, 1)
        latencies = measure_latency(server, folder)
        results["answered"] = len(latencies)
        results["requests"] = len(REQUESTS)
        if latencies:
            results["latency_p50_s"] = round(float(np.percentile(latencies, 50)), 3)
            results["latency_p95_s"] = round(float(np.percentile(latencies, 95)), 3)
    finally:
        server.stop()
    results["idle_cpu_fraction_of_one_core"] = round(results["cpu_s_per_min_room_noise"] / 60, 4)
    for name, value in results.items():
        print(f"{name}: {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
