"""The relief content and intent phrases: loading, schema validation, and typed access.

The content lives in YAML (``voice/data/content.yaml`` by default, or a user's own file).
A file is checked completely before use; every problem is reported as ``FILE:LINE: what is wrong``
and a file with any problem is refused as a whole, so the helper never starts half-working.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from voice.base.paths import PACKAGE_DATA
from voice.base.yamlfile import KeyPath, YamlFileError, line_of, read_yaml

DEFAULT_CONTENT = PACKAGE_DATA / "content.yaml"

# Intents the dialogue manager acts on; a content file must give phrases for each.
INTENT_NAMES = (
    "cramp", "next", "repeat", "stop", "okay", "slower", "louder", "quieter",
    "causes", "prevention", "seek_care", "red_flag", "yes", "no", "help", "thanks", "summary",
    "red_flag_during", "still_cramping",
)
REPLY_NAMES = (
    "stopped", "okay", "still_cramping", "again", "help", "slower", "louder", "quieter",
    "thanks", "resume", "no_answer",
)
TOPIC_NAMES = ("causes", "prevention", "seek_care", "urgent")
# Said once an urgent alert has reached the person named in the config's ``alerts: name``
# (optional in a content file, so copies made before alerts existed still load).
DEFAULT_TOLD = "I've let {name} know."

class ContentError(YamlFileError):
    """A content file with problems; ``problems`` holds one ``FILE:LINE: message`` per problem."""

    kind = "content"


@dataclass(frozen=True)
class Step:
    """One relief step: sentences to say, then an optional timed hold."""

    id: str
    say: Tuple[str, ...]
    hold_seconds: Optional[float] = None
    while_holding: Optional[str] = None


@dataclass(frozen=True)
class Settings:
    """Timing of the dialogue, in seconds."""

    step_wait_seconds: float = 20.0
    answer_wait_seconds: float = 30.0
    long_cramp_seconds: float = 600.0
    countdown_at_seconds: Tuple[float, ...] = (10.0,)
    disclaimer_every_hours: float = 12.0
    confirm_wait_seconds: float = 8.0  # how long a doubt question waits for "yes"


@dataclass(frozen=True)
class FrequentCramps:
    """When cramps come on ``nights`` nights within ``within_days`` days, suggest seeing a doctor."""

    nights: int
    within_days: int
    suggest: str  # {nights}, {days}
    summary: str  # {days}, {nights}, {episodes}, {minutes}
    no_cramps: str  # {days}
    no_log: str


@dataclass(frozen=True)
class Content:
    """Everything the helper says and understands, as loaded from one YAML file."""

    path: Path
    disclaimer: str
    intro: str
    steps: Tuple[Step, ...]
    countdown: str
    hold_done: str
    check: str
    topics: Dict[str, Tuple[str, ...]]
    prevention_tips: Tuple[str, ...]
    replies: Dict[str, str]
    intents: Dict[str, Tuple[str, ...]]
    phrase_rules: Dict[str, str]
    confirm: Dict[str, str]  # intent -> the question asked when it was heard with doubt
    sources: Dict[str, str]
    frequent_cramps: FrequentCramps
    settings: Settings = field(default_factory=Settings)


# --- schema -------------------------------------------------------------------------------
# A tiny declarative schema: a dict of key -> spec, where a spec is a type name, a nested dict,
# or ("list", spec) / ("map", spec). Keys ending in "?" are optional.

_TEXT_LIST = ("list", "text")
_SECTION = {"sources": ("list", "source_ref"), "say": _TEXT_LIST}
SCHEMA: Dict[str, Any] = {
    "version": "int",
    "sources": ("map", {"title": "text", "url?": "text"}),
    "disclaimer": {"sources": ("list", "source_ref"), "say": "text"},
    "relief": {
        "sources": ("list", "source_ref"),
        "intro": "text",
        "order": ("list", "step_ref"),
        "steps": ("map", {"say": _TEXT_LIST, "hold?": "positive", "while_holding?": "text"}),
        "countdown": ("text_with", ("seconds",)),
        "hold_done": "text",
        "check": "text",
    },
    "causes": _SECTION,
    "prevention": {**_SECTION, "tips": _TEXT_LIST},
    "seek_care": _SECTION,
    "urgent": _SECTION,
    "replies": {**{name: "text" for name in REPLY_NAMES}, "okay": ("text_with", ("tip",)),
                "told?": ("text_with", ("name",))},
    "frequent_cramps": {
        "sources": ("list", "source_ref"),
        "nights": "count",
        "within_days": "count",
        "suggest": ("text_with", ("nights", "days")),
        "summary": ("text_with", ("days", "nights", "episodes", "minutes")),
        "no_cramps": ("text_with", ("days",)),
        "no_log": "text",
    },
    "phrase_rules?": ("map", "phrase"),
    "intents": {name: ("list", "phrase") for name in INTENT_NAMES},
    "confirm": ("map", "text"),
    "settings?": {
        "step_wait_seconds?": "positive",
        "answer_wait_seconds?": "positive",
        "long_cramp_seconds?": "positive",
        "countdown_at_seconds?": ("list", "positive"),
        "disclaimer_every_hours?": "positive",
        "confirm_wait_seconds?": "positive",
    },
}


class _Checker:
    """Walks parsed YAML against SCHEMA, collecting every problem with its line."""

    def __init__(self, lines: Dict[KeyPath, int], data: Any) -> None:
        self.lines = lines
        self.data = data
        self.problems: List[Tuple[int, str]] = []

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append((line_of(self.lines, path), message))

    def check(self, value: Any, spec: Any, path: KeyPath) -> None:
        where = ".".join(str(part) for part in path) or "the file"
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                self.problem(path, f"{where} must be a mapping of keys")
                return
            known = {key.rstrip("?"): key for key in spec}
            for key in value:
                if key not in known:
                    self.problem(path + (key,), f"unknown key '{key}' in {where}; expected one of: "
                                 + ", ".join(sorted(known)))
            for bare, key in known.items():
                if bare in value:
                    self.check(value[bare], spec[key], path + (bare,))
                elif not key.endswith("?"):
                    self.problem(path, f"{where} is missing '{bare}'")
        elif isinstance(spec, tuple) and spec[0] == "list":
            if isinstance(value, str) and spec[1] == "text":
                value = [value]
            if not isinstance(value, list):
                self.problem(path, f"{where} must be a list")
            elif not value:
                kind = "phrases" if spec[1] == "phrase" else "entries"
                self.problem(path, f"{where} has no {kind}")
            else:
                for index, item in enumerate(value):
                    self.check(item, spec[1], path + (index,))
        elif isinstance(spec, tuple) and spec[0] == "text_with":
            self.check_scalar(value, "text", path, where)
            if isinstance(value, str):
                self.check_placeholders(value, spec[1], path, where)
        elif isinstance(spec, tuple) and spec[0] == "map":
            if not isinstance(value, dict) or not value:
                self.problem(path, f"{where} must be a non-empty mapping")
                return
            for key, item in value.items():
                self.check(item, spec[1], path + (key,))
        else:
            self.check_scalar(value, spec, path, where)

    def check_placeholders(self, text: str, allowed: Tuple[str, ...], path: KeyPath, where: str) -> None:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as error:  # a lone "{" or "}"
            self.problem(path, f"{where} has a broken {{placeholder}} ({error})")
            return
        for name in sorted(names - set(allowed)):
            self.problem(path, f"{where} has an unknown placeholder {{{name}}}; it may use: "
                         + ", ".join(f"{{{n}}}" for n in allowed))

    def check_scalar(self, value: Any, spec: str, path: KeyPath, where: str) -> None:
        if spec in ("text", "phrase"):
            if not isinstance(value, str) or not value.strip():
                self.problem(path, f"{where} has no text to say" if spec == "text"
                             else f"{where} is an empty phrase")
        elif spec == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                self.problem(path, f"{where} must be a whole number")
        elif spec == "count":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                self.problem(path, f"{where} must be a whole number of at least 1, not {value!r}")
        elif spec == "positive":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                self.problem(path, f"{where} must be a positive number of seconds, not {value!r}")
        elif spec == "step_ref":
            steps = self.data.get("relief", {}).get("steps") or {}
            if value not in steps:
                self.problem(path, f"{where} names a missing step '{value}'")
        elif spec == "source_ref":
            if value not in (self.data.get("sources") or {}):
                self.problem(path, f"{where} names an unknown source '{value}'")


def check_content(path: Union[str, Path, None] = None) -> Content:
    """Load and validate a content file.

    Raises:
        ContentError: with every problem found, each as ``FILE:LINE: what is wrong``.
    """
    from voice.hearing.intents import template_problems  # intents builds on content, not the reverse

    path = Path(path) if path else DEFAULT_CONTENT
    data, lines = read_yaml(path, ContentError)
    checker = _Checker(lines, data if isinstance(data, dict) else {})
    checker.check(data, SCHEMA, ())
    if not checker.problems:
        for intent, index, message in template_problems(data["intents"], data.get("phrase_rules") or {}):
            checker.problem(("intents", intent, index), message)
        for intent in data["confirm"]:
            if intent not in INTENT_NAMES:
                checker.problem(("confirm", intent), f"confirm.{intent} is not an intent; expected one of: "
                                + ", ".join(INTENT_NAMES))
    if checker.problems:
        raise ContentError([f"{path}:{line}: {message}" for line, message in sorted(checker.problems)])
    return _build(path, data)


def _texts(value: Union[str, List[str]]) -> Tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _build(path: Path, data: Dict[str, Any]) -> Content:
    relief = data["relief"]
    steps = tuple(
        Step(
            id=step_id,
            say=_texts(relief["steps"][step_id]["say"]),
            hold_seconds=relief["steps"][step_id].get("hold"),
            while_holding=relief["steps"][step_id].get("while_holding"),
        )
        for step_id in relief["order"]
    )
    settings = data.get("settings") or {}
    if "countdown_at_seconds" in settings:
        settings = {**settings, "countdown_at_seconds": tuple(settings["countdown_at_seconds"])}
    return Content(
        path=path,
        disclaimer=data["disclaimer"]["say"],
        intro=relief["intro"],
        steps=steps,
        countdown=relief["countdown"],
        hold_done=relief["hold_done"],
        check=relief["check"],
        topics={name: _texts(data[name]["say"]) for name in TOPIC_NAMES},
        prevention_tips=_texts(data["prevention"]["tips"]),
        replies={"told": DEFAULT_TOLD, **data["replies"]},
        intents={name: tuple(phrases) for name, phrases in data["intents"].items()},
        phrase_rules=dict(data.get("phrase_rules") or {}),
        confirm=dict(data["confirm"]),
        sources={key: source["title"] for key, source in data["sources"].items()},
        frequent_cramps=FrequentCramps(**{key: value for key, value in data["frequent_cramps"].items()
                                          if key != "sources"}),
        settings=Settings(**settings),
    )
