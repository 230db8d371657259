"""``bedside doctor`` without sound devices: every check still runs, each ✗ comes with a fix."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import voice.sound.echo as echo
from voice.service.config import Config
from voice.service.doctor import check_echo_cancellation


def doctor(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "PULSE_SERVER": f"unix:{tmp_path}/no-such-server"}  # no sound server, no devices
    return subprocess.run([sys.executable, "-m", "voice", "doctor", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_without_devices_the_device_checks_fail_with_a_fix_and_the_rest_pass(tmp_path):
    result = doctor(tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    marks = {line[2:].split(":")[0]: line[0] for line in lines if line[:1] in "✓✗"}
    assert marks == {"python": "✓", "packages": "✓", "config": "✓", "content": "✓", "engine": "✓", "verifier": "✓",
                     "command model": "✓", "echo cancellation": "✓", "microphone": "✗", "speaker": "✗", "voice": "✓",
                     "night log": "✓", "alerts": "✓"}
    for index, line in enumerate(lines):
        if line.startswith("✗"):
            assert lines[index + 1].startswith("    fix: ")
    assert lines[-1] == "11 of 13 checks passed; fix: microphone, speaker"


def test_a_bad_config_is_named_with_its_line(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("volume: 7\n")
    result = doctor(tmp_path, "--config", str(config))
    assert f"✗ config: {config}:1: volume must be a number from 0.1 to 1, not 7" in result.stdout
    assert result.returncode == 1


def test_a_broken_content_file_is_named_with_its_line(tmp_path):
    content = tmp_path / "content.yaml"
    content.write_text("version: [1\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"content: {content}\n")
    result = doctor(tmp_path, "--config", str(config))
    assert f"✗ content: {content}:2: YAML syntax error" in result.stdout
    assert "✗ engine: not checked: the content file has problems" in result.stdout


def test_a_voice_espeak_ng_does_not_have_is_named_with_how_to_choose_one(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("voice: xx-yy\n")
    result = doctor(tmp_path, "--config", str(config))
    lines = result.stdout.splitlines()
    voice = next(index for index, line in enumerate(lines) if line.startswith("✗ voice: "))
    assert "espeak-ng has no voice 'xx-yy'" in lines[voice]
    assert lines[voice + 1] == "    fix: choose a voice from 'espeak-ng --voices' (voice in the config), or remove it"


def test_echo_cancellation_without_speexdsp_is_one_line_with_a_fix(monkeypatch):
    def no_library(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(echo, "_LIBRARY", None)
    monkeypatch.setattr(echo.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(ctypes, "CDLL", no_library)
    check = check_echo_cancellation(Config())
    assert not check.ok and "speexdsp" in check.detail and "libspeexdsp1" in check.fix
    assert echo.echo_canceller(echo.FarEnd()) is None  # listen goes on without it, with one warning
