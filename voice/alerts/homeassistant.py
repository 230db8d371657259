"""Home Assistant MQTT discovery: the helper appears as a device with a state sensor, a sensor
of cramp nights in the last 7 days, and an event entity that fires on every alert.

The messages are retained, so Home Assistant finds the device whenever it (re)starts.
Availability follows the MQTT last will: the broker marks the helper offline when it vanishes.
See https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
"""

from __future__ import annotations

import json
import re
import socket
from typing import Dict, List, Tuple

from voice import __version__
from voice.alerts.rules import ALERT_KINDS, TEST_KIND
from voice.alerts.settings import MqttSettings

STATES = ("idle", "episode", "urgent")
ONLINE, OFFLINE = "online", "offline"
NIGHTS_DAYS = 7


def topic(base: str, name: str) -> str:
    """Where the helper publishes ``name`` (alert, state, cramp_nights, availability) under ``base``."""
    return f"{base}/{name}"


def node_id(topic: str, host: str = "") -> str:
    """A stable id for this helper, unique per machine and topic (Home Assistant's unique_id)."""
    raw = f"bedside_{host or socket.gethostname()}_{topic}"
    return re.sub(r"[^a-zA-Z0-9_-]", "_", raw).lower()


def discovery_messages(settings: MqttSettings, host: str = "") -> List[Tuple[str, str]]:
    """(topic, JSON payload) for each entity; publish them retained."""
    base = settings.topic
    node = node_id(settings.topic, host)
    device = {"identifiers": [node], "name": "Bedside Cramp Helper", "manufacturer": "bedside",
              "model": "Bedside Cramp Helper", "sw_version": __version__}
    common = {"device": device, "availability_topic": topic(base, "availability"),
              "payload_available": ONLINE, "payload_not_available": OFFLINE}
    entities: Dict[Tuple[str, str], Dict[str, object]] = {
        ("sensor", "state"): {"name": "State", "state_topic": topic(base, "state"), "device_class": "enum",
                              "options": list(STATES), "icon": "mdi:bed"},
        ("sensor", "cramp_nights"): {"name": f"Cramp nights ({NIGHTS_DAYS} days)", "state_topic": topic(base, "cramp_nights"),
                                     "unit_of_measurement": "nights", "state_class": "measurement",
                                     "icon": "mdi:calendar-alert"},
        ("event", "alert"): {"name": "Alert", "state_topic": topic(base, "alert"),
                             "event_types": [*ALERT_KINDS, TEST_KIND], "icon": "mdi:alert"},
    }
    return [(f"{settings.discovery_prefix}/{component}/{node}/{object_id}/config",
             json.dumps({**common, **config, "unique_id": f"{node}_{object_id}",
                         "object_id": f"{node}_{object_id}"}))
            for (component, object_id), config in entities.items()]


def alert_payload(alert_json: Dict[str, object]) -> str:
    """The alert as the event entity wants it: ``event_type`` names the kind."""
    return json.dumps({"event_type": alert_json["kind"], **alert_json})
