"""Shared fixtures: speech recordings made on the fly with real synthesizers (flite, espeak-ng)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence, Union

import numpy as np
import pytest

Segment = Union[str, float]  # text to speak, or seconds of silence


@pytest.fixture(scope="session")
def recordings(tmp_path_factory) -> Callable[..., Path]:
    """``recordings(segments, voice="flite:slt")`` -> a 16 kHz mono WAV of the segments in order.

    A voice is ``flite:NAME``, ``festival:VOICE`` (kal_diphone, ked_diphone, cmu_us_slt_arctic_hts)
    or ``espeak:VOICE[:SPEED]``. Recordings are cached for the session.
    """
    folder = tmp_path_factory.mktemp("recordings")

    def make(segments: Sequence[Segment], voice: str = "flite:slt") -> Path:
        key = hashlib.sha1(repr((list(segments), voice)).encode()).hexdigest()[:16]
        out = folder / f"{key}.wav"
        if out.exists():
            return out
        parts = []
        for index, segment in enumerate([0.5, *segments, 1.0]):
            part = folder / f"{key}-{index}.wav"
            if isinstance(segment, (int, float)):
                subprocess.run(["sox", "-R", "-n", "-r", "16000", "-c", "1", "-b", "16", str(part),
                                "trim", "0", str(segment)], check=True)
            else:
                raw = folder / f"{key}-{index}-raw.wav"
                engine, name, *speed = voice.split(":")
                text = None
                if engine == "flite":
                    command = ["flite", "-voice", name, "-t", segment, "-o", str(raw)]
                elif engine == "festival":
                    command, text = ["text2wave", "-eval", f"(voice_{name})", "-o", str(raw)], segment.encode()
                else:
                    command = ["espeak-ng", "-v", name, "-s", speed[0] if speed else "150", "-w", str(raw), segment]
                subprocess.run(command, input=text, check=True, capture_output=True)
                subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(part)], check=True)
            parts.append(str(part))
        subprocess.run(["sox", *parts, str(out)], check=True)
        return out

    for tool in ("flite", "espeak-ng", "sox", "text2wave"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing; run scripts/test, which installs it")
    return make


def run_bedside(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voice", *args], capture_output=True, text=True,
                          timeout=timeout)


def damaged_copy(weights: Path, out: Path, damage: str) -> Path:
    """``weights`` (an .npz) as ``out``, damaged: "missing", "garbage", "truncated", or "wrong
    shape" (its ``mean`` cut short, so the layers no longer fit)."""
    if damage == "garbage":
        out.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        out.write_bytes(weights.read_bytes()[:400])
    elif damage == "wrong shape":
        with np.load(weights) as data:
            arrays = {name: data[name] for name in data.files}
        arrays["mean"] = arrays["mean"][:3]
        np.savez(out, **arrays)
    return out
