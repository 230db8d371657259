"""The one error type a user sees: a single line saying what is wrong and what to do."""


class BedsideError(Exception):
    """A problem the user can fix. The CLI prints ``str(error)`` as one line, without a traceback."""
