"""The night log: real SQLite files in temporary folders, other processes, damage, old schemas,
the dialogue's "see a doctor" threshold, and ``simulate --record-history`` over several nights."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

import pytest

from disk import CannotMount, fill, mount_tiny_disk, unmount
from voice.alerts.outbox import Outbox
from voice.alerts.rules import new_alert
from voice.base.clock import VirtualClock
from voice.base.events import EpisodeEnded, EpisodeStarted, Heard, Summary
from voice.conversation.actions import Say
from voice.conversation.content import check_content
from voice.conversation.dialogue import Dialogue
from voice.night_log.history import (MIGRATIONS, SCHEMA_VERSION, HistoryError, HistoryRecorder, NightLog,
                                     default_history_path, summarize)

CONTENT = check_content()
NIGHT = datetime(2026, 11, 20, 2, 30)


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    return tmp_path


def test_the_log_lives_in_the_xdg_data_folder_and_is_private(data_home):
    night_log = NightLog.open()
    assert night_log.path == data_home / "bedside" / "history.sqlite3" == default_history_path()
    assert night_log.schema_version == SCHEMA_VERSION
    assert (night_log.path.stat().st_mode & 0o777) == 0o600


def test_an_episode_is_recorded_with_steps_outcome_and_red_flags(data_home):
    night_log = NightLog.open()
    recorder = HistoryRecorder(night_log, wall_clock=lambda: now)
    now = NIGHT
    recorder.on_event(EpisodeStarted(0.0))
    now = NIGHT + timedelta(seconds=40)
    recorder.on_event(Heard(40.0, "my calf is swollen", "red_flag", None))
    now = NIGHT + timedelta(minutes=3)
    recorder.on_event(EpisodeEnded(180.0, "okay", ("calf_stretch", "standing_stretch")))
    now = NIGHT + timedelta(hours=2)
    recorder.on_event(Heard(0.0, "my leg is numb", "red_flag", None))  # no episode going on
    [episode, flag_only] = NightLog.open().episodes()
    assert (episode.started_at, episode.ended_at, episode.outcome) == (NIGHT, NIGHT + timedelta(minutes=3), "okay")
    assert episode.steps == ("calf_stretch", "standing_stretch")
    assert episode.red_flags == ("my calf is swollen",) and episode.minutes == 3.0
    assert episode.night.isoformat() == "2026-11-19"  # 02:30 on the 20th is the night of the 19th
    assert not flag_only.cramp and flag_only.red_flags == ("my leg is numb",)


def test_summary_counts_nights_weeks_durations_and_what_helped(data_home):
    night_log = NightLog.open()
    for day, minutes, outcome, steps in [(1, 2, "okay", ("calf_stretch",)), (1, 4, "okay", ("calf_stretch", "massage")),
                                         (3, 6, "stopped", ("calf_stretch",)), (9, 1, "okay", ("calf_stretch",)),
                                         (40, 5, "okay", ("calf_stretch",))]:
        start = NIGHT - timedelta(days=day)
        episode = night_log.start_episode(start)
        night_log.end_episode(episode, start + timedelta(minutes=minutes), outcome, steps)
    summary = summarize(night_log.episodes(), days=14, now=NIGHT)
    assert (summary.nights, summary.episodes, summary.average_minutes) == (3, 4, 3.2)
    assert summary.helped == {"calf_stretch": 2, "massage": 1}
    assert summary.outcomes == {"okay": 3, "stopped": 1}
    assert sum(summary.per_week.values()) == 4 and all(key.startswith("2026-W") for key in summary.per_week)


WRITER = textwrap.dedent("""
    import sys
    from datetime import datetime, timedelta
    from voice.night_log.history import NightLog
    night_log = NightLog.open(sys.argv[1])
    for index in range(int(sys.argv[2])):
        start = datetime(2026, 1, 1) + timedelta(hours=index)
        night_log.end_episode(night_log.start_episode(start), start + timedelta(minutes=2), "okay", ("massage",))
""")


def test_reading_while_another_process_writes(data_home):
    path = NightLog.open().path
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "300"])
    reader = NightLog.open(path)
    seen = []
    while writer.poll() is None:
        episodes = reader.episodes()  # never "database is locked": WAL lets readers in
        assert all(episode.outcome in (None, "okay") for episode in episodes)
        seen.append(len(episodes))
    assert writer.returncode == 0
    assert len(reader.episodes()) == 300
    assert seen == sorted(seen) and len(set(seen)) > 1, "the reader never saw the writer's progress"


def test_a_damaged_file_is_moved_aside_never_deleted_and_a_new_log_starts(data_home):
    path = default_history_path()
    path.parent.mkdir(parents=True)
    garbage = b"this is not a database, but it is someone's data" * 100
    path.write_bytes(garbage)
    night_log = NightLog.open()
    assert night_log.recovered_from is not None and night_log.recovered_from.read_bytes() == garbage
    assert "was damaged" in night_log.recovery_note() and night_log.recovered_from.name in night_log.recovery_note()
    night_log.start_episode(NIGHT)
    assert len(NightLog.open().episodes()) == 1


def test_a_locked_log_fails_fast_relief_goes_on_and_the_log_is_used_again_later(data_home, caplog):
    caplog.set_level(logging.INFO)
    night_log = NightLog.open()
    blocker = sqlite3.connect(str(night_log.path), isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    started = datetime.now()
    with pytest.raises(HistoryError, match="locked by another program"):
        night_log.start_episode(NIGHT)
    assert (datetime.now() - started).total_seconds() < 3
    recorder = HistoryRecorder(night_log, wall_clock=lambda: NIGHT)
    recorder.on_event(EpisodeStarted(0.0))  # logged, not raised
    assert recorder.failing and "relief goes on" in caplog.text
    recorder.on_event(EpisodeEnded(1.0, "okay"))  # its start was never written: nothing to end
    blocker.execute("ROLLBACK")
    recorder.on_event(EpisodeStarted(2.0))  # the next episode is written again
    assert not recorder.failing and "works again" in caplog.text
    assert len(night_log.episodes()) == 1


def test_an_old_schema_is_migrated_and_keeps_its_episodes(data_home):
    path = default_history_path()
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(str(path))
    for statement in MIGRATIONS[0]:
        old.execute(statement)
    old.execute("INSERT INTO episodes (started_at, ended_at, outcome, steps) VALUES "
                "('2026-11-01T03:00:00', '2026-11-01T03:04:00', 'okay', '[\"massage\"]')")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    night_log = NightLog.open()
    assert night_log.schema_version == SCHEMA_VERSION == 3
    [episode] = night_log.episodes()
    assert (episode.steps, episode.source, episode.minutes) == (("massage",), "live", 4.0)
    night_log.add_red_flag(NIGHT, "my calf is red", None)  # the table version 2 added
    outbox = Outbox(night_log)  # and the alert outbox version 3 added
    outbox.put(new_alert("red_flag", "Urgent", NIGHT), ["mqtt"])
    assert [alert.kind for alert in outbox.waiting("mqtt")] == ["red_flag"]


def test_a_log_from_a_newer_bedside_is_refused_not_damaged(data_home):
    path = default_history_path()
    path.parent.mkdir(parents=True)
    newer = sqlite3.connect(str(path))
    newer.execute("PRAGMA user_version = 99")
    newer.close()
    with pytest.raises(HistoryError, match="newer bedside"):
        NightLog.open()
    assert path.exists() and not list(path.parent.glob("*.damaged-*"))


# --- the dialogue uses it -------------------------------------------------------------------

def summary_with(nights: int) -> Summary:
    today = NIGHT.date()
    return Summary(days=7, since=today - timedelta(days=6), until=today, nights=nights, episodes=nights + 1,
                   average_minutes=2.5)


def relieved_night(clock: VirtualClock, dialogue: Dialogue, at: float) -> list:
    clock.advance_to(at)
    return dialogue.hear("cramp") + dialogue.hear("okay")


@pytest.mark.parametrize("nights, suggested", [(2, False), (3, True), (5, True)])
def test_frequent_nights_lead_to_a_gentle_doctor_suggestion_after_relief(nights, suggested):
    clock = VirtualClock()
    asked = []
    dialogue = Dialogue(CONTENT, clock, recent_cramps=lambda days: asked.append(days) or summary_with(nights))
    said = [a.text for a in relieved_night(clock, dialogue, 10.0) if isinstance(a, Say)]
    suggestion = CONTENT.frequent_cramps.suggest.format(nights=nights, days=7)
    assert (suggestion in said) is suggested
    assert asked == [CONTENT.frequent_cramps.within_days]
    if suggested:
        assert said.index(suggestion) == len(said) - 1, "the relief reply comes first"


def test_the_suggestion_is_made_once_a_night():
    clock = VirtualClock()
    dialogue = Dialogue(CONTENT, clock, recent_cramps=lambda days: summary_with(4))
    suggestion = CONTENT.frequent_cramps.suggest.format(nights=4, days=7)
    texts = lambda actions: [a.text for a in actions if isinstance(a, Say)]  # noqa: E731
    assert suggestion in texts(relieved_night(clock, dialogue, 10.0))
    assert suggestion not in texts(relieved_night(clock, dialogue, 3600.0))
    assert suggestion in texts(relieved_night(clock, dialogue, 25 * 3600.0))


@pytest.mark.parametrize("summary, expected", [
    (None, CONTENT.frequent_cramps.no_log),
    (Summary(7, NIGHT.date(), NIGHT.date(), 0, 0, None), "I have no cramps noted in the last 7 days."),
    (summary_with(3), "In the last 7 days, you had cramps on 3 nights, 4 times in all, lasting about 2 minutes"),
])
def test_summary_is_read_out_on_request(summary, expected):
    dialogue = Dialogue(CONTENT, VirtualClock(), recent_cramps=(lambda days: summary) if summary else None)
    said = [a.text for a in dialogue.hear("summary") if isinstance(a, Say)]
    assert said[0].startswith(expected)


def test_episode_end_names_the_steps_gone_through():
    clock = VirtualClock()
    dialogue = Dialogue(CONTENT, clock)
    dialogue.hear("cramp")
    dialogue.hear("next")
    [ended] = [a for a in dialogue.hear("okay") if isinstance(a, EpisodeEnded)]
    assert ended.steps == ("calf_stretch", "standing_stretch")


# --- the command line -------------------------------------------------------------------------

def bedside(data_home: Path, *args: str, stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(data_home), "XDG_CONFIG_HOME": str(data_home / "config")}
    return subprocess.run([sys.executable, "-m", "voice", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=120)


def test_simulated_nights_build_up_a_history_and_the_third_night_suggests_a_doctor(data_home, recordings, tmp_path):
    night = recordings(["I have a cramp in my calf", 1.0, "the cramp is gone now"])
    suggestion = "nights in the last 7 days"
    for day in (17, 18, 19):
        result = bedside(data_home, "simulate", "--record-history", "--at", f"2026-11-{day}T02:30", str(night))
        assert result.returncode == 0, result.stderr
        assert (suggestion in result.stdout) is (day == 19), result.stdout
    report = json.loads(bedside(data_home, "history", "--days", "3650", "--json").stdout)
    assert [e["night"] for e in report["episodes"]] == ["2026-11-16", "2026-11-17", "2026-11-18"]
    assert all(e["outcome"] == "okay" and e["source"] == "simulated" for e in report["episodes"])
    assert report["summary"]["nights"] == 3 and report["summary"]["helped"] == {"calf_stretch": 3}

    text = bedside(data_home, "history", "--days", "3650", "--plot", str(tmp_path / "chart.png"))
    assert "cramps on 3 nights, 3 episodes" in text.stdout
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = bedside(data_home, "history", "--days", "3650", "--csv").stdout.splitlines()
    assert rows[0].startswith("night,started_at") and len(rows) == 4


def test_forget_asks_first_and_deletes_only_on_yes(data_home):
    night_log = NightLog.open()
    night_log.start_episode(NIGHT)
    kept = bedside(data_home, "history", "--forget", stdin="no\n")
    assert kept.returncode == 1 and "nothing deleted" in kept.stderr and night_log.path.exists()
    gone = bedside(data_home, "history", "--forget", "--yes")
    assert gone.returncode == 0 and not list(night_log.path.parent.glob("history.sqlite3*"))


def test_history_on_a_damaged_file_says_so_in_one_line(data_home):
    path = default_history_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 500)
    result = bedside(data_home, "history")
    assert result.returncode == 0
    assert result.stderr.strip().count("\n") == 0 and "was damaged" in result.stderr
    assert list(path.parent.glob("history.sqlite3.damaged-*"))


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 512 KiB filesystem, unmounted afterwards; skipped where mounting is not allowed."""
    try:
        mount_point = mount_tiny_disk(tmp_path / "disk", "512k")
    except CannotMount as error:
        pytest.skip(f"cannot mount a small filesystem here (needs root): {error}")
    yield mount_point
    unmount(mount_point)


def test_a_full_disk_skips_the_writes_with_one_line_and_logging_resumes_by_itself(tiny_disk, monkeypatch, caplog):
    monkeypatch.setenv("XDG_DATA_HOME", str(tiny_disk))
    night_log = NightLog.open()
    recorder = HistoryRecorder(night_log, wall_clock=lambda: NIGHT)
    recorder.on_event(EpisodeStarted(0.0))
    recorder.on_event(EpisodeEnded(60.0, "okay", ("calf_stretch",)))
    filler = fill(tiny_disk)
    with caplog.at_level(logging.INFO):
        for moment in range(20):  # a night of episodes with the card full: skipped, one line
            recorder.on_event(EpisodeStarted(100.0 + moment))
            recorder.on_event(Heard(101.0 + moment, "my calf is swollen and red " * 20, "red_flag", None))
            recorder.on_event(EpisodeEnded(102.0 + moment, "red_flag"))
        assert recorder.failing
        errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert len(errors) == 1 and "disk is full" in errors[0].getMessage()
        filler.unlink()
        recorder.on_event(EpisodeStarted(200.0))
        recorder.on_event(EpisodeEnded(260.0, "okay"))
    assert not recorder.failing and "works again" in caplog.text
    night_log.close()
    reopened = NightLog.open()
    assert reopened.recovered_from is None  # nothing was damaged
    episodes = reopened.episodes()
    reopened.close()
    assert episodes[0].outcome == "okay" and episodes[-1].outcome == "okay"  # before and after
