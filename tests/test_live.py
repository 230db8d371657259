"""``bedside listen`` on real (virtual) sound devices: a private PulseAudio server, no mocks.

Recordings are played into the virtual microphone with paplay; what the helper says is recorded
from the virtual speaker with parecord.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pulse import Helper, PulseServer, PulseUnavailable, SinkRecording
from voice.conversation.content import check_content
from voice.speaking.speech import Synthesizer

TRAILING_SILENCE = 1.0  # every recording ends with this much silence (see conftest.recordings)


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    try:
        server.start()
    except PulseUnavailable as error:
        pytest.skip(f"PulseAudio cannot start here, so live mode cannot be tested: {error}")
    yield server
    server.stop()


@pytest.fixture
def speaker(pulse, tmp_path):
    recording = pulse.listen_to_speaker(tmp_path / "speaker.raw")
    yield recording
    recording.stop()


@pytest.fixture
def helper(pulse, tmp_path, speaker):
    running = Helper(pulse, tmp_path)
    yield running
    running.stop()
    running.assert_clean_exit()


def say_into_microphone(pulse: PulseServer, speaker: SinkRecording, wav: Path) -> float:
    """Play ``wav``; returns the speaker-recording time at which its speech ended."""
    pulse.play_into_microphone(wav)
    return speaker.seconds() - TRAILING_SILENCE


def test_a_cramp_request_is_answered_through_the_speaker(pulse, helper, speaker, recordings):
    spoken_end = say_into_microphone(pulse, speaker, recordings(["I have a cramp in my calf"]))
    answer = speaker.wait_for_speech(since=0.0, timeout=8)
    assert answer is not None, f"nothing came out of the speaker; helper log: {helper.lines()}"
    assert answer - spoken_end < 3.0
    assert helper.wait_for_log("said: I'm here", timeout=5)
    assert any("intent: cramp" in line for line in helper.lines())


def loud_seconds(samples: np.ndarray) -> float:
    block = 160
    blocks = samples[: samples.size // block * block].reshape(-1, block)
    return float((np.abs(blocks.astype(np.int32)).max(axis=1) > 500).sum()) / 100


def test_saying_stop_while_it_speaks_cuts_the_speech(pulse, tmp_path, speaker, recordings):
    # The virtual microphone never hears the virtual speaker: no echo to cancel, and WebRTC's
    # canceller would mute a word said over a voice it expects back (README, "Live mode").
    helper = Helper(pulse, tmp_path, "--echo-cancellation", "off")
    try:
        stop_while_it_speaks(pulse, helper, speaker, recordings)
    finally:
        helper.stop()
    helper.assert_clean_exit()


def stop_while_it_speaks(pulse: PulseServer, helper: Helper, speaker: SinkRecording, recordings) -> None:
    say_into_microphone(pulse, speaker, recordings(["I have a cramp in my calf"]))
    assert speaker.wait_for_speech(since=0.0, timeout=8) is not None
    time.sleep(1.0)  # the disclaimer and the first step take more than 20 s to say
    lines_before = len(helper.lines())
    stop_end = say_into_microphone(pulse, speaker, recordings(["stop"]))
    quiet_reply = check_content().replies["stopped"]
    assert helper.wait_for_log(f"said: {quiet_reply}", timeout=5, after=lines_before), helper.lines()
    time.sleep(6)
    reply_seconds = loud_seconds(Synthesizer().synthesize(quiet_reply))
    spoken_after_stop = len(speaker.loud_seconds(since=stop_end)) / 100
    # Cut within about a second: after "stop" only the short reply is heard, not the rest of the step.
    assert spoken_after_stop < reply_seconds + 1.2, (spoken_after_stop, reply_seconds)
    assert speaker.loud_seconds(since=speaker.seconds() - 2.0) == []


def test_unrelated_speech_and_silence_get_no_answer(pulse, helper, speaker, recordings):
    say_into_microphone(pulse, speaker, recordings(
        ["Can I get a large coffee with oat milk, please?", 3.0, "What time does the train leave tomorrow?"]))
    say_into_microphone(pulse, speaker, recordings(["The weather is lovely this morning."], voice="espeak:en-gb"))
    time.sleep(3)
    assert speaker.loud_seconds() == []
    assert not any("said:" in line for line in helper.lines())


def test_it_recovers_when_the_microphone_is_unplugged_and_plugged_back(pulse, helper, speaker, recordings):
    # The sound server moves the helper's stream to another source and back, as it does for a USB mic.
    pulse.unplug_microphone()
    time.sleep(3)
    assert helper.process.poll() is None, "the helper exited when the microphone went away"
    pulse.plug_microphone()
    time.sleep(1)
    say_into_microphone(pulse, speaker, recordings(["my calf hurts"]))
    assert speaker.wait_for_speech(since=0.0, timeout=8) is not None, helper.lines()


def test_a_speaker_unplugged_while_it_speaks_is_used_again_once_it_is_back(pulse, helper, speaker, recordings,
                                                                           tmp_path):
    say_into_microphone(pulse, speaker, recordings(["I have a cramp in my calf"]))
    assert speaker.wait_for_speech(since=0.0, timeout=8) is not None
    pulse.unplug_speaker()  # mid-sentence: the sound server drops the helper's stream
    time.sleep(3)
    assert helper.process.poll() is None, "the helper exited when the speaker went away"
    pulse.plug_speaker()
    again = pulse.listen_to_speaker(tmp_path / "speaker-again.raw")
    try:
        # Relief goes on: the next thing it says (the hold's countdown) comes out of the new speaker.
        assert again.wait_for_speech(since=0.0, timeout=40) is not None, helper.lines()
    finally:
        again.stop()
    assert sum("speaker" in line for line in helper.lines()) <= 2, helper.lines()  # gone, back


def test_a_missing_microphone_is_reported_once_and_retried_until_it_comes(pulse, tmp_path, speaker, recordings):
    pulse.unplug_microphone()
    try:
        # Asking for the microphone by name, as a Pi set up for one USB mic does: opening it fails.
        helper = Helper(pulse, tmp_path, env={"PULSE_SOURCE": "bedside_mic.monitor"})
        assert helper.wait_for_log("cannot open the microphone", timeout=10), helper.lines()
        time.sleep(7)  # two more failed retries
        assert helper.process.poll() is None, "the helper gave up on the microphone"
        assert sum("microphone" in line for line in helper.lines()) == 1, helper.lines()
    finally:
        pulse.plug_microphone()
    try:
        assert helper.wait_for_log("microphone is back", timeout=10), helper.lines()
        say_into_microphone(pulse, speaker, recordings(["my calf hurts"]))
        assert speaker.wait_for_speech(since=0.0, timeout=8) is not None, helper.lines()
    finally:
        helper.stop()
    helper.assert_clean_exit()
    assert not any("ALSA lib" in line or "Expression" in line for line in helper.lines()), helper.lines()


def test_sigterm_while_speaking_exits_cleanly_within_two_seconds(pulse, helper, speaker, recordings):
    say_into_microphone(pulse, speaker, recordings(["I have a cramp in my calf"]))
    assert speaker.wait_for_speech(since=0.0, timeout=8) is not None
    assert helper.stop() < 2.0


def test_doctor_records_from_the_microphone_and_opens_the_speaker(pulse, tmp_path, recordings):
    config = tmp_path / "config.yaml"
    config.write_text("input_device: pulse\noutput_device: pulse\n")
    env = {**pulse.env, "XDG_DATA_HOME": str(tmp_path / "data")}
    doctor = subprocess.Popen([sys.executable, "-m", "voice", "doctor", "--config", str(config)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # The microphone check records for 2 s, after the engine check: keep talking into it meanwhile.
    while doctor.poll() is None:
        pulse.play_into_microphone(recordings(["I have a cramp in my calf, and my leg is stiff."]))
    out, err = doctor.communicate(timeout=120)
    assert doctor.returncode == 0, out + err
    assert "✓ microphone: pulse: 2 s recorded, level" in out and "✓ speaker: pulse" in out


def test_live_red_flag_alerts_the_caregiver_and_a_crash_is_reported_at_the_next_start(pulse, speaker, recordings,
                                                                                     tmp_path):
    from mqtt import Broker, Subscriber

    broker = Broker(tmp_path).start()
    subscriber = Subscriber(broker.port, "bedside/#")
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "alerts.yaml"
    config.write_text(f"alerts:\n  name: Sam\n  mqtt: {{host: 127.0.0.1, port: {broker.port}}}\n")
    config.chmod(0o600)
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    helper = Helper(pulse, tmp_path, "--config", str(config), env=env)
    try:
        assert subscriber.wait_for_alerts(0, 0) == []
        pulse.play_into_microphone(recordings(["my calf is swollen and red"]))
        alerts = subscriber.wait_for_alerts(1, timeout=10)
        assert [alert["kind"] for alert in alerts] == ["red_flag"], helper.lines()
        assert helper.wait_for_log("said: I've let Sam know.", timeout=40), helper.lines()
        states = [payload for topic, payload, _ in subscriber.messages if topic == "bedside/state"]
        assert states[0] == "idle" and states[-1] == "urgent", states
        helper.process.kill()  # as a crash or a power cut ends it: no clean stop
        helper.process.wait()
        assert any(topic == "bedside/availability" and payload == "offline"
                   for topic, payload, _ in _wait_for(subscriber, "bedside/availability", "offline")), \
            "the broker should publish the last will"
        restarted = Helper(pulse, tmp_path, "--config", str(config), env=env)
        try:
            kinds = [alert["kind"] for alert in subscriber.wait_for_alerts(2, timeout=10)]
            assert kinds == ["red_flag", "helper_unwell"], restarted.lines()
        finally:
            restarted.stop()
            restarted.assert_clean_exit()
    finally:
        helper.stop()
        subscriber.close()
        broker.stop()


def _wait_for(subscriber, topic: str, payload: str, timeout: float = 60.0):
    """The subscriber's messages once ``payload`` arrived on ``topic`` (the broker sends a last
    will after 1.5 keep-alive periods), or as they are at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(t == topic and p == payload for t, p, _ in subscriber.messages):
            break
        time.sleep(0.1)
    return subscriber.messages
