"""Is a TCP port free to listen on? Asked before gRPC binds, because gRPC's C core logs a raw
``E1130 ... add_port.cc`` line to stderr when the port is taken, before nerve can say so."""

from __future__ import annotations

import contextlib
import socket

from .errors import ListenError


def ensure_free(host: str, port: int, transport: str) -> None:
    """Raise ``ListenError`` when something already listens on ``host:port`` (port 0, any
    free port, always passes; a name that does not resolve is left to the server to report)."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError:
        return
    for family, kind, proto, _, address in addresses:
        with contextlib.closing(socket.socket(family, kind, proto)) as probe:
            # As the servers bind: SO_REUSEADDR (so a port in TIME_WAIT counts as free).
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                reason = (exc.strerror or str(exc)).lower()
                raise ListenError(
                    f"cannot listen for {transport} on {host}:{port}: {reason} "
                    f"(choose another with --{transport.lower()}-port)"
                ) from None
