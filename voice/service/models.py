"""Vosk model management: download (checked), install from a copied file, list.

Models live in ``$XDG_DATA_HOME/bedside/models`` (default ``~/.local/share/bedside/models``),
where engine selection looks too. Installing never leaves half a model behind: an archive is
downloaded to a ``.part`` file, checked (size, SHA-256), unpacked into a staging folder,
checked again (it must look like a Vosk model), and only then renamed into place. On any
failure the partial files go and a model already there stays.
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from voice.base.errors import BedsideError
from voice.base.progress import Progress
from voice.hearing.recognizer import PROJECT_MODELS, find_vosk_model, is_vosk_model, user_models_dir

CHUNK_BYTES = 256 * 1024
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class KnownModel:
    name: str
    url: str
    size: int
    sha256: str


KNOWN_MODELS = {
    model.name: model
    for model in [
        KnownModel("vosk-model-small-en-us-0.15", "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
                   41205931, "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"),
    ]
}
DEFAULT_MODEL = "vosk-model-small-en-us-0.15"

def download(url: str, sha256: str, size: Optional[int] = None, models_dir: Optional[Path] = None,
             progress: Progress = lambda done, total: None) -> Path:
    """Download a model archive from ``url``, check it, and install it; returns the model folder.

    Raises:
        BedsideError: the server refused, the connection dropped, the file is truncated or its
            checksum is wrong. Partial files are removed and an installed model is kept.
    """
    models_dir = models_dir or user_models_dir()
    models_dir.mkdir(parents=True, exist_ok=True)
    part = Path(tempfile.mkstemp(dir=models_dir, prefix=".download-", suffix=".zip.part")[1])
    try:
        _fetch(url, part, size, progress)
        digest = _sha256(part)
        if digest != sha256.lower():
            raise BedsideError(f"the download from {url} has the wrong checksum (sha256 {digest}, expected "
                               f"{sha256.lower()}); it is damaged or not the model you asked for. Nothing was "
                               "installed; try again, or check --url and --sha256")
        return install(part, models_dir)
    finally:
        part.unlink(missing_ok=True)


def _fetch(url: str, out: Path, size: Optional[int], progress: Progress) -> None:
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        raise BedsideError(f"the model server answered {error.code} {error.reason} for {url}; "
                           "check the address (--url) or try again later") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise BedsideError(f"cannot reach {url} ({reason}); check the network connection, or copy the "
                           "zip over and use 'bedside model install FILE.zip'") from None
    announced = response.headers.get("Content-Length")
    total = int(announced) if announced and announced.isdigit() else size
    done = 0
    try:
        with response, out.open("wb") as file:
            while True:
                chunk = response.read(CHUNK_BYTES)
                if not chunk:
                    break
                file.write(chunk)
                done += len(chunk)
                progress(done, total)
    except (OSError, http.client.HTTPException) as error:  # a reset, a timeout, an IncompleteRead
        raise BedsideError(_interrupted(url, done, total, error)) from None
    for expected in (total, size):
        if expected is not None and done != expected:
            raise BedsideError(_interrupted(url, done, expected, "the connection closed early"
                                            if done < expected else "more data than expected"))


def _interrupted(url: str, done: int, total: Optional[int], reason: object) -> str:
    of = f" of {total / 1e6:.1f}" if total else ""
    return (f"the download from {url} stopped after {done / 1e6:.1f}{of} MB ({reason}); nothing was installed "
            "and the partial file was removed; run the command again")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def install(source: Path, models_dir: Optional[Path] = None) -> Path:
    """Install a model from a zip archive or an unpacked folder; returns the installed folder.

    Raises:
        BedsideError: the source is missing, not a zip, unsafe, or not a Vosk model.
    """
    models_dir = models_dir or user_models_dir()
    models_dir.mkdir(parents=True, exist_ok=True)
    if not source.exists():
        raise BedsideError(f"{source}: no such file or folder; give the model's .zip or its unpacked folder")
    staging = Path(tempfile.mkdtemp(dir=models_dir, prefix=".staging-"))
    try:
        if source.is_dir():
            if not is_vosk_model(source):
                raise BedsideError(f"{source} is not a Vosk model folder (no am/final.mdl)")
            name = source.resolve().name
            shutil.copytree(source, staging / name)
        else:
            name = _unzip(source, staging)
        _replace(staging / name, models_dir / name)
        return models_dir / name
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unzip(archive: Path, staging: Path) -> str:
    """Unpack into ``staging``; returns the model's folder name (the archive's one top folder)."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = zipped.namelist()
            for member in names:
                if member.startswith("/") or ".." in Path(member).parts:
                    raise BedsideError(f"{archive} holds an unsafe path ({member}); it was not installed")
            tops = {Path(member).parts[0] for member in names if Path(member).parts}
            if len(tops) != 1:
                raise BedsideError(f"{archive} is not a Vosk model archive (expected one top folder, "
                                   f"found {len(tops)})")
            zipped.extractall(staging)
    except zipfile.BadZipFile:
        raise BedsideError(f"{archive} is not a readable zip file (damaged or incomplete); "
                           "download it again") from None
    name = tops.pop()
    if not is_vosk_model(staging / name):
        raise BedsideError(f"{archive} does not hold a Vosk model (no am/final.mdl in {name}/)")
    return name


def _replace(new: Path, target: Path) -> None:
    """Move ``new`` to ``target`` in one rename; an old model there is removed only afterwards."""
    old = target.with_name(f".old-{target.name}")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    try:
        new.rename(target)
    except OSError:
        if old.exists():
            old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class InstalledModel:
    path: Path
    in_use: bool
    megabytes: float


def installed_models() -> List[InstalledModel]:
    try:
        in_use = find_vosk_model()
    except BedsideError:  # a VOSK_MODEL_PATH that is not a model: then none of these is in use
        in_use = None
    found: List[InstalledModel] = []
    for folder in (PROJECT_MODELS, Path.cwd() / "models", user_models_dir()):
        for candidate in sorted(folder.resolve().glob("vosk-model-*")):
            if candidate.is_dir() and is_vosk_model(candidate) and all(m.path != candidate for m in found):
                size = sum(f.stat().st_size for f in candidate.rglob("*") if f.is_file())
                found.append(InstalledModel(candidate, in_use is not None and candidate == in_use.resolve(),
                                            size / 1e6))
    return found
