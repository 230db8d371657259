"""Speech out: pyttsx3 (espeak-ng on Linux) synthesizes; sounddevice plays, and can be cut off.

Night defaults are slower and quieter than pyttsx3's (200 words a minute at full volume).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import tempfile
import threading
import time
import wave
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from voice.base.errors import BedsideError
from voice.sound.audio import PORTAUDIO_LOCK, SAMPLE_RATE, read_audio_file, threads_without_signals
from voice.sound.echo import FarEnd
from voice.speaking.espeak import Espeak, EspeakSettings

log = logging.getLogger("bedside")

NIGHT_WORDS_PER_MINUTE = 140
NIGHT_VOLUME = 0.6
# Sentences kept once synthesized: the helper says the same few dozen again night after night
# (steps, countdowns, "Okay."), and one said from memory needs no synthesis, no temporary file
# and no work in pyttsx3's native engine. Bounded by their length, not their count: 48 of the
# content's longest sentences came to 9 MB, and filled slowly through a night (issue 24).
RECENT_SAMPLES = 100 * SAMPLE_RATE  # 100 s of speech: 3.2 MB


@dataclass
class VoiceSettings:
    words_per_minute: float = NIGHT_WORDS_PER_MINUTE
    volume: float = NIGHT_VOLUME  # 0.0 - 1.0
    voice: Optional[str] = None  # an espeak-ng voice such as "en-us" or "en+f3"


class Synthesizer:
    """Text to 16 kHz mono int16 samples with pyttsx3."""

    def __init__(self, settings: Optional[VoiceSettings] = None) -> None:
        self.settings = settings or VoiceSettings()
        try:
            import pyttsx3

            self._engine = pyttsx3.init()
        except Exception as error:  # pyttsx3 raises whatever its driver raised
            raise BedsideError(
                f"text-to-speech is not available ({error}); install espeak-ng: sudo apt-get install espeak-ng"
            ) from None
        self._espeak = Espeak.of_pyttsx3()
        self._recent: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
        self._recent_samples = 0
        self._take(self._wanted())  # a voice espeak-ng lacks is reported now, not at the first sentence

    def adjust(self, rate_factor: float = 1.0, volume_change: float = 0.0) -> None:
        """Apply a "slower" / "louder" / "quieter" request from the next sentence on."""
        self.settings.words_per_minute *= rate_factor
        self.settings.volume += volume_change

    def _wanted(self) -> EspeakSettings:
        volume = min(1.0, max(0.1, self.settings.volume))
        return EspeakSettings(int(self.settings.words_per_minute), int(round(volume * 100, 2)), self.settings.voice)

    def _take(self, wanted: EspeakSettings) -> None:
        if self._espeak is None:  # pyttsx3 with another engine than espeak-ng
            self._engine.setProperty("rate", wanted.words_per_minute)
            self._engine.setProperty("volume", wanted.volume_percent / 100)
            if wanted.voice:
                self._engine.setProperty("voice", wanted.voice)
        elif not self._espeak.use(wanted):
            log.warning("espeak-ng has not taken %d words a minute at volume %d%% yet; speaking anyway",
                        wanted.words_per_minute, wanted.volume_percent)

    def synthesize(self, text: str) -> np.ndarray:
        """The sentence's samples (read-only: they may be handed out again)."""
        wanted = self._wanted()  # once: "slower" may change the settings from another thread meanwhile
        key = (text, wanted)
        if key in self._recent:
            self._recent.move_to_end(key)
            return self._recent[key]
        samples = self._synthesize(text, wanted)
        samples.flags.writeable = False
        self._recent[key] = samples
        self._recent_samples += samples.size
        while self._recent_samples > RECENT_SAMPLES and len(self._recent) > 1:
            self._recent_samples -= self._recent.popitem(last=False)[1].size
        return samples

    def _synthesize(self, text: str, wanted: EspeakSettings) -> np.ndarray:
        # Less than this is a cut-off file: a third of the words' time at the speaking rate.
        shortest = int(len(text.split()) * 60.0 / wanted.words_per_minute / 3 * SAMPLE_RATE)
        for _ in range(SYNTHESIS_ATTEMPTS):
            self._take(wanted)  # again before a second try: the first may have left espeak-ng busy
            handle, name = tempfile.mkstemp(suffix=".wav", prefix="bedside-say-")
            os.close(handle)
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
                    self._engine.save_to_file(text, name)
                    self._engine.runAndWait()
                    samples = _read_once_written(Path(name))
                if samples is not None and samples.size >= shortest:
                    return samples
            finally:
                Path(name).unlink(missing_ok=True)
        raise BedsideError(f"text-to-speech wrote no audio for {text[:40]!r}; check that espeak-ng works: "
                           "espeak-ng 'hello'")


# pyttsx3 2.99's espeak driver writes the file from espeak's callback thread, and under load
# runAndWait can return before it has (seen in CI: "not a readable audio file", and once a
# sentence cut to 0.14 s). So the file is awaited, checked for length, and tried again.
SYNTHESIS_ATTEMPTS = 3
SYNTHESIS_WAIT_SECONDS = 5.0


def _read_once_written(path: Path) -> Optional[np.ndarray]:
    deadline = time.monotonic() + SYNTHESIS_WAIT_SECONDS
    while True:
        try:
            return read_audio_file(path)
        except BedsideError:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)


def write_wav(path: Union[str, Path], samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    try:
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(samples.astype("<i2").tobytes())
    except OSError as error:
        raise BedsideError(f"cannot write {path}: {error.strerror}") from None


class Speaker:
    """Speaks queued sentences on an output device in a background thread.

    ``say`` returns at once, so listening goes on while the helper talks; ``cut()`` drops the
    queue and stops the current sentence within one 0.1 s block.
    """

    def __init__(self, synthesizer: Synthesizer, device: Union[int, str, None] = None,
                 far_end: Optional[FarEnd] = None) -> None:
        self.synthesizer = synthesizer
        self.device = device
        self.far_end = far_end  # told everything played, for the echo canceller (voice.sound.echo)
        # Each sentence with the number of cuts before it was queued: one cut since is not said.
        self._queue: "queue.Queue[Optional[Tuple[str, int]]]" = queue.Queue()
        self._cut = threading.Event()
        self._cuts = 0
        self._lock = threading.Lock()  # cut() against the thread taking the next sentence
        self._busy = threading.Event()
        self._playing = False  # a sentence has been taken from the queue and is being said
        self._buffer = np.zeros(0, dtype=np.int16)  # see _play
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        with threads_without_signals():
            self._thread.start()

    def say(self, text: str) -> None:
        with self._lock:
            self._busy.set()
            self._queue.put((text, self._cuts))

    def speaking(self) -> bool:
        return self._busy.is_set()

    def cut(self) -> None:
        with self._lock:
            self._cuts += 1
            self._cut.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
            if not self._playing:  # nothing taken from the queue yet: nothing more will be said
                self._busy.clear()

    def wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self._busy.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.cut()
        self._queue.put(None)
        self._thread.join(timeout=1.0)  # a sentence still being synthesized is abandoned (daemon thread)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            text, cuts_before = item
            with self._lock:
                if cuts_before != self._cuts:  # cut while it was being taken from the queue
                    continue
                self._cut.clear()
                self._playing = True
            try:
                self._play(self.synthesizer.synthesize(text))
            except BedsideError as error:
                log.error("%s", error)
            finally:
                with self._lock:
                    self._playing = False
                    if self._queue.empty():
                        self._busy.clear()

    def _play(self, samples: np.ndarray) -> None:
        """Play through a callback stream, so this thread never blocks inside PortAudio: a stalled
        sound server cannot keep it from noticing ``cut()`` (or shutdown) within 50 ms."""
        import sounddevice as sd

        # Each sentence is copied into one buffer kept for the speaker's life: handing PortAudio's
        # callback a new array per sentence made RSS grow by about the sentence's size each time.
        if self._buffer.size < samples.size:
            self._buffer = np.zeros(samples.size, dtype=np.int16)
        buffer, length = self._buffer, samples.size
        buffer[:length] = samples
        del samples
        position = 0
        finished = threading.Event()

        def fill(out: np.ndarray, frames: int, _time, _status) -> None:
            nonlocal position
            chunk = buffer[position : min(position + frames, length)]
            out[: chunk.size, 0] = chunk
            out[chunk.size :, 0] = 0
            if self.far_end is not None:
                self.far_end.played(out[:, 0])
            position += frames
            if position >= length:
                raise sd.CallbackStop

        try:
            with PORTAUDIO_LOCK, sd.OutputStream(samplerate=SAMPLE_RATE, channels=1, dtype="int16",
                                                 device=self.device, latency="low", callback=fill,
                                                 finished_callback=finished.set) as out:
                while not finished.wait(0.05):
                    if self._cut.is_set():
                        out.abort()  # drops what is buffered: "stop" is heard at once
                        return
        except (sd.PortAudioError, ValueError) as error:
            log.error("cannot play on the speaker %s: %s; pick another with --output-device "
                      "(see 'bedside devices')", self.device if self.device is not None else "(default)", error)
