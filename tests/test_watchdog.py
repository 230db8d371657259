"""systemd's notify protocol, with a real datagram socket standing in for systemd's."""

from __future__ import annotations

import logging
import os
import signal
import socket

import pytest

from fake_systemd import FakeSystemd
from pulse import Helper, PulseServer, PulseUnavailable
from voice.service.watchdog import Watchdog


@pytest.fixture
def systemd(tmp_path):
    fake = FakeSystemd(tmp_path / "notify")
    yield fake
    fake.close()


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ready_then_a_ping_twice_per_interval_however_often_the_loop_runs(systemd):
    ticks = Ticks()
    watchdog = Watchdog({"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "10000000"}, ticks)
    watchdog.ready()
    for _ in range(1000):  # 1000 frames of 30 ms: 30 s
        watchdog.alive()
        ticks.now += 0.03
    messages = [text for _, text in systemd.receive(0.3)]
    assert messages[0] == "READY=1\nSTATUS=listening"
    assert messages[1:] == ["WATCHDOG=1"] * 6  # at 0, 5, 10, 15, 20 and 25 s


def test_an_abstract_socket_address_works():
    name = f"bedside-test-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    listener.settimeout(2)
    try:
        Watchdog({"NOTIFY_SOCKET": "@" + name}).ready()
        assert listener.recv(100) == b"READY=1\nSTATUS=listening"
    finally:
        listener.close()


def test_outside_systemd_nothing_is_sent_and_nothing_fails():
    watchdog = Watchdog({})
    assert not watchdog.enabled and watchdog.ping_every is None
    watchdog.ready()
    watchdog.alive()


def test_a_vanished_socket_is_one_log_line_not_an_error(tmp_path, caplog):
    watchdog = Watchdog({"NOTIFY_SOCKET": str(tmp_path / "gone"), "WATCHDOG_USEC": "1"})
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            watchdog.alive()
    assert len(caplog.records) == 1 and "notify socket" in caplog.records[0].getMessage()


def test_listen_says_ready_pings_regularly_and_not_while_it_is_frozen(tmp_path, systemd):
    (tmp_path / "pulse").mkdir()
    server = PulseServer(tmp_path / "pulse")
    try:
        server.start()
    except PulseUnavailable as error:
        pytest.skip(f"PulseAudio cannot start here: {error}")
    helper = None
    try:
        helper = Helper(server, tmp_path, env={"NOTIFY_SOCKET": str(systemd.path),
                                                            "WATCHDOG_USEC": "1000000"})
        assert systemd.wait_for("READY=1", timeout=10) is not None
        pings = [at for at, text in systemd.receive(3.0) if text == "WATCHDOG=1"]
        assert len(pings) >= 5  # every 0.5 s
        helper.process.send_signal(signal.SIGSTOP)  # a hung process, as systemd would see it
        try:
            systemd.receive(0.3)  # a ping may already be on its way
            assert [text for _, text in systemd.receive(2.0)] == []
        finally:
            helper.process.send_signal(signal.SIGCONT)
        assert systemd.wait_for("WATCHDOG=1", timeout=3) is not None
        helper.stop()
        assert "STOPPING=1" in [text for _, text in systemd.receive(1.0)]
        helper.assert_clean_exit()
    finally:
        if helper is not None:
            helper.stop()
        server.stop()
