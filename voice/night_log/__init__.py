"""The private night log (SQLite, crash-safe) and the `bedside history` reports.
Imports only voice.base."""
