"""Bedside Cramp Helper: an offline voice helper for night-time calf cramps.

The pipeline has one module per stage:
audio (frames) -> recognizer (text) -> intents (meaning) -> dialogue (what to do) -> speech (voice).
"""

__version__ = "0.1.0"
