"""The helper's own voice heard back while it speaks: how often does it cut itself off?

    .venv/bin/python scripts/bench_own_voice.py [--engine pocketsphinx] [--content FILE]

Each text the helper can say is synthesized in its own voice (espeak-ng, as pyttsx3 uses on
Linux) and fed to the pipeline while the helper is speaking, which is what a microphone next to
the speaker hears. Prints how many texts were heard as "stop" and how many cut the helper off.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path
from typing import List

from voice.audio import FRAME_SECONDS, read_audio_file, split_frames
from voice.clock import VirtualClock
from voice.content import Content, check_content
from voice.dialogue import VOCABULARIES, Dialogue
from voice.intents import IntentMatcher
from voice.pipeline import Conversation, SilentOutput
from voice.recognizer import open_recognizer


class AlwaysSpeaking(SilentOutput):
    def __init__(self) -> None:
        self.cuts = 0

    def speaking(self) -> bool:
        return True

    def cut(self) -> None:
        self.cuts += 1


def spoken_texts(content: Content) -> List[str]:
    texts = [content.disclaimer, content.intro, content.countdown.format(seconds=30), content.hold_done,
             content.check, *content.prevention_tips, *content.replies.values()]
    for step in content.steps:
        texts += [*step.say, step.while_holding or ""]
    for lines in content.topics.values():
        texts += lines
    return [text.replace("{tip}", "") for text in dict.fromkeys(texts) if text]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="pocketsphinx")
    parser.add_argument("--content")
    args = parser.parse_args()
    content = check_content(args.content)
    matcher = IntentMatcher(content.intents)
    recognizer = open_recognizer(args.engine, matcher.vocabularies(VOCABULARIES))
    heard_stop = cuts = 0
    texts = spoken_texts(content)
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "said.wav"
        for text in texts:
            subprocess.run(["espeak-ng", "-s", "140", "-w", str(wav), text], check=True)
            clock = VirtualClock()
            output = AlwaysSpeaking()
            conversation = Conversation(recognizer, matcher, Dialogue(content, clock), clock, output)
            for index, frame in enumerate(split_frames(read_audio_file(wav))):
                clock.advance_to((index + 1) * FRAME_SECONDS)
                conversation.feed(frame)
            conversation.end_stream()
            stops = [event for event in conversation.heard if event.intent == "stop"]
            if stops:
                print(f"heard {stops[0].text!r} (confidence {stops[0].confidence}) in: {text}")
            heard_stop += bool(stops)
            cuts += output.cuts
    print(f"{len(texts)} texts: heard as 'stop' {heard_stop}, cut the helper off {cuts}")


if __name__ == "__main__":
    main()
