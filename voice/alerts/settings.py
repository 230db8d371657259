"""The ``alerts:`` section of config.yaml: who is told, of what, and through which channels.

    alerts:
      name: Sam
      events: [red_flag, still_cramping, frequent_cramps, helper_unwell]
      mqtt: {host: 192.168.1.10, port: 1883, username: bedside, password: "...", tls: false, topic: bedside}
      webhook: {url: "https://ha.local:8123/api/webhook/bedside-...", headers: {}}
      command: ["/usr/local/bin/notify-sam"]

Any subset of the channels may be set. Each problem is reported as ``FILE:LINE: what is wrong``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from voice.alerts.rules import ALERT_KINDS, DEFAULT_EVENTS
from voice.base.yamlfile import KeyPath

DEFAULT_NAME = "your contact"
MASK = "********"


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int = 1883
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    tls: bool = False
    ca_file: Optional[str] = None  # with tls: the CA that signed the broker's certificate
    topic: str = "bedside"  # alerts go to TOPIC/alert, the state to TOPIC/state, ...
    discovery_prefix: str = "homeassistant"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class WebhookSettings:
    url: str = field(repr=False)  # a Home Assistant webhook URL is its own password: never logged
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def address(self) -> str:
        """What may be shown and logged: the scheme and host, not the path that holds the secret."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


@dataclass(frozen=True)
class AlertSettings:
    name: str = DEFAULT_NAME
    events: FrozenSet[str] = DEFAULT_EVENTS
    mqtt: Optional[MqttSettings] = None
    webhook: Optional[WebhookSettings] = None
    command: Optional[Tuple[str, ...]] = None

    @property
    def channels(self) -> List[str]:
        return [name for name in ("mqtt", "webhook", "command") if getattr(self, name) is not None]

    @property
    def has_secrets(self) -> bool:
        return bool((self.mqtt and self.mqtt.password) or self.webhook)

    def describe(self) -> List[str]:
        """``bedside config show``'s lines for this section, secrets masked."""
        rows = [f"  name     {self.name}", f"  events   {', '.join(sorted(self.events))}"]
        if self.mqtt:
            mqtt = self.mqtt
            rows.append(f"  mqtt     {mqtt.address} topic {mqtt.topic}, tls {'on' if mqtt.tls else 'off'}"
                        + (f", user {mqtt.username}" if mqtt.username else "")
                        + (f", password {MASK}" if mqtt.password else ""))
        if self.webhook:
            rows.append(f"  webhook  {self.webhook.address}/{MASK}"
                        + (f", headers {', '.join(f'{key}: {MASK}' for key in self.webhook.headers)}"
                           if self.webhook.headers else ""))
        if self.command:
            rows.append(f"  command  {' '.join(self.command)}")
        if not self.channels:
            rows.append("  (no channel set: nothing is sent)")
        return rows


class _Problems:
    """Collects ``FILE:LINE: message`` lines while a section is read."""

    def __init__(self, where: Callable[[KeyPath], str]) -> None:
        self.where = where
        self.lines: List[str] = []

    def add(self, path: KeyPath, message: str) -> None:
        self.lines.append(f"{self.where(path)}: {message}")


def parse_alerts(data: Any, where: Callable[[KeyPath], str], base: Path) -> Tuple[Optional[AlertSettings], List[str]]:
    """Read the ``alerts:`` value; ``where(path)`` gives ``FILE:LINE`` of a key path under it.
    Relative file paths (``ca_file``, ``command``'s program) are taken from ``base``."""
    problems = _Problems(where)
    if data is None:
        return None, []
    if not isinstance(data, dict):
        problems.add((), "alerts must be a mapping with name, events and channels (mqtt, webhook, command)")
        return None, problems.lines
    known = ("name", "events", "mqtt", "webhook", "command")
    for key in data:
        if key not in known:
            problems.add((key,), f"unknown alerts setting '{key}'; expected one of: {', '.join(known)}")
    name = _text(data.get("name", DEFAULT_NAME), ("name",), problems) or DEFAULT_NAME
    events = _events(data.get("events"), problems)
    mqtt = _mqtt(data["mqtt"], problems, base) if data.get("mqtt") is not None else None
    webhook = _webhook(data["webhook"], problems) if data.get("webhook") is not None else None
    command = _command(data["command"], problems, base) if data.get("command") is not None else None
    if problems.lines:
        return None, problems.lines
    return AlertSettings(name, events, mqtt, webhook, command), []


def _text(value: Any, path: KeyPath, problems: _Problems) -> Optional[str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        problems.add(path, f"alerts {'.'.join(map(str, path))} must be some text, not {value!r}")
        return None
    return value.strip()


def _events(value: Any, problems: _Problems) -> FrozenSet[str]:
    if value is None:
        return DEFAULT_EVENTS
    if not isinstance(value, list) or not value:
        problems.add(("events",), f"alerts events must be a list, e.g. [{', '.join(sorted(DEFAULT_EVENTS))}]")
        return DEFAULT_EVENTS
    for index, item in enumerate(value):
        if item not in ALERT_KINDS:
            problems.add(("events", index), f"unknown alert event {item!r}; expected some of: {', '.join(ALERT_KINDS)}")
    return frozenset(str(item) for item in value)


def _section(value: Any, name: str, keys: Tuple[str, ...], problems: _Problems) -> Optional[Dict[str, Any]]:
    if not isinstance(value, dict):
        problems.add((name,), f"alerts {name} must be a mapping of: {', '.join(keys)}")
        return None
    for key in value:
        if key not in keys:
            problems.add((name, key), f"unknown alerts {name} setting '{key}'; expected one of: {', '.join(keys)}")
    return value


def _mqtt(value: Any, problems: _Problems, base: Path) -> Optional[MqttSettings]:
    keys = ("host", "port", "username", "password", "tls", "ca_file", "topic", "discovery_prefix")
    data = _section(value, "mqtt", keys, problems)
    if data is None:
        return None
    if "host" not in data:
        problems.add(("mqtt",), "alerts mqtt needs a host, e.g. host: 192.168.1.10")
        return None
    host = _text(data["host"], ("mqtt", "host"), problems)
    port = data.get("port", 1883)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        problems.add(("mqtt", "port"), f"alerts mqtt port must be a number from 1 to 65535, not {port!r}")
    tls = data.get("tls", False)
    if not isinstance(tls, bool):
        problems.add(("mqtt", "tls"), f"alerts mqtt tls must be true or false, not {tls!r}")
    optional = {key: (_text(data[key], ("mqtt", key), problems) if data.get(key) is not None else None)
                for key in ("username", "password", "ca_file")}
    if optional["ca_file"]:
        optional["ca_file"] = str(base / os.path.expanduser(optional["ca_file"]))
        if not Path(optional["ca_file"]).is_file():
            problems.add(("mqtt", "ca_file"), f"alerts mqtt ca_file {optional['ca_file']} does not exist")
        elif not tls:
            problems.add(("mqtt", "ca_file"), "alerts mqtt ca_file is set but tls is false; set tls: true")
    topic = _text(data.get("topic", "bedside"), ("mqtt", "topic"), problems) or "bedside"
    if re.search(r"[#+]", topic) or topic.startswith("/") or topic.endswith("/"):
        problems.add(("mqtt", "topic"), f"alerts mqtt topic {topic!r} may not hold # or + or start or end with /")
    prefix = _text(data.get("discovery_prefix", "homeassistant"), ("mqtt", "discovery_prefix"), problems)
    if host is None or prefix is None:
        return None
    return MqttSettings(host, port if isinstance(port, int) else 1883, optional["username"], optional["password"],
                        tls is True, optional["ca_file"], topic, prefix)


def _webhook(value: Any, problems: _Problems) -> Optional[WebhookSettings]:
    data = _section(value, "webhook", ("url", "headers"), problems)
    if data is None:
        return None
    url = data.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        # The URL itself may be the secret: the message does not repeat it.
        problems.add(("webhook", "url"), "alerts webhook url must be an http:// or https:// address")
        return None
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, (str, int)) for k, v in headers.items()):
        problems.add(("webhook", "headers"), "alerts webhook headers must be a mapping of header names to text")
        return None
    return WebhookSettings(url, {key: str(value) for key, value in headers.items()})


def _command(value: Any, problems: _Problems, base: Path) -> Optional[Tuple[str, ...]]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(part, (str, int)) for part in value):
        problems.add(("command",), "alerts command must be a program and its arguments, "
                                   "e.g. [\"/usr/local/bin/notify-sam\"]")
        return None
    program = os.path.expanduser(str(value[0]))
    if "/" in program and not os.path.isabs(program):
        program = str(base / program)
    return (program, *(str(part) for part in value[1:]))
