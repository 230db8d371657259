"""``bedside room-check``: would the helper have woken up during this recorded night?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from voice.base.progress import terminal_progress
from voice.commands.common import load_stages, settings
from voice.sound.audio import FRAME_SECONDS


def run(args: argparse.Namespace) -> int:
    from voice.bench import roomcheck

    config = settings(args)
    content, matcher, recognizer, verifier, commands = load_stages(config)
    report = roomcheck.room_check(Path(args.file), recognizer, matcher, content, args.start,
                                  terminal_progress("listening to the night", 60 / FRAME_SECONDS, " min"), verifier,
                                  commands)
    print(json.dumps(report.as_json()) if args.json else "\n".join(report.lines()), flush=True)
    if args.plot:
        roomcheck.plot(report, Path(args.plot))
    return 0
