"""The shipped content: complete, safe, and every bad-file case caught with its line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import run_bedside
from voice.conversation.content import DEFAULT_CONTENT, ContentError, check_content

FORBIDDEN = ["diclofenac", "ibuprofen", "indomethacin", "celecoxib", "eperisone", "xuefu zhuyu",
             "calcium acetate", "calcium lactate", "calcium carbonate", "quinine"]


def all_text() -> str:
    return DEFAULT_CONTENT.read_text().lower()


def test_shipped_content_is_valid():
    content = check_content()
    assert [step.id for step in content.steps] == [
        "calf_stretch", "standing_stretch", "massage", "warmth", "walking", "afterwards"]
    assert content.steps[0].hold_seconds and content.steps[0].while_holding


@pytest.mark.parametrize("word", FORBIDDEN)
def test_no_drug_names_anywhere(word):
    assert word not in all_text()


@pytest.mark.parametrize("topic, needles", [
    ("causes", ["calcium", "magnesium", "potassium", "tired", "circulation", "cold", "diabetes",
                "thyroid", "water tablets", "nerve", "no clear cause"]),
    ("prevention", ["stretch", "fluids", "warm", "sitting or standing", "bedding", "shoes", "exercise",
                    "ask a doctor or pharmacist before starting a supplement or medicine"]),
    ("seek_care", ["often", "sleep", "swelling", "numbness", "skin colour", "medicine", "ten minutes",
                   "weak", "pregnant", "emergency services"]),
    ("urgent", ["swollen", "red", "warm", "blood clot", "emergency services or a doctor now",
                "short of breath", "chest pain"]),
])
def test_every_seed_topic_is_covered(topic, needles):
    text = " ".join(check_content().topics[topic]).lower()
    for needle in needles:
        assert needle in text, f"{topic} does not mention {needle!r}"


def test_every_section_names_its_sources():
    data = yaml.safe_load(DEFAULT_CONTENT.read_text())
    titles = " ".join(source["title"] for source in data["sources"].values())
    assert "NHS: Leg cramps" in titles and "Mayo Clinic: Night leg cramps" in titles
    for section in ("disclaimer", "relief", "causes", "prevention", "seek_care", "urgent"):
        assert data[section]["sources"], section


def test_disclaimer_is_said_in_one_sentence():
    assert check_content().disclaimer.count("not a doctor") == 1
    assert all_text().count("not a doctor") == 1


def broken(tmp_path: Path, edit) -> Path:
    text = DEFAULT_CONTENT.read_text()
    new = edit(text)
    assert new != text, "the edit did not apply"
    path = tmp_path / "content.yaml"
    path.write_text(new)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize("edit, needle, message", [
    (lambda t: t.replace("  countdown:", "  countdwn:"), "countdwn:", "unknown key 'countdwn'"),
    (lambda t: t.replace('hold_done: "Good. Gently let go."', 'hold_done: ""'), "hold_done:", "no text to say"),
    (lambda t: t.replace("hold: 30\n      while_holding: \"Breathe", "hold: -5\n      while_holding: \"Breathe"),
     "hold: -5", "positive number"),
    (lambda t: t.replace('hold: 20', 'hold: soon'), "hold: soon", "positive number"),
    (lambda t: re.sub(r'  thanks:\n    - "thank you \[very much\]"\n    - "thanks"\n', "  thanks: []\n", t),
     "thanks: []", "has no phrases"),
    (lambda t: t.replace("order: [calf_stretch,", "order: [calf_strech,"), "order:", "missing step 'calf_strech'"),
    (lambda t: t.replace('    - "slow down"', '    - "slow down"\n    - "next"'), '    - "next"\n', "under both"),
    (lambda t: t.replace('more seconds."', 'more seconds." extra: words'), "extra: words", "YAML syntax error"),
])
def test_content_check_reports_each_problem_with_its_line(tmp_path, edit, needle, message):
    path = broken(tmp_path, edit)
    with pytest.raises(ContentError) as caught:
        check_content(path)
    problems = [p for p in caught.value.problems if message in p]
    assert problems, caught.value.problems
    expected = line_of(path, needle.strip()) if "next" not in needle else \
        [i for i, l in enumerate(path.read_text().splitlines(), 1) if l.strip() == '- "next"'][-1]
    assert problems[0].startswith(f"{path}:{expected}: "), (problems, expected)


def test_content_check_command(tmp_path):
    ok = run_bedside("content", "check")
    assert ok.returncode == 0 and "ok" in ok.stdout
    path = broken(tmp_path, lambda t: t.replace("  countdown:", "  countdwn:"))
    bad = run_bedside("content", "check", str(path))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert f"{path}:{line_of(path, 'countdwn:')}: unknown key 'countdwn'" in bad.stderr


def test_a_broken_user_file_stops_the_helper_from_starting(tmp_path):
    path = broken(tmp_path, lambda t: t.replace("hold: 20", "hold: 0"))
    result = run_bedside("simulate", "--content", str(path), "nothing.wav")
    assert result.returncode != 0
    assert f"{path}:{line_of(path, 'hold: 0')}: " in result.stderr
    assert "Traceback" not in result.stderr


def test_a_user_file_can_change_the_hold_time(tmp_path):
    path = broken(tmp_path, lambda t: t.replace("hold: 30", "hold: 45"))
    assert check_content(path).steps[0].hold_seconds == 45
