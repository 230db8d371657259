"""Audio in: 16 kHz mono 16-bit frames from a recorded file or a microphone.

Every frame source yields ``bytes`` of exactly ``FRAME_BYTES`` (30 ms), the frame size
the voice-activity endpointer needs, so the rest of the pipeline never sees another format.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Protocol, Tuple, Union

import numpy as np

from voice.base.errors import BedsideError

SAMPLE_RATE = 16000
FRAME_SAMPLES = 480  # 30 ms
FRAME_BYTES = FRAME_SAMPLES * 2
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
# Frames per microphone callback. Waking Python 8 instead of 33 times a second cut idle CPU from
# 0.82 to 0.22 s per minute (scripts/bench_live.py); answer latency did not measurably change.
CAPTURE_BLOCK_FRAMES = 4

Device = Union[int, str, None]

# PortAudio reads its device list once; re-reading it closes every open stream. Whoever has a
# stream open holds this lock, so the list is only refreshed while nothing plays or records.
PORTAUDIO_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what ALSA and PortAudio print straight to file descriptor 2 while probing or opening
    devices ("ALSA lib pcm.c: Unknown PCM ...", "Expression ... failed"): the user gets our one line
    instead. Kept to short calls, because Python's own stderr writes are silenced too."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def threads_without_signals() -> Iterator[None]:
    """Threads started inside (ours, and PortAudio's audio threads) never receive SIGTERM or
    SIGINT: a signal landing in one interrupts its ALSA call and breaks the stream mid-sentence.
    The main thread, which handles the signals, gets them as before once the block ends."""
    blocked = {signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def refresh_devices() -> bool:
    """Re-read the list of sound devices (to find a microphone plugged in after start).

    Returns False, doing nothing, while another stream (the speaker) is open.
    """
    import sounddevice as sd

    if not PORTAUDIO_LOCK.acquire(blocking=False):
        return False
    try:
        keep_sound_plugins_loaded()
        with quiet_native_stderr(), threads_without_signals():
            sd._terminate()  # sounddevice's documented way to refresh the device list (its issue #125)
            sd._initialize()
    finally:
        PORTAUDIO_LOCK.release()
    return True


# Listing devices, ALSA loads the plugin of every device its configuration defines (a52 brings
# all of libavcodec along), and PortAudio's terminate unloads them; loaded again at the next
# re-read, the libraries' constructors allocate afresh what was never freed: 12 KB in use more at
# every re-read (scripts/bench_memory.py --component devices: 12.0 MB per 1,000 re-reads; none
# with the plugins kept loaded, issue 24). A reference of our own keeps each one loaded.
_PLUGINS: Dict[str, ctypes.CDLL] = {}


def keep_sound_plugins_loaded(maps: Path = Path("/proc/self/maps")) -> None:
    """Hold every ALSA plugin library this process has loaded, so that none is loaded twice."""
    try:
        mapped = {line.split()[-1] for line in maps.read_text().splitlines() if "/libasound_module_" in line}
    except OSError:  # not Linux
        return
    for path in mapped - _PLUGINS.keys():
        with contextlib.suppress(OSError):
            _PLUGINS[path] = ctypes.CDLL(path)


KERNEL_SOUND_DEVICES = Path("/dev/snd")
REREAD_DEVICES_SECONDS = 300.0


class DeviceList:
    """Re-reads PortAudio's device list only when it may have changed.

    A re-read opens every device ALSA's configuration defines (36 ms here), and each kept 12 KB
    until the plugins were kept loaded (``keep_sound_plugins_loaded``), so a microphone missing for
    a day, retried every 3 s, does not re-read it at every try. The list is re-read when the
    kernel's sound devices (/dev/snd: a USB microphone plugged in or out) changed since the last
    read, and otherwise at most every REREAD_DEVICES_SECONDS, for devices that only a sound server
    knows. A restarted sound server needs none: each stream through it is opened afresh.
    """

    def __init__(self, nodes: Path = KERNEL_SOUND_DEVICES, every: float = REREAD_DEVICES_SECONDS,
                 reread: Callable[[], bool] = refresh_devices,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._nodes = nodes
        self._every = every
        self._reread = reread
        self._clock = clock
        self._seen = self._kernel_devices()
        self._read_at = clock()

    def _kernel_devices(self) -> Tuple[str, ...]:
        try:
            return tuple(sorted(os.listdir(self._nodes)))
        except OSError:  # no sound card at all
            return ()

    def refresh_if_changed(self) -> bool:
        """Re-read the list if it may have changed; True when it was re-read."""
        devices = self._kernel_devices()
        if devices == self._seen and self._clock() - self._read_at < self._every:
            return False
        if not self._reread():  # the speaker holds PortAudio: next time
            return False
        self._seen, self._read_at = devices, self._clock()
        return True


class FrameSource(Protocol):
    """Anything that yields 30 ms frames of 16 kHz mono int16 audio."""

    def frames(self) -> Iterator[bytes]: ...


# Read and convert a file this many seconds at a time: memory stays flat however long it is.
BLOCK_SECONDS = 10.0


def stream_audio_file(path: Union[str, Path], block_seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """Read an audio file block by block as 16 kHz mono int16: WAV in any layout, FLAC,
    OGG/Vorbis or MP3 (libsndfile, through soundfile), resampled with soxr.

    soxr was measured against the hand-written windowed-sinc resampler this replaced, 44.1 kHz
    in: a 7.5 kHz tone kept at -0.4 dB (was -12.0 dB), a 9 kHz tone's alias at 7 kHz at -150 dB
    (was -58 dB), and 2,900 instead of 650 times faster than real time (docs/benchmarks.md).

    Raises:
        BedsideError: the file is missing, unreadable, in a format libsndfile does not know,
        empty, or cut short.
    """
    import soundfile
    import soxr

    path = Path(path)
    if not path.is_file():
        raise BedsideError(f"{path}: no such audio file; check the path")
    try:
        with quiet_native_stderr():  # libmpg123 prints its own notes about damaged MP3 files
            audio = soundfile.SoundFile(str(path))
        with audio:
            resampler = soxr.ResampleStream(audio.samplerate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
            block = max(1, int(block_seconds * audio.samplerate))
            any_audio = False
            while True:
                with quiet_native_stderr():
                    samples = audio.read(block, dtype="float32", always_2d=True)
                last = len(samples) < block
                mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
                out = resampler.resample_chunk(np.ascontiguousarray(mono), last=last)
                any_audio = any_audio or len(samples) > 0
                if out.size:
                    yield np.clip(np.round(out * 32767.0), -32768, 32767).astype(np.int16)
                if last:
                    break
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        raise BedsideError(f"{path}: not a readable audio file (an unknown format, or damaged); bedside reads "
                           f"WAV, FLAC, OGG and MP3; convert others with 'sox {path.name} -r 16000 -c 1 out.wav'"
                           ) from None
    except OSError as error:
        raise BedsideError(f"{path}: cannot read the file ({error.strerror or error})") from None
    if not any_audio:
        raise BedsideError(f"{path}: the file holds no audio; record it again")


def audio_seconds(path: Union[str, Path]) -> float:
    """How long a recording is, from its header (0 when the header does not say)."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError):
        return 0.0  # stream_audio_file says what is wrong with it
    return info.frames / info.samplerate if info.samplerate else 0.0


def read_audio_file(path: Union[str, Path]) -> np.ndarray:
    """A whole (short) audio file as 16 kHz mono int16; see ``stream_audio_file``."""
    return np.concatenate(list(stream_audio_file(path)))


def split_frames(samples: np.ndarray) -> Iterator[bytes]:
    """Cut int16 samples into 30 ms frames, padding the last one with silence."""
    remainder = samples.size % FRAME_SAMPLES
    if remainder:
        samples = np.concatenate([samples, np.zeros(FRAME_SAMPLES - remainder, dtype=np.int16)])
    data = samples.astype("<i2").tobytes()
    for start in range(0, len(data), FRAME_BYTES):
        yield data[start : start + FRAME_BYTES]


class FileSource:
    """Frames from a recorded file, read and converted a block at a time as they are taken."""

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)

    def frames(self) -> Iterator[bytes]:
        pending = np.zeros(0, dtype=np.int16)
        for block in stream_audio_file(self.path):
            pending = np.concatenate([pending, block])
            whole = pending.size - pending.size % FRAME_SAMPLES
            yield from split_frames(pending[:whole])
            pending = pending[whole:]
        if pending.size:
            yield from split_frames(pending)


class MicrophoneSource:
    """Frames from a live input device through a sounddevice input stream.

    The stream is opened in ``frames()`` and closed when the iterator is closed.
    ``overflows`` counts how often the capture buffer overran (never fatal).
    """

    def __init__(self, device: Device = None, read_timeout: float = 1.0, stall_seconds: float = 5.0) -> None:
        self.device = device
        self.read_timeout = read_timeout
        self.stall_seconds = stall_seconds
        self.overflows = 0

    def frames(self) -> Iterator[Optional[bytes]]:
        """Yield frames; yields ``None`` when no audio arrived for ``read_timeout`` seconds,
        so a caller can check for shutdown without a frame.

        Raises:
            BedsideError: the device cannot be opened, or it stopped delivering audio for
                ``stall_seconds`` (an unplugged USB microphone can leave a stream that looks active).
        """
        import sounddevice as sd

        captured: "queue.Queue[bytes]" = queue.Queue()

        def on_audio(data, _frames, _time, status) -> None:
            if status.input_overflow:
                self.overflows += 1
            captured.put(bytes(data))

        try:
            with quiet_native_stderr(), threads_without_signals():
                stream = sd.RawInputStream(
                    samplerate=SAMPLE_RATE, blocksize=FRAME_SAMPLES * CAPTURE_BLOCK_FRAMES, device=self.device,
                    channels=1, dtype="int16", callback=on_audio,
                )
                stream.start()
        except (sd.PortAudioError, ValueError) as error:
            raise BedsideError(
                f"cannot open the microphone {self.device if self.device is not None else '(default)'}: "
                f"{error}; plug one in, pick another with --input-device (see 'bedside devices'), "
                "or try 'bedside simulate FILE.wav'"
            ) from None
        try:
            pending = b""
            last_audio = time.monotonic()
            while True:
                try:
                    pending += captured.get(timeout=self.read_timeout)
                    last_audio = time.monotonic()
                except queue.Empty:
                    if not stream.active or time.monotonic() - last_audio > self.stall_seconds:
                        raise BedsideError("the microphone stopped delivering audio (unplugged?)") from None
                    yield None
                    continue
                while len(pending) >= FRAME_BYTES:
                    yield pending[:FRAME_BYTES]
                    pending = pending[FRAME_BYTES:]
        finally:
            stream.close(ignore_errors=True)
