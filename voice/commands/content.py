"""``bedside content check``: a content YAML file checked against its schema."""

from __future__ import annotations

import argparse

from voice.base.errors import BedsideError
from voice.conversation.content import check_content


def run(args: argparse.Namespace) -> int:
    if args.content_command != "check":
        raise BedsideError("say 'bedside content check [FILE]'")
    content = check_content(args.file)
    print(f"{content.path}: ok ({len(content.steps)} relief steps, {len(content.intents)} intents)")
    return 0
