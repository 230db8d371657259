"""Telling systemd that the helper is up and still listening (the sd_notify protocol).

systemd passes ``NOTIFY_SOCKET`` (a datagram socket; a leading "@" means Linux's abstract
namespace) and, when the unit has ``WatchdogSec=``, ``WATCHDOG_USEC``. The helper sends
``READY=1`` once it listens and ``WATCHDOG=1`` from its listening loop, at most twice per
watchdog interval; if the loop hangs (a sound server call that never returns, say) the pings
stop and systemd restarts the helper. The protocol is one datagram per message, so this is
its few lines rather than a dependency (systemd's own Python binding needs libsystemd to build).
Outside systemd, every method does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Callable, Mapping, Optional

log = logging.getLogger(__name__)


class Watchdog:
    def __init__(self, environ: Mapping[str, str] = os.environ,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        self._address: Optional[str] = "\0" + address[1:] if address.startswith("@") else address or None
        usec = environ.get("WATCHDOG_USEC", "")
        # Ping twice per interval, as sd_watchdog_enabled(3) advises; no interval: no pings.
        self.ping_every: Optional[float] = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self._monotonic = monotonic
        self._last_ping = float("-inf")
        self._socket: Optional[socket.socket] = None
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ready(self) -> None:
        self._send("READY=1\nSTATUS=listening")

    def alive(self) -> None:
        """Called from the listening loop as often as it likes; pings when one is due."""
        if self.ping_every is None:
            return
        now = self._monotonic()
        if now - self._last_ping >= self.ping_every:
            self._last_ping = now
            self._send("WATCHDOG=1")

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def reloading(self, status: str) -> None:
        """The helper restarts in place: systemd waits for its next READY=1 (MONOTONIC_USEC is
        what systemd 253 and later ask for with RELOADING=1)."""
        monotonic_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._send(f"RELOADING=1\nMONOTONIC_USEC={monotonic_usec}\nSTATUS={status}")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto(message.encode(), self._address)
            self._failed = False
        except OSError as error:
            if not self._failed:  # one line, not one per ping
                log.warning("cannot reach systemd's notify socket (%s); it may restart the helper", error)
            self._failed = True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
