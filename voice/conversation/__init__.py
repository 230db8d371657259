"""The conversation: the content, the dialogue state machine, the pipeline that ties hearing to
the dialogue and the speaker, and recordings run through it (simulate). Imports voice.base,
voice.sound, voice.hearing, voice.speaking and voice.night_log."""
