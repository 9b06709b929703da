"""One process of Python load clients (``nerve bench --server-load --client-processes N``).

Reads its job as JSON on stdin (the server's port, the texts, its clients' numbers, the
seconds of warm-up and of measure, and the wall-clock moment to start at, shared by all the
processes), runs the clients as threads, and writes what they measured as JSON on stdout.
"""

from __future__ import annotations

import json
import sys
import time

from .server_load import run_clients


def main() -> None:
    job = json.load(sys.stdin)
    delay = job["start_at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    measured = run_clients(job["port"], job["texts"], job["numbers"], job["seconds"], job["warmup"])
    json.dump(
        {
            "latencies": measured.latencies,
            "statuses": {str(code): n for code, n in measured.statuses.items()},
            "errors": measured.errors,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
