"""Can this server listen on an address? Asked before each transport binds, so that the
failure names its cause and the flag that changes it: gRPC's C core would log a raw
``E1130 ... add_port.cc`` line to stderr first, and uvicorn logs its own error and exits."""

from __future__ import annotations

import contextlib
import errno
import socket

from .errors import ListenError


def ensure_free(host: str, port: int, transport: str, host_flag: str, port_flag: str) -> None:
    """Raise ``ListenError`` when ``host:port`` cannot be bound: taken, not an address of this
    machine, a name that does not resolve, or privileged (port 0, any free port, passes once
    the name resolves). ``host_flag`` / ``port_flag``: the flags that set them, named in the
    advice."""
    try:
        addresses = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        # gRPC's C core would log a raw "add_port.cc" line and a bind failure naming no flag.
        raise ListenError(
            f"cannot listen for {transport} on {host}:{port}: the name {host!r} does not "
            f"resolve ({exc.strerror}); check {host_flag}"
        ) from None
    except OSError:
        return
    if port == 0:
        return
    for family, kind, proto, _, address in addresses:
        with contextlib.closing(socket.socket(family, kind, proto)) as probe:
            # As the servers bind: SO_REUSEADDR (so a port in TIME_WAIT counts as free).
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                reason = (exc.strerror or str(exc)).lower()
                if exc.errno == errno.EADDRNOTAVAIL:
                    advice = f"not an address of this machine; check {host_flag}"
                elif exc.errno == errno.EACCES and port < 1024:
                    advice = f"ports below 1024 need privileges; choose another with {port_flag}"
                else:
                    advice = f"choose another with {port_flag}"
                raise ListenError(
                    f"cannot listen for {transport} on {host}:{port}: {reason} ({advice})"
                ) from None
