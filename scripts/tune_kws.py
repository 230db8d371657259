"""Tune pocketsphinx's keyphrase thresholds on the benchmark's *tuning* set (never the test set).

    .venv/bin/python scripts/tune_kws.py --corpus ../shared/corpus

Prints, for each (slope, offset) pair of the threshold 1e-(slope * phones + offset), the tuning
set's recall, command accuracy and false triggers; the chosen pair goes into voice/recognizer.py.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from voice.bench import bench_engine, make_recordings
from voice.content import check_content
from voice.recognizer import PocketsphinxRecognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--slopes", default="2.5,3.0,3.5")
    parser.add_argument("--offsets", default="-8,-5,-2")
    args = parser.parse_args()
    content = check_content()
    recordings = make_recordings(args.corpus, "tuning")
    print("slope offset  recall_clean recall_snr10 commands  false/h  false/utterance")
    for slope, offset in itertools.product(map(float, args.slopes.split(",")), map(float, args.offsets.split(","))):
        report = bench_engine("pocketsphinx", content, recordings,
                              lambda vocabularies: PocketsphinxRecognizer(vocabularies, slope, offset))
        n = report.numbers
        print(f"{slope:5} {offset:6}  {n['recall_clean']:12} {n['recall_snr10']:12} {n['command_accuracy']:8} "
              f"{n['false_triggers_per_hour']:8} {n['false_trigger_rate_utterances']:8}", flush=True)


if __name__ == "__main__":
    main()
