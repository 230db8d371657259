"""The helper as a service: `listen` on the microphone, the systemd watchdog, memory, settings,
model downloads and `bedside doctor`. Imports every part below it, never voice.bench or
voice.commands."""
