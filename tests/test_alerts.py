"""Caregiver alerts with real parts: a Mosquitto broker, a local HTTP server, a command that
records its input, and the night-log database's outbox. No network code runs without alerts:."""

from __future__ import annotations

import http.server
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Dict, List

import pytest

from mqtt import Broker, BrokerUnavailable, Subscriber
from voice.alerts.channels import ChannelError, CommandChannel, WebhookChannel
from voice.alerts.courier import Courier
from voice.alerts.outbox import Outbox
from voice.alerts.rules import DEFAULT_EVENTS, AlertRules, new_alert
from voice.alerts.settings import WebhookSettings
from voice.base.events import EpisodeEnded, EpisodeStarted, Heard, Said

RED_FLAG = "my calf is swollen and red"


@pytest.fixture
def broker(tmp_path):
    try:
        running = Broker(tmp_path).start()
    except BrokerUnavailable as error:
        pytest.fail(str(error))
    yield running
    running.stop()


@pytest.fixture
def homes(tmp_path) -> Dict[str, str]:
    """Environment for a ``bedside`` run with its own night log and config folders."""
    return {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def write_config(tmp_path: Path, alerts: str) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text("alerts:\n" + alerts)
    config.chmod(0o600)
    return config


def recorder_script(tmp_path: Path, name: str = "record", sleep: float = 0) -> Path:
    """A command channel that appends the alert it reads on stdin to NAME.jsonl."""
    script = tmp_path / f"{name}.sh"
    script.write_text(f"#!/bin/sh\nsleep {sleep}\n(cat; echo) >> {tmp_path / (name + '.jsonl')}\n")
    script.chmod(0o755)
    return script


def recorded(tmp_path: Path, name: str = "record") -> List[dict]:
    path = tmp_path / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def simulate(config: Path, env: Dict[str, str], *files: Path, alerts: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voice", "simulate", "--json", "--engine", "pocketsphinx",
                           "--config", str(config), *(["--alerts"] if alerts else []), *map(str, files)],
                          capture_output=True, text=True, env=env, timeout=120)


def said(result: subprocess.CompletedProcess) -> List[str]:
    return [entry["text"] for line in result.stdout.splitlines() for entry in json.loads(line)["said"]]


def outbox_rows(tmp_path: Path) -> List[tuple]:
    database = sqlite3.connect(str(tmp_path / "data" / "bedside" / "history.sqlite3"))
    try:
        return database.execute("SELECT alert_id, channel, attempts FROM outbox").fetchall()
    finally:
        database.close()


# --- what is sent, and when ---------------------------------------------------------------------

def test_the_rules_turn_the_chosen_events_into_alerts_and_no_others():
    rules = AlertRules(DEFAULT_EVENTS, wall_clock=lambda: datetime(2026, 11, 22, 3, 0))
    assert rules.on_event(Heard(1.0, RED_FLAG, "red_flag", -1.5, "sure")) is None
    urgent = rules.on_event(Said(1.0, "This needs a doctor now.", "urgent"))
    assert urgent.kind == "red_flag" and urgent.details["heard"] == RED_FLAG
    assert urgent.as_json()["time"].startswith("2026-11-22T03:00:00")
    assert rules.on_event(Said(2.0, "I'm sorry it's still there.", "seek_care")).kind == "still_cramping"
    assert rules.on_event(Said(3.0, "You've had cramps on 3 nights.", "frequent")).kind == "frequent_cramps"
    assert rules.on_event(Said(4.0, "See a doctor if...", "info")) is None  # a question answered is no alert
    assert rules.on_event(EpisodeStarted(5.0)) is None  # "episode" is off by default
    assert rules.helper_unwell("the microphone is missing").kind == "helper_unwell"
    every = AlertRules(DEFAULT_EVENTS | {"episode"})
    assert every.on_event(EpisodeEnded(9.0, "okay")).details == {"phase": "end", "outcome": "okay"}
    assert AlertRules(frozenset({"episode"})).on_event(Said(1.0, "This needs a doctor now.", "urgent")) is None


def test_a_red_flag_recording_reaches_the_broker_once_and_the_helper_says_so(recordings, tmp_path, broker, homes):
    subscriber = Subscriber(broker.port)
    try:
        config = write_config(tmp_path, f"  name: Sam\n  mqtt: {{host: 127.0.0.1, port: {broker.port}}}\n")
        started = time.monotonic()
        result = simulate(config, homes, recordings([RED_FLAG], "flite:slt"))
        assert result.returncode == 0, result.stderr
        alerts = subscriber.wait_for_alerts(1, timeout=5)
        assert time.monotonic() - started < 30
        time.sleep(0.5)  # a duplicate would come now
        assert [alert["kind"] for alert in subscriber.alerts()] == ["red_flag"], subscriber.messages
        assert alerts[0]["event_type"] == "red_flag" and alerts[0]["heard"] == RED_FLAG
        assert alerts[0]["source"] == "simulated"
        spoken = said(result)
        assert "emergency services" in spoken[0] and spoken[-1] == "I've let Sam know."
        assert outbox_rows(tmp_path) == []
    finally:
        subscriber.close()

    # Home Assistant finds the device whenever it starts: the discovery messages are retained.
    late = Subscriber(broker.port, "homeassistant/#")
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(late.messages) < 3:
            time.sleep(0.05)
        configs = {topic.split("/")[1] + "/" + topic.split("/")[3]: (json.loads(payload), retained)
                   for topic, payload, retained in late.messages}
        assert set(configs) == {"sensor/state", "sensor/cramp_nights", "event/alert"}, late.messages
        assert all(retained for _, retained in configs.values())
        state, _ = configs["sensor/state"]
        assert state["options"] == ["idle", "episode", "urgent"]
        assert state["availability_topic"] == "bedside/availability"
        assert "red_flag" in configs["event/alert"][0]["event_types"]
    finally:
        late.close()


def test_simulate_sends_nothing_without_alerts_flag(recordings, tmp_path, broker, homes):
    subscriber = Subscriber(broker.port)
    try:
        config = write_config(tmp_path, f"  mqtt: {{host: 127.0.0.1, port: {broker.port}}}\n")
        result = simulate(config, homes, recordings([RED_FLAG], "flite:slt"), alerts=False)
        assert result.returncode == 0, result.stderr
        time.sleep(1.0)
        assert subscriber.messages == []
        assert "I've let" not in " ".join(said(result))
    finally:
        subscriber.close()


def test_with_the_broker_down_relief_is_unchanged_and_the_alert_goes_at_the_next_start(
        recordings, tmp_path, broker, homes):
    recording = recordings([RED_FLAG], "flite:slt")
    config = write_config(tmp_path, f"  name: Sam\n  mqtt: {{host: 127.0.0.1, port: {broker.port}}}\n")
    without_alerts = simulate(config, homes, recording, alerts=False)
    broker.stop()
    started = time.monotonic()
    down = simulate(config, homes, recording)
    took = time.monotonic() - started
    assert down.returncode == 0, down.stderr
    assert said(down) == said(without_alerts)  # the same relief, and never "I've let Sam know"
    assert took < without_alerts_seconds(without_alerts) + 10, "a dead broker held the run up"
    assert "cannot reach the MQTT broker" in down.stderr and "stay in the outbox" in down.stderr
    queued = outbox_rows(tmp_path)
    assert [row[1] for row in queued] == ["mqtt"]

    broker.start()
    subscriber = Subscriber(broker.port, "bedside/alert")
    try:
        quiet = recordings([2.0], "flite:slt")
        again = simulate(config, homes, quiet)
        assert again.returncode == 0, again.stderr
        alerts = subscriber.wait_for_alerts(1, timeout=10)
        assert [alert["kind"] for alert in alerts] == ["red_flag"]
        assert alerts[0]["id"] == queued[0][0]
        assert outbox_rows(tmp_path) == []
        assert "I've let" not in " ".join(said(again))  # an old alert is not announced later
    finally:
        subscriber.close()


def without_alerts_seconds(result: subprocess.CompletedProcess) -> float:
    return sum(float(line.split(" in ")[-1].split(" s")[0]) for line in result.stderr.splitlines()
               if " s of audio in " in line)


def test_no_alert_is_lost_when_the_helper_is_killed_between_queueing_and_sending(recordings, tmp_path, homes):
    slow = recorder_script(tmp_path, "slow", sleep=30)  # the send is under way when the kill lands
    config = write_config(tmp_path, f"  command: [\"{slow}\"]\n")
    process = subprocess.Popen([sys.executable, "-m", "voice", "simulate", "--engine", "pocketsphinx", "--alerts",
                                "--config", str(config), str(recordings([RED_FLAG], "flite:slt"))],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=homes)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (tmp_path / "data" / "bedside" / "history.sqlite3").exists():
        time.sleep(0.05)
    while time.monotonic() < deadline and not outbox_rows_safe(tmp_path):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    queued = outbox_rows_safe(tmp_path)
    assert [row[1] for row in queued] == ["command"], process.stderr.read()
    assert recorded(tmp_path, "slow") == []

    working = recorder_script(tmp_path, "record")
    config = write_config(tmp_path, f"  command: [\"{working}\"]\n")
    result = simulate(config, homes, recordings([2.0], "flite:slt"))
    assert result.returncode == 0, result.stderr
    delivered = recorded(tmp_path, "record")
    assert [(alert["id"], alert["kind"]) for alert in delivered] == [(queued[0][0], "red_flag")]
    assert outbox_rows(tmp_path) == []


def outbox_rows_safe(tmp_path: Path) -> List[tuple]:
    try:
        return outbox_rows(tmp_path)
    except sqlite3.Error:  # not created yet
        return []


# --- channels -------------------------------------------------------------------------------------

class Hook(http.server.BaseHTTPRequestHandler):
    answers: List[int] = []
    bodies: List[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        code = Hook.answers.pop(0) if Hook.answers else 200
        if code == 200:
            Hook.bodies.append({"path": self.path, "token": self.headers.get("X-Token"), **json.loads(body)})
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    Hook.answers, Hook.bodies = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_webhook_that_fails_then_works_gets_the_alert_once_with_one_line_each_way(
        webhook_server, tmp_path, caplog):
    Hook.answers = [500, 500]
    url = f"http://127.0.0.1:{webhook_server.server_port}/api/webhook/bedside-s3cret"
    channel = WebhookChannel(WebhookSettings(url, {"X-Token": "t0ken"}))
    outbox = Outbox.open(tmp_path / "history.sqlite3")
    delivered = []
    courier = Courier([channel], outbox, on_delivered=delivered.append).start()
    alert = new_alert("red_flag", "Urgent", datetime.now(), heard=RED_FLAG)
    with caplog.at_level(logging.INFO, logger="bedside"):
        courier.submit(alert)
        assert courier.wait_idle(timeout=20), "retries should reach the server once it answers 200"
    courier.close()
    assert [(body["id"], body["path"], body["token"]) for body in Hook.bodies] == [
        (alert.id, "/api/webhook/bedside-s3cret", "t0ken")]
    assert delivered == [alert]
    assert outbox.count() == 0
    lines = [record.getMessage() for record in caplog.records]
    assert len([line for line in lines if "HTTP 500" in line]) == 1, lines
    assert len([line for line in lines if "works again" in line]) == 1, lines
    assert not any("s3cret" in line for line in lines), "the webhook's secret path was logged"
    outbox.close()


def test_the_command_channel_gets_the_alert_as_json_on_stdin_and_reports_a_failure(tmp_path):
    script = recorder_script(tmp_path)
    alert = new_alert("still_cramping", "A cramp is not easing.", datetime.now())
    CommandChannel((str(script),)).send(alert.as_json())
    assert recorded(tmp_path) == [alert.as_json()]
    failing = tmp_path / "fail.sh"
    failing.write_text("#!/bin/sh\necho 'no network' >&2\nexit 3\n")
    failing.chmod(0o755)
    with pytest.raises(ChannelError, match="exited with code 3: no network"):
        CommandChannel((str(failing),)).send(alert.as_json())
    with pytest.raises(ChannelError, match="does not exist"):
        CommandChannel((str(tmp_path / "missing"),)).send(alert.as_json())


def test_a_slow_channel_never_holds_up_submitting(tmp_path):
    slow = recorder_script(tmp_path, "slow", sleep=5)
    courier = Courier([CommandChannel((str(slow),))], Outbox.open(tmp_path / "history.sqlite3")).start()
    started = time.monotonic()
    for _ in range(3):
        courier.submit(new_alert("red_flag", "Urgent", datetime.now()))
    assert time.monotonic() - started < 1.0  # the outbox write, not the send
    courier.close()


# --- commands and configuration -------------------------------------------------------------------

def test_alert_test_marks_each_channel(tmp_path, broker, homes):
    script = recorder_script(tmp_path)
    config = write_config(tmp_path, f"  mqtt: {{host: 127.0.0.1, port: {broker.port}}}\n"
                                    f"  webhook: {{url: \"http://127.0.0.1:9/hook-s3cret\"}}\n"
                                    f"  command: [\"{script}\"]\n")
    result = subprocess.run([sys.executable, "-m", "voice", "alert", "test", "--config", str(config)],
                            capture_output=True, text=True, env=homes, timeout=60)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"✓ mqtt mqtt://127.0.0.1:{broker.port}"
    assert lines[1].startswith("✗ webhook http://127.0.0.1:9: cannot reach the webhook") and "s3cret" not in result.stdout
    assert lines[2] == f"✓ command {script}"
    assert [alert["kind"] for alert in recorded(tmp_path)] == ["test"]


def test_mqtt_over_tls_with_a_ca_file(tmp_path, homes):
    ca_key, ca, key, csr, cert = (tmp_path / name for name in ("ca.key", "ca.pem", "server.key", "server.csr",
                                                                 "server.pem"))
    openssl = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=bedside test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
         "-extfile", tmp_path / "san.ext"],
    ]
    (tmp_path / "san.ext").write_text("subjectAltName = DNS:localhost, IP:127.0.0.1\n")
    for args in openssl:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
    key.chmod(0o644)  # mosquitto may drop privileges before reading it
    broker = Broker(tmp_path, tls=(ca, cert, key)).start()
    try:
        subscriber = Subscriber(broker.port, "bedside/alert", tls_ca=ca)
        config = write_config(tmp_path, f"  mqtt: {{host: 127.0.0.1, port: {broker.port}, tls: true, "
                                        f"ca_file: {ca.name}}}\n")
        result = subprocess.run([sys.executable, "-m", "voice", "alert", "test", "--config", str(config)],
                                capture_output=True, text=True, env=homes, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert [alert["kind"] for alert in subscriber.wait_for_alerts(1, timeout=5)] == ["test"]
        subscriber.close()
        plain = write_config(tmp_path, f"  mqtt: {{host: 127.0.0.1, port: {broker.port}}}\n")
        result = subprocess.run([sys.executable, "-m", "voice", "alert", "test", "--config", str(plain)],
                                capture_output=True, text=True, env=homes, timeout=60)
        assert result.returncode == 1 and "✗ mqtt" in result.stdout
    finally:
        broker.stop()


def test_a_bad_alerts_section_names_its_lines_and_nothing_starts(tmp_path, homes):
    config = tmp_path / "config.yaml"
    config.write_text("volume: 0.4\nalerts:\n  name: Sam\n  events: [red_flag, pager]\n"
                      "  mqtt: {host: ha.local, port: 70000}\n  webhook:\n    url: ftp://x\n  sms: yes\n")
    result = subprocess.run([sys.executable, "-m", "voice", "listen", "--config", str(config)],
                            capture_output=True, text=True, env=homes, timeout=60)
    assert result.returncode == 1
    problems = result.stderr.splitlines()
    assert f"{config}:4: unknown alert event 'pager'" in problems[0] or any(
        line.startswith(f"{config}:4: unknown alert event 'pager'") for line in problems), problems
    assert any(line.startswith(f"{config}:5: alerts mqtt port must be") for line in problems), problems
    assert any(line.startswith(f"{config}:7: alerts webhook url must be") for line in problems), problems
    assert any(line.startswith(f"{config}:8: unknown alerts setting 'sms'") for line in problems), problems
    assert "Traceback" not in result.stderr and "listening" not in result.stderr


def test_config_show_masks_secrets_and_warns_when_others_can_read_them(tmp_path, homes):
    config = write_config(tmp_path, "  name: Sam\n  mqtt: {host: ha.local, username: bedside, password: hunter2}\n"
                                    "  webhook: {url: \"https://ha.local:8123/api/webhook/bedside-s3cret\", "
                                    "headers: {Authorization: Bearer abc}}\n")
    show = [sys.executable, "-m", "voice", "config", "show", "--config", str(config)]
    private = subprocess.run(show, capture_output=True, text=True, env=homes, timeout=60)
    assert private.returncode == 0, private.stderr
    for secret in ("hunter2", "s3cret", "Bearer abc"):
        assert secret not in private.stdout
    assert "https://ha.local:8123/" in private.stdout and "warning" not in private.stdout
    config.chmod(0o644)
    shared = subprocess.run(show, capture_output=True, text=True, env=homes, timeout=60)
    assert f"chmod 600 {config}" in shared.stdout


def test_without_alerts_no_network_code_is_loaded():
    code = ("import sys; from voice.service.config import load_config; from voice.service import live; from voice.conversation import simulate; from voice import cli; "
            "print(any(name.startswith('paho') for name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
