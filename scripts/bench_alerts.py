"""How fast a caregiver hears of a red flag: ``bedside listen`` on a private PulseAudio server,
a real Mosquitto broker on 127.0.0.1, and a subscriber standing in for Home Assistant.

Each trial says a red flag into the virtual microphone and times, from the end of the spoken
words, (a) the first sound of the helper's urgent advice and (b) the alert's arrival at the
subscriber; then "stop" cuts the advice short. Then the broker is stopped: the advice must come
as fast as before, and once the broker is started again the queued alerts must arrive.

    .venv/bin/python scripts/bench_alerts.py [--trials 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_live import recording_start, speak  # noqa: E402
from mqtt import Broker, Subscriber  # noqa: E402
from pulse import Helper, PulseServer  # noqa: E402

RED_FLAGS = [("my calf is swollen and red", "slt"), ("my calf is swollen", "rms"), ("one calf is swollen", "awb"),
             ("my leg is red and warm", "kal16"), ("I can't catch my breath", "slt")]
DOWN_TRIALS = 3


class Trial:
    def __init__(self, server: PulseServer, folder: Path, subscriber: Subscriber) -> None:
        self.server = server
        self.subscriber = subscriber
        self.mic = server.listen_to_microphone(folder / "mic.raw")
        self.speaker = server.listen_to_speaker(folder / "speaker.raw")
        time.sleep(0.5)
        self.mic_start, self.speaker_start = recording_start(self.mic), recording_start(self.speaker)

    def say(self, wav: Path, expect_alert: bool) -> Dict[str, Optional[float]]:
        self.speaker.wait_for_quiet()
        alerts_before = len(self.subscriber.alerts())
        mic_at, speaker_at = self.mic.seconds(), self.speaker.seconds()
        self.server.play_into_microphone(wav)
        loud = self.mic.loud_seconds(since=mic_at, threshold=328)
        spoken_end = self.mic_start + loud[-1] + 0.01 if loud else time.monotonic()
        answer = self.speaker.wait_for_speech(since=speaker_at, timeout=10)
        alert_at = None
        if expect_alert:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(self.subscriber.alerts()) <= alerts_before:
                time.sleep(0.01)
            arrivals = [at for (topic, _, _), at in zip(self.subscriber.messages, self.subscriber.arrived)
                        if topic == "bedside/alert"]
            if len(arrivals) > alerts_before:
                alert_at = arrivals[alerts_before] - spoken_end
        return {"answer_s": None if answer is None else self.speaker_start + answer - spoken_end,
                "alert_s": alert_at}

    def stop(self) -> None:
        self.mic.stop()
        self.speaker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bedside-alerts-") as name:
        folder = Path(name)
        (folder / "pulse").mkdir()
        server = PulseServer(folder / "pulse")
        server.start()
        broker = Broker(folder, persistent=True).start()
        subscriber = Subscriber(broker.port, "bedside/alert", session="bench-alerts")
        (folder / "config").mkdir()
        config = folder / "config" / "alerts.yaml"
        config.write_text(f"alerts:\n  name: Sam\n  mqtt: {{host: 127.0.0.1, port: {broker.port}}}\n")
        config.chmod(0o600)
        wavs = [speak(text, voice, folder / f"red{index}.wav") for index, (text, voice) in enumerate(RED_FLAGS)]
        stop_wav = speak("stop", "rms", folder / "stop.wav")
        helper = Helper(server, folder, "--config", str(config), env={"XDG_DATA_HOME": str(folder / "data")})
        trial = Trial(server, folder, subscriber)
        try:
            time.sleep(2)
            up = []
            for index in range(args.trials):
                result = trial.say(wavs[index % len(wavs)], expect_alert=True)
                up.append(result)
                print(f"  {RED_FLAGS[index % len(wavs)][0]!r}: answer {result['answer_s']} s, "
                      f"alert {result['alert_s']} s", file=sys.stderr)
                server.play_into_microphone(stop_wav)
                time.sleep(1.5)
            broker.stop()
            time.sleep(1)
            down = []
            for index in range(DOWN_TRIALS):
                down.append(trial.say(wavs[index % len(wavs)], expect_alert=False))
                server.play_into_microphone(stop_wav)
                time.sleep(1.5)
            before = len(subscriber.alerts())
            restarted = time.monotonic()
            broker.start()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(subscriber.alerts()) < before + DOWN_TRIALS:
                time.sleep(0.05)
            delivered_after = time.monotonic() - restarted
            queued_delivered = len(subscriber.alerts()) - before
            told = sum("said: I've let Sam know." in line for line in helper.lines())
        finally:
            trial.stop()
            helper.stop()
            subscriber.close()
            broker.stop()
            server.stop()

    def p50(values: List[Optional[float]]) -> Optional[float]:
        known = [value for value in values if value is not None]
        return round(statistics.median(known), 3) if known else None

    result = {
        "trials": args.trials,
        "alerts_received": sum(entry["alert_s"] is not None for entry in up),
        "alert_p50_s": p50([entry["alert_s"] for entry in up]),
        "alert_max_s": max((entry["alert_s"] for entry in up if entry["alert_s"] is not None), default=None),
        "answer_p50_s": p50([entry["answer_s"] for entry in up]),
        "broker_down": {
            "trials": DOWN_TRIALS,
            "answered": sum(entry["answer_s"] is not None for entry in down),
            "answer_p50_s": p50([entry["answer_s"] for entry in down]),
            "queued_delivered_after_restart": queued_delivered,
            "seconds_from_broker_start_to_last_delivery": round(delivered_after, 1),
        },
        "told_sam": told,
        "told_sam_expected": args.trials,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
