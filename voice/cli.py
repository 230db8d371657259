"""The ``bedside`` command line. Every user error ends as one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Union

from voice import __version__
from voice.content import ContentError, check_content
from voice.dialogue import VOCABULARIES
from voice.errors import BedsideError
from voice.intents import IntentMatcher
from voice.recognizer import ENGINES, Recognizer, open_recognizer
from voice.speech import NIGHT_VOLUME, NIGHT_WORDS_PER_MINUTE, VoiceSettings

log = logging.getLogger("bedside")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + error
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _device(value: str) -> Union[int, str]:
    return int(value) if value.isdigit() else value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bedside", description="Offline, hands-free helper for night-time calf cramps.")
    parser.add_argument("--version", action="version", version=f"bedside {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def engine_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--engine", default="auto", help=f"one of {', '.join(ENGINES)} (default: auto)")
        command.add_argument("--model", help="Vosk model directory (default: VOSK_MODEL_PATH or models/vosk-model-*)")
        command.add_argument("--content", help="your own content YAML (default: the built-in one)")

    def voice_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--rate", type=float, default=NIGHT_WORDS_PER_MINUTE, help="words per minute")
        command.add_argument("--volume", type=float, default=NIGHT_VOLUME, help="0.1 to 1.0")
        command.add_argument("--voice", help="espeak-ng voice, e.g. en-us or en-gb+f3")

    listen = commands.add_parser("listen", help="listen on the microphone all night (what scripts/run starts)")
    engine_options(listen)
    voice_options(listen)
    listen.add_argument("--input-device", type=_device, help="microphone name or index (see 'bedside devices')")
    listen.add_argument("--output-device", type=_device, help="speaker name or index")

    simulate = commands.add_parser("simulate", help="run the helper on recorded WAV files")
    simulate.add_argument("files", nargs="+", metavar="FILE")
    simulate.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    simulate.add_argument("--say-to", metavar="OUT.wav", help="write everything the helper said into one WAV")
    engine_options(simulate)
    voice_options(simulate)

    say = commands.add_parser("say", help="speak a sentence with the night voice")
    say.add_argument("text")
    say.add_argument("--to", metavar="OUT.wav", help="write to a WAV file instead of the speaker")
    say.add_argument("--output-device", type=_device)
    voice_options(say)

    commands.add_parser("devices", help="list audio input and output devices")

    content = commands.add_parser("content", help="work with content files")
    content_commands = content.add_subparsers(dest="content_command", metavar="ACTION", parser_class=_Parser)
    check = content_commands.add_parser("check", help="validate a content YAML file")
    check.add_argument("file", nargs="?", help="the file to check (default: the built-in content)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _run(args)
    except ContentError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print("bedside: the content file has problems; fix them and start again", file=sys.stderr)
        return 1
    except BedsideError as error:
        print(f"bedside: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "content":
        return _content_check(args)
    if args.command == "devices":
        return _devices()
    if args.command == "say":
        return _say(args)
    if args.command == "simulate":
        return _simulate(args)
    return _listen(args)


def _voice_settings(args: argparse.Namespace) -> VoiceSettings:
    return VoiceSettings(words_per_minute=args.rate, volume=args.volume, voice=args.voice)


def _load(args: argparse.Namespace):
    content = check_content(args.content)
    matcher = IntentMatcher(content.intents)
    recognizer = open_recognizer(args.engine, matcher.vocabularies(VOCABULARIES), args.model)
    print(f"bedside: engine {recognizer.name}, model {recognizer.model}", file=sys.stderr)
    return content, matcher, recognizer


def _content_check(args: argparse.Namespace) -> int:
    if args.content_command != "check":
        raise BedsideError("say 'bedside content check [FILE]'")
    content = check_content(args.file)
    print(f"{content.path}: ok ({len(content.steps)} relief steps, {len(content.intents)} intents)")
    return 0


def _sounddevice():
    try:
        import sounddevice
    except OSError:
        raise BedsideError("the PortAudio library is missing; install it: sudo apt-get install libportaudio2") from None
    return sounddevice


def _devices() -> int:
    print(_sounddevice().query_devices())
    return 0


def _say(args: argparse.Namespace) -> int:
    from voice.speech import Speaker, Synthesizer, write_wav

    synthesizer = Synthesizer(_voice_settings(args))
    if args.to:
        write_wav(args.to, synthesizer.synthesize(args.text))
        return 0
    _sounddevice()
    speaker = Speaker(synthesizer, args.output_device)
    speaker.say(args.text)
    speaker.wait()
    speaker.close()
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from voice.simulate import RecordingOutput, simulate_file
    from voice.speech import Synthesizer, write_wav

    paths = [Path(name) for name in args.files]
    content, matcher, recognizer = _load(args)
    recording = RecordingOutput(Synthesizer(_voice_settings(args))) if args.say_to else None
    failures = 0
    for path in paths:
        try:
            result = simulate_file(path, recognizer, matcher, content, recording, args.rate)
        except BedsideError as error:  # one bad file must not lose the results of the others
            print(f"bedside: {error}", file=sys.stderr)
            failures += 1
            continue
        if args.json:
            print(json.dumps(result.as_json()), flush=True)
        else:
            print("\n".join(result.lines()), flush=True)
        print(f"bedside: {path}: {result.audio_seconds:.1f} s of audio in {result.processing_seconds:.2f} s",
              file=sys.stderr)
    if recording is not None:
        write_wav(args.say_to, recording.samples())
    return 1 if failures else 0


def _listen(args: argparse.Namespace) -> int:
    from voice.live import listen
    from voice.speech import Speaker, Synthesizer

    sounddevice = _sounddevice()
    if args.input_device is None and not any(d["max_input_channels"] > 0 for d in sounddevice.query_devices()):
        raise BedsideError("no microphone found; plug one in (see 'bedside devices'), "
                           "or try the helper on a recording: bedside simulate FILE.wav")
    content, matcher, recognizer = _load(args)
    speaker = Speaker(Synthesizer(_voice_settings(args)), args.output_device)
    listen(recognizer, matcher, content, speaker, args.input_device)
    return 0
