"""What the kernel says of this process."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def resident_mb(status: Path = Path("/proc/self/status")) -> Optional[float]:
    """This process's resident size (VmRSS) in MB, as the kernel and systemd count it; None
    where /proc cannot tell (not Linux)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
