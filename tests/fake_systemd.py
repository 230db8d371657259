"""A stand-in for systemd's notify socket, shared by the watchdog and memory-restart tests."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import List, Optional, Tuple


class FakeSystemd:
    """A datagram socket where systemd's would be; keeps each message with when it came."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(path))
        self.socket.settimeout(0.05)

    def receive(self, seconds: float) -> List[Tuple[float, str]]:
        got, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append((time.monotonic(), self.socket.recv(4096).decode()))
            except socket.timeout:
                pass
        return got

    def wait_for(self, message: str, timeout: float) -> Optional[float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, text in self.receive(0.1):
                if message in text.split("\n"):
                    return at
        return None

    def close(self) -> None:
        self.socket.close()
