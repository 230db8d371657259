"""Sounds of a night, made here rather than recorded: a fan's rumble, a sleeper's snoring, a clock,
a siren, a baby crying. What the helper must sleep through; the real ones in ../shared/real are
only for measuring (their licences), so these are what tests and training use."""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from voice.sound.audio import SAMPLE_RATE


def brown_noise(seconds: float, seed: int = 7) -> np.ndarray:
    """A fan's steady rumble: integrated white noise, high-passed to keep it from drifting."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(size=int(seconds * SAMPLE_RATE)))
    walk -= np.convolve(walk, np.ones(800) / 800, mode="same")
    return (walk / np.max(np.abs(walk)) * 8000).astype(np.int16)


def _shaped(source: np.ndarray, peaks: Sequence[Tuple[float, float]], lowpass: float) -> np.ndarray:
    """``source`` through resonances at (frequency, bandwidth) Hz and a gentle low-pass, in the
    frequency domain (no filter library needed)."""
    spectrum = np.fft.rfft(source)
    frequencies = np.fft.rfftfreq(source.size, 1 / SAMPLE_RATE)
    gain = np.zeros_like(frequencies)
    for centre, width in peaks:
        gain += 1.0 / (1.0 + ((frequencies - centre) / (width / 2)) ** 2)
    gain /= 1.0 + (frequencies / lowpass) ** 4
    return np.fft.irfft(spectrum * gain, n=source.size)


def snoring_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A sleeper's snoring, made here: each breath a rough rumble (the soft palate fluttering
    20-70 times a second, and the turbulent air it chops, through a throat's resonances) with a
    breathy out-breath after it, every 3-5 s, over a quiet room. What the helper must never take
    for a request; real snoring is only for measuring (its licence is not stated)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * SAMPLE_RATE))
    start = rng.uniform(0.0, 1.5)
    while start < seconds:
        length = int(rng.uniform(0.6, 1.8) * SAMPLE_RATE)
        rate = rng.uniform(20, 70) * (1 + 0.15 * np.cumsum(rng.normal(size=length)) / np.sqrt(length))
        flutter = np.diff(np.floor(np.cumsum(rate) / SAMPLE_RATE), prepend=0.0)
        chopped = np.convolve(flutter, np.hanning(int(SAMPLE_RATE / 60)), mode="same")  # air let through in puffs
        source = flutter * rng.uniform(1, 10) + rng.normal(size=length) * (0.2 + chopped * rng.uniform(0.5, 3.0))
        peaks = [(rng.uniform(100, 400), rng.uniform(100, 300)), (rng.uniform(500, 1200), rng.uniform(200, 800)),
                 (rng.uniform(1500, 4000), rng.uniform(1000, 3000))]
        rumble = _shaped(source, peaks, rng.uniform(1500, 7000))
        rumble *= np.sin(np.linspace(0, np.pi, length)) ** rng.uniform(0.3, 2.0)
        breath = int(rng.uniform(0.6, 1.4) * SAMPLE_RATE)
        air = _shaped(rng.normal(size=breath), [(rng.uniform(800, 2500), 2000)], 6000)
        air *= np.sin(np.linspace(0, np.pi, breath)) * rng.uniform(0.05, 0.4) * np.std(rumble) / max(np.std(air), 1e-9)
        sound = np.concatenate([rumble, np.zeros(int(rng.uniform(0.1, 0.4) * SAMPLE_RATE)), air])
        at = int(start * SAMPLE_RATE)
        out[at : at + sound.size] += sound[: max(0, out.size - at)]
        start += rng.uniform(3.0, 5.0)
    out += brown_noise(seconds, seed=seed).astype(np.float64)[: out.size] * np.std(out) * rng.uniform(0.005, 0.05) / 3000
    return _at_level(out, rng.uniform(-42, -18))


def night_sound(kind: str, seconds: float, seed: int = 0) -> np.ndarray:
    """Other sounds of a night, made here: ``ticking`` (a clock), ``siren`` (passing outside),
    ``crying`` (a baby's wail: a high, wavering voice with no words)."""
    rng = np.random.default_rng(seed)
    size = int(seconds * SAMPLE_RATE)
    time_axis = np.arange(size) / SAMPLE_RATE
    if kind == "ticking":
        out = np.zeros(size)
        click = _shaped(rng.normal(size=400), [(rng.uniform(2000, 5000), 2000)], 7000) * np.exp(-np.arange(400) / 40)
        for at in np.arange(rng.uniform(0, 0.5), seconds - 0.03, rng.choice([0.5, 1.0])):
            out[int(at * SAMPLE_RATE) : int(at * SAMPLE_RATE) + 400] += click
    elif kind == "siren":
        sweep = rng.uniform(0.8, 3.0)
        pitch = rng.uniform(600, 900) * (1 + 0.5 * (0.5 - 0.5 * np.cos(2 * np.pi * time_axis / sweep)))
        phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
        out = sum(np.sin(phase * harmonic) / harmonic for harmonic in (1, 2, 3))
        out *= np.minimum(1.0, time_axis / 2) * np.minimum(1.0, (seconds - time_axis) / 2)
    elif kind == "crying":
        out = np.zeros(size)
        start = rng.uniform(0, 0.5)
        while start < seconds - 0.3:
            length = int(min(rng.uniform(0.5, 1.5), seconds - start) * SAMPLE_RATE)
            wail = np.arange(length) / SAMPLE_RATE
            pitch = rng.uniform(350, 550) * (1 + 0.04 * np.sin(2 * np.pi * rng.uniform(4, 8) * wail)) \
                * (1 + rng.uniform(-0.2, 0.1) * wail / max(wail[-1], 1e-9))
            phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
            voice = sum(np.sin(phase * harmonic) * 0.7 ** harmonic for harmonic in range(1, 8))
            voice = _shaped(voice, [(rng.uniform(900, 1400), 500), (rng.uniform(2500, 3500), 800)], 5000)
            at = int(start * SAMPLE_RATE)
            out[at : at + length] += voice * np.sin(np.linspace(0, np.pi, length)) ** 0.3
            start += length / SAMPLE_RATE + rng.uniform(0.3, 1.2)
    else:
        raise ValueError(f"no night sound called {kind!r}")
    return _at_level(out, rng.uniform(-40, -20))


NIGHT_SOUNDS = ("ticking", "siren", "crying")


def _at_level(samples: np.ndarray, dbfs: float) -> np.ndarray:
    """Scaled so that its loud part (the top tenth of 30 ms frames) is at ``dbfs`` RMS."""
    frames = samples[: samples.size // 480 * 480].reshape(-1, 480)
    loud = np.sort(np.sqrt(np.mean(frames ** 2, axis=1)))[-max(1, frames.shape[0] // 10):]
    scale = 32768 * 10 ** (dbfs / 20) / max(float(np.mean(loud)), 1e-9)
    return np.clip(np.round(samples * scale), -32768, 32767).astype(np.int16)
