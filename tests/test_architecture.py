"""Dependencies run one way: from the commands down to the stages, with no import circles."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

VOICE = Path(__file__).resolve().parent.parent / "voice"


def imports() -> Dict[str, Set[str]]:
    """Each module of the package -> the package's modules it imports (anywhere in it)."""
    graph: Dict[str, Set[str]] = {}
    for path in VOICE.glob("*.py"):
        found: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found |= {name.split(".")[1] for name in names if name.startswith("voice.")}
        graph[path.stem] = found
    return graph


def circles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    found: List[List[str]] = []

    def walk(path: List[str]) -> None:
        for module in sorted(graph.get(path[-1], ())):
            if module in path:
                found.append(path[path.index(module):] + [module])
            else:
                walk(path + [module])

    for module in sorted(graph):
        walk([module])
    return found


def test_no_module_of_the_package_imports_itself_back():
    assert circles(imports()) == []


def test_the_shared_events_import_no_stage():
    graph = imports()
    assert graph["events"] == set()
    assert {"dialogue", "pipeline"}.isdisjoint(graph["history"])


def test_a_circle_is_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})[0] == ["a", "b", "c", "a"]
