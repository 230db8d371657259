"""A real Mosquitto broker on 127.0.0.1 and a free port, and a subscriber that keeps what it gets."""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import List, Optional, Tuple


class BrokerUnavailable(Exception):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """``mosquitto`` in the foreground; ``stop()`` and ``start()`` again keep the port.
    With ``tls`` (cafile, certfile, keyfile) it only speaks MQTT over TLS."""

    def __init__(self, folder: Path, tls: Optional[Tuple[Path, Path, Path]] = None, persistent: bool = False) -> None:
        if shutil.which("mosquitto") is None:
            raise BrokerUnavailable("mosquitto is not installed (scripts/test installs it)")
        self.folder = folder
        self.port = free_port()
        # As root, mosquitto switches to this user before reading the certificates: stay the test's user.
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", f"user {getpass.getuser()}"]
        # persistent: sessions and queued messages survive a restart (a subscriber misses nothing)
        lines += ["persistence true", f"persistence_location {folder}/"] if persistent else ["persistence false"]
        if tls:
            cafile, certfile, keyfile = tls
            lines += [f"cafile {cafile}", f"certfile {certfile}", f"keyfile {keyfile}"]
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> "Broker":
        log = (self.folder / "mosquitto.log").open("a")
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerUnavailable(f"mosquitto exited: {(self.folder / 'mosquitto.log').read_text()[-300:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise BrokerUnavailable("mosquitto did not open its port within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class Subscriber:
    """Subscribes to ``topic`` (``#``: everything) and keeps each (topic, payload, retained)."""

    def __init__(self, port: int, topic: str = "#", tls_ca: Optional[Path] = None,
                 session: Optional[str] = None) -> None:
        import paho.mqtt.client as mqtt

        self.messages: List[Tuple[str, str, bool]] = []
        self.arrived: List[float] = []  # time.monotonic() of each message, in the same order
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        # With ``session``, a lasting session: the broker keeps what comes while it is reconnecting.
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=session or f"test-{time.monotonic_ns()}",
                             clean_session=session is None)
        client.reconnect_delay_set(min_delay=0.2, max_delay=1)
        if tls_ca:
            client.tls_set(ca_certs=str(tls_ca))
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda *_: self._subscribed.set()
        client.on_message = self._message
        client.connect("127.0.0.1", port)
        client.loop_start()
        self.client = client
        if not self._subscribed.wait(10):
            raise AssertionError("the test subscriber could not subscribe")

    def _message(self, _client, _userdata, message) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload.decode(), bool(message.retain)))
            self.arrived.append(time.monotonic())

    def alerts(self, topic: str = "bedside/alert") -> List[dict]:
        with self._lock:
            return [json.loads(payload) for t, payload, _ in self.messages if t == topic]

    def wait_for_alerts(self, count: int, timeout: float, topic: str = "bedside/alert") -> List[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.alerts(topic)) < count:
            time.sleep(0.02)
        return self.alerts(topic)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
