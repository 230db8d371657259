"""``bedside config show``: every setting in effect, and where its value came from."""

from __future__ import annotations

import argparse

from voice.base.errors import BedsideError
from voice.commands.common import settings
from voice.service.config import describe


def run(args: argparse.Namespace) -> int:
    if args.config_command != "show":
        raise BedsideError("say 'bedside config show [--config PATH]'")
    print("\n".join(describe(settings(args))))
    return 0
