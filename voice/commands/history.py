"""``bedside history``: the night log as text, JSON, CSV or a chart; ``--forget`` deletes it."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from voice.base.errors import BedsideError
from voice.commands.common import open_night_log_file


def run(args: argparse.Namespace) -> int:
    from voice.night_log.history import summarize
    from voice.night_log.report import csv_report, plot_report, text_report

    if args.days < 1:
        raise BedsideError("--days must be at least 1")
    night_log = open_night_log_file()
    if args.forget:
        return forget(night_log, args.yes)
    everything = night_log.episodes()
    night_log.close()
    summary = summarize(everything, args.days, datetime.now())
    episodes = [e for e in everything if summary.since <= e.night <= summary.until]
    if args.json:
        print(json.dumps({"episodes": [e.as_json() for e in episodes], "summary": summary.as_json()}, indent=2))
    elif args.csv:
        print(csv_report(episodes), end="")
    else:
        print("\n".join(text_report(episodes, summary, night_log.path)))
    if args.plot:
        plot_report(episodes, summary, Path(args.plot))
        print(f"bedside: chart written to {args.plot}", file=sys.stderr)
    return 0


def forget(night_log, confirmed: bool) -> int:
    count = len([e for e in night_log.episodes() if e.cramp])
    if not confirmed:
        print(f"Delete the night log {night_log.path} ({count} episodes)? This cannot be undone. "
              "Type yes to delete: ", end="", flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer != "yes":
            print("bedside: nothing deleted", file=sys.stderr)
            return 1
    deleted = night_log.forget()
    print(f"bedside: deleted the night log ({count} episodes; {len(deleted)} files)", file=sys.stderr)
    return 0
