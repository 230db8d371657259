"""Speaking: pyttsx3 / espeak-ng synthesis and the speaker that can be cut off mid-sentence.
Imports voice.base and voice.sound."""
