"""Night settings: built-in defaults, then the user's config file, then the command line.

The file is ``$XDG_CONFIG_HOME/bedside/config.yaml`` (default ``~/.config/bedside/config.yaml``),
or the one ``--config PATH`` names. Every setting remembers where its value came from, so
``bedside config show`` can tell the user why the helper speaks the way it does.
"""

from __future__ import annotations

import os
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from voice.alerts.settings import AlertSettings, parse_alerts
from voice.base.paths import config_home
from voice.base.yamlfile import YamlFileError, line_of, read_yaml
from voice.hearing.recognizer import ENGINES
from voice.service.memory import MEMORY_LIMIT_MB
from voice.sound.audio import Device
from voice.speaking.speech import NIGHT_VOLUME, NIGHT_WORDS_PER_MINUTE

DEFAULT_ORIGIN = "default"
COMMAND_LINE_ORIGIN = "command line"


class ConfigError(YamlFileError):
    kind = "config"


def _engine(value: Any) -> str:
    if value not in ENGINES:
        raise ValueError(f"must be one of {', '.join(ENGINES)}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be some text")
    return value


def _path(value: Any) -> str:
    return os.path.expanduser(_text(value))


def _device(value: Any) -> Device:
    """A device index (``2``) or a part of its name (``"USB"``), as sounddevice takes them."""
    if isinstance(value, bool):
        raise ValueError("must be a device name or index (see 'bedside devices')")
    if isinstance(value, int):
        return value
    text = _text(value).strip()
    return int(text) if text.isdigit() else text


def _switch(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("on", "off", "true", "false", "yes", "no"):
        return value.lower() in ("on", "true", "yes")
    raise ValueError("must be on or off")


def _number(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        problem = ValueError(f"must be a number from {low:g} to {high:g}")
        if isinstance(value, bool):
            raise problem
        try:
            number = float(value)  # the command line gives text
        except (TypeError, ValueError):
            raise problem from None
        if not low <= number <= high:
            raise problem
        return number

    return check


def _setting(default: Any, parse: Callable[[Any], Any], help: str) -> Any:
    return field(default=default, metadata={"parse": parse, "help": help})


@dataclass(frozen=True)
class Config:
    """The settings in effect. ``origins`` says, per setting, ``default``, ``FILE:LINE`` or ``command line``."""

    engine: str = _setting("auto", _engine, "speech recognition: auto, vosk or pocketsphinx")
    model: Optional[str] = _setting(None, _path, "Vosk model directory (default: found automatically)")
    content: Optional[str] = _setting(None, _path, "your own content YAML (default: the built-in one)")
    input_device: Device = _setting(None, _device, "microphone name or index (see 'bedside devices')")
    output_device: Device = _setting(None, _device, "speaker name or index (see 'bedside devices')")
    rate: float = _setting(float(NIGHT_WORDS_PER_MINUTE), _number(60, 300), "speaking rate in words per minute")
    volume: float = _setting(NIGHT_VOLUME, _number(0.1, 1.0), "speaking volume, 0.1 to 1.0")
    voice: Optional[str] = _setting(None, _text, "espeak-ng voice, e.g. en-us or en+f3")
    log_file: Optional[str] = _setting(None, _path, "also append the event log to this file")
    keep_audio: Optional[str] = _setting(None, _path,
                                         "keep every heard utterance as a WAV in this folder (off by default)")
    night_log: bool = _setting(True, _switch, "keep the private night log of episodes (see 'bedside history')")
    verifier: bool = _setting(True, _switch, "a learned second opinion before waking up (off: the recognizer alone)")
    verifier_weights: Optional[str] = _setting(None, _path, "your own verifier weights from scripts/train_verifier "
                                                         "(default: the built-in ones)")
    command_model: bool = _setting(True, _switch, "a learned ear for stop, yes and no mid-conversation "
                                                  "(off: the recognizer alone)")
    command_model_weights: Optional[str] = _setting(None, _path, "your own command model from scripts/train_commands "
                                                                 "(default: the built-in one)")
    echo_cancellation: bool = _setting(True, _switch, "take the helper's own voice out of the microphone, so "
                                                      "that \"stop\" is heard while it speaks")
    memory_limit: float = _setting(MEMORY_LIMIT_MB, _number(100, 4000),
                                   "restart between episodes when the helper uses more memory than this (MB)")
    alerts: Optional[AlertSettings] = None  # the "alerts:" section; None: nothing is ever sent
    path: Optional[Path] = None  # the config file read, if any
    origins: Mapping[str, str] = field(default_factory=dict)

    def origin(self, name: str) -> str:
        return self.origins.get(name, DEFAULT_ORIGIN)


SETTINGS: Dict[str, Field] = {f.name: f for f in fields(Config) if "parse" in f.metadata}
SETTING_NAMES = tuple(SETTINGS)


def default_config_path() -> Path:
    return config_home() / "config.yaml"


def load_config(path: Union[str, Path, None] = None, overrides: Optional[Mapping[str, Any]] = None) -> Config:
    """Defaults, then the config file, then ``overrides`` (command-line values; ``None`` means not given).

    A ``path`` given explicitly must exist; the default file may be absent.

    Raises:
        ConfigError: with every problem in the file as ``FILE:LINE: what is wrong``.
    """
    explicit = path is not None
    file = Path(path) if explicit else default_config_path()
    values: Dict[str, Any] = {}
    origins: Dict[str, str] = {}
    if explicit or file.is_file():
        values, origins = _read_file(file)
    else:
        file = None
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
            origins[name] = COMMAND_LINE_ORIGIN
    return Config(**values, path=file, origins=origins)


def _read_file(file: Path) -> Tuple[Dict[str, Any], Dict[str, str]]:
    data, lines = read_yaml(file, ConfigError)
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError([f"{file}:1: the config file must be a mapping of settings, like 'volume: 0.4'"])
    values: Dict[str, Any] = {}
    origins: Dict[str, str] = {}
    problems: List[str] = []
    for name, raw in data.items():
        where = f"{file}:{line_of(lines, (name,))}"
        if name == "alerts":
            values["alerts"], alert_problems = parse_alerts(
                raw, lambda path: f"{file}:{line_of(lines, ('alerts', *path))}", file.parent)
            problems += alert_problems
            origins[name] = where
            continue
        if name not in SETTINGS:
            problems.append(f"{where}: unknown setting '{name}'; expected one of: {', '.join(SETTING_NAMES)}, alerts")
            continue
        if raw is None:  # "voice:" with nothing after it keeps the default
            continue
        try:
            values[name] = SETTINGS[name].metadata["parse"](raw)
        except ValueError as error:
            problems.append(f"{where}: {name} {error}, not {raw!r}")
            continue
        if SETTINGS[name].metadata["parse"] is _path:
            values[name] = str(file.parent / values[name])  # relative to the config file
        origins[name] = where
    if problems:
        raise ConfigError(problems)
    return values, origins


def describe(config: Config) -> List[str]:
    """``bedside config show``: one line per setting, with its value and where it came from."""
    if config.path is not None:
        header = f"config file: {config.path}"
    else:
        header = f"config file: {default_config_path()} (not there; built-in defaults)"
    width = max(len(name) for name in SETTING_NAMES)
    rows = []
    for name in SETTING_NAMES:
        value = getattr(config, name)
        if value is None:
            shown = "(not set)"
        elif isinstance(value, bool):
            shown = "on" if value else "off"
        else:
            shown = f"{value:g}" if isinstance(value, float) else str(value)
        rows.append(f"{name:<{width}}  {shown:<28} {config.origin(name)}")
    if config.alerts is None:
        rows.append("alerts: (not set; nothing is ever sent)")
    else:
        rows += [f"alerts: {config.origin('alerts')}", *config.alerts.describe()]
        warning = secrets_warning(config)
        if warning:
            rows.append(f"warning: {warning}")
    return [header, *rows]


def secrets_warning(config: Config) -> Optional[str]:
    """A warning when the config file holds alert secrets and other users can read it."""
    if config.path is None or config.alerts is None or not config.alerts.has_secrets:
        return None
    try:
        mode = config.path.stat().st_mode
    except OSError:
        return None
    if mode & 0o077:
        return (f"{config.path} holds alert passwords or a webhook address and other users can read it; "
                f"run: chmod 600 {config.path}")
    return None
