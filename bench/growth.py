"""Growth: W1 and W2 with 10 thousand and then 1 million sessions in the database; the ratios of their figures
show how cost grows with the data.

    .venv/bin/python -m bench.growth [--sizes 10000 1000000] [--seconds 10] [--rounds 3] [--clients 32]

The same 32 providers and members serve both workloads and own all the history (bench/history.py), so at a
million sessions each provider has about 31,000 sessions behind them and 2,500 ahead. W2 is measured against
PostGraphile at every size as well (bench/w2_dashboard.py); W1 runs with one API process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from bench import history, w1_bookings, w2_dashboard
from bench.common import api_processes, seed_pairs, stack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    report: dict[str, Any] = {"sizes": {}}
    with stack() as s:
        pairs = asyncio.run(seed_pairs(s.settings(), args.clients))
        for step, size in enumerate(sorted(args.sizes)):
            grown = asyncio.run(history.grow(s.database_url, size))
            w2 = w2_dashboard.measure(s, pairs, seconds=args.seconds, rounds=args.rounds,
                                      connections=args.connections)
            with api_processes(s, 1) as bases:
                w1 = asyncio.run(w1_bookings.measure(bases, pairs, args.seconds, offset=1000 * step))
            report["sizes"][str(size)] = {"database": grown, "w2": w2["median"],
                                          "w2_ours_to_postgraphile": w2["ours_to_postgraphile"],
                                          "w2_checked_equal": w2["checked_equal"], "w1": w1}
        report["invariant_violations"] = asyncio.run(w1_bookings.invariants(s.settings()))
    sizes = [str(size) for size in sorted(args.sizes)]
    if len(sizes) > 1:
        small, large = report["sizes"][sizes[0]], report["sizes"][sizes[-1]]
        report[f"ratio_{sizes[-1]}_to_{sizes[0]}"] = {
            "w2_p50": _ratio(large["w2"]["ours"]["p50_ms"], small["w2"]["ours"]["p50_ms"]),
            "w2_requests_per_second": _ratio(large["w2"]["ours"]["requests_per_second"],
                                             small["w2"]["ours"]["requests_per_second"]),
            "w2_postgraphile_p50": _ratio(large["w2"]["postgraphile"]["p50_ms"],
                                          small["w2"]["postgraphile"]["p50_ms"]),
            "w1_transitions_per_second": _ratio(large["w1"]["transitions_per_second"],
                                                small["w1"]["transitions_per_second"]),
            **{f"w1_{name}_p50": _ratio(large["w1"]["latency"][name]["p50_ms"],
                                        small["w1"]["latency"][name]["p50_ms"])
               for name in small["w1"]["latency"]},
        }
    print(json.dumps(report, indent=2))


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


if __name__ == "__main__":
    main()
