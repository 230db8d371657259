"""Reading a user's YAML file with the line of every key, so each problem can say ``FILE:LINE``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

import yaml

from voice.base.errors import BedsideError

KeyPath = Tuple[Union[str, int], ...]


class YamlFileError(BedsideError):
    """A file with problems; ``problems`` holds one ``FILE:LINE: message`` per problem."""

    kind = "YAML"

    def __init__(self, problems: List[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def line_of(lines: Dict[KeyPath, int], path: KeyPath) -> int:
    """The line of ``path``, or of its nearest parent that has one."""
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


def _to_python(node: yaml.Node, path: KeyPath, lines: Dict[KeyPath, int]) -> Any:
    """Turn a composed YAML node into plain Python, recording the line of every path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: Dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            result[key] = _to_python(value_node, path + (key,), lines)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, path + (index,), lines) for index, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def read_yaml(path: Path, error: type = YamlFileError) -> Tuple[Any, Dict[KeyPath, int]]:
    """Parse ``path``; returns the data (``None`` for an empty file) and the line of every key path.

    Raises:
        error: (a ``YamlFileError`` subclass) for a missing, unreadable or malformed file.
    """
    what = f"{error.kind} file"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error([f"{path}:1: no such {what}; check the path"]) from None
    except (OSError, UnicodeDecodeError) as problem:
        raise error([f"{path}:1: cannot read the {what} ({problem})"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        line = mark.line + 1 if mark else 1
        raise error([f"{path}:{line}: YAML syntax error: {problem.problem or problem}"]) from None
    lines: Dict[KeyPath, int] = {}
    return (_to_python(node, (), lines) if node is not None else None), lines
