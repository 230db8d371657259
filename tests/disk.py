"""A real, tiny filesystem for full-disk tests and the soak: a tmpfs (mounting needs root)."""

from __future__ import annotations

import subprocess
from pathlib import Path


class CannotMount(Exception):
    pass


def mount_tiny_disk(mount_point: Path, size: str) -> Path:
    """Mount a tmpfs of ``size`` (e.g. "512k") on a new folder ``mount_point``."""
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        raise CannotMount(mounted.stderr.strip())
    return mount_point


def unmount(mount_point: Path) -> None:
    subprocess.run(["umount", "--lazy", str(mount_point)], check=True)  # even if a file is still open


def fill(folder: Path) -> Path:
    """Fill the filesystem that holds ``folder`` to the last byte; returns the file to delete."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        while True:
            try:
                out.write(b"\0" * 4096)
            except OSError:
                return filler
