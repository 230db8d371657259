"""Text normalization shared by the intent matcher and the recognizer's grammar."""

from __future__ import annotations

import re

_NON_WORD = re.compile(r"[^\w' ]+")


def normalize(text: str) -> str:
    """Lower-case, drop punctuation but keep apostrophes, fold white space."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())
