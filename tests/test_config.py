"""Night settings: defaults, the config file (with XDG_CONFIG_HOME), the command line, and bad files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voice.service.config import SETTING_NAMES, Config, ConfigError, load_config


@pytest.fixture
def config_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "bedside").mkdir()
    return tmp_path / "bedside" / "config.yaml"


def bedside(*args: str, config_home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home.parent.parent)}
    return subprocess.run([sys.executable, "-m", "voice", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_without_a_file_every_setting_is_the_default(config_home):
    config = load_config()
    assert config == Config(path=None)
    assert {config.origin(name) for name in SETTING_NAMES} == {"default"}


def test_the_xdg_file_is_read_and_each_value_knows_its_line(config_home):
    config_home.write_text("# night settings\nvolume: 0.4\nrate: 120\nvoice: en-gb+f3\ninput_device: USB\n"
                           "output_device: 3\nlog_file: night.log\n")
    config = load_config()
    assert (config.volume, config.rate, config.voice) == (0.4, 120.0, "en-gb+f3")
    assert (config.input_device, config.output_device) == ("USB", 3)
    assert config.log_file == str(config_home.parent / "night.log")  # relative to the config file
    assert config.origin("volume") == f"{config_home}:2"
    assert config.origin("output_device") == f"{config_home}:6"
    assert config.origin("engine") == "default"


def test_the_command_line_wins_over_the_file(config_home):
    config_home.write_text("volume: 0.4\nrate: 120\n")
    config = load_config(overrides={"volume": 0.9, "rate": None})
    assert (config.volume, config.origin("volume")) == (0.9, "command line")
    assert (config.rate, config.origin("rate")) == (120.0, f"{config_home}:2")


def test_an_explicit_path_replaces_the_xdg_file(config_home, tmp_path):
    config_home.write_text("volume: 0.4\n")
    other = tmp_path / "other.yaml"
    other.write_text("volume: 0.2\n")
    assert load_config(other).volume == 0.2
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")


def test_every_problem_is_reported_with_its_line(config_home):
    config_home.write_text("volume: 2\nrate: fast\nloudness: 1\nengine: whisper\nvoice: en-us\n")
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert caught.value.problems == [
        f"{config_home}:1: volume must be a number from 0.1 to 1, not 2",
        f"{config_home}:2: rate must be a number from 60 to 300, not 'fast'",
        f"{config_home}:3: unknown setting 'loudness'; expected one of: " + ", ".join(SETTING_NAMES) + ", alerts",
        f"{config_home}:4: engine must be one of auto, vosk, pocketsphinx, not 'whisper'",
    ]


@pytest.mark.parametrize("text, problem", [
    ("volume: [0.4\n", ":2: YAML syntax error"),
    ("- volume\n", ":1: the config file must be a mapping of settings"),
])
def test_a_malformed_file_is_refused(config_home, text, problem):
    config_home.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert problem in caught.value.problems[0]


def test_config_show_prints_values_and_where_they_came_from(config_home):
    config_home.write_text("volume: 0.3\n")
    result = bedside("config", "show", "--config", str(config_home), config_home=config_home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"config file: {config_home}"
    assert [line.split()[0] for line in lines[1:-1]] == list(SETTING_NAMES)
    assert lines[-1] == "alerts: (not set; nothing is ever sent)"
    volume = next(line for line in lines if line.startswith("volume"))
    assert volume.split() == ["volume", "0.3", f"{config_home}:1"]


def test_listen_refuses_to_start_with_a_bad_config(config_home):
    config_home.write_text("volume: loud\n")
    result = bedside("listen", config_home=config_home)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{config_home}:1: volume must be a number from 0.1 to 1, not 'loud'",
        "bedside: the config file has problems; fix them and start again",
    ]
