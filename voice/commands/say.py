"""``bedside say``: one sentence in the night voice, on the speaker or into a WAV."""

from __future__ import annotations

import argparse

from voice.commands.common import settings, sounddevice_module, voice_settings


def run(args: argparse.Namespace) -> int:
    from voice.speaking.speech import Speaker, Synthesizer, write_wav

    config = settings(args)
    synthesizer = Synthesizer(voice_settings(config))
    if args.to:
        write_wav(args.to, synthesizer.synthesize(args.text))
        return 0
    sounddevice_module()
    speaker = Speaker(synthesizer, config.output_device)
    speaker.say(args.text)
    speaker.wait()
    speaker.close()
    return 0
