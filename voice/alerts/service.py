"""What ``listen`` and ``simulate --alerts`` use of alerts: the rules, the outbox, the courier
and the channels together, behind a few calls made from the listening loop.

Every call here returns at once; delivery happens in the courier's thread.
"""

from __future__ import annotations

import logging
import queue
import time
from datetime import datetime
from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

from voice.alerts.channels import Channel, ChannelError, MqttChannel, open_channels
from voice.alerts.courier import Courier
from voice.alerts.outbox import Outbox
from voice.alerts.rules import TEST_KIND, Alert, AlertRules, new_alert
from voice.alerts.settings import AlertSettings
from voice.base.events import EpisodeEnded, EpisodeStarted, Event, Said
from voice.night_log.history import HistoryError

log = logging.getLogger("bedside")

# "I've let Sam know" is said only while it still answers the moment: an alert delivered later
# (the network came back in the morning) is not announced into a quiet bedroom.
TOLD_WITHIN_SECONDS = 600.0


class AlertService:
    def __init__(self, settings: AlertSettings, rules: AlertRules, courier: Courier) -> None:
        self.settings = settings
        self.rules = rules
        self.courier = courier
        self._delivered: "queue.Queue[Alert]" = queue.Queue()
        self._queued_at: dict = {}
        self._mqtt = next((c for c in courier.channels.values() if isinstance(c, MqttChannel)), None)

    @classmethod
    def start(cls, settings: AlertSettings, source: str = "live",
              database: Union[str, Path, None] = None) -> "AlertService":
        """Open the outbox (in the night-log database) and the channels, and start sending,
        beginning with anything an earlier run left unsent."""
        try:
            outbox: Optional[Outbox] = Outbox.open(database)
        except HistoryError as error:
            log.error("%s; alerts are kept in memory only", error)
            outbox = None
        service: Optional[AlertService] = None
        channels = open_channels(settings, on_ready=lambda: service and service.courier.retry_now("mqtt"))
        courier = Courier(channels, outbox, on_delivered=lambda alert: service and service._delivered.put(alert))
        service = cls(settings, AlertRules(settings.events, source=source), courier)
        courier.start()
        if outbox is not None:
            try:
                left = outbox.count()
            except HistoryError:
                left = 0
            if left:
                log.info("alerts: %d waiting from before are being sent", left)
        log.info("alerts: telling %s by %s", settings.name, ", ".join(settings.channels) or "(no channel)")
        return service

    def on_event(self, event: Event) -> None:
        """Every conversation event: alerts for the chosen kinds, and Home Assistant's state."""
        alert = self.rules.on_event(event)
        if alert is not None:
            self.submit(alert)
        if isinstance(event, EpisodeStarted):
            self.set_status(state="episode")
        elif isinstance(event, EpisodeEnded):
            self.set_status(state="urgent" if event.outcome == "red_flag" else "idle")
        elif isinstance(event, Said) and event.kind == "urgent":
            self.set_status(state="urgent")  # stays until the next cramp: a caregiver sees it in the morning

    def helper_unwell(self, reason: str) -> None:
        alert = self.rules.helper_unwell(reason)
        if alert is not None:
            self.submit(alert)

    def submit(self, alert: Alert) -> None:
        self._queued_at[alert.id] = time.monotonic()
        self.courier.submit(alert)

    def set_status(self, **values: Union[str, int]) -> None:
        """Home Assistant's sensors: ``state`` (idle, episode, urgent) and ``cramp_nights``."""
        if self._mqtt is not None:
            self._mqtt.set_status(**{key: str(value) for key, value in values.items()})

    def told(self) -> bool:
        """True once for each urgent alert delivered in time since the last call."""
        told = False
        while True:
            try:
                alert = self._delivered.get_nowait()
            except queue.Empty:
                return told
            queued = self._queued_at.pop(alert.id, None)
            if alert.kind == "red_flag" and queued is not None and time.monotonic() - queued <= TOLD_WITHIN_SECONDS:
                told = True

    def close(self, wait_seconds: float = 0.0) -> List[str]:
        """Stop sending (after up to ``wait_seconds`` for what is queued); what is left stays in
        the outbox for the next start. Returns the channels that still had alerts waiting."""
        sent = self.courier.wait_idle(wait_seconds) if wait_seconds > 0 else False
        self.courier.close()
        left = [] if sent else [name for name in self.courier.channels if self.courier.waiting(name)]
        if self.courier.outbox is not None:
            self.courier.outbox.close()
        return left


# One line per channel: (address, None when it worked, or why not).
ChannelReport = List[Tuple[str, Optional[str]]]


def send_test(settings: AlertSettings) -> ChannelReport:
    """``bedside alert test``: a test alert straight to every channel (not through the outbox)."""
    alert = new_alert(TEST_KIND, f"A test from the bedside helper: alerts reach {settings.name}.", datetime.now())

    def send(channel: Channel) -> Optional[str]:
        try:
            channel.send(alert.as_json())
        except ChannelError as error:
            return str(error)
        return None

    return _each_channel(settings, send)


def check_channels(settings: AlertSettings) -> ChannelReport:
    """``bedside doctor``: can each channel be reached? Sends nothing."""
    return _each_channel(settings, lambda channel: channel.check())


def _each_channel(settings: AlertSettings, use: Callable[[Channel], Optional[str]]) -> ChannelReport:
    report: ChannelReport = []
    for channel in open_channels(settings):
        try:
            report.append((f"{channel.name} {channel.address}", use(channel)))
        finally:
            channel.close()
    return report
