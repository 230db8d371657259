"""Counting syllables from sound: one word is one, the shortest red flag ("it's red") is two,
in quiet and in steady noise."""

from __future__ import annotations

import numpy as np
import pytest

from voice.hearing.syllables import syllable_count
from voice.sound.audio import read_audio_file

VOICES = ["flite:slt", "flite:kal16", "festival:kal_diphone", "festival:cmu_us_slt_arctic_hts"]


@pytest.mark.parametrize("voice", VOICES)
def test_single_words_are_one_syllable_and_red_flags_said_of_it_two_or_more(recordings, voice):
    for word in ("stop", "right", "on", "off", "no", "down"):
        assert syllable_count(read_audio_file(recordings([word], voice))) == 1, word
    for phrase in ("it's red", "it's warm", "it feels warm and swollen"):
        assert syllable_count(read_audio_file(recordings([phrase], voice))) >= 2, phrase


@pytest.mark.parametrize("snr_db", [20, 10])
def test_steady_noise_does_not_fill_the_dip_between_syllables(recordings, snr_db):
    speech = read_audio_file(recordings(["it's red"], "flite:rms")).astype(np.float64)
    loud = speech[np.abs(speech) > 300]
    noise = np.random.default_rng(1).normal(size=speech.size)
    noise = np.convolve(noise, np.ones(8) / 8, mode="same")  # a fan's dull hiss
    noise *= np.sqrt(np.mean(loud ** 2)) / np.sqrt(np.mean(noise ** 2)) / 10 ** (snr_db / 20)
    assert syllable_count(np.round(speech + noise).astype(np.int16)) >= 2


def test_silence_and_a_click_are_not_syllables():
    assert syllable_count(np.zeros(16000, dtype=np.int16)) == 0
    assert syllable_count(np.zeros(100, dtype=np.int16)) == 0
    click = np.zeros(16000, dtype=np.int16)
    click[8000:8010] = 20000
    assert syllable_count(click) <= 1
