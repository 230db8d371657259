"""The night log: a private SQLite file of cramp episodes, kept on the device only.

``$XDG_DATA_HOME/bedside/history.sqlite3`` (default ``~/.local/share/bedside/``). The schema is
versioned with ``PRAGMA user_version`` and migrated forward on open; every write is one
transaction. The log must never get in the way of relief: ``NightLog`` methods raise
``HistoryError`` (one line, what to do), and ``HistoryRecorder`` turns that into a log line
and carries on without the log. A file that is not a database is moved aside, never deleted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple, Union

from voice.base.errors import BedsideError
from voice.base.events import EpisodeEnded, EpisodeStarted, Event, Heard, Summary
from voice.base.paths import data_home

log = logging.getLogger("bedside")

FILE_NAME = "history.sqlite3"
BUSY_TIMEOUT_SECONDS = 1.0  # a locked file must not hold up relief for longer
NIGHT_STARTS_AT_HOUR = 12  # an episode at 02:30 on the 20th belongs to the night of the 19th

# Each entry moves the schema from version N to N+1; never edit one that has shipped.
MIGRATIONS: Tuple[Tuple[str, ...], ...] = (
    (  # 1: episodes
        """CREATE TABLE episodes (
               id INTEGER PRIMARY KEY,
               started_at TEXT NOT NULL,
               ended_at TEXT,
               outcome TEXT,
               steps TEXT NOT NULL DEFAULT '[]'
           )""",
        "CREATE INDEX episodes_started ON episodes (started_at)",
    ),
    (  # 2: red flags (also outside an episode), and simulated episodes told apart from real ones
        """CREATE TABLE red_flags (
               id INTEGER PRIMARY KEY,
               reported_at TEXT NOT NULL,
               phrase TEXT NOT NULL,
               episode_id INTEGER REFERENCES episodes (id) ON DELETE CASCADE,
               source TEXT NOT NULL DEFAULT 'live'
           )""",
        "ALTER TABLE episodes ADD COLUMN source TEXT NOT NULL DEFAULT 'live'",
    ),
    (  # 3: caregiver alerts not yet delivered, one row per alert and channel (voice.alerts.outbox)
        """CREATE TABLE outbox (
               alert_id TEXT NOT NULL,
               channel TEXT NOT NULL,
               queued_at TEXT NOT NULL,
               alert TEXT NOT NULL,
               attempts INTEGER NOT NULL DEFAULT 0,
               last_error TEXT,
               PRIMARY KEY (alert_id, channel)
           )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(BedsideError):
    pass


def default_history_path() -> Path:
    return data_home() / FILE_NAME


def night_of(moment: datetime) -> date:
    """The evening date of the night a moment belongs to."""
    return (moment - timedelta(hours=NIGHT_STARTS_AT_HOUR)).date()


@dataclass(frozen=True)
class Episode:
    id: int
    started_at: datetime
    ended_at: Optional[datetime]
    outcome: Optional[str]  # okay | still_cramping | stopped | red_flag | no_answer; None while going on
    steps: Tuple[str, ...]
    red_flags: Tuple[str, ...]
    source: str
    cramp: bool = True  # False for a red flag reported with no cramp episode going on

    @property
    def night(self) -> date:
        return night_of(self.started_at)

    @property
    def minutes(self) -> Optional[float]:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds() / 60

    def as_json(self) -> Dict[str, object]:
        data = asdict(self)
        data.update(started_at=self.started_at.isoformat(timespec="seconds"),
                    ended_at=self.ended_at.isoformat(timespec="seconds") if self.ended_at else None,
                    night=self.night.isoformat(), minutes=None if self.minutes is None else round(self.minutes, 1),
                    steps=list(self.steps), red_flags=list(self.red_flags))
        return data


def summarize(episodes: List[Episode], days: int, now: datetime) -> Summary:
    until = night_of(now)
    since = until - timedelta(days=days - 1)
    in_period = [episode for episode in episodes if since <= episode.night <= until]
    chosen = [episode for episode in in_period if episode.cramp]
    durations = [episode.minutes for episode in chosen if episode.minutes is not None]
    per_week: Dict[str, int] = {}
    outcomes: Dict[str, int] = {}
    helped: Dict[str, int] = {}
    for episode in chosen:
        year, week, _ = episode.night.isocalendar()
        key = f"{year}-W{week:02d}"
        per_week[key] = per_week.get(key, 0) + 1
        if episode.outcome:
            outcomes[episode.outcome] = outcomes.get(episode.outcome, 0) + 1
        if episode.outcome == "okay" and episode.steps:
            helped[episode.steps[-1]] = helped.get(episode.steps[-1], 0) + 1
    return Summary(
        days=days, since=since, until=until,
        nights=len({episode.night for episode in chosen}), episodes=len(chosen),
        average_minutes=round(sum(durations) / len(durations), 1) if durations else None,
        per_week=per_week, outcomes=outcomes, helped=helped,
        red_flags=[f"{episode.night.isoformat()}: {flag}" for episode in in_period for flag in episode.red_flags],
    )


class NightLog:
    """One SQLite file. Open it with ``NightLog.open(path)``; each method is one transaction.

    ``recovered_from`` is set when the file was not a readable database: it was moved there
    and this log started afresh. Methods raise ``HistoryError`` (locked, unwritable, ...).
    """

    def __init__(self, path: Path, connection: sqlite3.Connection, recovered_from: Optional[Path] = None) -> None:
        self.path = path
        self.recovered_from = recovered_from
        self._connection = connection

    @classmethod
    def open(cls, path: Union[str, Path, None] = None) -> "NightLog":
        path = Path(path) if path else default_history_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # health data: owner only
        except OSError as error:
            raise HistoryError(f"cannot create {path.parent} for the night log ({error.strerror})") from None
        try:
            return cls(path, cls._connect(path))
        except sqlite3.DatabaseError as error:
            if not _is_corrupt(error):
                raise HistoryError(_explain(path, error)) from None
        moved = _move_aside(path)
        try:
            return cls(path, cls._connect(path), recovered_from=moved)
        except sqlite3.Error as error:
            raise HistoryError(_explain(path, error)) from None

    def recovery_note(self) -> Optional[str]:
        if self.recovered_from is None:
            return None
        return (f"the night log {self.path} was damaged; it was kept as {self.recovered_from.name} "
                "and a new log started")

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        new = not path.exists()
        # check_same_thread off: the alert outbox is written by the listening loop and emptied by
        # the courier's thread, one at a time under the outbox's lock.
        connection = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                     check_same_thread=False)
        try:
            if new:
                os.chmod(path, 0o600)
            connection.execute("PRAGMA foreign_keys = ON")
            if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("database disk image is malformed")
            connection.execute("PRAGMA journal_mode = WAL")  # readers never wait for the writer
            # Each commit is on the card before it returns (the write-ahead log is synced), so an
            # episode reported as recorded survives a power cut too, not only a crash; it costs a
            # sync per write, a few a night. NORMAL would risk the last episodes on power loss.
            connection.execute("PRAGMA synchronous = FULL")
            _migrate(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        self._connection.close()

    @property
    def schema_version(self) -> int:
        return self._connection.execute("PRAGMA user_version").fetchone()[0]

    def start_episode(self, at: datetime, source: str = "live") -> int:
        with self.transaction() as connection:
            cursor = connection.execute("INSERT INTO episodes (started_at, source) VALUES (?, ?)",
                                        (_stamp(at), source))
            return int(cursor.lastrowid)

    def end_episode(self, episode_id: int, at: datetime, outcome: str, steps: Tuple[str, ...]) -> None:
        with self.transaction() as connection:
            connection.execute("UPDATE episodes SET ended_at = ?, outcome = ?, steps = ? WHERE id = ?",
                               (_stamp(at), outcome, json.dumps(list(steps)), episode_id))

    def add_red_flag(self, at: datetime, phrase: str, episode_id: Optional[int], source: str = "live") -> None:
        with self.transaction() as connection:
            connection.execute("INSERT INTO red_flags (reported_at, phrase, episode_id, source) VALUES (?, ?, ?, ?)",
                               (_stamp(at), phrase, episode_id, source))

    def episodes(self, since: Optional[datetime] = None) -> List[Episode]:
        """Episodes (oldest first), and red flags said outside any episode as episodes of their own."""
        try:
            rows = self._connection.execute(
                "SELECT id, started_at, ended_at, outcome, steps, source FROM episodes "
                "WHERE started_at >= ? ORDER BY started_at", (_stamp(since) if since else "",)).fetchall()
            flags = self._connection.execute(
                "SELECT reported_at, phrase, episode_id, source FROM red_flags WHERE reported_at >= ? "
                "ORDER BY reported_at",
                (_stamp(since) if since else "",)).fetchall()
        except sqlite3.Error as error:
            raise HistoryError(_explain(self.path, error)) from None
        by_episode: Dict[Optional[int], List[Tuple[str, str, str]]] = {}
        for reported_at, phrase, episode_id, source in flags:
            by_episode.setdefault(episode_id, []).append((reported_at, phrase, source))
        episodes = [
            Episode(id=row[0], started_at=datetime.fromisoformat(row[1]),
                    ended_at=datetime.fromisoformat(row[2]) if row[2] else None,
                    outcome=row[3], steps=tuple(json.loads(row[4])),
                    red_flags=tuple(phrase for _, phrase, _ in by_episode.get(row[0], [])), source=row[5])
            for row in rows
        ]
        episodes += [  # a red flag on its own, with no cramp episode going on
            Episode(id=0, started_at=datetime.fromisoformat(at), ended_at=datetime.fromisoformat(at),
                    outcome="red_flag", steps=(),
                    red_flags=(phrase,), source=source, cramp=False)
            for at, phrase, source in by_episode.get(None, [])
        ]
        return sorted(episodes, key=lambda episode: episode.started_at)

    def forget(self) -> List[Path]:
        """Delete the log, its journal files and any copies moved aside; returns what was deleted."""
        self.close()
        doomed = [p for p in self.path.parent.glob(self.path.name + "*") if p.is_file()]
        for path in doomed:
            path.unlink()
        return doomed

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; sqlite3 errors come out as ``HistoryError``."""
        try:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
        except sqlite3.Error as error:
            raise HistoryError(_explain(self.path, error)) from None


def _migrate(connection: sqlite3.Connection) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"schema version {version} is newer than this bedside ({SCHEMA_VERSION})")
    if version == SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number]:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _is_corrupt(error: sqlite3.DatabaseError) -> bool:
    text = str(error)
    return "not a database" in text or "malformed" in text


def _explain(path: Path, error: sqlite3.Error) -> str:
    text = str(error)
    if "locked" in text or "busy" in text:
        return f"the night log {path} is locked by another program; close it (or wait), this episode is not logged"
    if "newer than" in text:
        return f"the night log {path} was written by a newer bedside ({text}); update bedside"
    if "full" in text:
        return f"the night log {path} cannot grow: the disk is full ({text}); free some space"
    if "readonly" in text or "unable to open" in text:
        return f"cannot write the night log {path} ({text}); check its permissions"
    return f"the night log {path} cannot be used ({text})"


def _move_aside(path: Path) -> Path:
    moved = path.with_name(f"{path.name}.damaged-{datetime.now():%Y%m%d-%H%M%S}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(path) + suffix)
        if source.exists():
            source.rename(Path(str(moved) + suffix))
    return moved


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class HistoryRecorder:
    """Writes a conversation's episodes to the night log, as its events arrive.

    Relief never waits for the log. A write that fails (a full card, a locked file) is skipped
    with one log line, and the next event tries again: when a write works again, one more
    line says so. ``recent`` feeds the dialogue's "see a doctor" suggestion.
    """

    def __init__(self, night_log: Optional[NightLog], wall_clock: Callable[[], datetime] = datetime.now,
                 source: str = "live") -> None:
        self.night_log = night_log
        self.wall_clock = wall_clock
        self.source = source
        self.failing = False  # the last use of the log failed
        self._episode: Optional[int] = None

    def on_event(self, event: Event) -> None:
        if self.night_log is None:
            return
        now = self.wall_clock()
        try:
            if isinstance(event, EpisodeStarted):
                self._episode = None
                self._episode = self.night_log.start_episode(now, self.source)
            elif isinstance(event, EpisodeEnded):
                episode, self._episode = self._episode, None
                if episode is None:
                    return  # its start was not written: nothing to end
                self.night_log.end_episode(episode, now, event.outcome, event.steps)
            elif isinstance(event, Heard) and event.intent in ("red_flag", "red_flag_during"):
                self.night_log.add_red_flag(now, event.text, self._episode, self.source)
            else:
                return
        except HistoryError as error:
            self._failed(error)
        else:
            self._worked()

    def recent(self, days: int) -> Optional[Summary]:
        if self.night_log is None:
            return None
        try:
            now = self.wall_clock()
            summary = summarize(self.night_log.episodes(since=now - timedelta(days=days + 1)), days, now)
        except HistoryError as error:
            self._failed(error)
            return None
        self._worked()
        return summary

    def _failed(self, error: HistoryError) -> None:
        if not self.failing:  # one line, not one per event
            log.error("%s; relief goes on, and the night log is tried again at the next event", error)
        self.failing = True

    def _worked(self) -> None:
        if self.failing:
            log.info("the night log %s works again", self.night_log.path)
        self.failing = False
