"""Speech synthesis: a sound file that pyttsx3's callback thread writes late is still read."""

from __future__ import annotations

import threading
import time

import numpy as np

from voice.speech import RECENT_SENTENCES, Synthesizer, _read_once_written, write_wav


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


def test_a_sentence_said_again_is_not_synthesized_again_and_few_are_kept():
    synthesizer = Synthesizer()
    first = synthesizer.synthesize("Hold the stretch.")
    assert synthesizer.synthesize("Hold the stretch.") is first and not first.flags.writeable
    synthesizer.adjust(rate_factor=0.85)  # "slower": the same words at another rate are new
    slower = synthesizer.synthesize("Hold the stretch.")
    assert slower is not first and slower.size > first.size
    for count in range(RECENT_SENTENCES + 5):
        synthesizer.synthesize(f"Step {count}.")
    assert len(synthesizer._recent) == RECENT_SENTENCES
