"""Why a server cannot listen, said with the flag that changes it (before uvicorn or gRPC's C
core print their own errors)."""

from __future__ import annotations

import socket

import pytest

from nerve.server.errors import ListenError
from nerve.server.ports import ensure_free


def test_a_taken_port_names_the_port_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError) as caught:
            ensure_free("127.0.0.1", port, "gRPC", "--grpc-host", "--grpc-port")
    assert caught.value.message == (
        f"cannot listen for gRPC on 127.0.0.1:{port}: address already in use "
        "(choose another with --grpc-port)"
    )


def test_an_address_of_another_machine_names_the_host_flag() -> None:
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never an address of this machine.
    with pytest.raises(ListenError) as caught:
        ensure_free("192.0.2.7", 18080, "HTTP", "--host", "--http-port")
    assert caught.value.message == (
        "cannot listen for HTTP on 192.0.2.7:18080: cannot assign requested address "
        "(not an address of this machine; check --host)"
    )


def test_a_free_port_and_port_zero_pass() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ensure_free("127.0.0.1", port, "HTTP", "--host", "--http-port")
    ensure_free("127.0.0.1", 0, "HTTP", "--host", "--http-port")


@pytest.mark.parametrize("port", [0, 18182])
def test_a_name_that_does_not_resolve_names_the_host_flag(port: int) -> None:
    """gRPC's C core logged a raw add_port.cc line and a bind failure naming no flag."""
    with pytest.raises(ListenError) as refused:
        ensure_free("nosuchhost.invalid", port, "gRPC", "--grpc-host", "--grpc-port")
    message = str(refused.value)
    assert message.startswith(f"cannot listen for gRPC on nosuchhost.invalid:{port}: the name")
    assert "does not resolve" in message and message.endswith("check --grpc-host")
