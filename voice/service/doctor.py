"""``bedside doctor``: check everything the helper needs, each with a fix when it fails.

Every check runs even when an earlier one failed, so one run shows all that is wrong.
"""

from __future__ import annotations

import importlib
import math
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from voice.base.errors import BedsideError
from voice.base.yamlfile import YamlFileError
from voice.conversation.content import Content, check_content as load_content
from voice.service.config import Config, load_config
from voice.sound.audio import SAMPLE_RATE, quiet_native_stderr

RECORD_SECONDS = 2.0
QUIET_DBFS = -60.0  # a working microphone in a quiet bedroom still measures above this


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        return f"{mark} {self.name}: {self.detail}" + ("" if self.ok else f"\n    fix: {self.fix}")


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 10):
        return Check("python", False, f"{version} is too old", "install Python 3.10 or newer")
    return Check("python", True, version)


PACKAGES = {"vosk": "vosk", "pocketsphinx": "pocketsphinx", "pyttsx3": "pyttsx3", "sounddevice": "sounddevice",
            "yaml": "PyYAML", "hassil": "hassil", "numpy": "numpy", "matplotlib": "matplotlib",
            "paho.mqtt": "paho-mqtt", "ai_edge_litert": "ai-edge-litert"}


def check_packages() -> Check:
    found, missing = [], []
    for module, distribution in PACKAGES.items():
        try:
            with quiet_native_stderr():
                importlib.import_module(module)
            found.append(f"{distribution} {metadata.version(distribution)}")
        except (ImportError, OSError, metadata.PackageNotFoundError) as error:
            missing.append(f"{distribution} ({error})")
    if missing:
        return Check("packages", False, "missing: " + ", ".join(missing),
                     "run scripts/setup (it installs the package and libportaudio2)")
    return Check("packages", True, ", ".join(found))


def check_config(config_path: Optional[str]) -> Tuple[Check, Config]:
    """The check, and the config to go on with: the built-in defaults when the file is broken,
    so the other checks still say something."""
    try:
        config = load_config(config_path)
    except YamlFileError as error:
        return Check("config", False, "; ".join(error.problems), "correct those lines, then check again"), Config()
    where = str(config.path) if config.path else "none (built-in night settings)"
    return Check("config", True, where), config


def check_content(config: Config) -> Tuple[Check, Optional[Content]]:
    try:
        content = load_content(config.content)
    except YamlFileError as error:
        return Check("content", False, "; ".join(error.problems),
                     "correct those lines (bedside content check FILE), or remove 'content' from the config"), None
    summary = f"{content.path} ({len(content.steps)} steps, {len(content.intents)} intents)"
    return Check("content", True, summary), content


def check_engine(config: Config, content: Optional[Content]) -> Tuple[Check, Optional[str]]:
    """The check, and the engine's name when it loads."""
    from voice.conversation.dialogue import VOCABULARIES
    from voice.hearing.intents import IntentMatcher
    from voice.hearing.recognizer import open_recognizer

    if content is None:
        return Check("engine", False, "not checked: the content file has problems", "fix the content first"), None
    try:
        matcher = IntentMatcher(content.intents, content.phrase_rules)
        recognizer = open_recognizer(config.engine, matcher.vocabularies(VOCABULARIES), config.model)
    except BedsideError as error:
        return Check("engine", False, str(error), "bedside model download, or set engine: pocketsphinx"), None
    note = "" if recognizer.name == "vosk" else "; for Vosk: bedside model download"
    return Check("engine", True, f"{recognizer.name}, model {recognizer.model}{note}"), recognizer.name


def check_verifier(config: Config, engine: Optional[str]) -> Check:
    from voice.hearing.verifier import load_verifier

    if not config.verifier:
        return Check("verifier", True, "off: the recognizer alone decides when to wake up")
    if engine is None:
        return Check("verifier", False, "not checked: the engine did not load", "fix the engine first")
    try:
        verifier = load_verifier(engine, config.verifier_weights)
    except BedsideError as error:
        return Check("verifier", False, f"{error}; the helper runs without it",
                     "scripts/train_verifier, or remove verifier_weights from the config")
    weights = Path(config.verifier_weights).name if config.verifier_weights else "built-in weights"
    return Check("verifier", True, f"{verifier.kind} features, {weights} (wakes at {verifier.accept:.2f}, "
                 f"lets go below {verifier.reject:.2f})")


def check_echo_cancellation(config: Config) -> Check:
    from voice.sound.echo import EchoCanceller, FarEnd

    if not config.echo_cancellation:
        return Check("echo cancellation", True, "off: \"stop\" over the helper's voice is heard only once it ends")
    try:
        EchoCanceller(FarEnd())
    except BedsideError as error:
        return Check("echo cancellation", False, f"{error}; \"stop\" over the helper's voice may be missed",
                     "sudo apt-get install libspeexdsp1, or set echo_cancellation: off")
    return Check("echo cancellation", True, "speexdsp, with the stop spotter while the helper speaks")


def _audio_error(error: Exception) -> bool:
    """Errors sounddevice raises for a missing, busy or wrong device (or missing PortAudio)."""
    return isinstance(error, (OSError, ValueError)) or type(error).__name__ == "PortAudioError"


def check_command_model(config: Config) -> Check:
    from voice.hearing.command_model import load_command_model

    if not config.command_model:
        return Check("command model", True, "off: the recognizer alone hears stop, yes and no")
    try:
        model = load_command_model(config.command_model_weights)
    except BedsideError as error:
        return Check("command model", False, str(error),
                     "scripts/train_commands, or remove command_model_weights from the config")
    weights = Path(config.command_model_weights).name if config.command_model_weights else "built-in weights"
    return Check("command model", True, f"{weights} (a word at {model.accept:.2f}, no command at {model.none:.2f})")


def check_microphone(config: Config) -> Check:
    fix = ("plug in the USB microphone, check 'bedside devices', and set input_device in the config "
           "(or --input-device)")
    try:
        with quiet_native_stderr():
            import sounddevice as sd

            recording = sd.rec(int(RECORD_SECONDS * SAMPLE_RATE), samplerate=SAMPLE_RATE, channels=1,
                               dtype="int16", device=config.input_device)
            sd.wait()
    except Exception as error:  # noqa: BLE001 - narrowed just below
        if not _audio_error(error):
            raise
        return Check("microphone", False, f"cannot record from {config.input_device or 'the default input'} "
                     f"({error})", fix)
    samples = recording[:, 0].astype(np.float64) / 32768.0
    rms = math.sqrt(float(np.mean(samples ** 2)))
    level = 20 * math.log10(rms) if rms > 0 else -math.inf
    name = config.input_device if config.input_device is not None else "default input"
    if level < QUIET_DBFS:
        return Check("microphone", False, f"{name}: {RECORD_SECONDS:g} s recorded, level {level:.0f} dBFS "
                     "(silence: muted or the wrong device?)",
                     "unmute it and raise its capture level with 'alsamixer' (F4), or pick another input_device")
    return Check("microphone", True, f"{name}: {RECORD_SECONDS:g} s recorded, level {level:.0f} dBFS")


def check_speaker(config: Config) -> Check:
    try:
        with quiet_native_stderr():
            import sounddevice as sd

            sd.play(np.zeros(SAMPLE_RATE // 5, dtype=np.int16), SAMPLE_RATE, device=config.output_device)
            sd.wait()
    except Exception as error:  # noqa: BLE001 - narrowed just below
        if not _audio_error(error):
            raise
        return Check("speaker", False, f"cannot play on {config.output_device or 'the default output'} ({error})",
                     "plug in the speaker, check 'bedside devices', and set output_device in the config")
    name = config.output_device if config.output_device is not None else "default output"
    return Check("speaker", True, f"{name} opens and plays (test it aloud: bedside say hello)")


def check_voice(config: Config) -> Check:
    from voice.speaking.espeak import UnknownVoice
    from voice.speaking.speech import Synthesizer, VoiceSettings

    choose_a_voice = "choose a voice from 'espeak-ng --voices' (voice in the config), or remove it"
    try:
        samples = Synthesizer(VoiceSettings(config.rate, config.volume, config.voice)).synthesize("Hello.")
    except UnknownVoice as error:
        return Check("voice", False, str(error), choose_a_voice)
    except BedsideError as error:
        return Check("voice", False, str(error), "sudo apt-get install espeak-ng")
    if samples.size == 0 or not np.any(samples):
        return Check("voice", False, f"the voice {config.voice or '(default)'} produced no sound", choose_a_voice)
    return Check("voice", True, f"{config.voice or 'default espeak-ng voice'}, {config.rate:g} words a minute, "
                 f"volume {config.volume:g}")


def check_night_log(config: Config) -> Check:
    from voice.night_log.history import HistoryError, NightLog

    if not config.night_log:
        return Check("night log", True, "off (night_log: off)")
    try:
        night_log = NightLog.open()
    except HistoryError as error:
        return Check("night log", False, str(error), "check the folder's permissions, or set night_log: off")
    note = night_log.recovery_note()
    count = len([e for e in night_log.episodes() if e.cramp])
    night_log.close()
    return Check("night log", True, f"{night_log.path} ({count} episodes)" + (f"; {note}" if note else ""))


def check_alerts(config: Config) -> List[Check]:
    """One check per alert channel: reachable, without sending anything (``bedside alert test``
    sends a real test alert). None when no alerts are set up."""
    from voice.alerts.service import check_channels
    from voice.service.config import secrets_warning

    if config.alerts is None or not config.alerts.channels:
        return [Check("alerts", True, "none set up (nothing ever leaves this device)")]
    checks = [Check(f"alerts {channel}", problem is None, problem or "reachable",
                    "check the alerts: section of the config, then try: bedside alert test")
              for channel, problem in check_channels(config.alerts)]
    warning = secrets_warning(config)
    if warning:
        checks.append(Check("alerts config", False, warning.split("; run: ")[0], warning.split("; run: ")[-1]))
    return checks


def run_checks(config_path: Optional[str]) -> List[Check]:
    config_check, config = check_config(config_path)
    content_check, content = check_content(config)
    engine_check, engine = check_engine(config, content)
    return [check_python(), check_packages(), config_check, content_check, engine_check,
            check_verifier(config, engine), check_command_model(config), check_echo_cancellation(config),
            check_microphone(config), check_speaker(config),
            check_voice(config), check_night_log(config),
            *check_alerts(config)]
