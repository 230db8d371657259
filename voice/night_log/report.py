"""``bedside history``: the night log as text, JSON, CSV, or a chart to show a doctor."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Dict, List

from voice.base.errors import BedsideError
from voice.base.events import Summary
from voice.night_log.history import Episode


def _counts(counts: Dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items(), key=lambda item: -item[1])) or "-"


def text_report(episodes: List[Episode], summary: Summary, path: Path) -> List[str]:
    lines = [f"Night log: {path}"]
    period = f"Last {summary.days} days ({summary.since} to {summary.until})"
    if not summary.episodes:
        flags = [f"Red flags: {'; '.join(summary.red_flags)}"] if summary.red_flags else []
        return lines + [f"{period}: no cramps recorded.", *flags]
    average = f", about {summary.average_minutes:g} minutes on average" if summary.average_minutes else ""
    lines += [
        f"{period}: cramps on {summary.nights} nights, {summary.episodes} episodes{average}.",
        f"Per week: {', '.join(f'{week} {count}' for week, count in sorted(summary.per_week.items()))}",
        f"How they ended: {_counts(summary.outcomes)}",
        f"What helped (the step it eased at): {_counts(summary.helped)}",
        f"Red flags: {'; '.join(summary.red_flags) if summary.red_flags else 'none'}",
        "",
        "night of    start  minutes  ended           steps",
    ]
    for episode in episodes:
        minutes = "-" if episode.minutes is None or not episode.cramp else f"{episode.minutes:.1f}"
        note = "  (simulated)" if episode.source == "simulated" else ""
        flags = f"  red flag: {'; '.join(episode.red_flags)}" if episode.red_flags else ""
        lines.append(f"{episode.night}  {episode.started_at:%H:%M}  {minutes:>7}  "
                     f"{episode.outcome or 'going on':<14}  {', '.join(episode.steps) or '-'}{flags}{note}")
    return lines


CSV_COLUMNS = ("night", "started_at", "ended_at", "minutes", "outcome", "steps", "red_flags", "source")


def csv_report(episodes: List[Episode]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for episode in episodes:
        data = episode.as_json()
        writer.writerow([data["night"], data["started_at"], data["ended_at"] or "", data["minutes"] or "",
                         data["outcome"] or "", ";".join(episode.steps), ";".join(episode.red_flags),
                         episode.source])
    return out.getvalue()


def plot_report(episodes: List[Episode], summary: Summary, out: Path) -> None:
    """A plain chart a person could show a doctor: cramp episodes per night, red flags marked."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BedsideError("plotting needs matplotlib; install it: .venv/bin/pip install matplotlib") from None
    nights = [summary.since + timedelta(days=offset) for offset in range(summary.days)]
    per_night = {night: 0 for night in nights}
    flagged = set()
    for episode in episodes:
        if episode.night in per_night:
            per_night[episode.night] += int(episode.cramp)
            if episode.red_flags:
                flagged.add(episode.night)
    figure, axis = plt.subplots(figsize=(10, 4), dpi=100)
    axis.bar(nights, [per_night[night] for night in nights], color="#4a78a8", label="cramp episodes")
    if flagged:
        axis.scatter(sorted(flagged), [per_night[night] + 0.3 for night in sorted(flagged)], marker="v",
                     color="#c0392b", zorder=3, label="red flag reported")
    axis.set_ylabel("episodes that night")
    axis.set_xlabel("night of (the evening's date)")
    axis.set_title(f"Night leg cramps, {summary.since:%d %b %Y} to {summary.until:%d %b %Y}: "
                   f"{summary.nights} nights, {summary.episodes} episodes")
    axis.yaxis.get_major_locator().set_params(integer=True)
    axis.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    try:
        figure.savefig(out)
    except OSError as error:
        raise BedsideError(f"cannot write {out} ({error.strerror})") from None
    finally:
        plt.close(figure)
