"""Audio files in any WAV format, and intent matching from the YAML templates."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from voice.base.errors import BedsideError
from voice.conversation.content import check_content
from voice.hearing.intents import IntentMatcher
from voice.sound.audio import FRAME_BYTES, DeviceList, FileSource, read_audio_file


@pytest.mark.parametrize("rate, channels, bits", [(16000, 1, 16), (44100, 2, 16), (22050, 1, 8),
                                                  (48000, 2, 24), (8000, 1, 32)])
def test_any_wav_format_becomes_16k_mono_int16(tmp_path, rate, channels, bits):
    path = tmp_path / "tone.wav"
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), "-b", str(bits), str(path),
                    "synth", "1.0", "sine", "440", "vol", "0.5"], check=True)
    samples = read_audio_file(path)
    assert samples.dtype == np.int16
    assert abs(samples.size - 16000) <= 2
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    assert abs(np.argmax(spectrum) * 16000 / samples.size - 440) < 3
    assert 0.3 < np.abs(samples).max() / 32768 < 0.6


def test_frames_are_30_ms(tmp_path):
    path = tmp_path / "short.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "trim", "0", "0.1"], check=True)
    frames = list(FileSource(path).frames())
    assert len(frames) == 4 and all(len(frame) == FRAME_BYTES for frame in frames)


@pytest.mark.parametrize("name, data, message", [
    ("song.mp3", b"ID3" + bytes(100), "not a readable audio file"),
    ("notes.txt", b"remember to buy milk\n" * 20, "not a readable audio file"),
    ("empty.wav", b"", "not a readable audio file"),
])
def test_an_unreadable_file_is_a_clear_error(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BedsideError, match=message):
        read_audio_file(path)


def test_a_truncated_or_silent_file_is_a_clear_error_or_short_audio(tmp_path):
    path = tmp_path / "cut.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "synth", "2.0", "sine", "440"],
                   check=True)
    path.write_bytes(path.read_bytes()[:44])  # the header only: no audio left
    with pytest.raises(BedsideError, match="holds no audio"):
        read_audio_file(path)


@pytest.mark.parametrize("suffix", ["flac", "ogg", "mp3"])
def test_flac_ogg_and_mp3_read_like_the_wav(tmp_path, suffix):
    import soundfile

    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)
    other = tmp_path / f"tone.{suffix}"
    soundfile.write(str(other), np.stack([tone, tone], axis=1), 44100, format=suffix.upper())
    samples = read_audio_file(other)
    assert abs(samples.size - 16000) < 1200  # MP3 pads a few frames
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    assert abs(np.argmax(spectrum) * 16000 / samples.size - 440) < 5


def test_the_device_list_is_reread_only_when_the_sound_devices_change(tmp_path):
    """Each re-read of PortAudio's list keeps some memory: a microphone missing for a day must
    not re-read it every 3 s, yet a USB microphone plugged in is found at the next try."""
    nodes = tmp_path / "snd"
    nodes.mkdir()
    (nodes / "controlC0").touch()
    now = [0.0]
    rereads: list = []
    devices = DeviceList(nodes, every=300.0, reread=lambda: rereads.append(now[0]) or True, clock=lambda: now[0])
    for _ in range(50):  # a day of retries, squeezed: nothing changed
        now[0] += 3.0
        assert not devices.refresh_if_changed()
    (nodes / "pcmC1D0c").touch()  # a USB microphone plugged in
    now[0] += 3.0
    assert devices.refresh_if_changed() and rereads == [now[0]]
    now[0] += 3.0
    assert not devices.refresh_if_changed()
    now[0] += 300.0  # devices only a sound server knows: looked for now and then
    assert devices.refresh_if_changed() and len(rereads) == 2


def test_a_device_list_held_by_the_speaker_is_reread_at_the_next_try(tmp_path):
    answers = [False, True]
    devices = DeviceList(tmp_path / "no sound card", every=0.0, reread=lambda: answers.pop(0), clock=lambda: 1.0)
    assert not devices.refresh_if_changed()
    assert devices.refresh_if_changed()


CONTENT = check_content()
MATCHER = IntentMatcher(CONTENT.intents, CONTENT.phrase_rules)


@pytest.mark.parametrize("text, intent", [
    ("cramp", "cramp"), ("I have a cramp in my calf", "cramp"), ("ow my calf", "cramp"),
    ("my leg is cramping", "cramp"), ("charley horse", "cramp"), ("foot cramp", "cramp"),
    ("Next.", "next"), ("repeat", "repeat"), ("stop", "stop"), ("I'm okay", "okay"), ("it's gone", "okay"),
    ("slower", "slower"), ("louder", "louder"), ("quieter", "quieter"),
    ("why do cramps happen", "causes"), ("how can I prevent cramps", "prevention"),
    ("should I see a doctor", "seek_care"), ("my leg is swollen", "red_flag"), ("my calf is red", "red_flag"),
    ("it feels warm", "red_flag_during"), ("yes", "yes"), ("no", "no"), ("what can I say", "help"),
    ("thank you", "thanks"),
])
def test_phrases_match_their_intent(text, intent):
    match = MATCHER.match(text)
    assert match is not None and match.intent == intent


@pytest.mark.parametrize("text", ["a large latte with soy milk", "cramp cramp coffee", "", "my calf"])
def test_other_text_matches_nothing(text):
    assert MATCHER.match(text) is None


def test_vocabulary_words_come_from_the_templates_and_their_rules():
    words = MATCHER.vocabulary(["cramp"]).words
    assert {"charley", "horse", "calf", "toes", "terrible", "left"} <= set(words)
    assert "next" not in words
