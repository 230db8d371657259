"""``bedside listen``: the helper on the microphone and speaker all night; restarts itself in place
when the memory guard asks."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from voice.base.errors import BedsideError
from voice.commands.common import (LOG_FORMAT, load_stages, log, settings, sounddevice_module, start_alerts,
                                   voice_settings)
from voice.sound.echo import FarEnd, echo_canceller


def run(args: argparse.Namespace) -> int:
    from voice.service.live import listen, open_night_log
    from voice.service.memory import MemoryGuard, fix_mmap_threshold, restart_process
    from voice.speaking.speech import Speaker, Synthesizer

    fix_mmap_threshold()  # before the models are loaded: they and every utterance allocate large blocks
    config = settings(args)
    if config.log_file:
        log_to_file(config.log_file)
    sounddevice = sounddevice_module()
    if config.input_device is None and not any(d["max_input_channels"] > 0 for d in sounddevice.query_devices()):
        raise BedsideError("no microphone found; plug one in (see 'bedside devices'), "
                           "or try the helper on a recording: bedside simulate FILE.wav")
    content, matcher, recognizer, verifier, commands = load_stages(config)
    far_end = FarEnd() if config.echo_cancellation else None
    speaker = Speaker(Synthesizer(voice_settings(config)), config.output_device, far_end)
    if listen(recognizer, matcher, content, speaker, config.input_device,
              keep_audio=Path(config.keep_audio) if config.keep_audio else None,
              night_log=open_night_log(config.night_log), alerts=start_alerts(config), verifier=verifier,
              commands=commands, echo=echo_canceller(far_end) if far_end is not None else None,
              memory=MemoryGuard(config.memory_limit)):
        restart_process()
    return 0


def log_to_file(path: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as error:
        raise BedsideError(f"cannot write the log file {path} ({error.strerror}); "
                           "choose another with --log-file or log_file in the config") from None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log.addHandler(handler)
