"""``bedside devices``: the sound devices sounddevice sees."""

from __future__ import annotations

import argparse

from voice.commands.common import sounddevice_module


def run(args: argparse.Namespace) -> int:
    print(sounddevice_module().query_devices())
    return 0
