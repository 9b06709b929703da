"""Command-line flags of the server's limits, shared by ``nerve serve`` and the built
executable's ``serve`` verb.

They live here, not in ``nerve.cli``, because the executable leaves ``nerve.cli`` out of its
bundle (see ``nerve.build.pyinstaller.EXCLUDES``): its verbs may import only what ships.
"""

from __future__ import annotations

import argparse

from .config import name_list


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """Threads, batching, admission and size limits: shared with the built executable."""
    p.add_argument("--threads", type=int, help="intra-op threads of the backend")
    p.add_argument("--max-batch-tokens", type=int, help="padded tokens per batch (default 16384)")
    p.add_argument(
        "--max-concurrent-requests", type=int, help="beyond this, answer 429 (default 512)"
    )
    p.add_argument("--max-client-batch-size", type=int, help="texts per request (default 32)")
    p.add_argument("--max-input-chars", type=int, help="characters per text (default 100000)")
    p.add_argument("--max-body-bytes", type=int, help="request body size (default 8 MiB)")
    p.add_argument("--request-timeout", type=float, help="seconds per request (default 60)")
    p.add_argument(
        "--strict-length",
        action="store_const",
        const=True,
        help="refuse over-long input (truncate=false) with 422 instead of using windows",
    )
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    # -- HTTP browser protections (nerve.server.http.guards) --
    p.add_argument(
        "--allowed-hosts",
        type=name_list,
        help="comma-separated Host names served besides the loopback ones ('*': any)",
    )
    p.add_argument(
        "--cors-origins",
        type=name_list,
        help="comma-separated origins allowed by CORS (default: none, CORS off)",
    )
