"""``bedside listen``: the always-on bedside loop on a real microphone and speaker.

Same ``Conversation`` as ``simulate``, with the system clock and real devices. A microphone that
is missing or unplugged is logged once and retried every few seconds; the loop never gives up on it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np

from voice.alerts.homeassistant import NIGHTS_DAYS
from voice.alerts.service import AlertService
from voice.base.clock import SystemClock
from voice.base.errors import BedsideError
from voice.base.events import EpisodeEnded, EpisodeStarted, Event, Heard, Said
from voice.base.paths import data_home
from voice.conversation.actions import AdjustVoice
from voice.conversation.content import Content
from voice.conversation.dialogue import Dialogue
from voice.conversation.pipeline import Conversation
from voice.hearing.command_model import CommandModel
from voice.hearing.intents import IntentMatcher
from voice.hearing.recognizer import Recognizer
from voice.hearing.verifier import Verifier
from voice.night_log.history import HistoryError, HistoryRecorder, NightLog
from voice.service.memory import MemoryGuard, MemoryTrimmer
from voice.service.watchdog import Watchdog
from voice.sound.audio import Device, DeviceList, MicrophoneSource
from voice.sound.echo import EchoCanceller
from voice.speaking.speech import Speaker, write_wav

log = logging.getLogger("bedside")

RETRY_SECONDS = 3.0
MICROPHONE_ALERT_SECONDS = 600.0  # a microphone missing this long is worth a caregiver's look
RUNNING_MARKER = "listening.pid"  # there while listening; left behind by a crash or a power cut


class SpeakerOutput:
    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker

    def say(self, said: Said) -> None:
        self.speaker.say(said.text)

    def adjust(self, change: AdjustVoice) -> None:
        self.speaker.synthesizer.adjust(change.rate_factor, change.volume_change)

    def cut(self) -> None:
        self.speaker.cut()

    def speaking(self) -> bool:
        return self.speaker.speaking()


def log_event(event: Event) -> None:
    if isinstance(event, Heard):
        confidence = "" if event.confidence is None else f" (confidence {event.confidence:.2f})"
        # No words: the stop spotter heard "stop" while the helper spoke (voice.hearing.stop_spotter).
        log.info("heard: %s%s", repr(event.text) if event.text else "(over the helper's voice)", confidence)
        verdict = " (not sure: asking)" if event.certainty == "doubtful" else ""
        if event.intent and event.certainty is None:
            verdict = " (not believed: let go)"  # the gates, the verifier or the command model
        verifier = "" if event.verifier is None else f" (verifier {event.verifier:.2f})"
        command = "" if event.command is None else f" (command model: {event.command})"
        log.info("intent: %s%s%s%s", event.intent or "none", verifier, command, verdict)
    elif isinstance(event, Said):
        log.info("said: %s", event.text)
    elif isinstance(event, EpisodeStarted):
        log.info("episode started")
    elif isinstance(event, EpisodeEnded):
        log.info("episode ended: %s", event.outcome)


def utterance_keeper(folder: Path) -> Callable[[bytes], None]:
    """Saves each heard utterance as a WAV in ``folder`` (only when the user turned this on)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # health-related audio: owner only
    failed = False

    def keep(audio: bytes) -> None:
        nonlocal failed
        try:
            write_wav(folder / f"{datetime.now():%Y%m%d-%H%M%S-%f}.wav", np.frombuffer(audio, dtype=np.int16))
        except BedsideError as error:
            if not failed:  # a full disk must not flood the log or stop the helper
                log.error("%s; heard audio is no longer kept", error)
            failed = True

    return keep


def open_night_log(enabled: bool) -> Optional[NightLog]:
    """The night log, or None (logged) when it is switched off or cannot be used."""
    if not enabled:
        return None
    try:
        night_log = NightLog.open()
    except HistoryError as error:
        log.error("%s; relief goes on without the night log", error)
        return None
    if night_log.recovery_note():
        log.warning("%s", night_log.recovery_note())
    return night_log


def mark_running() -> bool:
    """Note that the helper is listening; True when the last run never said it had stopped."""
    marker = data_home() / RUNNING_MARKER
    unclean = marker.exists()
    try:
        marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        marker.write_text(f"{os.getpid()}\n")
    except OSError:
        pass  # a full card: the next start may miss one restart, nothing worse
    return unclean


def mark_stopped() -> None:
    (data_home() / RUNNING_MARKER).unlink(missing_ok=True)


def listen(recognizer: Recognizer, matcher: IntentMatcher, content: Content, speaker: Speaker,
           input_device: Device = None, stop: Optional[threading.Event] = None,
           keep_audio: Optional[Path] = None, night_log: Optional[NightLog] = None,
           alerts: Optional[AlertService] = None, verifier: Optional[Verifier] = None,
           commands: Optional[CommandModel] = None, echo: Optional[EchoCanceller] = None,
           memory: Optional[MemoryGuard] = None) -> bool:
    """Run until SIGTERM, SIGINT or ``stop`` is set. With ``alerts``, the chosen events are
    sent to the caregiver's channels (from a thread of their own); with ``echo`` (given the
    ``speaker``'s far end), the helper's own voice is taken out of the microphone.

    Returns True when it stopped, everything closed, for ``memory``: the helper has grown past
    its limit and should restart (voice.service.memory.restart_process); it only stops between episodes."""
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    clock = SystemClock()
    history = HistoryRecorder(night_log)
    dialogue = Dialogue(content, clock, speaker.synthesizer.settings.words_per_minute,
                        recent_cramps=history.recent)

    def publish_cramp_nights() -> None:
        summary = history.recent(NIGHTS_DAYS)
        if alerts is not None and summary is not None:
            alerts.set_status(cramp_nights=summary.nights)

    def on_event(event: Event) -> None:
        log_event(event)
        history.on_event(event)
        if alerts is not None:
            alerts.on_event(event)
            if isinstance(event, EpisodeEnded):
                publish_cramp_nights()

    conversation = Conversation(recognizer, matcher, dialogue, clock, SpeakerOutput(speaker), on_event,
                                utterance_keeper(keep_audio) if keep_audio else None, keep_events=False,
                                verifier=verifier, commands=commands, echo=echo)
    if keep_audio:
        log.info("keeping every heard utterance in %s", keep_audio)
    if alerts is not None:
        alerts.set_status(state="idle")
        publish_cramp_nights()
        if mark_running():
            alerts.helper_unwell("it restarted after stopping unexpectedly (a crash or a power cut)")
    else:
        mark_running()
    microphone = MicrophoneSource(input_device, read_timeout=0.5)
    devices = DeviceList()
    missing_logged = False
    missing_since: Optional[float] = None
    frames: Optional[Iterator[Optional[bytes]]] = None
    watchdog = Watchdog()
    trimmer = MemoryTrimmer()
    restart = False
    log.info("listening; say \"cramp\" when you need me")
    watchdog.ready()
    try:
        while not stop.is_set():
            watchdog.alive()
            frames = microphone.frames()
            try:
                for frame in frames:
                    watchdog.alive()  # from the loop itself: if it hangs, systemd restarts the helper
                    if missing_logged:
                        log.info("microphone is back")
                        missing_logged = False
                    missing_since = None
                    if stop.is_set():
                        break
                    if frame is None:
                        conversation.tick()
                    else:
                        conversation.feed(frame)
                    if alerts is not None and alerts.told():
                        conversation.told(alerts.settings.name)
                    trimmer.after(conversation.utterances)
                    if memory is not None and memory.restart_due(conversation.at_rest):
                        log.warning("memory: %.0f MB, over memory_limit (%.0f MB); restarting between episodes",
                                    memory.last_mb, memory.limit_mb)
                        restart = True
                        stop.set()
            except BedsideError as error:
                if not missing_logged:
                    log.error("%s; retrying every %.0f s", error, RETRY_SECONDS)
                    missing_logged = True
                if missing_since is None:
                    missing_since = time.monotonic()
                elif alerts is not None and time.monotonic() - missing_since > MICROPHONE_ALERT_SECONDS:
                    alerts.helper_unwell(f"the microphone has been missing for over "
                                         f"{MICROPHONE_ALERT_SECONDS / 60:.0f} minutes")
                    missing_since = float("inf")  # once per time it goes missing
                conversation.tick()
                stop.wait(RETRY_SECONDS)
                devices.refresh_if_changed()
    finally:
        log.info("stopping")
        if restart:
            watchdog.reloading("restarting to give memory back")
        else:
            watchdog.stopping()
        watchdog.close()
        speaker.close()  # first: closing the microphone while the speaker still plays can crash PortAudio
        if frames is not None:
            frames.close()
        if night_log is not None:
            night_log.close()
        if alerts is not None:
            alerts.close(wait_seconds=2.0)
        mark_stopped()
        if microphone.overflows:
            log.warning("audio input overflowed %d times", microphone.overflows)
    return restart
