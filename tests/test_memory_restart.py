"""The memory guard in ``listen``: past the limit, the helper stops to restart only between episodes,
with the night log closed and intact (voice.service.memory.MemoryGuard, issue 24)."""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from fake_systemd import FakeSystemd
from voice.conversation.content import check_content
from voice.conversation.dialogue import VOCABULARIES
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import open_recognizer
from voice.night_log.history import NightLog
from voice.service import live
from voice.service.memory import MemoryGuard
from voice.sound.audio import FRAME_SECONDS, FileSource
from voice.speaking.speech import VoiceSettings


class NightMicrophone:
    """Frames of one recording at the pace a microphone gives them, then quiet."""

    recording = Path()  # set by the test
    given = 0  # frames handed out so far, across instances

    def __init__(self, _device, read_timeout: float = 1.0) -> None:
        self.overflows = 0

    def frames(self) -> Iterator[Optional[bytes]]:
        quiet = bytes(len(next(iter(FileSource(self.recording).frames()))))
        for frame in [*FileSource(self.recording).frames(), *[quiet] * int(30 / FRAME_SECONDS)]:
            time.sleep(FRAME_SECONDS)  # the dialogue runs on the system clock
            NightMicrophone.given += 1
            yield frame


class QuietSpeaker:
    """Notes the sentences; a real speaker needs a sound device."""

    def __init__(self) -> None:
        self.synthesizer = type("Synth", (), {"settings": VoiceSettings()})()
        self.said: List[str] = []

    def say(self, text: str) -> None:
        self.said.append(text)

    def speaking(self) -> bool:
        return False

    def cut(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def signals_kept():
    """``listen`` takes SIGTERM and SIGINT; give them back to pytest afterwards."""
    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in kept.items():
        signal.signal(signum, handler)


def test_over_the_limit_mid_relief_it_restarts_only_once_the_episode_has_ended(tmp_path, monkeypatch, recordings,
                                                                                 caplog, signals_kept):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    systemd = FakeSystemd(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setattr(NightMicrophone, "recording",
                        recordings(["I have a cramp in my calf", 3.0, "the cramp is gone now", 1.0]))
    monkeypatch.setattr(NightMicrophone, "given", 0)
    monkeypatch.setattr(live, "MicrophoneSource", NightMicrophone)
    # The helper "grows" past the limit as soon as the request has begun, in the middle of it.
    over_from_frame = int(1.0 / FRAME_SECONDS)
    guard = MemoryGuard(limit_mb=300.0, every=0.0, read_mb=lambda: 500.0 if NightMicrophone.given > over_from_frame
                        else 150.0, environ={})
    content = check_content()
    matcher = IntentMatcher(content.intents, content.phrase_rules)
    recognizer = open_recognizer("pocketsphinx", matcher.vocabularies(VOCABULARIES), None)
    night_log = NightLog.open(tmp_path / "night.sqlite3")
    speaker = QuietSpeaker()
    caplog.set_level(logging.INFO, logger="bedside")
    assert live.listen(recognizer, matcher, content, speaker, night_log=night_log, memory=guard)
    lines = [record.getMessage() for record in caplog.records]
    ended = next(index for index, line in enumerate(lines) if line.startswith("episode ended"))
    restarting = next(index for index, line in enumerate(lines) if "restarting between episodes" in line)
    assert ended < restarting, lines
    assert sum("restarting" in line for line in lines) == 1
    assert speaker.said and not any(line.startswith("said:") for line in lines[restarting:])
    recorded = len(list(FileSource(NightMicrophone.recording).frames()))
    assert NightMicrophone.given < recorded + int(10 / FRAME_SECONDS)  # soon after the episode, not at the end
    told = [message for _, message in systemd.receive(0.2)]
    systemd.close()
    assert told[0].startswith("READY=1") and told[-1].startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert not any("STOPPING=1" in message for message in told)  # systemd waits for the new READY=1
    assert not (tmp_path / "bedside" / live.RUNNING_MARKER).exists()  # a clean stop, not a crash
    reopened = NightLog.open(tmp_path / "night.sqlite3")  # what the restarted helper opens
    (episode,) = reopened.episodes()
    assert episode.outcome == "okay" and episode.steps
    reopened.close()
