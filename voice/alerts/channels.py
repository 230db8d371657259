"""The ways an alert leaves the device: an MQTT broker (and Home Assistant through it), a
webhook, or a local command. Each ``send`` either delivers or raises ``ChannelError`` with a
one-line reason that never holds a secret (a webhook's path, a password).

Nothing here is imported unless the user's config has an ``alerts:`` section.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from typing import Dict, List, Optional, Protocol, Tuple
from urllib.parse import urlsplit

from voice.alerts.homeassistant import OFFLINE, ONLINE, alert_payload, discovery_messages, topic
from voice.alerts.settings import AlertSettings, MqttSettings, WebhookSettings

log = logging.getLogger("bedside")

SEND_TIMEOUT_SECONDS = 10.0
CONNECT_WAIT_SECONDS = 5.0  # how long a first send waits for the broker's first answer
COMMAND_TIMEOUT_SECONDS = 30.0


class ChannelError(Exception):
    """Why an alert could not be delivered on one channel (one line, no secrets)."""


class Channel(Protocol):
    name: str  # mqtt | webhook | command
    address: str  # what may be logged and shown

    def send(self, alert: Dict[str, object]) -> None: ...

    def check(self) -> Optional[str]:
        """For ``bedside doctor``: None when the channel looks usable, or why not. Sends nothing."""

    def close(self) -> None: ...


class WebhookChannel:
    """POSTs the alert as JSON (a Home Assistant webhook trigger, ntfy, a home server...)."""

    name = "webhook"

    def __init__(self, settings: WebhookSettings, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.address = settings.address
        self.timeout = timeout

    def send(self, alert: Dict[str, object]) -> None:
        request = urllib.request.Request(
            self.settings.url, data=json.dumps(alert).encode(), method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "bedside", **self.settings.headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise ChannelError(f"the webhook at {self.address} answered HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            reason = getattr(error.reason, "strerror", None) or str(error.reason)
            raise ChannelError(f"cannot reach the webhook at {self.address} ({reason})") from None
        except (OSError, ValueError) as error:  # timeouts, TLS errors, a broken reply
            raise ChannelError(f"the webhook at {self.address} failed ({error or type(error).__name__})") from None

    def check(self) -> Optional[str]:
        parts = urlsplit(self.settings.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=5).close()
        except OSError as error:
            return f"cannot reach the webhook at {self.address} ({error.strerror or error})"
        return None

    def close(self) -> None:
        pass


class CommandChannel:
    """Runs a program with the alert as JSON on its standard input; exit code 0 means delivered."""

    name = "command"

    def __init__(self, command: Tuple[str, ...], timeout: float = COMMAND_TIMEOUT_SECONDS) -> None:
        self.command = command
        self.address = command[0]
        self.timeout = timeout

    def send(self, alert: Dict[str, object]) -> None:
        try:
            result = subprocess.run(list(self.command), input=json.dumps(alert), text=True, capture_output=True,
                                    timeout=self.timeout)
        except FileNotFoundError:
            raise ChannelError(f"the alert command {self.address} does not exist; check alerts: command") from None
        except PermissionError:
            raise ChannelError(f"the alert command {self.address} cannot be run; chmod +x it") from None
        except subprocess.TimeoutExpired:
            raise ChannelError(f"the alert command {self.address} did not finish within {self.timeout:g} s") from None
        except OSError as error:
            raise ChannelError(f"the alert command {self.address} cannot be run ({error.strerror})") from None
        if result.returncode != 0:
            said = (result.stderr.strip().splitlines() or [""])[-1][:200]
            raise ChannelError(f"the alert command {self.address} exited with code {result.returncode}"
                               + (f": {said}" if said else ""))

    def check(self) -> Optional[str]:
        found = shutil.which(self.address)
        if found is None:
            return f"the alert command {self.address} does not exist or cannot be run"
        return None if os.access(found, os.X_OK) else f"the alert command {self.address} cannot be run; chmod +x it"

    def close(self) -> None:
        pass


class MqttChannel:
    """A lasting connection to an MQTT broker (paho-mqtt), which reconnects by itself.

    On every connect it publishes the Home Assistant discovery messages and "online" (all
    retained); its last will makes the broker publish "offline" when the helper vanishes.
    Alerts go to ``TOPIC/alert`` with QoS 1 and count as delivered once the broker has them.
    ``set_status`` keeps the state and cramp-night sensors up to date (retained).
    """

    name = "mqtt"

    def __init__(self, settings: MqttSettings, on_ready=None) -> None:
        import paho.mqtt.client as mqtt

        self.settings = settings
        self.address = f"mqtt://{settings.address}"
        self._on_ready = on_ready  # called (from paho's thread) after each successful connect
        self._connected = threading.Event()
        self._answered = threading.Event()  # the first connect attempt has an outcome
        self._problem = "no answer yet"
        self._status: Dict[str, str] = {}
        self._lock = threading.Lock()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bedside-{settings.topic}")
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set(ca_certs=settings.ca_file)
        client.will_set(topic(self.settings.topic, "availability"), OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._connect_done
        client.on_connect_fail = self._connect_failed
        client.on_disconnect = self._disconnected
        self._client = client

    def start(self) -> "MqttChannel":
        try:
            self._client.connect_async(self.settings.host, self.settings.port, keepalive=30)
        except (OSError, ValueError) as error:
            self._problem = str(error)
            self._answered.set()
        self._client.loop_start()  # retries the first connection too, in its own thread
        return self

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float = CONNECT_WAIT_SECONDS) -> None:
        """Raises ChannelError when the broker did not take the connection within ``timeout``."""
        self._answered.wait(timeout)
        if not self._connected.wait(0 if self._answered.is_set() else timeout):
            raise ChannelError(f"cannot reach the MQTT broker {self.settings.address} ({self._problem})")

    def check(self) -> Optional[str]:
        try:
            self.wait_connected()
        except ChannelError as error:
            return str(error)
        return None

    def send(self, alert: Dict[str, object]) -> None:
        self.wait_connected()
        info = self._client.publish(topic(self.settings.topic, "alert"), alert_payload(alert), qos=1)
        try:
            info.wait_for_publish(SEND_TIMEOUT_SECONDS)
        except (RuntimeError, ValueError):
            pass  # not queued (the connection just dropped): reported below
        if not info.is_published():
            raise ChannelError(f"the MQTT broker {self.settings.address} did not take the alert ({self._problem})")

    def set_status(self, **values: str) -> None:
        """Publish ``state=...`` and ``cramp_nights=...`` (retained); kept for the next connect."""
        with self._lock:
            self._status.update(values)
        if self.connected:
            for key, value in values.items():
                self._client.publish(topic(self.settings.topic, key), value, qos=1, retain=True)

    def close(self) -> None:
        if self.connected:
            # A clean stop: say so (the last will is only for a vanishing helper).
            self._client.publish(topic(self.settings.topic, "availability"), OFFLINE, qos=1, retain=True).wait_for_publish(2.0)
        self._client.disconnect()
        self._client.loop_stop()

    # paho's callbacks (its network thread) -----------------------------------------------

    def _connect_done(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self._problem = f"the broker refused: {reason_code}"
            self._answered.set()
            return
        for config_topic, payload in discovery_messages(self.settings):
            client.publish(config_topic, payload, qos=1, retain=True)
        client.publish(topic(self.settings.topic, "availability"), ONLINE, qos=1, retain=True)
        with self._lock:
            status = dict(self._status)
        for key, value in status.items():
            client.publish(topic(self.settings.topic, key), value, qos=1, retain=True)
        self._problem = "connected"
        self._connected.set()
        self._answered.set()
        if self._on_ready is not None:
            self._on_ready()

    def _connect_failed(self, _client, _userdata) -> None:
        self._problem = "connection failed"
        self._answered.set()

    def _disconnected(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if self._connected.is_set():
            self._problem = f"disconnected: {reason_code}"
        self._connected.clear()


def open_channels(settings: AlertSettings, on_ready=None) -> List[Channel]:
    """The configured channels, MQTT connecting in the background."""
    channels: List[Channel] = []
    if settings.mqtt:
        channels.append(MqttChannel(settings.mqtt, on_ready).start())
    if settings.webhook:
        channels.append(WebhookChannel(settings.webhook))
    if settings.command:
        channels.append(CommandChannel(settings.command))
    return channels
