"""The ``bedside`` command line: the parser, and each subcommand handed to its module in voice.commands.
Every user error ends as one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

import voice.commands.alert
import voice.commands.bench
import voice.commands.config
import voice.commands.content
import voice.commands.devices
import voice.commands.doctor
import voice.commands.history
import voice.commands.listen
import voice.commands.model
import voice.commands.room_check
import voice.commands.say
import voice.commands.simulate
from voice import __version__
from voice.base.errors import BedsideError
from voice.base.yamlfile import YamlFileError
from voice.commands.common import LOG_FORMAT
from voice.hearing.command_model import WEIGHTS as COMMAND_WEIGHTS
from voice.hearing.verifier import WEIGHTS
from voice.service.config import SETTINGS, default_config_path
from voice.service.models import DEFAULT_MODEL


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + error
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _setting_type(name: str) -> Callable[[str], Any]:
    """An argparse type that checks a command-line value exactly like the config file's value."""
    parse = SETTINGS[name].metadata["parse"]

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{name} {error}, not {text!r}") from None

    return convert


def _add_setting(command: argparse.ArgumentParser, name: str, *, metavar: Optional[str] = None) -> None:
    command.add_argument(f"--{name.replace('_', '-')}", type=_setting_type(name), metavar=metavar,
                         help=SETTINGS[name].metadata["help"])


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date and time like 2026-11-20T02:30") from None


def _clock_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%H:%M")
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a time like 23:30") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bedside", description="Offline, hands-free helper for night-time calf cramps.")
    parser.add_argument("--version", action="version", version=f"bedside {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def config_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--config", metavar="PATH",
                             help=f"settings file (default: {default_config_path()})")

    def engine_options(command: argparse.ArgumentParser) -> None:
        config_option(command)
        _add_setting(command, "engine", metavar="NAME")
        _add_setting(command, "model", metavar="DIR")
        _add_setting(command, "content", metavar="FILE")
        _add_setting(command, "verifier", metavar="on|off")
        _add_setting(command, "verifier_weights", metavar="FILE")
        _add_setting(command, "command_model", metavar="on|off")
        _add_setting(command, "command_model_weights", metavar="FILE")

    def voice_options(command: argparse.ArgumentParser) -> None:
        _add_setting(command, "rate", metavar="WPM")
        _add_setting(command, "volume", metavar="0.1-1.0")
        _add_setting(command, "voice", metavar="NAME")

    listen = commands.add_parser("listen", help="listen on the microphone all night (what scripts/run starts)")
    engine_options(listen)
    voice_options(listen)
    _add_setting(listen, "input_device", metavar="NAME|INDEX")
    _add_setting(listen, "output_device", metavar="NAME|INDEX")
    _add_setting(listen, "log_file", metavar="FILE")
    _add_setting(listen, "keep_audio", metavar="DIR")
    _add_setting(listen, "night_log", metavar="on|off")
    _add_setting(listen, "echo_cancellation", metavar="on|off")
    _add_setting(listen, "memory_limit", metavar="MB")

    simulate = commands.add_parser("simulate", help="run the helper on recorded WAV files")
    simulate.add_argument("files", nargs="+", metavar="FILE")
    simulate.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    simulate.add_argument("--say-to", metavar="OUT.wav", help="write everything the helper said into one WAV")
    simulate.add_argument("--record-history", action="store_true",
                          help="record the episodes in the night log, marked as simulated")
    simulate.add_argument("--at", type=_moment, metavar="2026-11-20T02:30",
                          help="with --record-history: when the recording is taken to start (default: now)")
    simulate.add_argument("--alerts", action="store_true",
                          help="really send the config's caregiver alerts (off: trying recordings never pages anyone)")
    engine_options(simulate)
    voice_options(simulate)

    room = commands.add_parser("room-check", help="would the helper have woken up during this recorded night?")
    room.add_argument("file", metavar="FILE", help="a recording of the night (WAV, FLAC, OGG or MP3)")
    room.add_argument("--start", type=_clock_time, metavar="HH:MM", help="when the recording began, for clock times")
    room.add_argument("--json", action="store_true",
                      help='{"hours", "wakes": [{"t", "clock", "heard", "intent"}], "noise_dbfs", "verdict"}')
    room.add_argument("--plot", metavar="OUT.png", help="draw the room's level over the night, wake-ups marked")
    engine_options(room)

    say = commands.add_parser("say", help="speak a sentence with the night voice")
    say.add_argument("text")
    say.add_argument("--to", metavar="OUT.wav", help="write to a WAV file instead of the speaker")
    config_option(say)
    _add_setting(say, "output_device", metavar="NAME|INDEX")
    voice_options(say)

    commands.add_parser("devices", help="list audio input and output devices")

    doctor = commands.add_parser("doctor", help="check packages, engine, devices, voice, config and content")
    config_option(doctor)

    content = commands.add_parser("content", help="work with content files")
    content_commands = content.add_subparsers(dest="content_command", metavar="ACTION", parser_class=_Parser)
    check = content_commands.add_parser("check", help="validate a content YAML file")
    check.add_argument("file", nargs="?", help="the file to check (default: the built-in content)")

    bench = commands.add_parser("bench", help="measure recall, false triggers, speed and latency on recordings")
    bench.add_argument("--corpus", metavar="DIR", help="real speech for negatives: a folder with manifest.csv")
    bench.add_argument("--real", metavar="DIR",
                       help="real people and rooms (commands, audiobook, snoring, noise): a folder with manifest.csv")
    bench.add_argument("--engine", default="all", help="pocketsphinx, vosk, or all (the default: those available)")
    bench.add_argument("--model", metavar="DIR", help="Vosk model directory")
    bench.add_argument("--no-verifier", action="store_true",
                       help="only without the verifier (by default: with it, and without it under without_verifier)")
    bench.add_argument("--verifier-weights", metavar="FILE", type=Path, default=WEIGHTS,
                       help="other verifier weights (from scripts/train_verifier) to measure")
    bench.add_argument("--no-command-model", action="store_true", help="commands heard by the recognizer alone")
    bench.add_argument("--command-model-weights", metavar="FILE", type=Path, default=COMMAND_WEIGHTS,
                       help="another command model (from scripts/train_commands) to measure")
    bench.add_argument("--content", metavar="FILE", help="your own content YAML")
    bench.add_argument("--json", metavar="OUT", help="write the numbers here as JSON")
    bench.add_argument("--plot", metavar="OUT.png", help="draw recall against SNR and a latency histogram")
    bench.add_argument("--set", choices=("test", "tuning"), default="test",
                       help="which phrasings and voices (tune on 'tuning', report 'test')")
    bench.add_argument("--minutes", type=float, default=10.0, help="length of the continuous negative stream")
    bench.add_argument("--quick", action="store_true",
                       help="clean and 10 dB only, one speaker per voice: a smoke run, not the reported numbers")

    model = commands.add_parser("model", help="Vosk speech models: download, install, list")
    model_commands = model.add_subparsers(dest="model_command", metavar="ACTION", parser_class=_Parser)
    fetch = model_commands.add_parser("download", help="download, check and install a model")
    fetch.add_argument("--name", default=DEFAULT_MODEL, help=f"a known model (default: {DEFAULT_MODEL})")
    fetch.add_argument("--url", help="download from here instead (a mirror, or another model); needs --sha256")
    fetch.add_argument("--sha256", help="the archive's SHA-256, checked before anything is installed")
    copied = model_commands.add_parser("install", help="install from a copied .zip or an unpacked folder (offline)")
    copied.add_argument("source", metavar="ZIP|DIR")
    model_commands.add_parser("list", help="installed models, and which one is in use")

    history = commands.add_parser("history", help="the private night log: nights with cramps, what helped")
    history.add_argument("--days", type=int, default=30, help="how many nights back (default: 30)")
    output = history.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help='{"episodes": [...], "summary": {...}} on stdout')
    output.add_argument("--csv", action="store_true", help="one row per episode on stdout")
    output.add_argument("--forget", action="store_true", help="delete the night log (asks first)")
    history.add_argument("--plot", metavar="OUT.png", help="also draw a chart to show a doctor")
    history.add_argument("--yes", action="store_true", help="with --forget: do not ask")

    alert = commands.add_parser("alert", help="caregiver alerts (the config's alerts: section)")
    alert_commands = alert.add_subparsers(dest="alert_command", metavar="ACTION", parser_class=_Parser)
    alert_test = alert_commands.add_parser("test", help="send a test alert on every channel, and say which worked")
    config_option(alert_test)

    config = commands.add_parser("config", help="night settings: volume, rate, voice, devices")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", parser_class=_Parser)
    show = config_commands.add_parser("show", help="print the settings in effect and where each came from")
    config_option(show)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _run(args)
    except YamlFileError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"bedside: the {error.kind} file has problems; fix them and start again", file=sys.stderr)
        return 1
    except BedsideError as error:
        print(f"bedside: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``bedside simulate x.wav | head -1``): end quietly, as Unix tools
        # do. Point stdout at /dev/null so that Python's flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


COMMANDS: Dict[str, Callable[[argparse.Namespace], int]] = {
    name.replace("_", "-"): getattr(voice.commands, name).run
    for name in ("listen", "simulate", "say", "devices", "doctor", "content", "config", "history", "model", "bench",
                 "room_check", "alert")
}


def _run(args: argparse.Namespace) -> int:
    return COMMANDS[args.command](args)
