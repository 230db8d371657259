"""Alerts waiting to be delivered, kept in the night-log database so that none is lost to a
crash, a power cut or a dead network: one row per alert and channel, deleted once that channel
has it. Rows left from an earlier run are sent after the next start.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Iterable, List, Optional, Union

from voice.alerts.rules import Alert
from voice.night_log.history import NightLog


class Outbox:
    """Thread-safe: the listening loop puts, the courier's thread takes and deletes.
    Every method raises ``HistoryError`` (one line) when the database cannot be used."""

    def __init__(self, night_log: NightLog) -> None:
        self.night_log = night_log
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Union[str, Path, None] = None) -> "Outbox":
        return cls(NightLog.open(path))

    def put(self, alert: Alert, channels: Iterable[str]) -> None:
        """Keep ``alert`` for each channel; on the card (synchronous=FULL) when this returns."""
        text = json.dumps(alert.as_json())
        with self._lock, self.night_log.transaction() as connection:
            connection.executemany(
                "INSERT OR IGNORE INTO outbox (alert_id, channel, queued_at, alert) VALUES (?, ?, ?, ?)",
                [(alert.id, channel, datetime.now().isoformat(timespec="seconds"), text) for channel in channels])

    def waiting(self, channel: str, limit: int = 20) -> List[Alert]:
        """The oldest alerts not yet delivered on ``channel``."""
        with self._lock, self.night_log.transaction() as connection:
            rows = connection.execute("SELECT alert FROM outbox WHERE channel = ? ORDER BY queued_at, rowid LIMIT ?",
                                      (channel, limit)).fetchall()
        return [Alert.from_json(json.loads(row[0])) for row in rows]

    def delivered(self, alert_id: str, channel: str) -> None:
        with self._lock, self.night_log.transaction() as connection:
            connection.execute("DELETE FROM outbox WHERE alert_id = ? AND channel = ?", (alert_id, channel))

    def failed(self, alert_id: str, channel: str, reason: str) -> None:
        with self._lock, self.night_log.transaction() as connection:
            connection.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? "
                               "WHERE alert_id = ? AND channel = ?", (reason, alert_id, channel))

    def count(self, channel: Optional[str] = None) -> int:
        with self._lock, self.night_log.transaction() as connection:
            if channel is None:
                return connection.execute("SELECT count(*) FROM outbox").fetchone()[0]
            return connection.execute("SELECT count(*) FROM outbox WHERE channel = ?", (channel,)).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self.night_log.close()
