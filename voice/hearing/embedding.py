"""A pretrained speech embedding: openWakeWord's melspectrogram and embedding models
(voice/data/speech-embedding), run with ``ai-edge-litert``.

Its 96 numbers per 0.76 s window were learned from a great deal of real speech, so a small
model on top of them can learn a narrow task from synthetic speech alone (openWakeWord's
recipe). ``pooled`` summarizes one utterance in a fixed-size vector: the mean and the maximum
of its windows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voice.base.errors import BedsideError
from voice.base.paths import PACKAGE_DATA
from voice.sound.audio import quiet_native_stderr

MODELS = PACKAGE_DATA / "speech-embedding"
WINDOW_FRAMES = 76  # mel frames (10 ms each) per embedding window, as the model was trained
# openWakeWord steps 8 frames; 16 halves the cost (about 15 ms for a 2 s request here) and
# pooling over an utterance does not need the finer step.
STEP_FRAMES = 16
DIMENSIONS = 96
HOP_SAMPLES = 160  # one mel frame
FFT_SAMPLES = 512  # one mel frame's window: L samples give (L - 512) // 160 + 1 frames
MEL_EDGE_FRAMES = 4  # the mel model gives about 3 frames fewer than the audio holds
# The mel model always runs on blocks of this many frames (2 s): resizing it to each utterance's
# length kept about 5 KB per new length (600 utterances), and a frame depends only on its own 512
# samples, so blocks (the last padded with silence, its extra frames dropped) give the same numbers.
MEL_BLOCK_FRAMES = 200
MEL_BLOCK_SAMPLES = (MEL_BLOCK_FRAMES - 1) * HOP_SAMPLES + FFT_SAMPLES


class SpeechEmbedding:
    """Audio of one utterance in, its pooled embedding (``2 * DIMENSIONS`` numbers) out."""

    def __init__(self, folder: Path = MODELS) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise BedsideError("the speech embedding needs ai-edge-litert: run scripts/setup "
                               "(or: pip install ai-edge-litert)") from None
        try:
            with quiet_native_stderr():  # TensorFlow Lite announces its CPU delegate on stderr
                self._mel = Interpreter(model_path=str(folder / "melspectrogram.tflite"), num_threads=1)
                self._embed = Interpreter(model_path=str(folder / "embedding_model.tflite"), num_threads=1)
                # One window at a time: a fixed input shape is never reallocated, and it is as
                # fast per window as a batch here (1.7 ms).
                self._embed.resize_tensor_input(self._embed.get_input_details()[0]["index"],
                                                (1, WINDOW_FRAMES, 32, 1))
                self._embed.allocate_tensors()
                self._mel.resize_tensor_input(self._mel.get_input_details()[0]["index"], (1, MEL_BLOCK_SAMPLES))
                self._mel.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise BedsideError(f"cannot load the speech embedding in {folder} ({error}); "
                               "reinstall the helper (scripts/setup)") from None

    def pooled(self, samples: np.ndarray, step: int = STEP_FRAMES) -> np.ndarray:
        """Mean and maximum over the utterance's windows, one every ``step`` mel frames; a
        shorter utterance is padded with silence to one window."""
        mel = self._melspectrogram(samples) / 10.0 + 2.0  # openWakeWord's scaling
        embedded = np.stack([_invoke(self._embed, mel[None, start : start + WINDOW_FRAMES, :, None]).reshape(DIMENSIONS)
                             for start in range(0, mel.shape[0] - WINDOW_FRAMES + 1, step)])
        return np.concatenate([embedded.mean(axis=0), embedded.max(axis=0)])

    def _melspectrogram(self, samples: np.ndarray) -> np.ndarray:
        """(frames, 32) mel features, as the model gives for the whole utterance at once; one
        shorter than a window is padded with silence to one window."""
        length = max(samples.size, (WINDOW_FRAMES + MEL_EDGE_FRAMES) * HOP_SAMPLES)
        frames = (length - FFT_SAMPLES) // HOP_SAMPLES + 1
        blocks = -(-frames // MEL_BLOCK_FRAMES)
        audio = np.zeros((blocks - 1) * MEL_BLOCK_FRAMES * HOP_SAMPLES + MEL_BLOCK_SAMPLES, dtype=np.float32)
        used = min(samples.size, audio.size)  # past the last whole frame: never heard by the model
        audio[:used] = samples[:used]
        mel = [np.squeeze(_invoke(self._mel, audio[None, start : start + MEL_BLOCK_SAMPLES]), axis=(0, 1))
               for start in range(0, blocks * MEL_BLOCK_FRAMES * HOP_SAMPLES, MEL_BLOCK_FRAMES * HOP_SAMPLES)]
        return np.concatenate(mel)[:frames]


def _invoke(interpreter, data: np.ndarray) -> np.ndarray:
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], np.ascontiguousarray(data, dtype=np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
