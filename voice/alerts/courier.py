"""The courier: delivers queued alerts on every channel from a thread of its own, so that a slow
or dead broker or URL never delays a word of relief.

``submit`` writes the alert to the outbox (or, when the database cannot be written, keeps it
in memory) and returns at once. The thread sends what is waiting, oldest first, per channel.
A channel that fails is retried with a growing pause (2 s up to a minute) and logged once;
one more line says when it works again. Delivery is at least once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, Set

from voice.alerts.channels import Channel, ChannelError
from voice.alerts.outbox import Outbox
from voice.alerts.rules import Alert
from voice.night_log.history import HistoryError

log = logging.getLogger("bedside")

FIRST_RETRY_SECONDS = 2.0
LONGEST_RETRY_SECONDS = 60.0
SEND_GRACE_SECONDS = 12.0  # a send under way (up to its 10 s timeout) may finish when closing


class Courier:
    def __init__(self, channels: Sequence[Channel], outbox: Optional[Outbox],
                 on_delivered: Callable[[Alert], None] = lambda alert: None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.channels = {channel.name: channel for channel in channels}
        self.outbox = outbox
        self.on_delivered = on_delivered  # once per alert submitted here, at its first delivery
        self.clock = clock
        self._memory: Dict[str, List[Alert]] = {name: [] for name in self.channels}  # when the outbox fails
        self._undelivered: Set[str] = set()
        self._retry_at: Dict[str, float] = {name: 0.0 for name in self.channels}
        self._pause: Dict[str, float] = {name: FIRST_RETRY_SECONDS for name in self.channels}
        self._failing: Dict[str, bool] = {name: False for name in self.channels}
        self._outbox_failing = False
        self._submitted = 0  # alerts submitted so far: a pass that began before the last is not "idle"
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="courier", daemon=True)

    def start(self) -> "Courier":
        self._thread.start()
        return self

    def submit(self, alert: Alert) -> None:
        """Queue ``alert`` for every channel; returns once it is safe on the card (or in memory)."""
        with self._lock:
            self._undelivered.add(alert.id)
            self._submitted += 1
            self._idle.clear()
        try:
            if self.outbox is None:
                raise HistoryError("no outbox")
            self.outbox.put(alert, self.channels)
        except HistoryError as error:
            if self.outbox is not None and not self._outbox_failing:
                log.error("%s; alerts are kept in memory until it works again", error)
                self._outbox_failing = True
            with self._lock:
                for name in self.channels:
                    self._memory[name].append(alert)
        self._wake.set()

    def retry_now(self, channel: str) -> None:
        """The channel is back (the broker took a new connection): send without waiting."""
        with self._lock:
            self._retry_at[channel] = 0.0
        self._wake.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is left to send (True) or ``timeout`` passed (False)."""
        self._wake.set()
        return self._idle.wait(timeout)

    def waiting(self, channel: str) -> int:
        """How many alerts wait to go out on ``channel``."""
        with self._lock:
            in_memory = len(self._memory[channel])
        try:
            stored = self.outbox.count(channel) if self.outbox is not None else 0
        except HistoryError:
            stored = 0
        return in_memory + stored

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=SEND_GRACE_SECONDS)
        for channel in self.channels.values():
            channel.close()

    # the courier's thread --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                submitted = self._submitted
            waiting = False
            for name in self.channels:
                if self._stop.is_set():
                    return
                if self.clock() < self._retry_at[name]:
                    waiting = True
                    continue
                waiting = self._send_waiting(name) or waiting
            with self._lock:
                if not waiting and not any(self._memory.values()) and submitted == self._submitted:
                    self._idle.set()
            pause = min((at for at in self._retry_at.values() if at > self.clock()), default=None)
            self._wake.wait(max(0.05, pause - self.clock()) if pause is not None else None)

    def _send_waiting(self, name: str) -> bool:
        """Send what waits on channel ``name``; True when something is left for later."""
        channel = self.channels[name]
        while not self._stop.is_set():
            alert, stored = self._next(name)
            if alert is None:
                return False
            try:
                channel.send(alert.as_json())
            except ChannelError as error:
                self._failed(name, alert, stored, str(error))
                return True
            self._sent(name, alert, stored)
        return True

    def _next(self, name: str):
        with self._lock:
            if self._memory[name]:
                return self._memory[name][0], False
        if self.outbox is None:
            return None, False
        try:
            waiting = self.outbox.waiting(name, limit=1)
        except HistoryError:
            return None, False  # submit() has logged it; what it could not store is in memory
        return (waiting[0], True) if waiting else (None, False)

    def _sent(self, name: str, alert: Alert, stored: bool) -> None:
        if stored:
            try:
                self.outbox.delivered(alert.id, name)
            except HistoryError:
                pass  # sent again after the next start: receivers drop duplicates by id
        else:
            with self._lock:
                self._memory[name].remove(alert)
        if self._failing[name]:
            log.info("alerts: %s works again", self.channels[name].address)
        self._failing[name] = False
        self._pause[name] = FIRST_RETRY_SECONDS
        with self._lock:
            first = alert.id in self._undelivered
            self._undelivered.discard(alert.id)
        log.info("alert %s sent by %s", alert.kind, name)
        if first:
            self.on_delivered(alert)

    def _failed(self, name: str, alert: Alert, stored: bool, reason: str) -> None:
        if not self._failing[name]:
            log.error("alerts: %s; the alert is kept and sent once it is back", reason)
        self._failing[name] = True
        if stored:
            try:
                self.outbox.failed(alert.id, name, reason)
            except HistoryError:
                pass
        with self._lock:
            self._retry_at[name] = self.clock() + self._pause[name]
        self._pause[name] = min(LONGEST_RETRY_SECONDS, self._pause[name] * 2)

