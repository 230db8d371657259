"""The recognizer's search graph, compiled from the intent templates.

The templates (hassil's language, ``[oh] my <part> (hurts|is cramping)``) are turned into one
finite-state grammar whose size grows with the templates' text, not with the number of
sentences they allow: ``[a] [<bad>] cramp [in my <part>]`` is a handful of states whether
``<bad>`` has two words or twenty. Optional parts become empty ("null") transitions.

While idle, a grammar of requests alone forces every sound onto the nearest request. A *decoy*
loop of frequent English words can give ordinary speech somewhere better to go: when the best
path runs through the decoys, nothing was asked (``Grammar.with_decoys``). The helper leaves it
off (``voice.hearing.recognizer.DECOY_COUNT``: it cost requests; docs/benchmarks.md); the gates,
the verifier and the command model decide what to believe instead.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from importlib import resources
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from hassil import parse_sentence
from hassil.expression import Alternative, Expression, Group, ListReference, Permutation, RuleReference, TextChunk

from voice.base.text import normalize

# One transition: (from state, to state, probability, word), or (from, to, probability) for an
# empty one; the shape pocketsphinx's ``Decoder.create_fsg`` takes.
Transition = Tuple


@dataclass
class Grammar:
    """A finite-state grammar: state 0 is the start, ``final`` the one end."""

    transitions: List[Transition] = field(default_factory=list)
    states: int = 1
    final: int = -1
    _arcs: Optional[Tuple[Dict[int, Dict[str, int]], Set[int]]] = field(default=None, init=False, repr=False,
                                                                          compare=False)

    def new_state(self) -> int:
        self.states += 1
        return self.states - 1

    def word(self, source: int, word: str, target: Optional[int] = None, probability: float = 1.0) -> int:
        target = self.new_state() if target is None else target
        self.transitions.append((source, target, probability, word))
        self._arcs = None
        return target

    def empty(self, source: int, target: int, probability: float = 1.0) -> None:
        self.transitions.append((source, target, probability))
        self._arcs = None

    @property
    def words(self) -> List[str]:
        return sorted({transition[3] for transition in self.transitions if len(transition) == 4})

    def minimized(self) -> "Grammar":
        """The smallest deterministic grammar accepting the same sentences, with no empty
        transitions except into the final state. pocketsphinx searches empty transitions
        poorly (it loses paths across them), and a deterministic grammar has one way through
        per sentence, so its search is smaller too. (Brzozowski: determinize the reverse twice.)"""
        forward = {(t[0], t[3], t[1]) for t in self.transitions if len(t) == 4}
        empty = {(t[0], t[1]) for t in self.transitions if len(t) == 3}
        reverse = _determinize({(b, w, a) for a, w, b in forward}, {(b, a) for a, b in empty}, {self.final}, {0})
        states, arcs, finals = _determinize({(b, w, a) for a, w, b in reverse[1]}, set(), set(reverse[2]), {0})
        grammar = Grammar(states=states)
        for source, word, target in sorted(arcs):
            grammar.word(source, word, target)
        grammar.final = grammar.new_state()
        for state in sorted(finals):
            grammar.empty(state, grammar.final)
        return grammar

    def arcs(self) -> Tuple[Dict[int, Dict[str, int]], Set[int]]:
        """For a ``minimized`` grammar: state -> word -> next state, and the states that end
        a sentence. Built once (``accepts`` runs on every utterance)."""
        if self._arcs is None:
            following: Dict[int, Dict[str, int]] = {}
            ends = set()
            for transition in self.transitions:
                if len(transition) == 4:
                    following.setdefault(transition[0], {})[transition[3]] = transition[1]
                elif transition[1] == self.final:
                    ends.add(transition[0])
            self._arcs = following, ends
        return self._arcs

    def accepts(self, words: Sequence[str]) -> bool:
        """Whether this (``minimized``) grammar accepts the sentence ``words``."""
        following, ends = self.arcs()
        state: Optional[int] = 0
        for word in words:
            state = following.get(state, {}).get(word)
            if state is None:
                return False
        return state in ends

    def with_decoys(self, decoys: Iterable[str], weight: float) -> "Grammar":
        """This (``minimized``) grammar plus a loop of ``decoys`` from the start to the end,
        each decoy word taken with probability ``weight`` (a per-word penalty: below 1, a
        sentence that fits as well as the decoys wins). Decoys that are also request words are
        left out, so that the decoy path can never spell a request. (One empty transition into
        the loop: pocketsphinx then searches the decoys from a single tree of their sounds.)"""
        grammar = Grammar(list(self.transitions), self.states, self.final)
        loop = grammar.new_state()
        grammar.empty(0, loop)
        for decoy in sorted(set(decoys) - set(self.words)):
            grammar.word(loop, decoy, loop, weight)
        grammar.empty(loop, grammar.final)
        return grammar


def _determinize(arcs: Set[Tuple[int, str, int]], empty: Set[Tuple[int, int]], starts: Set[int],
                 finals: Set[int]) -> Tuple[int, Set[Tuple[int, str, int]], List[int]]:
    """Subset construction from the states ``starts``: (state count, arcs, final states), with
    state 0 the start. ``finals`` are the accepting states of the input. Everything is taken in
    sorted order, so the states are numbered the same in every process: pocketsphinx's search
    depends on the grammar's order, and Python's string hashing changes from run to run."""
    following: Dict[int, Dict[str, Set[int]]] = {}
    for source, word, target in sorted(arcs):
        following.setdefault(source, {}).setdefault(word, set()).add(target)
    empties: Dict[int, Set[int]] = {}
    for source, target in empty:
        empties.setdefault(source, set()).add(target)

    def closure(states: Iterable[int]) -> FrozenSet[int]:
        found, todo = set(states), list(states)
        while todo:
            for target in empties.get(todo.pop(), ()):
                if target not in found:
                    found.add(target)
                    todo.append(target)
        return frozenset(found)

    first = closure(sorted(starts))
    numbers = {first: 0}
    todo = [first]
    result: Set[Tuple[int, str, int]] = set()
    accepting = []
    while todo:
        subset = todo.pop()
        if subset & finals:
            accepting.append(numbers[subset])
        by_word: Dict[str, Set[int]] = {}
        for state in sorted(subset):
            for word, targets in following.get(state, {}).items():
                by_word.setdefault(word, set()).update(targets)
        for word, targets in sorted(by_word.items()):
            target = closure(targets)
            if target not in numbers:
                numbers[target] = len(numbers)
                todo.append(target)
            result.add((numbers[subset], word, numbers[target]))
    return len(numbers), result, accepting


class GrammarError(ValueError):
    pass


def compile_templates(templates: Iterable[str], rules: Mapping[str, str] = {}) -> Grammar:
    """One grammar accepting every sentence of ``templates`` (with ``<rule>`` references
    resolved from ``rules``), and nothing else."""
    parsed_rules = {name: parse_sentence(text).expression for name, text in rules.items()}
    grammar = Grammar()
    ends = [_build(grammar, parse_sentence(template).expression, 0, parsed_rules, ()) for template in templates]
    grammar.final = grammar.new_state()
    for end in sorted(set(ends)):
        grammar.empty(end, grammar.final)
    return grammar


def _build(grammar: Grammar, expression: Expression, start: int, rules: Mapping[str, Expression],
           active_rules: Sequence[str]) -> int:
    """Add ``expression``'s paths from state ``start``; return the state where they end."""
    if isinstance(expression, TextChunk):
        state = start
        for word in normalize(expression.original_text or expression.text).split():
            state = grammar.word(state, word)
        return state
    if isinstance(expression, RuleReference):
        name = expression.rule_name
        if name not in rules:
            raise GrammarError(f"the phrase rule <{name}> is not defined")
        if name in active_rules:
            raise GrammarError(f"the phrase rule <{name}> refers to itself")
        return _build(grammar, rules[name], start, rules, (*active_rules, name))
    if isinstance(expression, ListReference):
        raise GrammarError(f"lists such as {{{expression.list_name}}} are not supported; use a <rule>")
    if isinstance(expression, Permutation):
        orders = [list(order) for order in itertools.permutations(expression.items)]
        return _alternatives(grammar, [_Sequence(order) for order in orders], start, rules, active_rules, False)
    if isinstance(expression, Alternative):
        return _alternatives(grammar, expression.items, start, rules, active_rules, expression.is_optional)
    if isinstance(expression, (Group, _Sequence)):
        state = start
        for item in expression.items:
            state = _build(grammar, item, state, rules, active_rules)
        return state
    raise GrammarError(f"unsupported template part: {expression!r}")


@dataclass
class _Sequence:
    items: List[Expression]


def _alternatives(grammar: Grammar, items: Sequence, start: int, rules: Mapping[str, Expression],
                  active_rules: Sequence[str], optional: bool) -> int:
    end = grammar.new_state()
    for item in items:
        grammar.empty(_build(grammar, item, start, rules, active_rules), end)
    if optional:
        grammar.empty(start, end)
    return end


def load_decoys() -> List[str]:
    """The shipped decoy words (see scripts/make_decoys.py for where they come from)."""
    text = resources.files("voice.data").joinpath("decoys.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def shared_sentence(first: Grammar, second: Grammar) -> Optional[str]:
    """A sentence both grammars accept (the shortest), or None; both must be ``minimized()``."""
    (first_arcs, first_ends), (second_arcs, second_ends) = first.arcs(), second.arcs()
    paths: Dict[Tuple[int, int], Tuple[str, ...]] = {(0, 0): ()}
    todo = [(0, 0)]
    while todo:  # breadth first, so the first shared end is reached by the shortest sentence
        pair = todo.pop(0)
        if pair[0] in first_ends and pair[1] in second_ends:
            return " ".join(paths[pair])
        for word, target in first_arcs.get(pair[0], {}).items():
            other = second_arcs.get(pair[1], {}).get(word)
            if other is not None and (target, other) not in paths:
                paths[(target, other)] = paths[pair] + (word,)
                todo.append((target, other))
    return None
