"""Shared basics: errors, XDG paths, clocks, the events the stages tell each other, YAML with
line numbers, text normalisation, progress bars, the process's size. Imports nothing else of the helper."""
