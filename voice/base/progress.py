"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
from typing import Callable, Optional

Progress = Callable[[int, Optional[int]], None]  # (done so far, total or None)


def terminal_progress(label: str, scale: float = 1.0, unit: str = "") -> Progress:
    """``scale`` and ``unit`` show amounts, e.g. ``1e6, " MB"`` for bytes as megabytes."""
    if not sys.stderr.isatty():
        return lambda done, total: None

    def amount(value: int) -> str:
        return str(value) if scale == 1.0 else f"{value / scale:.1f}"

    def show(done: int, total: Optional[int]) -> None:
        bar = ""
        if total:
            filled = int(30 * done / total)
            bar = f" [{'#' * filled}{'.' * (30 - filled)}]"
        out_of = f"/{amount(total)}" if total else ""
        sys.stderr.write(f"\r{label}{bar} {amount(done)}{out_of}{unit}")
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
