"""Sound in and out of the machine: audio files, frames and devices (sounddevice), and the echo
canceller that takes the helper's own voice out of the microphone. Imports only voice.base."""
