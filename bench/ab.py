"""W1 side by side: two (or more) checkouts of this repository serve in turn on one PostgreSQL and Redis, each for
`--seconds`, alternated `--rounds` times, and the medians are printed. Faster than comparing two W1 runs, and
fairer: the machine's speed drifts by up to a fifth within minutes, and alternating spreads the drift over both.

    git worktree add /tmp/before <commit>
    .venv/bin/python -m bench.ab before=/tmp/before/src after=src [--rounds 3] [--seconds 10] [--clients 8]

Each API process imports `sessions_gql` from the given `src` directory (it comes first on PYTHONPATH, before
this virtualenv's editable install); the load generator, seeding and measurement are this checkout's
(`bench.w1_bookings.measure`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
from pathlib import Path
from typing import Any

from bench.common import api_processes, seed_pairs, stack
from bench.w1_bookings import measure


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variants", nargs="+", help="name=path/to/src")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    variants = dict(variant.split("=", 1) for variant in args.variants)
    for name, src in variants.items():
        if not (Path(src) / "sessions_gql" / "__init__.py").is_file():
            parser.error(f"{name}: {src} has no sessions_gql package")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    with stack() as s:
        pairs = asyncio.run(seed_pairs(s.settings(), args.clients))
        assert s.pg.proc is not None, "the stack started it"
        offset = 0
        for _round in range(args.rounds):
            for name, src in variants.items():
                os.environ["PYTHONPATH"] = str(Path(src).resolve())  # the API processes inherit it
                with api_processes(s, 1) as bases:
                    runs[name].append(asyncio.run(measure(bases, pairs, args.seconds, offset, s.pg.proc.pid)))
                offset += 1000  # fresh slots for every run
    report = {name: {
        "transitions_per_second": [run["transitions_per_second"] for run in found],
        "median_transitions_per_second": statistics.median(run["transitions_per_second"] for run in found),
        "median_api_cpu_ms_per_transition": statistics.median(run["api_cpu_ms_per_transition"] for run in found),
        "median_p99_ms": {mutation: statistics.median(run["latency"][mutation]["p99_ms"] for run in found)
                          for mutation in found[0]["latency"]},
    } for name, found in runs.items()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
