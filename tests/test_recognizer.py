"""The grammar compiled from the templates, and the pocketsphinx engine that searches it."""

from __future__ import annotations

import itertools
from typing import Dict, List, Optional, Set, Tuple

import pytest
from hassil import parse_sentence
from hassil.sample import sample_expression

from voice.base.errors import BedsideError
from voice.conversation.content import check_content
from voice.conversation.dialogue import VOCABULARIES
from voice.hearing.grammar import Grammar, GrammarError, compile_templates, load_decoys, shared_sentence
from voice.hearing.intents import IntentMatcher, Vocabulary, normalize
from voice.hearing.recognizer import PocketsphinxRecognizer, Transcript
from voice.sound.audio import FileSource, read_audio_file

RULES = {"part": "[left|right] (calf|leg)", "ouch": "(oh|ow)"}
TEMPLATES = ["[<ouch>] [i have] [a] [bad] cramp [in my <part>]", "[<ouch>] my <part> hurts", "charley horse"]
SMALL = {"idle": Vocabulary(tuple(TEMPLATES), tuple(RULES.items())), "episode": Vocabulary(("next",))}
CONTENT = check_content()
MATCHER = IntentMatcher(CONTENT.intents, CONTENT.phrase_rules)


def sentences_of(grammar: Grammar, limit: int = 20) -> Set[str]:
    following: Dict[int, List[Tuple[int, Optional[str]]]] = {}
    for source, target, _, *word in grammar.transitions:
        following.setdefault(source, []).append((target, word[0] if word else None))
    found: Set[str] = set()

    def walk(state: int, words: Tuple[str, ...]) -> None:
        if state == grammar.final:
            found.add(" ".join(words))
        if len(words) < limit:
            for target, word in following.get(state, []):
                walk(target, words + ((word,) if word else ()))

    walk(0, ())
    return found


def expanded(templates, rules) -> Set[str]:
    parsed = {name: parse_sentence(text) for name, text in rules.items()}
    return {normalize(text) for template in templates
            for text in sample_expression(parse_sentence(template).expression, expansion_rules=parsed)}


def test_the_grammar_accepts_exactly_the_templates_sentences():
    grammar = compile_templates(TEMPLATES, RULES)
    assert sentences_of(grammar) == expanded(TEMPLATES, RULES)
    assert sentences_of(grammar.minimized()) == expanded(TEMPLATES, RULES)


def test_the_minimized_grammar_is_deterministic_small_and_has_empty_transitions_only_at_the_end():
    grammar = compile_templates(TEMPLATES, RULES).minimized()
    arcs = [(t[0], t[3]) for t in grammar.transitions if len(t) == 4]
    assert len(arcs) == len(set(arcs))  # one way out of a state per word
    assert all(t[1] == grammar.final for t in grammar.transitions if len(t) == 3)
    # The shipped idle grammar allows over half a million sentences in a few hundred arcs.
    idle = MATCHER.vocabulary(VOCABULARIES["idle"]).grammar()
    assert len(idle.transitions) < 1000 and idle.states < 300
    assert idle.accepts("oh i've got a terrible cramp in my left calf".split())
    assert not idle.accepts("oh i've got a terrible cramp in my".split())


def test_every_accepted_sentence_matches_the_same_intent_the_matcher_gives():
    cramp = MATCHER.vocabulary(["cramp"]).grammar()
    for sentence in itertools.islice(sorted(sentences_of(cramp, limit=9)), 0, None, 97):
        match = MATCHER.match(sentence)
        assert match is not None and match.intent == "cramp", sentence


def test_decoys_never_spell_a_request_and_lead_to_the_end():
    grammar = compile_templates(TEMPLATES, RULES).minimized()
    with_decoys = grammar.with_decoys(["the", "cramp", "coffee"], 0.1)
    decoy_words = {t[3] for t in with_decoys.transitions if len(t) == 4} - set(grammar.words)
    assert decoy_words == {"the", "coffee"}  # "cramp" is a request word
    assert sentences_of(with_decoys, limit=3) >= {"the", "coffee the", "cramp", "charley horse"}
    assert len(load_decoys()) >= 1000 and load_decoys()[:3] == ["the", "to", "i"]


def test_two_intents_claiming_one_sentence_are_found():
    first = compile_templates(["[oh] my calf hurts"]).minimized()
    second = compile_templates(["(oh|ah) my (leg|calf) hurts"]).minimized()
    assert shared_sentence(first, second) == "oh my calf hurts"
    assert shared_sentence(first, compile_templates(["next"]).minimized()) is None


@pytest.mark.parametrize("template, message", [("my <nothing>", "not defined"), ("my {list}", "not supported")])
def test_bad_templates_are_clear_errors(template, message):
    with pytest.raises(GrammarError, match=message):
        compile_templates([template])


def hear(recognizer: PocketsphinxRecognizer, wav, vocabulary: str = "idle") -> Optional[Transcript]:
    recognizer.select(vocabulary)
    recognizer.start()
    for frame in FileSource(wav).frames():
        recognizer.accept(frame)
    return recognizer.finish()


def test_a_clear_request_outside_the_old_templates_is_heard_with_its_confidence(recordings):
    heard = hear(PocketsphinxRecognizer(SMALL), recordings(["oh, I have a bad cramp in my left calf"]))
    assert heard is not None and heard.text == "oh i have a bad cramp in my left calf"
    assert -3.0 <= heard.confidence <= 0


def test_other_speech_goes_to_the_decoys_not_to_the_nearest_request(recordings):
    wav = recordings(["I would like a large coffee with milk, please."], voice="flite:rms")
    assert hear(PocketsphinxRecognizer(SMALL, decoy_count=0), wav) is not None  # forced onto a request
    assert hear(PocketsphinxRecognizer(SMALL, decoy_count=200), wav) is None


def test_forget_history_makes_a_decode_independent_of_what_came_before(recordings):
    request = read_audio_file(recordings(["oh no, another cramp"], voice="flite:awb")).tobytes()
    other = (read_audio_file(recordings(["the weather is very nice today"], voice="flite:kal")) // 4).tobytes()
    recognizer = PocketsphinxRecognizer(SMALL)
    first = recognizer.decode(request, "idle")
    recognizer.decode(other, "idle")
    assert recognizer.decode(request, "idle") != first  # the quiet speech moved its estimate
    recognizer.decode(other, "idle")
    recognizer.forget_history()
    assert recognizer.decode(request, "idle") == first


def test_only_the_idle_vocabulary_has_decoys(recordings):
    heard = hear(PocketsphinxRecognizer(SMALL), recordings(["next"]), "episode")
    assert heard is not None and heard.text == "next"


def test_a_word_the_dictionary_lacks_is_a_clear_error():
    with pytest.raises(BedsideError, match="no pronunciation for: zzqxw"):
        PocketsphinxRecognizer({"idle": Vocabulary(("cramp zzqxw",))})
