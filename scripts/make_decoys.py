"""Rebuild voice/data/decoys.txt: the most probable words of pocketsphinx's own English
language model (the one its package ships), which the idle grammar uses as somewhere else for
ordinary speech to go. Nothing from the benchmark's recordings or their words is used.

    .venv/bin/python scripts/make_decoys.py [--count 1000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pocketsphinx

OUT = Path(__file__).resolve().parent.parent / "voice" / "data" / "decoys.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    model = Path(pocketsphinx.get_model_path("en-us"))
    language_model = pocketsphinx.NGramModel(pocketsphinx.Config(), pocketsphinx.LogMath(),
                                             str(model / "en-us.lm.bin"))
    with (model / "cmudict-en-us.dict").open(encoding="utf-8") as dictionary:
        words = {line.split()[0] for line in dictionary if line.strip() and "(" not in line.split()[0]}
    ranked = sorted(words, key=lambda word: (-language_model.prob([word]), word))[: args.count]
    header = (f"# The {args.count} most probable words of pocketsphinx's en-us language model, most probable first.\n"
              "# Made by scripts/make_decoys.py; the idle grammar's decoy loop (voice/hearing/grammar.py).\n")
    OUT.write_text(header + "\n".join(ranked) + "\n", encoding="utf-8")
    print(f"wrote {len(ranked)} words to {OUT}")


if __name__ == "__main__":
    main()
