"""Shared basics: errors, XDG paths, clocks, the events the stages tell each other, YAML with
line numbers, text normalisation, progress bars. Imports nothing else of the helper."""
