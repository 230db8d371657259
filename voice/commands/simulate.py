"""``bedside simulate``: recordings through the helper, one result per file; one bad file does not
lose the others."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from voice.base.errors import BedsideError
from voice.commands.common import load_stages, open_night_log_file, settings, start_alerts, voice_settings

SIMULATE_ALERT_WAIT_SECONDS = 5.0  # simulate --alerts: how long a file's alerts may take to go out


def run(args: argparse.Namespace) -> int:
    from voice.conversation.simulate import RecordingOutput, simulate_file
    from voice.speaking.speech import Synthesizer, write_wav

    if args.at and not args.record_history:
        raise BedsideError("--at only applies with --record-history")
    paths = [Path(name) for name in args.files]
    config = settings(args)
    content, matcher, recognizer, verifier, commands = load_stages(config)
    recording = RecordingOutput(Synthesizer(voice_settings(config))) if args.say_to else None
    night_log = open_night_log_file() if args.record_history else None
    alerts = start_alerts(config, source="simulated") if args.alerts else None
    alert_wait = SIMULATE_ALERT_WAIT_SECONDS
    failures = 0
    for path in paths:
        try:
            result = simulate_file(path, recognizer, matcher, content, recording, config.rate, night_log, args.at,
                                   on_event=alerts.on_event if alerts else None, verifier=verifier, commands=commands)
        except BedsideError as error:  # one bad file must not lose the results of the others
            print(f"bedside: {error}", file=sys.stderr)
            failures += 1
            continue
        if alerts is not None and alert_wait:
            if not alerts.courier.wait_idle(alert_wait):
                alert_wait = 0.0  # a channel is down: the next files do not wait for it again
            if alerts.told():
                result.conversation.told(alerts.settings.name)
        if args.json:
            print(json.dumps(result.as_json()), flush=True)
        else:
            print("\n".join(result.lines()), flush=True)
        print(f"bedside: {path}: {result.audio_seconds:.1f} s of audio in {result.processing_seconds:.2f} s",
              file=sys.stderr)
    if recording is not None:
        write_wav(args.say_to, recording.samples())
    if alerts is not None:
        left = alerts.close()
        if left:
            print(f"bedside: alerts not yet sent on {', '.join(left)} stay in the outbox; "
                  "they are sent at the next start", file=sys.stderr)
    return 1 if failures else 0
