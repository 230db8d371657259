"""``bedside doctor``: every check in one line each, and what to fix."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from voice.service.doctor import run_checks

    checks = run_checks(args.config)
    print("\n".join(check.line() for check in checks))
    failed = [check.name for check in checks if not check.ok]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks passed"
          + (f"; fix: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
