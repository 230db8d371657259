"""Caregiver alerts: which events become alerts, their settings, the outbox, the sending thread and
its channels (MQTT, webhook, command), Home Assistant discovery. Imports voice.base and
voice.night_log."""
