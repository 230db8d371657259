"""Model download and install against a real HTTP server on 127.0.0.1: good, truncated, wrong
checksum, 404, and a connection dropped mid-way. Never half a model; an installed one is kept."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import struct
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from voice.base.errors import BedsideError
from voice.hearing.recognizer import find_vosk_model
from voice.service.models import download, install, installed_models

MODEL = "vosk-model-test-0.1"


def model_archive(path: Path, marker: str) -> bytes:
    """A small archive laid out like a Vosk model (the files are stand-ins, not a real model)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{MODEL}/am/final.mdl", marker + "x" * 200_000)
        archive.writestr(f"{MODEL}/conf/model.conf", "--sample-frequency=16000\n")
        archive.writestr(f"{MODEL}/graph/HCLr.fst", os.urandom(100_000))
    return path.read_bytes()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    good = model_archive(folder / "good.zip", "good")
    other = model_archive(folder / "other.zip", "other")

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/missing.zip":
                self.send_error(404, "Not Found")
                return
            body = other if self.path == "/other.zip" else good
            self.send_response(200)
            self.send_header("Content-Length", str(len(good)))  # a truncated reply still promises it all
            self.end_headers()
            if self.path == "/truncated.zip":
                self.wfile.write(body[: len(body) // 2])
            elif self.path == "/dropped.zip":
                self.wfile.write(body[: len(body) // 3])
                self.wfile.flush()
                # Reset the connection, as a dropped Wi-Fi or a proxy would.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{httpd.server_address[1]}", "sha256": hashlib.sha256(good).hexdigest(),
           "size": len(good), "folder": folder}
    httpd.shutdown()


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("VOSK_MODEL_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "bedside" / "models"


def leftovers(models_dir: Path) -> list:
    return sorted(p.name for p in models_dir.iterdir() if p.name.startswith("."))


def test_a_good_download_is_checked_installed_and_then_used(server, models_dir):
    path = download(f"{server['url']}/good.zip", server["sha256"], server["size"])
    assert path == models_dir / MODEL
    assert (path / "am" / "final.mdl").read_text().startswith("good")
    assert leftovers(models_dir) == []
    assert find_vosk_model() == path
    [listed] = [m for m in installed_models() if m.path == path.resolve()]
    assert listed.in_use


@pytest.mark.parametrize("name, message", [
    ("truncated.zip", "stopped after"),
    ("dropped.zip", "stopped after"),
    ("other.zip", "wrong checksum"),
    ("missing.zip", "answered 404"),
])
def test_a_bad_download_installs_nothing_removes_partial_files_and_keeps_the_old_model(
        server, models_dir, name, message):
    download(f"{server['url']}/good.zip", server["sha256"], server["size"])
    with pytest.raises(BedsideError, match=message):
        download(f"{server['url']}/{name}", server["sha256"], server["size"])
    assert leftovers(models_dir) == []
    assert (models_dir / MODEL / "am" / "final.mdl").read_text().startswith("good")


def test_an_unreachable_server_is_one_clear_error(models_dir):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(BedsideError, match="cannot reach .* copy the zip over"):
        download(f"http://127.0.0.1:{port}/good.zip", "00" * 32)


def test_install_from_a_copied_zip_or_folder(server, models_dir, tmp_path):
    path = install(server["folder"] / "good.zip")
    assert path == models_dir / MODEL and leftovers(models_dir) == []
    unpacked = tmp_path / "elsewhere" / MODEL
    unpacked.parent.mkdir()
    path.rename(unpacked)
    assert install(unpacked) == models_dir / MODEL


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not a zip at all"), "not a readable zip"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("vosk-model-x/README", "no model"), "does not hold a Vosk model"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("../../evil/am/final.mdl", "x"), "unsafe path"),
])
def test_install_refuses_what_is_not_a_model(models_dir, tmp_path, make, message):
    archive = tmp_path / "bad.zip"
    make(archive)
    with pytest.raises(BedsideError, match=message):
        install(archive)
    assert leftovers(models_dir) == [] and not list(models_dir.glob("vosk-model-*"))


def test_model_commands_from_the_command_line(server, models_dir, tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}

    def bedside(*args):
        return subprocess.run([sys.executable, "-m", "voice", "model", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60)

    assert "no Vosk model installed" in bedside("list").stdout
    wrong = bedside("download", "--url", f"{server['url']}/other.zip", "--sha256", server["sha256"])
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1 and "wrong checksum" in wrong.stderr
    missing_sum = bedside("download", "--url", f"{server['url']}/good.zip")
    assert missing_sum.returncode == 1 and "--url needs --sha256" in missing_sum.stderr
    good = bedside("download", "--url", f"{server['url']}/good.zip", "--sha256", server["sha256"])
    assert good.returncode == 0, good.stderr
    assert "<- in use" in bedside("list").stdout
