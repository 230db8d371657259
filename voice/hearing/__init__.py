"""Hearing: the endpointer, the recognizers and their grammar, intents from text, the decision
(sure, doubtful, ignored), the learned verifier and command model on a speech embedding, the
syllable count of an utterance, and the stop spotter used while the helper speaks.
Imports voice.base and voice.sound."""
