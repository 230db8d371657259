"""Where the command model's thresholds put real people's commands, on the tuning speakers only.

    .venv/bin/python scripts/tune_commands.py --real ../shared/real [--weights voice/data/commands.npz]

Runs each real word of the manifest's tuning rows once during relief and once after the doubt
question, as ``bedside bench`` does (voice/bench/real.py), keeping for every utterance the command
model judged what the recognizer heard and the model's probabilities. Then it replays
``voice.hearing.decision.command_opinion`` for a grid of thresholds (accept, agree, none) without
decoding again, and prints stop, yes and no heard right and other words taken as a command: for
all tuning speakers, and for the quarter of them held out of the model's training
(scripts/training.py, ``speaker_held_out``), whose probabilities are the honest ones. The first
line says how often the replay at the model's own thresholds gives what the pipeline did (the
verifier's second opinion on a repeated request is not replayed).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training import speaker_held_out, speech_commands_speaker  # noqa: E402
from voice.base.events import Event, Heard  # noqa: E402
from voice.bench.real import acted_on, command_clips, real_rows  # noqa: E402
from voice.bench.recordings import Clip  # noqa: E402
from voice.conversation.content import Content, check_content  # noqa: E402
from voice.conversation.dialogue import VOCABULARIES  # noqa: E402
from voice.conversation.simulate import simulate_frames  # noqa: E402
from voice.hearing.command_model import WEIGHTS, CommandModel, load_command_model  # noqa: E402
from voice.hearing.decision import (COMMAND_WORDS, URGENT_INTENTS, Gates, command_opinion, gates_for,  # noqa: E402
                                    red_flag_in_words)
from voice.hearing.intents import IntentMatcher  # noqa: E402
from voice.hearing.recognizer import Recognizer, open_recognizer  # noqa: E402
from voice.hearing.syllables import syllable_count  # noqa: E402
from voice.hearing.verifier import Verifier, load_verifier  # noqa: E402
from voice.sound.audio import split_frames  # noqa: E402

# Where each word is said, and what the helper listens with there.
CONTEXTS = {"during_relief": "episode", "after_question": "confirm"}
ACCEPT = (0.5, 0.6, 0.7, 0.8)
AGREE = (0.05, 0.1, 0.2, 0.3)
NONE = (0.8, 0.9, 0.95)


@dataclass
class Judged:
    """One utterance the command model judged: its probabilities and syllables, and what the
    helper recorded of it (None: nothing heard, and dropped)."""

    probabilities: Dict[str, float]
    syllables: int
    heard: Optional[Heard] = None


Step = Union[Judged, Heard]  # an utterance the model judged, or one it did not (recorded as heard)


@dataclass
class Trial:
    expected: Optional[str]  # stop, yes, no; None for another word
    held_out: bool
    vocabulary: str
    first: Optional[str]  # what the pipeline acted on first (or asked about)
    steps: List[Step]


class Recording:
    """The command model, keeping what it said of each utterance (for the replay)."""

    def __init__(self, model: CommandModel) -> None:
        self.model = model
        self.accept, self.agree, self.none = model.accept, model.agree, model.none
        self.steps: List[Step] = []
        self._judged: Optional[Judged] = None  # the utterance judged last

    def probabilities(self, samples: np.ndarray) -> Dict[str, float]:
        found = self.model.probabilities(samples)
        self._judged = Judged(found, syllable_count(samples))
        self.steps.append(self._judged)
        return found

    def event(self, event: Event) -> None:
        """Sees every event: what was heard of the utterance just judged, or of one not judged."""
        if isinstance(event, Heard):
            if event.command is None:
                self.steps.append(event)
            elif self._judged is not None:
                self._judged.heard = event


@dataclass
class Setup:
    """What each worker process hears with: the bench's own pieces."""

    content: Content
    matcher: IntentMatcher
    recognizer: Recognizer
    model: CommandModel
    verifier: Verifier
    gates: Gates

    @classmethod
    def load(cls, weights: Path) -> "Setup":
        content = check_content()
        matcher = IntentMatcher(content.intents, content.phrase_rules)
        recognizer = open_recognizer("pocketsphinx", matcher.vocabularies(VOCABULARIES))
        return cls(content, matcher, recognizer, load_command_model(weights), load_verifier(recognizer.name),
                   gates_for(recognizer.name, verified=True))


_setup: List[Setup] = []  # this worker's


def _start(weights: Path) -> None:
    _setup.append(Setup.load(weights))


def _run(clip: Clip) -> List[Tuple[str, Optional[str], List[Step]]]:
    setup = _setup[0]
    found = []
    for context in CONTEXTS:
        recording = Recording(setup.model)
        result = simulate_frames(clip.name, split_frames(clip.samples), setup.recognizer, setup.matcher, setup.content,
                                 first_heard="cramp", gates=setup.gates, verifier=setup.verifier,
                                 first_doubtful=context == "after_question", commands=recording,  # type: ignore[arg-type]
                                 on_event=recording.event)
        acted = acted_on(result)
        found.append((context, acted[0].intent if acted else None, recording.steps))
    return found


def replay(trial: Trial, thresholds: Thresholds, matcher: IntentMatcher, gates: Gates) -> Optional[str]:
    """What the helper would have acted on first at these ``thresholds``."""
    for step in trial.steps:
        if isinstance(step, Heard):
            intent, certainty = step.intent, step.certainty
        else:
            text = step.heard.text if step.heard is not None else ""
            confidence = step.heard.confidence if step.heard is not None else None
            match = matcher.match(text) if text else None
            intent = match.intent if match else None
            certainty = gates.judge(trial.vocabulary, intent, confidence) if intent else None
            intent, certainty = command_opinion(intent, certainty, step.probabilities, thresholds,
                                                VOCABULARIES[trial.vocabulary])
            if intent in URGENT_INTENTS:
                intent, certainty = red_flag_in_words(intent, certainty, step.syllables)
        if intent and certainty is not None:
            return intent
    return None


@dataclass(frozen=True)
class Thresholds:
    accept: float
    agree: float
    none: float


def score(trials: Sequence[Trial], firsts: Sequence[Optional[str]]) -> str:
    words = {word: [first == trial.expected for trial, first in zip(trials, firsts) if trial.expected == word]
             for word in COMMAND_WORDS}
    others = [first is not None for trial, first in zip(trials, firsts) if trial.expected is None]
    heard = "  ".join(f"{word} {sum(hits) / max(len(hits), 1):.3f}" for word, hits in words.items())
    return f"{heard}  other words as a command {sum(others) / max(len(others), 1):.4f}"


def both(trials: Sequence[Trial], held: Sequence[bool], firsts: Sequence[Optional[str]]) -> str:
    """The score of all tuning speakers, and of the held-out quarter."""
    kept = [index for index, held_out in enumerate(held) if held_out]
    return (f"all  {score(trials, firsts)}  |  "
            f"held {score([trials[index] for index in kept], [firsts[index] for index in kept])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, required=True, help="real people (../shared/real): its tuning rows")
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    rows = [row for row in real_rows(args.real, "tuning") if row.folder == "commands"]
    clips = command_clips(rows)
    trials: List[Trial] = []
    with Pool(args.workers, initializer=_start, initargs=(args.weights,)) as pool:
        for row, clip, runs in zip(rows, clips, pool.imap(_run, clips, chunksize=8)):
            held_out = speaker_held_out(speech_commands_speaker(row.file))
            trials += [Trial(clip.expected, held_out, CONTEXTS[context], first, steps) for context, first, steps in runs]
    setup = Setup.load(args.weights)
    model, matcher, gates = setup.model, setup.matcher, setup.gates
    own = Thresholds(model.accept, model.agree, model.none)
    same = sum(replay(trial, own, matcher, gates) == trial.first for trial in trials)
    print(f"{len(trials)} trials; the replay at the model's own thresholds gives what the pipeline did in {same}")
    held = [trial.held_out for trial in trials]
    print(f"the pipeline: {both(trials, held, [trial.first for trial in trials])}")
    for accept, agree, none in [(own.accept, own.agree, own.none), *itertools.product(ACCEPT, AGREE, NONE)]:
        thresholds = Thresholds(accept, agree, none)
        firsts = [replay(trial, thresholds, matcher, gates) for trial in trials]
        print(f"accept {accept:.3f} agree {agree:.3f} none {none:.3f}:  {both(trials, held, firsts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
