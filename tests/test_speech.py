"""Speech synthesis: late sound files are still read, and each sentence keeps the voice, speed and
volume asked for (pyttsx3 alone can lose them)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from voice.base.errors import BedsideError
from voice.speaking import speech
from voice.speaking.espeak import Espeak, EspeakSettings
from voice.speaking.speech import Speaker, Synthesizer, VoiceSettings, _read_once_written, write_wav

BENCH_SPEECH = Path(__file__).resolve().parent.parent / "scripts" / "bench_speech.py"


def test_a_file_written_after_the_engine_returned_is_awaited(tmp_path):
    path = tmp_path / "late.wav"
    path.touch()  # as mkstemp leaves it: empty, not yet a WAV
    tone = (np.sin(np.arange(8000) / 5) * 8000).astype(np.int16)
    writer = threading.Timer(0.3, write_wav, args=(path, tone))
    writer.start()
    started = time.monotonic()
    samples = _read_once_written(path)
    writer.join()
    assert samples is not None and samples.size == tone.size
    assert time.monotonic() - started >= 0.25


def test_many_sentences_in_a_row_all_come_out():
    synthesizer = Synthesizer()
    texts = [f"{text} {count}." for count in range(5) for text in ["Breathe slowly", "Good", "Keep rubbing, slowly"]]
    lengths = [synthesizer.synthesize(text).size for text in texts]  # each one new: none kept from before
    assert all(length > 4000 for length in lengths)


def test_a_sentence_said_again_is_not_synthesized_again_and_few_are_kept(monkeypatch):
    synthesizer = Synthesizer()
    first = synthesizer.synthesize("Hold the stretch.")
    assert synthesizer.synthesize("Hold the stretch.") is first and not first.flags.writeable
    synthesizer.adjust(rate_factor=0.85)  # "slower": the same words at another rate are new
    slower = synthesizer.synthesize("Hold the stretch.")
    assert slower is not first and slower.size > first.size
    monkeypatch.setattr(speech, "RECENT_SAMPLES", 8 * 16000)  # the bound is on their length, not their count
    said = [synthesizer.synthesize(f"Step {count}, keep the heel down.") for count in range(8)]
    kept = list(synthesizer._recent.values())
    assert synthesizer._recent_samples == sum(samples.size for samples in kept) <= 8 * 16000
    assert 1 < len(kept) < 8 and kept[-1] is said[-1]



def _keep_espeak_ng_busy():
    """Start a long synthesis straight in espeak-ng, as a sentence still being made would."""
    from pyttsx3.drivers import _espeak

    _espeak.Synth(("Breathe in slowly, and out. " * 60).encode(), flags=_espeak.CHARS_UTF8)
    assert _espeak.IsPlaying()


def test_slower_asked_while_espeak_ng_is_busy_comes_out_slower_in_the_chosen_voice():
    synthesizer = Synthesizer(VoiceSettings(voice="en+f3"))
    first = synthesizer.synthesize("Let the foot rest.")
    _keep_espeak_ng_busy()  # the new speed waits behind it in espeak-ng's queue
    synthesizer.adjust(rate_factor=0.7)
    slower = synthesizer.synthesize("Let the foot rest.")
    assert slower.size > first.size * 1.25  # 140 -> 98 words a minute: about 1.4 times as long


def test_each_sentence_is_at_the_night_speed_and_volume_whatever_espeak_ng_held():
    quiet = Synthesizer(VoiceSettings(words_per_minute=140, volume=0.6))
    loud = Synthesizer(VoiceSettings(words_per_minute=140, volume=1.0))
    loud_samples = loud.synthesize("Let the foot rest.")
    espeak = Espeak.of_pyttsx3()
    espeak.use(EspeakSettings(words_per_minute=200, volume_percent=100))  # pyttsx3's defaults, as a new engine sets
    quiet_samples = quiet.synthesize("Let the foot rest.")
    assert abs(quiet_samples.size - loud_samples.size) < 400
    assert 0.5 < np.abs(quiet_samples).max() / np.abs(loud_samples).max() < 0.7


def test_a_voice_espeak_ng_lacks_is_a_clear_error_before_anything_is_said():
    with pytest.raises(BedsideError, match="no voice 'xx-yy'.*espeak-ng --voices"):
        Synthesizer(VoiceSettings(voice="xx-yy"))
    for voice in ["en+f3", "en-gb"]:  # a voice's name, or a language, as the espeak-ng command takes them
        assert Synthesizer(VoiceSettings(voice=voice)).synthesize("Good.").size > 4000


def test_sentences_around_slower_louder_and_quieter_come_out_as_the_espeak_ng_command_renders_them(tmp_path):
    out = tmp_path / "speech.json"
    subprocess.run([sys.executable, str(BENCH_SPEECH), "--sentences", "25", "--busy", "1", "--json", str(out)],
                   check=True, capture_output=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["not_as_asked"] == [] and result["as_asked"] == 25
    assert result["stalls_over_1s"] == 0


class InstantSynthesizer:
    settings = VoiceSettings()

    def synthesize(self, text: str) -> np.ndarray:
        return np.zeros(1600, dtype=np.int16)


def test_a_sentence_cut_before_it_is_said_leaves_the_speaker_quiet_at_once(monkeypatch):
    def play_until_cut(speaker, samples):
        speaker._cut.wait(1.0)

    monkeypatch.setattr(Speaker, "_play", play_until_cut)
    speaker = Speaker(InstantSynthesizer())
    for _ in range(100):  # say then stop at once: before or after the thread took the sentence
        speaker.say("Point your toes up.")
        speaker.cut()
        deadline = time.monotonic() + 0.5
        while speaker.speaking() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not speaker.speaking()
    speaker.close()
