"""scripts/install-pi: the dry run changes nothing; a --prefix install really installs, twice, and
uninstalls (systemd steps are skipped with --prefix, so this runs in CI without systemd)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "install-pi"


def install_pi(tmp_path: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_dry_run_prints_every_step_and_changes_nothing(tmp_path):
    result = install_pi(tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in ("system packages:", "python3 -m venv", "pip install", "bedside model download",
                     "ExecStart=", "Restart=on-failure", "After=sound.target",
                     "Type=notify", "WatchdogSec=30", "MemoryMax=600M", "systemctl enable --now bedside.service",
                     "loginctl enable-linger", "(dry run: nothing was changed)"):
        assert expected in out, expected
    assert not (tmp_path / "data").exists()
    uninstall = install_pi(tmp_path, "--uninstall", "--dry-run")
    assert uninstall.returncode == 0
    assert "systemctl disable --now" in uninstall.stdout or "(not installed)" in uninstall.stdout


def test_prefix_install_is_real_idempotent_and_undone_by_uninstall(tmp_path):
    prefix = tmp_path / "app"
    first = install_pi(tmp_path, "--prefix", str(prefix), "--no-model")
    assert first.returncode == 0, first.stdout + first.stderr
    bedside = prefix / "venv" / "bin" / "bedside"
    version = subprocess.run([str(bedside), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("bedside ")
    unit = (prefix / "bedside.service").read_text()
    assert f"ExecStart={bedside} listen" in unit and "Restart=on-failure" in unit and "User=" in unit
    assert "systemd steps skipped" in first.stdout

    again = install_pi(tmp_path, "--prefix", str(prefix), "--no-model")
    assert again.returncode == 0 and "(the environment is there)" in again.stdout

    removed = install_pi(tmp_path, "--prefix", str(prefix), "--uninstall")
    assert removed.returncode == 0 and not prefix.exists()
