"""What ``bedside bench`` prints and draws from its reports."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable

import numpy as np

from voice.bench.recordings import DISTANT, SNRS_DB
from voice.bench.suite import EngineReport


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
            if isinstance(value, dict):
                yield f"  {name}:"
                yield from (f"    {inner:30} {number}" for inner, number in value.items())
            else:
                yield f"  {name:32} {value}"
        yield f"  {'recall_clean by voice':32} " + ", ".join(f"{v} {r}" for v, r in report.recall_by_voice.items())
        for line in report.confused:
            yield f"  confused: {line}"
        if report.real is not None:
            yield from (f"  real wake-up: {line}" for line in report.real.wakes)
            yield from (f"  real command missed: {line}" for line in report.real.command_misses[:30])
        for line in report.false_triggers[:20]:
            yield f"  false trigger: {line}"
        for line in report.missed[:15]:
            yield f"  missed: {line}"
        if len(report.missed) > 15:
            yield f"  ... and {len(report.missed) - 15} more missed"
