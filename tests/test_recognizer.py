"""The pocketsphinx engine: its grammar, and the confidence gate that keeps other speech out."""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import pytest

from voice.audio import FileSource
from voice.errors import BedsideError
from voice.recognizer import PocketsphinxRecognizer, Transcript, prefix_tree

VOCABULARIES = {"idle": ["cramp", "cramp in my calf", "i have a cramp", "my calf hurts"], "episode": ["next"]}


def sentences_of(start: int, final: int, transitions: List[tuple]) -> Set[str]:
    following: Dict[int, List[Tuple[int, Optional[str]]]] = {}
    for source, target, _, *word in transitions:
        following.setdefault(source, []).append((target, word[0] if word else None))
    found: Set[str] = set()

    def walk(state: int, words: Tuple[str, ...]) -> None:
        if state == final:
            found.add(" ".join(words))
        for target, word in following.get(state, []):
            walk(target, words + ((word,) if word else ()))

    walk(start, ())
    return found


def test_the_grammar_accepts_exactly_the_sentences_and_shares_their_beginnings():
    sentences = VOCABULARIES["idle"]
    start, final, transitions = prefix_tree(sentences)
    assert sentences_of(start, final, transitions) == set(sentences)
    words = [transition[3] for transition in transitions if len(transition) == 4]
    # "cramp" is searched once for both sentences that start with it.
    assert words.count("cramp") == 2  # the first word of two sentences, and in "i have a cramp"
    assert len(words) == len({tuple(s.split()[: i + 1]) for s in sentences for i in range(len(s.split()))})


def hear(recognizer: PocketsphinxRecognizer, wav, vocabulary: str = "idle") -> Optional[Transcript]:
    recognizer.select(vocabulary)
    recognizer.start()
    for frame in FileSource(wav).frames():
        recognizer.accept(frame)
    return recognizer.finish()


def test_a_clear_request_is_heard_with_its_confidence(recordings):
    heard = hear(PocketsphinxRecognizer(VOCABULARIES), recordings(["I have a cramp"]))
    assert heard is not None and heard.text == "i have a cramp"
    assert -2.8 <= heard.confidence <= 0


def test_other_speech_that_fits_no_whole_sentence_is_not_heard(recordings):
    # pocketsphinx's best guess here is the beginning of a sentence ("i have a"): not a request.
    wav = recordings(["hello there"], voice="flite:rms")
    assert hear(PocketsphinxRecognizer(VOCABULARIES, min_confidence=-1000.0), wav) is None


def test_the_gate_keeps_out_a_sentence_that_fits_worse_than_it_asks(recordings):
    wav = recordings(["my cap hurts"], voice="flite:slt")  # close to "my calf hurts"
    ungated = hear(PocketsphinxRecognizer(VOCABULARIES, min_confidence=-1000.0), wav)
    assert ungated is not None and ungated.text == "my calf hurts"
    assert hear(PocketsphinxRecognizer(VOCABULARIES, min_confidence=ungated.confidence + 0.01), wav) is None
    assert hear(PocketsphinxRecognizer(VOCABULARIES, min_confidence=ungated.confidence - 0.01), wav) == ungated


def test_each_vocabulary_has_its_own_gate(recordings):
    wav = recordings(["next"])
    strict_when_idle = PocketsphinxRecognizer(VOCABULARIES, min_confidence=0.0, min_confidence_by_vocabulary={
        "episode": -1000.0})
    heard = hear(strict_when_idle, wav, "episode")
    assert heard is not None and heard.text == "next"
    assert hear(strict_when_idle, recordings(["I have a cramp"]), "idle") is None


def test_a_word_the_dictionary_lacks_is_a_clear_error():
    with pytest.raises(BedsideError, match="no pronunciation for: zzqxw"):
        PocketsphinxRecognizer({"idle": ["cramp zzqxw"]})
