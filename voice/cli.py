"""The ``bedside`` command line. Every user error ends as one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

from voice import __version__
from voice.audio import FRAME_SECONDS, quiet_native_stderr
from voice.config import (SETTING_NAMES, SETTINGS, Config, default_config_path, describe, load_config,
                          secrets_warning)
from voice.command_model import WEIGHTS as COMMAND_WEIGHTS
from voice.command_model import CommandModel, load_command_model
from voice.content import check_content
from voice.dialogue import VOCABULARIES
from voice.echo import FarEnd, echo_canceller
from voice.errors import BedsideError
from voice.intents import IntentMatcher
from voice.models import DEFAULT_MODEL
from voice.progress import terminal_progress
from voice.recognizer import open_recognizer
from voice.verifier import WEIGHTS, Verifier, load_verifier
from voice.speech import VoiceSettings
from voice.yamlfile import YamlFileError

log = logging.getLogger("bedside")
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
SIMULATE_ALERT_WAIT_SECONDS = 5.0  # simulate --alerts: how long a file's alerts may take to go out


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


def _run(args: argparse.Namespace) -> int:
    commands: Dict[str, Callable[[argparse.Namespace], int]] = {
        "listen": _listen, "simulate": _simulate, "say": _say, "devices": _devices, "doctor": _doctor,
        "content": _content_check, "config": _config_show, "history": _history, "model": _model, "bench": _bench,
        "room-check": _room_check, "alert": _alert,
    }
    return commands[args.command](args)


def _doctor(args: argparse.Namespace) -> int:
    from voice.doctor import run_checks

    checks = run_checks(args.config)
    print("\n".join(check.line() for check in checks))
    failed = [check.name for check in checks if not check.ok]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks passed"
          + (f"; fix: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config, {name: getattr(args, name, None) for name in SETTING_NAMES})


def _voice_settings(config: Config) -> VoiceSettings:
    return VoiceSettings(words_per_minute=config.rate, volume=config.volume, voice=config.voice)


def _load(config: Config):
    content = check_content(config.content)
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    recognizer = open_recognizer(config.engine, matcher.vocabularies(VOCABULARIES), config.model)
    print(f"bedside: engine {recognizer.name}, model {recognizer.model}", file=sys.stderr)
    return content, matcher, recognizer, _verifier(config, recognizer.name), _command_model(config)


def _verifier(config: Config, engine: str) -> Optional[Verifier]:
    """The verifier, or None (switched off, or its weights cannot be used: said in one line)."""
    if not config.verifier:
        return None
    try:
        return load_verifier(engine, config.verifier_weights)
    except BedsideError as error:
        print(f"bedside: {error}; going on without it", file=sys.stderr)
        return None


def _command_model(config: Config) -> Optional[CommandModel]:
    """The command model, or None (switched off, or it cannot be used: said in one line)."""
    if not config.command_model:
        return None
    try:
        return load_command_model(config.command_model_weights)
    except BedsideError as error:
        print(f"bedside: {error}", file=sys.stderr)
        return None


def _content_check(args: argparse.Namespace) -> int:
    if args.content_command != "check":
        raise BedsideError("say 'bedside content check [FILE]'")
    content = check_content(args.file)
    print(f"{content.path}: ok ({len(content.steps)} relief steps, {len(content.intents)} intents)")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from voice import bench

    corpus = Path(args.corpus) if args.corpus else None
    real = Path(args.real) if args.real else None
    for option, folder in (("--corpus", corpus), ("--real", real)):
        if folder is not None and not (folder / "manifest.csv").is_file():
            raise BedsideError(f"{folder} has no manifest.csv; give the folder that holds it, or leave out {option}")
    content = check_content(args.content)
    engines = bench.engines_to_bench(args.engine, args.model)
    read = " and ".join(str(folder) for folder in (corpus, real) if folder)
    print(f"bedside: making the {args.set} recordings{' and reading ' + read if read else ''}...", file=sys.stderr)
    recordings = bench.make_recordings(corpus, args.set, args.minutes, quick=args.quick, real=real, content=content)
    weights = None if args.no_verifier else args.verifier_weights
    command_weights = None if args.no_command_model else args.command_model_weights
    reports = {engine: bench.bench_with_verifier(engine, content, recordings, args.model, weights, command_weights)
               for engine in engines}
    print("\n".join(bench.summary_lines(reports)))
    if args.json:
        data = {"set": args.set, "quick": args.quick, "corpus": str(corpus) if corpus else None,
                "real": str(real) if real else None,
                "engines": {engine: {**report.numbers, "recall_clean_by_voice": report.recall_by_voice}
                            for engine, report in reports.items()}}
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    if args.plot:
        bench.plot(reports, Path(args.plot))
    return 0


def _model(args: argparse.Namespace) -> int:
    from voice import models

    if args.model_command == "download":
        if args.url and not args.sha256:
            raise BedsideError("--url needs --sha256, so the download can be checked before it is installed")
        known = models.KNOWN_MODELS.get(args.name)
        if known is None and not args.url:
            raise BedsideError(f"unknown model '{args.name}'; known: {', '.join(models.KNOWN_MODELS)}, "
                               "or give --url and --sha256")
        url, sha256 = args.url or known.url, args.sha256 or known.sha256
        size = known.size if known is not None and not args.url else None
        progress = terminal_progress(f"downloading {args.name}", scale=1e6, unit=" MB")
        path = models.download(url, sha256, size, progress=progress)
    elif args.model_command == "install":
        path = models.install(Path(args.source))
    elif args.model_command == "list":
        installed = models.installed_models()
        if not installed:
            print("no Vosk model installed (pocketsphinx is used); get one with: bedside model download")
        for model in installed:
            print(f"{'*' if model.in_use else ' '} {model.path}  ({model.megabytes:.0f} MB)"
                  f"{'  <- in use' if model.in_use else ''}")
        return 0
    else:
        raise BedsideError("say 'bedside model download', 'bedside model install ZIP|DIR' or 'bedside model list'")
    print(f"bedside: installed {path.name} in {path.parent}; it is used from now on (engine auto)")
    return 0


def _open_history():
    from voice.history import NightLog

    night_log = NightLog.open()
    if night_log.recovery_note():
        print(f"bedside: {night_log.recovery_note()}", file=sys.stderr)
    return night_log


def _history(args: argparse.Namespace) -> int:
    from voice.history import summarize
    from voice.report import csv_report, plot_report, text_report

    if args.days < 1:
        raise BedsideError("--days must be at least 1")
    night_log = _open_history()
    if args.forget:
        return _forget(night_log, args.yes)
    everything = night_log.episodes()
    night_log.close()
    summary = summarize(everything, args.days, datetime.now())
    episodes = [e for e in everything if summary.since <= e.night <= summary.until]
    if args.json:
        print(json.dumps({"episodes": [e.as_json() for e in episodes], "summary": summary.as_json()}, indent=2))
    elif args.csv:
        print(csv_report(episodes), end="")
    else:
        print("\n".join(text_report(episodes, summary, night_log.path)))
    if args.plot:
        plot_report(episodes, summary, Path(args.plot))
        print(f"bedside: chart written to {args.plot}", file=sys.stderr)
    return 0


def _forget(night_log, confirmed: bool) -> int:
    count = len([e for e in night_log.episodes() if e.cramp])
    if not confirmed:
        print(f"Delete the night log {night_log.path} ({count} episodes)? This cannot be undone. "
              "Type yes to delete: ", end="", flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer != "yes":
            print("bedside: nothing deleted", file=sys.stderr)
            return 1
    deleted = night_log.forget()
    print(f"bedside: deleted the night log ({count} episodes; {len(deleted)} files)", file=sys.stderr)
    return 0


def _alert(args: argparse.Namespace) -> int:
    from voice.alerting import send_test

    if args.alert_command != "test":
        raise BedsideError("say 'bedside alert test [--config PATH]'")
    config = _config(args)
    if config.alerts is None or not config.alerts.channels:
        raise BedsideError(f"no alert channels are set up in {config.path or default_config_path()}; "
                           "add an alerts: section (see the README, \"Alerts and Home Assistant\")")
    _warn_if_secrets_exposed(config)
    report = send_test(config.alerts)
    for channel, problem in report:
        print(f"✓ {channel}" if problem is None else f"✗ {channel}: {problem}")
    return 1 if any(problem for _, problem in report) else 0


def _warn_if_secrets_exposed(config: Config) -> None:
    warning = secrets_warning(config)
    if warning:
        log.warning("%s", warning)


def _start_alerts(config: Config, source: str = "live"):
    """The caregiver alerts, when the config sets them up; None otherwise (no network code runs)."""
    if config.alerts is None or not config.alerts.channels:
        return None
    from voice.alerting import AlertService

    _warn_if_secrets_exposed(config)
    return AlertService.start(config.alerts, source)


def _config_show(args: argparse.Namespace) -> int:
    if args.config_command != "show":
        raise BedsideError("say 'bedside config show [--config PATH]'")
    print("\n".join(describe(_config(args))))
    return 0


def _sounddevice():
    try:
        with quiet_native_stderr():  # PortAudio probes every ALSA device when it is first loaded
            import sounddevice
    except OSError:
        raise BedsideError("the PortAudio library is missing; install it: sudo apt-get install libportaudio2") from None
    return sounddevice


def _devices(args: argparse.Namespace) -> int:
    print(_sounddevice().query_devices())
    return 0


def _say(args: argparse.Namespace) -> int:
    from voice.speech import Speaker, Synthesizer, write_wav

    config = _config(args)
    synthesizer = Synthesizer(_voice_settings(config))
    if args.to:
        write_wav(args.to, synthesizer.synthesize(args.text))
        return 0
    _sounddevice()
    speaker = Speaker(synthesizer, config.output_device)
    speaker.say(args.text)
    speaker.wait()
    speaker.close()
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from voice.simulate import RecordingOutput, simulate_file
    from voice.speech import Synthesizer, write_wav

    if args.at and not args.record_history:
        raise BedsideError("--at only applies with --record-history")
    paths = [Path(name) for name in args.files]
    config = _config(args)
    content, matcher, recognizer, verifier, commands = _load(config)
    recording = RecordingOutput(Synthesizer(_voice_settings(config))) if args.say_to else None
    night_log = _open_history() if args.record_history else None
    alerts = _start_alerts(config, source="simulated") if args.alerts else None
    alert_wait = SIMULATE_ALERT_WAIT_SECONDS
    failures = 0
    for path in paths:
        try:
            result = simulate_file(path, recognizer, matcher, content, recording, config.rate, night_log, args.at,
                                   on_event=alerts.on_event if alerts else None, verifier=verifier, commands=commands)
        except BedsideError as error:  # one bad file must not lose the results of the others
            print(f"bedside: {error}", file=sys.stderr)
            failures += 1
            continue
        if alerts is not None and alert_wait:
            if not alerts.courier.wait_idle(alert_wait):
                alert_wait = 0.0  # a channel is down: the next files do not wait for it again
            if alerts.told():
                result.conversation.told(alerts.settings.name)
        if args.json:
            print(json.dumps(result.as_json()), flush=True)
        else:
            print("\n".join(result.lines()), flush=True)
        print(f"bedside: {path}: {result.audio_seconds:.1f} s of audio in {result.processing_seconds:.2f} s",
              file=sys.stderr)
    if recording is not None:
        write_wav(args.say_to, recording.samples())
    if alerts is not None:
        left = alerts.close()
        if left:
            print(f"bedside: alerts not yet sent on {', '.join(left)} stay in the outbox; "
                  "they are sent at the next start", file=sys.stderr)
    return 1 if failures else 0


def _room_check(args: argparse.Namespace) -> int:
    from voice import roomcheck

    config = _config(args)
    content, matcher, recognizer, verifier, commands = _load(config)
    report = roomcheck.room_check(Path(args.file), recognizer, matcher, content, args.start,
                                  terminal_progress("listening to the night", 60 / FRAME_SECONDS, " min"), verifier,
                                  commands)
    print(json.dumps(report.as_json()) if args.json else "\n".join(report.lines()), flush=True)
    if args.plot:
        roomcheck.plot(report, Path(args.plot))
    return 0


def _listen(args: argparse.Namespace) -> int:
    from voice.live import listen, open_night_log
    from voice.memory import MemoryGuard, restart_process
    from voice.speech import Speaker, Synthesizer

    config = _config(args)
    if config.log_file:
        _log_to_file(config.log_file)
    sounddevice = _sounddevice()
    if config.input_device is None and not any(d["max_input_channels"] > 0 for d in sounddevice.query_devices()):
        raise BedsideError("no microphone found; plug one in (see 'bedside devices'), "
                           "or try the helper on a recording: bedside simulate FILE.wav")
    content, matcher, recognizer, verifier, commands = _load(config)
    far_end = FarEnd() if config.echo_cancellation else None
    speaker = Speaker(Synthesizer(_voice_settings(config)), config.output_device, far_end)
    if listen(recognizer, matcher, content, speaker, config.input_device,
              keep_audio=Path(config.keep_audio) if config.keep_audio else None,
              night_log=open_night_log(config.night_log), alerts=_start_alerts(config), verifier=verifier,
              commands=commands, echo=echo_canceller(far_end) if far_end is not None else None,
              memory=MemoryGuard(config.memory_limit)):
        restart_process()
    return 0


def _log_to_file(path: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as error:
        raise BedsideError(f"cannot write the log file {path} ({error.strerror}); "
                           "choose another with --log-file or log_file in the config") from None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log.addHandler(handler)
