"""Intent matching: recognized text -> intent name, from phrase templates kept in the content YAML.

Templates use hassil's language (``[my] (calf|leg) [is] cramping``). The same templates serve twice:
hassil matches recognized text against them, and they are expanded into the full list of
sentences that restricts what the recognizer listens for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from hassil import Intents, parse_sentence, recognize, sample_expression
from hassil.errors import HassilError
from hassil.parser import ParseError

_NON_WORD = re.compile(r"[^\w' ]+")


def normalize(text: str) -> str:
    """Lower-case, drop punctuation but keep apostrophes, fold white space."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def expand_template(template: str) -> List[str]:
    """Every sentence a template can say, normalized."""
    return sorted({normalize(text) for text in sample_expression(parse_sentence(template).expression)} - {""})


def template_problems(intents: Mapping[str, Sequence[str]]) -> Iterator[Tuple[str, int, str]]:
    """Yield ``(intent, template index, message)`` for broken templates and for a sentence
    that two intents both claim (which would make its meaning depend on luck)."""
    owner: Dict[str, str] = {}
    for intent, templates in intents.items():
        for index, template in enumerate(templates):
            try:
                sentences = expand_template(template)
            except (HassilError, ParseError) as error:
                yield intent, index, f"the phrase template '{template}' is broken: {error}"
                continue
            for sentence in sentences:
                other = owner.setdefault(sentence, intent)
                if other != intent:
                    yield intent, index, f"the phrase '{sentence}' is under both '{other}' and '{intent}'"


@dataclass(frozen=True)
class IntentMatch:
    intent: str
    text: str


class IntentMatcher:
    """Matches whole utterances against the intent templates."""

    def __init__(self, intents: Mapping[str, Sequence[str]]) -> None:
        self._templates = {name: tuple(templates) for name, templates in intents.items()}
        self._hassil = Intents.from_dict({
            "language": "en",
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

    def sentences(self, intents: Iterable[str]) -> List[str]:
        """All sentences the templates of these intents allow, for the recognizer's vocabulary."""
        return sorted({sentence for name in intents for template in self._templates[name]
                       for sentence in expand_template(template)})

    def vocabularies(self, intent_sets: Mapping[str, Iterable[str]]) -> Dict[str, List[str]]:
        return {name: self.sentences(intents) for name, intents in intent_sets.items()}
