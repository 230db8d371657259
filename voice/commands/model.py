"""``bedside model``: Vosk models downloaded and checked, installed from a copy, listed."""

from __future__ import annotations

import argparse
from pathlib import Path

from voice.base.errors import BedsideError
from voice.base.progress import terminal_progress


def run(args: argparse.Namespace) -> int:
    from voice.service import models

    if args.model_command == "download":
        if args.url and not args.sha256:
            raise BedsideError("--url needs --sha256, so the download can be checked before it is installed")
        known = models.KNOWN_MODELS.get(args.name)
        if known is None and not args.url:
            raise BedsideError(f"unknown model '{args.name}'; known: {', '.join(models.KNOWN_MODELS)}, "
                               "or give --url and --sha256")
        url, sha256 = args.url or known.url, args.sha256 or known.sha256
        size = known.size if known is not None and not args.url else None
        progress = terminal_progress(f"downloading {args.name}", scale=1e6, unit=" MB")
        path = models.download(url, sha256, size, progress=progress)
    elif args.model_command == "install":
        path = models.install(Path(args.source))
    elif args.model_command == "list":
        installed = models.installed_models()
        if not installed:
            print("no Vosk model installed (pocketsphinx is used); get one with: bedside model download")
        for model in installed:
            print(f"{'*' if model.in_use else ' '} {model.path}  ({model.megabytes:.0f} MB)"
                  f"{'  <- in use' if model.in_use else ''}")
        return 0
    else:
        raise BedsideError("say 'bedside model download', 'bedside model install ZIP|DIR' or 'bedside model list'")
    print(f"bedside: installed {path.name} in {path.parent}; it is used from now on (engine auto)")
    return 0
