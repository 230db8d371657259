"""What several commands share: the settings in effect, the stages loaded from them, the night log,
the caregiver alerts and sounddevice, each failing as one line."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional

from voice.base.errors import BedsideError
from voice.conversation.content import check_content
from voice.conversation.dialogue import VOCABULARIES
from voice.hearing.command_model import CommandModel, load_command_model
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import open_recognizer
from voice.hearing.verifier import Verifier, load_verifier
from voice.service.config import SETTING_NAMES, Config, load_config, secrets_warning
from voice.sound.audio import quiet_native_stderr
from voice.speaking.speech import VoiceSettings

log = logging.getLogger("bedside")
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def settings(args: argparse.Namespace) -> Config:
    return load_config(args.config, {name: getattr(args, name, None) for name in SETTING_NAMES})


def voice_settings(config: Config) -> VoiceSettings:
    return VoiceSettings(words_per_minute=config.rate, volume=config.volume, voice=config.voice)


def load_stages(config: Config):
    content = check_content(config.content)
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    recognizer = open_recognizer(config.engine, matcher.vocabularies(VOCABULARIES), config.model)
    print(f"bedside: engine {recognizer.name}, model {recognizer.model}", file=sys.stderr)
    return content, matcher, recognizer, verifier_or_none(config, recognizer.name), command_model_or_none(config)


def verifier_or_none(config: Config, engine: str) -> Optional[Verifier]:
    """The verifier, or None (switched off, or its weights cannot be used: said in one line)."""
    if not config.verifier:
        return None
    try:
        return load_verifier(engine, config.verifier_weights)
    except BedsideError as error:
        print(f"bedside: {error}; going on without it", file=sys.stderr)
        return None


def command_model_or_none(config: Config) -> Optional[CommandModel]:
    """The command model, or None (switched off, or it cannot be used: said in one line)."""
    if not config.command_model:
        return None
    try:
        return load_command_model(config.command_model_weights)
    except BedsideError as error:
        print(f"bedside: {error}", file=sys.stderr)
        return None


def open_night_log_file():
    from voice.night_log.history import NightLog

    night_log = NightLog.open()
    if night_log.recovery_note():
        print(f"bedside: {night_log.recovery_note()}", file=sys.stderr)
    return night_log


def warn_if_secrets_exposed(config: Config) -> None:
    warning = secrets_warning(config)
    if warning:
        log.warning("%s", warning)


def start_alerts(config: Config, source: str = "live"):
    """The caregiver alerts, when the config sets them up; None otherwise (no network code runs)."""
    if config.alerts is None or not config.alerts.channels:
        return None
    from voice.alerts.service import AlertService

    warn_if_secrets_exposed(config)
    return AlertService.start(config.alerts, source)


def sounddevice_module():
    try:
        with quiet_native_stderr():  # PortAudio probes every ALSA device when it is first loaded
            import sounddevice
    except OSError:
        raise BedsideError("the PortAudio library is missing; install it: sudo apt-get install libportaudio2") from None
    return sounddevice
