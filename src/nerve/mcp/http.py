"""uvicorn for the Streamable HTTP transport, stopping with exit status 0 on SIGTERM/SIGINT.

uvicorn's own signal handling re-raises the signal once it has shut down, so a service
manager would see every orderly stop as "killed by SIGTERM". Here the signals only ask the
server to stop (a second one stops it without waiting for open streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Any

import uvicorn

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Open MCP streams (SSE) never end on their own: give them this long after a stop signal.
GRACEFUL_SECONDS = 5


class QuietExitServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in _SIGNALS:
                loop.remove_signal_handler(sig)


def serve_app(app: Any, host: str, port: int) -> QuietExitServer:
    return QuietExitServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # keep the process's logging (stderr)
            access_log=False,
            lifespan="on",  # the SDK's session manager runs in the app's lifespan
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    )
