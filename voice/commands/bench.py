"""``bedside bench``: recall, false wake-ups, commands, speed and latency on recordings."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from voice.base.errors import BedsideError
from voice.conversation.content import check_content


def run(args: argparse.Namespace) -> int:
    from voice.bench import suite
    from voice.bench.summary import plot, summary_lines

    corpus = Path(args.corpus) if args.corpus else None
    real = Path(args.real) if args.real else None
    for option, folder in (("--corpus", corpus), ("--real", real)):
        if folder is not None and not (folder / "manifest.csv").is_file():
            raise BedsideError(f"{folder} has no manifest.csv; give the folder that holds it, or leave out {option}")
    content = check_content(args.content)
    engines = suite.engines_to_bench(args.engine, args.model)
    read = " and ".join(str(folder) for folder in (corpus, real) if folder)
    print(f"bedside: making the {args.set} recordings{' and reading ' + read if read else ''}...", file=sys.stderr)
    recordings = suite.make_recordings(corpus, args.set, args.minutes, quick=args.quick, real=real, content=content)
    weights = None if args.no_verifier else args.verifier_weights
    command_weights = None if args.no_command_model else args.command_model_weights
    reports = {engine: suite.bench_with_verifier(engine, content, recordings, args.model, weights, command_weights)
               for engine in engines}
    print("\n".join(summary_lines(reports)))
    if args.json:
        data = {"set": args.set, "quick": args.quick, "corpus": str(corpus) if corpus else None,
                "real": str(real) if real else None,
                "engines": {engine: {**report.numbers, "recall_clean_by_voice": report.recall_by_voice}
                            for engine, report in reports.items()}}
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    if args.plot:
        plot(reports, Path(args.plot))
    return 0
