"""Intent matching: recognized text -> intent name, from phrase templates kept in the content YAML.

Templates use hassil's language (``[oh] my <part> (hurts|is cramping)``, where ``<part>`` is one
of the content's ``phrase_rules``). The same templates serve twice: hassil matches recognized
text against them, and they are compiled into the grammar that restricts what the recognizer
listens for (``voice.hearing.grammar``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from hassil import Intents, recognize
from hassil.errors import HassilError
from hassil.parser import ParseError

from voice.base.text import normalize
from voice.hearing.grammar import Grammar, GrammarError, compile_templates, shared_sentence

__all__ = ["IntentMatch", "IntentMatcher", "Vocabulary", "normalize", "template_problems"]


def template_problems(intents: Mapping[str, Sequence[str]],
                      rules: Mapping[str, str] = {}) -> Iterator[Tuple[str, int, str]]:
    """Yield ``(intent, template index, message)`` for broken templates and for a sentence
    that two intents both claim (which would make its meaning depend on luck)."""
    grammars: Dict[str, Grammar] = {}
    for intent, templates in intents.items():
        try:
            grammars[intent] = compile_templates(templates, rules).minimized()
        except (HassilError, ParseError, GrammarError):
            for index, template in enumerate(templates):  # name the first broken one
                try:
                    compile_templates([template], rules)
                except (HassilError, ParseError, GrammarError) as error:
                    yield intent, index, f"the phrase template '{template}' is broken: {error}"
                    break
    names = list(grammars)
    for position, first in enumerate(names):
        for second in names[position + 1:]:
            sentence = shared_sentence(grammars[first], grammars[second])
            if sentence is not None:
                index = next(index for index, template in enumerate(intents[second])
                             if compile_templates([template], rules).minimized().accepts(sentence.split()))
                yield second, index, f"the phrase '{sentence}' is under both '{first}' and '{second}'"


@dataclass(frozen=True)
class IntentMatch:
    intent: str
    text: str


@dataclass(frozen=True)
class Vocabulary:
    """What the recognizer listens for at one moment: the templates of some intents."""

    templates: Tuple[str, ...]
    rules: Tuple[Tuple[str, str], ...] = ()

    def grammar(self) -> Grammar:
        """The compiled grammar, built once per vocabulary (do not change it in place)."""
        return self._grammar

    @cached_property
    def _grammar(self) -> Grammar:
        return compile_templates(self.templates, dict(self.rules)).minimized()

    @property
    def words(self) -> List[str]:
        return self.grammar().words


class IntentMatcher:
    """Matches whole utterances against the intent templates."""

    def __init__(self, intents: Mapping[str, Sequence[str]], rules: Optional[Mapping[str, str]] = None) -> None:
        self._templates = {name: tuple(templates) for name, templates in intents.items()}
        self._rules = dict(rules or {})
        self._hassil = Intents.from_dict({
            "language": "en",
            "expansion_rules": self._rules,
            "intents": {name: {"data": [{"sentences": list(templates)}]}
                        for name, templates in self._templates.items()},
        })

    def match(self, text: str) -> Optional[IntentMatch]:
        """The intent whose template matches all of ``text``, or None."""
        text = normalize(text)
        if not text:
            return None
        result = recognize(text, self._hassil)
        return IntentMatch(result.intent.name, text) if result else None

    def vocabulary(self, intents: Iterable[str]) -> Vocabulary:
        """The templates of these intents, for the recognizer."""
        templates = tuple(template for name in sorted(intents) for template in self._templates[name])
        return Vocabulary(templates, tuple(sorted(self._rules.items())))

    def vocabularies(self, intent_sets: Mapping[str, Iterable[str]]) -> Dict[str, Vocabulary]:
        return {name: self.vocabulary(intents) for name, intents in intent_sets.items()}
