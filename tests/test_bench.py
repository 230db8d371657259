"""``bedside bench``: the JSON it promises, the plot, and the pieces its numbers rest on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from voice.base.clock import VirtualClock
from voice.base.events import Heard
from voice.bench.recordings import mix
from voice.bench.sounds import brown_noise
from voice.conversation.content import check_content
from voice.conversation.dialogue import Dialogue
from voice.conversation.pipeline import Conversation
from voice.conversation.simulate import activations
from voice.hearing.intents import IntentMatcher

KEYS = {"recall_clean", "recall_snr20", "recall_snr10", "recall_snr5", "command_accuracy", "false_triggers_per_hour",
        "false_trigger_rate_utterances", "rtf", "latency_p50_s", "latency_p95_s", "idle_cpu_fraction", "peak_rss_mb",
        "model_load_s", "recall_distant", "recall_clean_formant", "asked_share", "false_wakes_per_hour",
        "questions_per_hour", "red_flag_confusions", "red_flag_recall", "red_flag_during_recall",
        "decode_ms_per_utterance"}


@pytest.mark.parametrize("snr", [20.0, 10.0, 5.0])
def test_noise_is_mixed_at_the_asked_signal_to_noise_ratio(snr):
    rng = np.random.default_rng(1)
    speech = (rng.normal(size=16000) * 3000).astype(np.int16)
    speech_rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
    noisy = mix(speech, speech_rms, brown_noise(5.0), snr, offset=1234)
    noise = noisy.astype(np.float64) - speech
    measured = 20 * np.log10(speech_rms / np.sqrt(np.mean(noise ** 2)))
    assert abs(measured - snr) < 0.2


def test_only_a_reply_from_idle_counts_as_a_false_trigger():
    content = check_content()
    clock = VirtualClock()
    conversation = Conversation(None, IntentMatcher(content.intents, content.phrase_rules), Dialogue(content, clock), clock)
    for text, intent in [("next", "next"), ("my calf hurts", "cramp"), ("repeat", "repeat"), ("stop", "stop"),
                         ("why do cramps happen", "causes")]:
        conversation.events.append(Heard(clock.now(), text, intent, None))
        conversation.hear(intent)
    # "next" when idle wakes no one; "cramp" wakes it; "repeat" and "stop" belong to that episode.
    assert [event.text for event in activations(conversation)] == ["my calf hurts", "why do cramps happen"]


def test_bench_writes_the_promised_json_and_plot_without_a_corpus(tmp_path):
    out, plot = tmp_path / "bench.json", tmp_path / "bench.png"
    result = subprocess.run([sys.executable, "-m", "voice", "bench", "--engine", "pocketsphinx", "--minutes", "1", "--quick",
                             "--json", str(out), "--plot", str(plot)], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    numbers = report["engines"]["pocketsphinx"]
    assert KEYS - {"recall_distant", "recall_snr20", "recall_snr5"} <= set(numbers)  # --quick: clean and 10 dB
    assert all(0.0 <= numbers[key] <= 1.0 for key in set(KEYS) & set(numbers)
               if key.startswith("recall") or "accuracy" in key or key.endswith("share"))
    assert numbers["recall_clean"] > 0.3 and numbers["rtf"] < 1.0
    # With the verifier by default, and the same recordings without it alongside.
    assert numbers["verifier"] in ("recognizer", "embedding", "both")
    assert numbers["verifier_scored_utterances"] > 0 and numbers["verifier_ms_per_utterance_p50"] > 0
    without = numbers["without_verifier"]
    assert {"recall_clean", "recall_snr10", "false_wakes_per_hour"} <= set(without)
    assert 0.3 < without["recall_clean"] <= 1.0
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert "== pocketsphinx" in result.stdout


def test_real_words_are_taken_by_split_and_only_commands_expect_one(tmp_path):
    from voice.bench.real import command_clips, real_rows
    from voice.speaking.speech import write_wav

    rows = [("commands/stop/a_nohash_0.wav", "command", "stop", "tuning"),
            ("commands/unknown/go_b_nohash_0.wav", "negative", "other word", "tuning"),
            ("commands/yes/c_nohash_0.wav", "command", "yes", "test"),
            ("noise/fan.wav", "noise", "fan", "both")]
    lines = ["path,kind,label,split,seconds,licence"]
    for path, kind, label, split in rows:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        write_wav(tmp_path / path, brown_noise(0.5, seed=len(lines)))
        lines.append(f"{path},{kind},{label},{split},0.50,CC-BY-4.0")
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    clips = command_clips(real_rows(tmp_path, "tuning"))
    assert [(clip.expected, clip.condition) for clip in clips] == [("stop", "stop"), (None, "other word")]
    assert all(clip.samples.size > 0.5 * 16000 for clip in clips)  # the word, with room hiss around it
