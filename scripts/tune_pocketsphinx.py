"""Tune pocketsphinx's confidence gates on the benchmark's *tuning* set (never the test set).

    .venv/bin/python scripts/tune_pocketsphinx.py --corpus ../shared/corpus

The gate for waking up (and for "stop" while speaking) moves recall and false triggers; the
gate mid-conversation moves command accuracy. Each is swept with the other at its current
value, and the chosen pair goes into voice/recognizer.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from voice.bench import bench_engine, make_recordings
from voice.content import check_content
from voice.recognizer import MIN_CONFIDENCE, MIN_CONFIDENCE_BY_VOCABULARY, PocketsphinxRecognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--wake", default="-2.4,-2.6,-2.8,-3.0,-3.2", help="gates to try for waking up")
    parser.add_argument("--episode", default="-3.6,-4.0,-4.4,-4.8", help="gates to try mid-conversation")
    args = parser.parse_args()
    content = check_content()
    recordings = make_recordings(args.corpus, "tuning")
    episode_now = MIN_CONFIDENCE_BY_VOCABULARY["episode"]
    trials = [(float(wake), episode_now) for wake in args.wake.split(",")]
    trials += [(MIN_CONFIDENCE, float(episode)) for episode in args.episode.split(",")]
    print("wake  episode  recall_clean recall_snr10 commands  false/h  false/utterance")
    for wake, episode in dict.fromkeys(trials):
        report = bench_engine("pocketsphinx", content, recordings,
                              lambda vocabularies: PocketsphinxRecognizer(
            vocabularies, wake, {**MIN_CONFIDENCE_BY_VOCABULARY, "episode": episode}))
        n = report.numbers
        print(f"{wake:5} {episode:7}  {n['recall_clean']:12} {n['recall_snr10']:12} {n['command_accuracy']:8} "
              f"{n['false_triggers_per_hour']:8} {n['false_trigger_rate_utterances']:8}", flush=True)


if __name__ == "__main__":
    main()
