"""End to end: recordings through the real pipeline (real recognizer, real TTS), as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave

import numpy as np
import pytest

from conftest import run_bedside

CRAMP_REQUESTS = [
    ("I have a cramp in my calf", "flite:slt"),
    ("I have a cramp in my calf", "flite:rms"),
    ("I have a cramp in my calf", "flite:awb"),
    ("my leg is cramping", "flite:slt"),
    ("charley horse", "flite:rms"),
    ("I have a cramp", "flite:awb"),
]
UNRELATED = [
    ("a large latte with soy milk please", "flite:slt"),
    ("what time is it", "flite:awb"),
    ("turn on the kitchen light", "flite:rms"),
    ("the weather tomorrow will be sunny and warm", "espeak:en-gb+m3:160"),
]


def simulate_json(*files, extra=()):
    result = run_bedside("simulate", "--json", "--engine", "pocketsphinx", *extra, *map(str, files))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_cramp_requests_trigger_and_first_step_is_said(recordings):
    files = [recordings([text], voice) for text, voice in CRAMP_REQUESTS]
    results = simulate_json(*files)
    assert len(results) == len(files)  # one JSON object per file
    for (text, voice), result in zip(CRAMP_REQUESTS, results):
        assert result["engine"] == "pocketsphinx"
        assert result["triggered"], f"{text!r} in {voice} did not trigger: {result['heard']}"
        assert any(h["intent"] == "cramp" for h in result["heard"])
        said = " ".join(s["text"] for s in result["said"])
        assert "Straighten your leg" in said
        assert "not a doctor" in result["said"][0]["text"]


# The phrasing families people use half-asleep, in voices made from recordings of people. The
# person answers "yes" in case the helper asks "Did you say cramp?"; a request must start relief
# either way, and must never be taken for a red flag.
NATURAL_REQUESTS = [
    ("oh, I have a cramp in my calf", "flite:kal16"),
    ("help, my calf hurts", "flite:rms"),
    ("ow, I've got a terrible cramp", "festival:kal_diphone"),
    ("I'm getting a calf cramp", "festival:cmu_us_slt_arctic_hts"),
    ("my left foot is cramping up", "festival:ked_diphone"),
    ("ouch, my right calf is so tight", "flite:awb"),
    ("my toes are cramping", "flite:slt"),
]


@pytest.mark.parametrize("text, voice", NATURAL_REQUESTS)
def test_natural_phrasings_start_relief_and_are_never_a_red_flag(recordings, text, voice):
    (result,) = simulate_json(recordings([text, 1.0, "yes"], voice))
    assert result["triggered"], f"{text!r} in {voice}: {result['heard']}"
    assert not any(h["intent"] in ("red_flag", "red_flag_during") for h in result["heard"]), result["heard"]
    assert not any(s["kind"] == "urgent" for s in result["said"])


@pytest.mark.xfail(strict=True, reason="the helper's formant voice fits pocketsphinx's acoustic model at about -4.5, "
                   "below the lower gate (-3.6); docs/benchmarks.md, 'The helper's own voice'")
def test_a_request_in_the_helpers_own_voice_starts_relief(tmp_path):
    wav = tmp_path / "own.wav"
    said = run_bedside("say", "I have a cramp in my calf", "--to", str(wav))
    assert said.returncode == 0, said.stderr
    (result,) = simulate_json(wav)
    assert result["triggered"], result["heard"]


def test_unrelated_speech_and_silence_do_not_trigger(recordings):
    files = [recordings([text], voice) for text, voice in UNRELATED] + [recordings([5.0])]
    for result in simulate_json(*files):
        assert not result["triggered"], result
        assert result["said"] == []


def test_conversation_cramp_next_its_gone_ends_right_after(recordings):
    recording = recordings(["I have a cramp in my calf", 6.0, "next", 4.0, "it's gone", 2.0], "flite:rms")
    (result,) = simulate_json(recording)
    intents = [h["intent"] for h in result["heard"]]
    assert intents == ["cramp", "next", "okay"], result["heard"]
    gone_at = result["heard"][-1]["t"]
    after = [s for s in result["said"] if s["t"] >= gone_at]
    assert len(after) == 1 and "glad" in after[0]["text"]
    assert "Stand up" in " ".join(s["text"] for s in result["said"]) or "stand up" in " ".join(
        s["text"] for s in result["said"])


def test_text_output_shows_heard_and_said_with_times(recordings):
    result = run_bedside("simulate", "--engine", "pocketsphinx", str(recordings(["I have a cramp in my calf"])))
    assert result.returncode == 0, result.stderr
    assert "heard: i have a cramp in my" in result.stdout
    assert "said:  I give general information" in result.stdout
    assert "engine pocketsphinx" in result.stderr


def test_say_to_writes_a_non_silent_wav(recordings, tmp_path):
    out = tmp_path / "said.wav"
    simulate_json(recordings(["I have a cramp in my calf"], "flite:awb"), extra=("--say-to", str(out)))
    with wave.open(str(out)) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        assert wav.getframerate() == 16000
    assert samples.size / 16000 > 60  # the whole protocol, spoken
    assert np.sqrt(np.mean(samples.astype(float) ** 2)) > 300


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.wav", "no such audio file"),
    (lambda d: (d / "notes.wav").write_text("not audio") and d / "notes.wav", "not a readable audio file"),
    (lambda d: _empty_wav(d / "empty.wav"), "holds no audio"),
])
def test_bad_input_is_one_line_without_traceback(tmp_path, make, message):
    result = run_bedside("simulate", "--engine", "pocketsphinx", str(make(tmp_path)))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1]
    assert "Traceback" not in result.stderr
    assert len([line for line in lines if line.startswith("bedside: ") and "engine" not in line]) == 1


def test_output_into_a_closed_pipe_ends_quietly(recordings):
    # As in "bedside simulate night.wav | head -1": the reader is gone before the output comes.
    wav = recordings(["I have a cramp in my calf"], "flite:rms")
    process = subprocess.Popen([sys.executable, "-m", "voice", "simulate", "--engine", "pocketsphinx", str(wav)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) in (0, 141)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_unknown_engine_is_one_line(recordings):
    result = run_bedside("simulate", "--engine", "whisper", str(recordings([1.0])))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "bedside simulate: argument --engine: engine must be one of auto, vosk, pocketsphinx, not 'whisper' "
        "(see 'bedside simulate --help')"]


def test_vosk_with_a_wrong_model_path_names_the_model(recordings):
    result = run_bedside("simulate", "--engine", "vosk", "--model", "/nonexistent/model", str(recordings([1.0])))
    assert result.returncode != 0
    assert "vosk-model-small-en-us-0.15" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not os.environ.get("VOSK_MODEL_PATH"),
                    reason="needs the Vosk model vosk-model-small-en-us-0.15: set VOSK_MODEL_PATH to it")
def test_vosk_engine_triggers_on_a_cramp_request(recordings):
    result = run_bedside("simulate", "--json", "--engine", "vosk", str(recordings(["I have a cramp in my calf"])))
    assert result.returncode == 0, result.stderr
    (result,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert result["engine"] == "vosk" and result["triggered"]


def _empty_wav(path):
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
    return path


@pytest.mark.parametrize("suffix", ["flac", "ogg", "mp3"])
def test_flac_ogg_and_mp3_recordings_give_the_wavs_result(recordings, tmp_path, suffix):
    import soundfile

    wav = recordings(["I have a cramp in my calf", 2.0, "next"], "flite:rms")
    samples, rate = soundfile.read(str(wav))
    other = tmp_path / f"night.{suffix}"
    soundfile.write(str(other), samples, rate, format=suffix.upper())
    expected, got = simulate_json(wav), simulate_json(other)
    assert got[0]["triggered"] and expected[0]["triggered"]
    assert [h["intent"] for h in got[0]["heard"]] == [h["intent"] for h in expected[0]["heard"]]


def test_streaming_a_file_gives_the_same_conversation_as_reading_it_whole(recordings):
    from voice.conversation.content import check_content
    from voice.conversation.dialogue import VOCABULARIES
    from voice.conversation.simulate import simulate_file, simulate_samples
    from voice.hearing.intents import IntentMatcher
    from voice.hearing.recognizer import open_recognizer
    from voice.sound.audio import read_audio_file

    wav = recordings(["my calf hurts", 3.0, "next", 3.0, "it's gone"], "flite:awb")
    content = check_content()
    matcher = IntentMatcher(content.intents, content.phrase_rules)


    def recognizer():  # a fresh one each: pocketsphinx carries its feature normalization over
        return open_recognizer("pocketsphinx", matcher.vocabularies(VOCABULARIES), None)

    whole = simulate_samples(str(wav), read_audio_file(wav), recognizer(), matcher, content)
    streamed = simulate_file(wav, recognizer(), matcher, content)
    assert streamed.conversation.events == whole.conversation.events
    assert streamed.as_json()["heard"], "the recording should have been heard"


def test_an_hour_long_recording_streams_in_bounded_memory(recordings, tmp_path):
    # A quiet hour (a faint fan) with one request near its end; the peak memory of the whole
    # run, measured in its own process, must not grow with the hour's 115 MB of audio.
    hour = tmp_path / "hour.wav"
    request = recordings(["I have a cramp in my calf"], "flite:rms")
    subprocess.run(["sox", "-R", "-n", "-r", "16000", "-c", "1", "-b", "16", str(tmp_path / "quiet.wav"),
                    "synth", "3590", "brownnoise", "vol", "0.002"], check=True)  # -R: the same noise each run
    subprocess.run(["sox", str(tmp_path / "quiet.wav"), str(request), str(hour)], check=True)
    # VmHWM, not getrusage: ru_maxrss survives exec, so it would count the forking pytest process.
    code = ("import re, sys; from voice.cli import main; code = main(['simulate', '--json', '--engine', "
            f"'pocketsphinx', {str(hour)!r}]); "
            "peak = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1); "
            "print(int(peak) // 1024, file=sys.stderr); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stderr.strip().splitlines()[-1])
    assert peak_mb < 150, f"peak RSS {peak_mb} MB for an hour of audio"
    (heard,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert [h["intent"] for h in heard["heard"] if h["t"] > 3590][:1] == ["cramp"], heard["heard"]
