"""How many syllables an utterance holds, from its sound alone.

Mid-relief a red flag is said of "it" ("it's red", "it feels warm and swollen"): two syllables
at the least. A single word ("right", "on", "off") is one, and the recognizer, which must fit
every sound to one of its sentences, heard real people's single words as "it's red" and "it is
hot". Counting the syllables tells the two apart without knowing the words.

Each syllable has a vowel at its core, loudest in the band where vowels carry their energy
(300-2500 Hz). The count is the number of peaks of that band's loudness, each within
``RANGE_DB`` of the loudest and parted from the next by a dip of ``DIP_DB`` (the method of de
Jong and Wempe, 2009, for counting syllable nuclei). The steady part of the background (the
quietest fifth of the utterance, taken twice over) is subtracted first: a fan or a tap fills the
dips between syllables otherwise.
"""

from __future__ import annotations

import numpy as np

from voice.sound.audio import SAMPLE_RATE

WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
BAND_HZ = (300.0, 2500.0)
SMOOTH_FRAMES = 5  # 50 ms: syllables come at most eight a second
RANGE_DB = 18.0
DIP_DB = 6.0
NOISE_PERCENTILE = 20
NOISE_OVERSUBTRACTION = 2.0


def band_loudness_db(samples: np.ndarray) -> np.ndarray:
    """The vowel band's loudness (dB) every 10 ms, background subtracted, smoothed over 50 ms."""
    signal = samples.astype(np.float64)
    if signal.size < WINDOW:
        signal = np.pad(signal, (0, WINDOW - signal.size))
    count = 1 + (signal.size - WINDOW) // HOP
    frames = signal[np.arange(WINDOW)[None, :] + HOP * np.arange(count)[:, None]] * np.hanning(WINDOW)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    frequencies = np.fft.rfftfreq(WINDOW, 1 / SAMPLE_RATE)
    power = power[:, (frequencies >= BAND_HZ[0]) & (frequencies <= BAND_HZ[1])]
    background = np.percentile(power, NOISE_PERCENTILE, axis=0)
    band = np.maximum(power - NOISE_OVERSUBTRACTION * background, 0.0).sum(axis=1)
    loudness = 10 * np.log10(band + 1.0)
    return np.convolve(loudness, np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES, mode="same")


def syllable_count(samples: np.ndarray) -> int:
    """The syllable nuclei in ``samples`` (16 kHz mono int16): 0 for silence."""
    loudness = band_loudness_db(samples)
    if loudness.size < 3 or loudness.max() <= 0.0:
        return 0
    floor = loudness.max() - RANGE_DB
    inner = loudness[1:-1]
    peaks = np.flatnonzero((inner >= loudness[:-2]) & (inner > loudness[2:]) & (inner >= floor)) + 1
    nuclei: list = []
    for peak in peaks:
        if nuclei:
            last = nuclei[-1]
            dip = min(loudness[last], loudness[peak]) - loudness[last : peak + 1].min()
            if dip < DIP_DB:  # one syllable's loudness wavering, not two syllables
                if loudness[peak] > loudness[last]:
                    nuclei[-1] = peak
                continue
        nuclei.append(int(peak))
    return len(nuclei)
