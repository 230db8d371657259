"""Audio in: 16 kHz mono 16-bit frames from a recorded file or a microphone.

Every frame source yields ``bytes`` of exactly ``FRAME_BYTES`` (30 ms), the frame size
the voice-activity endpointer needs, so the rest of the pipeline never sees another format.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional, Protocol, Tuple, Union

import numpy as np

from voice.errors import BedsideError

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
        with quiet_native_stderr(), threads_without_signals():
            sd._terminate()  # sounddevice's documented way to refresh the device list (its issue #125)
            sd._initialize()
    finally:
        PORTAUDIO_LOCK.release()
    return True


class FrameSource(Protocol):
    """Anything that yields 30 ms frames of 16 kHz mono int16 audio."""

    def frames(self) -> Iterator[bytes]: ...


def read_audio_file(path: Union[str, Path]) -> np.ndarray:
    """Read a WAV file of any rate, channel count or sample width as 16 kHz mono int16.

    Raises:
        BedsideError: the file is missing, unreadable, not a WAV file, or holds no audio.
    """
    path = Path(path)
    if not path.is_file():
        raise BedsideError(f"{path}: no such audio file; check the path")
    try:
        rate, channels, width, raw = _read_wav(path.read_bytes())
    except ValueError as error:
        raise BedsideError(
            f"{path}: not a readable WAV file ({error}); convert it with "
            f"'sox {path.name} -r 16000 -c 1 -b 16 out.wav'"
        ) from None
    except OSError as error:
        raise BedsideError(f"{path}: cannot read the file ({error.strerror})") from None
    samples = _to_float(raw, width)
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels).mean(axis=1)
    if samples.size == 0:
        raise BedsideError(f"{path}: the WAV file holds no audio; record it again")
    samples = resample(samples, rate, SAMPLE_RATE)
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


_PCM = 1
_EXTENSIBLE = 0xFFFE


def _read_wav(data: bytes) -> Tuple[int, int, int, bytes]:
    """Parse a RIFF/WAVE file of integer PCM, plain or WAVE_FORMAT_EXTENSIBLE (which the stdlib
    ``wave`` module refuses before Python 3.12, and which sox writes for 24-bit or multichannel).

    Returns (rate, channels, bytes per sample, sample data).
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("no RIFF/WAVE header")
    fmt = None
    position = 12
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        size = struct.unpack_from("<I", data, position + 4)[0]
        body = data[position + 8 : position + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise ValueError("fmt chunk too short")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack_from("<H", body, 24)[0]  # the sub-format GUID starts with the tag
            if tag != _PCM:
                raise ValueError(f"audio format {tag} is not integer PCM")
            if channels < 1 or rate < 1 or bits not in (8, 16, 24, 32):
                raise ValueError(f"{channels} channels, {rate} Hz, {bits} bits is not usable")
            fmt = (rate, channels, bits // 8)
        elif chunk_id == b"data":
            if fmt is None:
                raise ValueError("data before the fmt chunk")
            usable = len(body) - len(body) % (fmt[1] * fmt[2])
            return (*fmt, body[:usable])
        position += 8 + size + (size & 1)
    raise ValueError("no audio data chunk")


def _to_float(raw: bytes, width: int) -> np.ndarray:
    """Decode little-endian PCM of 1-4 bytes per sample to floats in [-1, 1]."""
    if width == 1:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if width == 3:
        usable = np.frombuffer(raw[: len(raw) - len(raw) % 3], dtype=np.uint8).reshape(-1, 3)
        as_int = (usable[:, 0].astype(np.int32) | (usable[:, 1].astype(np.int32) << 8)
                  | (usable[:, 2].astype(np.int32) << 16))
        as_int = np.where(as_int >= 1 << 23, as_int - (1 << 24), as_int)
        return as_int.astype(np.float64) / float(1 << 23)
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)
    raise ValueError(f"unsupported sample width of {width} bytes")


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample with a windowed-sinc low-pass before decimation, so downsampling does not alias."""
    if rate_in == rate_out or samples.size == 0:
        return samples
    if rate_out < rate_in:
        cutoff = 0.45 * rate_out / rate_in  # cycles per input sample, a little under Nyquist
        taps = np.arange(-32, 33)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(taps.size)
        samples = np.convolve(samples, kernel / kernel.sum(), mode="same")
    duration = samples.size / rate_in
    out_times = np.arange(int(round(duration * rate_out))) / rate_out
    return np.interp(out_times, np.arange(samples.size) / rate_in, samples)


def split_frames(samples: np.ndarray) -> Iterator[bytes]:
    """Cut int16 samples into 30 ms frames, padding the last one with silence."""
    remainder = samples.size % FRAME_SAMPLES
    if remainder:
        samples = np.concatenate([samples, np.zeros(FRAME_SAMPLES - remainder, dtype=np.int16)])
    data = samples.astype("<i2").tobytes()
    for start in range(0, len(data), FRAME_BYTES):
        yield data[start : start + FRAME_BYTES]


class FileSource:
    """Frames from a recorded file, converted to 16 kHz mono int16 when opened."""

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        self.samples = read_audio_file(self.path)

    @property
    def seconds(self) -> float:
        return self.samples.size / SAMPLE_RATE

    def frames(self) -> Iterator[bytes]:
        return split_frames(self.samples)


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
