"""Measuring: `bedside bench` (its recordings, real people and rooms) and `bedside room-check`.
Imports the parts it measures (voice.base, voice.sound, voice.hearing, voice.conversation),
never voice.service or voice.commands."""
