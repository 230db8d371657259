"""The helper's own voice heard back while it speaks: how often does it cut itself off?

    .venv/bin/python scripts/bench_own_voice.py [--engine pocketsphinx] [--content FILE]

Each text the helper can say is synthesized in its own voice (espeak-ng, as pyttsx3 uses on
Linux) and fed to the pipeline while the helper is speaking, which is what a microphone next to
the speaker hears. Prints how many texts were heard as "stop" and how many cut the helper off.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from speaking import converse_while_speaking  # noqa: E402
from voice.conversation.content import Content, check_content  # noqa: E402
from voice.conversation.dialogue import VOCABULARIES  # noqa: E402
from voice.hearing.intents import IntentMatcher  # noqa: E402
from voice.hearing.recognizer import open_recognizer  # noqa: E402


def spoken_texts(content: Content) -> List[str]:
    texts = [content.disclaimer, content.intro, content.countdown.format(seconds=30), content.hold_done,
             content.check, *content.prevention_tips, *content.replies.values()]
    for step in content.steps:
        texts += [*step.say, step.while_holding or ""]
    for lines in content.topics.values():
        texts += lines
    texts += content.confirm.values()
    return [text.replace("{tip}", "") for text in dict.fromkeys(texts) if text]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="pocketsphinx")
    parser.add_argument("--content")
    args = parser.parse_args()
    content = check_content(args.content)
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    recognizer = open_recognizer(args.engine, matcher.vocabularies(VOCABULARIES))
    heard_stop = cuts = 0
    texts = spoken_texts(content)
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "said.wav"
        for text in texts:
            subprocess.run(["espeak-ng", "-s", "140", "-w", str(wav), text], check=True)
            conversation, output = converse_while_speaking(wav, recognizer, content)
            stops = [event for event in conversation.heard if event.intent == "stop"]
            if stops:
                print(f"heard {stops[0].text!r} (confidence {stops[0].confidence}) in: {text}")
            heard_stop += bool(stops)
            cuts += output.cuts
    print(f"{len(texts)} texts: heard as 'stop' {heard_stop}, cut the helper off {cuts}")


if __name__ == "__main__":
    main()
