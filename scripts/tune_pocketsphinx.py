"""Tune pocketsphinx's two gates on the benchmark's *tuning* set (never the test set).

    .venv/bin/python scripts/tune_pocketsphinx.py --corpus ../shared/corpus [--decoys 200]

Runs the tuning recordings once with every gate open and every wake-up turned into a doubt
question, so that each request's confidence, and the confidence of the "yes" that answers the
question, are recorded; then scores every pair of gates (sure, doubtful) for waking up, and
the gate for "yes", without decoding again. The chosen gates go into voice/hearing/decision.py.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import List, Optional, Tuple

from voice.base.events import Heard
from voice.bench.recordings import FORMANT
from voice.bench.suite import RED_FLAG_INTENTS, make_recordings
from voice.conversation.content import check_content
from voice.conversation.dialogue import VOCABULARIES
from voice.conversation.simulate import simulate_samples
from voice.hearing.decision import Gate, Gates
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import DECOY_COUNT, DECOY_WEIGHT, PocketsphinxRecognizer

OPEN = Gate(sure=float("-inf"), doubtful=float("-inf"))
# Every wake-up is asked about, every answer and command taken: the recording shows them all.
ASK_EVERYTHING = Gates(default=Gate(sure=float("inf"), doubtful=float("-inf")),
                       by_vocabulary={"episode": OPEN, "while_speaking": OPEN},
                       by_intent={("confirm", "yes"): OPEN, ("confirm", "no"): OPEN})
Request = Tuple[Optional[str], float, Optional[float]]  # first intent heard, its confidence, the yes's


def first_request(heard: List[Heard]) -> Request:
    for index, event in enumerate(heard):
        if event.certainty == "doubtful":
            yes = next((e.confidence for e in heard[index + 1:] if e.intent == "yes"), None)
            return event.intent, event.confidence, yes
    return None, float("-inf"), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--decoys", type=int, default=DECOY_COUNT)
    parser.add_argument("--weight", type=float, default=DECOY_WEIGHT)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    content = check_content()
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    recognizer = PocketsphinxRecognizer(matcher.vocabularies(VOCABULARIES), args.decoys, args.weight)
    recordings = make_recordings(args.corpus, "tuning", args.minutes, ["clean", "distant", "snr10"])

    def run(clip) -> List[Heard]:
        return simulate_samples(clip.name, clip.samples, recognizer, matcher, content, gates=ASK_EVERYTHING,
                                answer=clip.answer).conversation.heard

    requests = [(clip, first_request(run(clip))) for clip in recordings.requests if clip.voice != FORMANT]
    formant = [first_request(run(clip)) for clip in recordings.requests if clip.voice == FORMANT]
    stream = simulate_samples("stream", recordings.stream, recognizer, matcher, content, gates=ASK_EVERYTHING)
    wakes = [event.confidence for event in stream.conversation.heard
             if event.certainty == "doubtful" and event.intent not in RED_FLAG_INTENTS]
    hours = recordings.stream.size / 16000 / 3600
    print(f"decoys {args.decoys} weight {args.weight}; {len(requests)} requests, {hours * 60:.0f} min of negatives")
    print("sure  doubtful  yes   recall_clean recall_snr10 recall_distant formant asked  wakes/h questions/h")
    # The last gates open everything: pocketsphinx's ceiling on these recordings.
    for sure, doubtful, yes in itertools.product((-2.4, -2.8, -3.2, -3.6, -99), (-2.8, -3.2, -3.6, -4.0, -4.4, -4.8, -99),
                                                 (-2.8, -3.2, -3.6, -99)):
        if doubtful > sure:
            continue

        def started(request: Request) -> Tuple[bool, bool]:
            intent, confidence, yes_confidence = request
            if intent != "cramp" or confidence < doubtful:
                return False, False
            if confidence >= sure:
                return True, False
            return yes_confidence is not None and yes_confidence >= yes, True

        def recall(condition: str) -> float:
            chosen = [started(result) for clip, result in requests if clip.condition == condition]
            return sum(hit for hit, _ in chosen) / max(len(chosen), 1)

        outcomes = [started(result) for _, result in requests]
        asked = sum(hit and was_asked for hit, was_asked in outcomes) / max(sum(hit for hit, _ in outcomes), 1)
        print(f"{sure:5} {doubtful:8} {yes:5} {recall('clean'):12.3f} {recall('snr10'):12.3f} "
              f"{recall('distant'):14.3f} {sum(started(r)[0] for r in formant) / max(len(formant), 1):7.3f} "
              f"{asked:5.2f} {sum(c >= sure for c in wakes) / hours:8.1f} "
              f"{sum(doubtful <= c < sure for c in wakes) / hours:11.1f}", flush=True)


if __name__ == "__main__":
    main()
