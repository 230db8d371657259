"""Where bedside keeps the user's files, following the XDG base directory rules."""

from __future__ import annotations

import os
from pathlib import Path

# What ships inside the package (content, weights, the speech embedding), and the checkout's
# models/ folder, where a Vosk model may be unpacked.
PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
PROJECT_MODELS = Path(__file__).resolve().parent.parent.parent / "models"


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "bedside"


def data_home() -> Path:
    """Models and the night log: ``$XDG_DATA_HOME/bedside`` (default ``~/.local/share/bedside``)."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "bedside"
