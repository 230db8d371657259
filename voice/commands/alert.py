"""``bedside alert test``: a test alert on every channel of the config, and which worked."""

from __future__ import annotations

import argparse

from voice.base.errors import BedsideError
from voice.commands.common import settings, warn_if_secrets_exposed
from voice.service.config import default_config_path


def run(args: argparse.Namespace) -> int:
    from voice.alerts.service import send_test

    if args.alert_command != "test":
        raise BedsideError("say 'bedside alert test [--config PATH]'")
    config = settings(args)
    if config.alerts is None or not config.alerts.channels:
        raise BedsideError(f"no alert channels are set up in {config.path or default_config_path()}; "
                           "add an alerts: section (see the README, \"Alerts and Home Assistant\")")
    warn_if_secrets_exposed(config)
    report = send_test(config.alerts)
    for channel, problem in report:
        print(f"✓ {channel}" if problem is None else f"✗ {channel}: {problem}")
    return 1 if any(problem for _, problem in report) else 0
