"""Bedside Cramp Helper: an offline voice helper for night-time calf cramps.

The pipeline has one module per stage: voice.sound.audio (frames) -> voice.hearing (endpointer,
recognizer, intents, decision, verifier) -> voice.conversation.dialogue (what to do) ->
voice.speaking.speech (voice); voice.conversation.pipeline ties them together. The packages and
what each may import: README.md, "Layout".
"""

__version__ = "0.1.0"
