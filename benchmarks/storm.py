"""A storm of hostile requests through the ASGI and WSGI middleware, counted.

    python benchmarks/storm.py [--requests N] [--seed S]

Random headers, cookies (valid, truncated, tampered, stale, duplicated), bodies, paths and
methods, half through each adapter, from the generator the test suite drives with
Hypothesis (``tests/storm.py``). Prints the requests, 5xx answers, grants no valid cookie
backs, and middleware responses that could be framed, by adapter; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from tests.storm import main_counts, storm  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    # The middleware logs every refused form and, without a ledger, every choice.
    logging.disable(logging.CRITICAL)
    start = time.perf_counter()
    tally = storm(
        args.requests, args.seed, progress=lambda n: print(f"  {n} requests...", flush=True)
    )
    print(
        f"storm of {args.requests} requests, seed {args.seed}, {time.perf_counter() - start:.0f} s"
    )
    for line in main_counts(tally):
        print(line)
    for example in tally.examples:
        print("  e.g.", example[:500])
    return 1 if any(sum(c.values()) for c in tally.failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
