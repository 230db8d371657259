"""Dependencies run one way: from the commands down to the stages, with no import circles, between
modules and between the packages that group them (each package's __init__ says what it may import)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

VOICE = Path(__file__).resolve().parent.parent / "voice"
# Each part of the helper, and the parts it may import (besides its own modules).
MAY_IMPORT: Dict[str, Set[str]] = {
    "base": set(),
    "sound": {"base"},
    "hearing": {"base", "sound"},
    "speaking": {"base", "sound"},
    "night_log": {"base"},
    "conversation": {"base", "sound", "hearing", "speaking", "night_log"},
    "alerts": {"base", "night_log"},
    "service": {"base", "sound", "hearing", "speaking", "night_log", "conversation", "alerts"},
    "bench": {"base", "sound", "hearing", "speaking", "conversation"},
    "commands": {"base", "sound", "hearing", "speaking", "night_log", "conversation", "alerts", "service", "bench"},
}
LONGEST_MODULE = 400  # lines


def module_name(path: Path) -> str:
    parts = path.relative_to(VOICE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> Dict[str, Set[str]]:
    """Each module of the package (``voice.hearing.recognizer``) -> the package's modules it
    imports, anywhere in it."""
    modules = {module_name(path) for path in VOICE.rglob("*.py")}
    graph: Dict[str, Set[str]] = {}
    for path in VOICE.rglob("*.py"):
        found: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("voice"):
                # "from voice.bench import suite" imports voice.bench.suite; "from voice import __version__" voice
                found |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                          for alias in node.names}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("voice.")}
        graph[module_name(path)] = found - {module_name(path)}
    return graph


def part(module: str) -> str:
    """``voice.hearing.recognizer`` -> ``hearing``; the top level (voice, voice.cli) -> ``top``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in MAY_IMPORT) else "top"


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


def upward(graph: Dict[str, Set[str]]) -> List[str]:
    """Imports of a part that its package does not allow (``voice``'s version is everyone's)."""
    return [f"{module} imports {imported}" for module, imported_set in sorted(graph.items())
            for imported in sorted(imported_set)
            if part(module) in MAY_IMPORT and part(imported) != part(module)
            and part(imported) not in MAY_IMPORT[part(module)] and imported != "voice"]


def test_each_part_imports_only_the_parts_below_it():
    assert upward(imports()) == []


def test_every_module_is_in_a_part_and_every_part_says_what_it_may_import():
    loose = [path.name for path in VOICE.glob("*.py") if path.stem not in ("__init__", "__main__", "cli")]
    assert loose == []
    assert sorted(path.parent.name for path in VOICE.glob("*/__init__.py")) == sorted(MAY_IMPORT)
    for name in MAY_IMPORT:
        assert "import" in ast.get_docstring(ast.parse((VOICE / name / "__init__.py").read_text())).lower(), name


def test_no_module_is_longer_than_it_should_be():
    long = {module_name(path): lines for path in VOICE.rglob("*.py")
            if (lines := len(path.read_text().splitlines())) > LONGEST_MODULE}
    assert long == {}


def test_the_shared_events_import_no_stage():
    graph = imports()
    assert graph["voice.base.events"] == set()
    assert {"voice.conversation.dialogue", "voice.conversation.pipeline"}.isdisjoint(graph["voice.night_log.history"])


def test_a_circle_is_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})[0] == ["a", "b", "c", "a"]


def test_a_part_importing_one_above_it_is_found():
    graph = {"voice.hearing.recognizer": {"voice.service.live", "voice.base.errors", "voice"},
             "voice.cli": {"voice.commands.listen"}}
    assert upward(graph) == ["voice.hearing.recognizer imports voice.service.live"]
