"""TLS for both transports (``--cert-file`` / ``--key-file``), checked once before listening.

The hook points, kept to one call each so the transports can change around them:
``check_tls(config)`` in the runner before anything listens, ``uvicorn_tls(config)`` in the
HTTP server's settings, ``grpc_credentials(config)`` where gRPC binds its port.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from .config import ServerConfig


@dataclass(frozen=True)
class TlsFiles:
    cert: bytes  # PEM certificate chain
    key: bytes  # PEM private key


def check_tls(config: ServerConfig) -> TlsFiles | None:
    """The certificate and key, verified to be a matching pair; None without TLS."""
    if config.cert_file is None and config.key_file is None:
        return None
    if config.cert_file is None or config.key_file is None:
        raise InvalidInput("TLS needs both --cert-file and --key-file")
    cert = _read(config.cert_file, "--cert-file")
    key = _read(config.key_file, "--key-file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # With no password callback OpenSSL asks for a passphrase on the terminal (and
        # waits), or fails with "invalid argument" without one.
        context.load_cert_chain(config.cert_file, config.key_file, password=_no_passphrase)
    except _EncryptedKey:
        raise InvalidInput(
            f"--key-file {config.key_file} is encrypted (it needs a passphrase), which the "
            "server cannot ask for; give it an unencrypted key, e.g. "
            f"`openssl pkey -in {config.key_file} -out key.pem`"
        ) from None
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise InvalidInput(
                f"--key-file {config.key_file} does not match the certificate in --cert-file "
                f"{config.cert_file}"
            ) from None
        raise InvalidInput(
            f"--cert-file {config.cert_file} / --key-file {config.key_file} are not a usable "
            f"PEM certificate and private key: {exc.reason or exc}"
        ) from None
    return TlsFiles(cert, key)


class _EncryptedKey(Exception):
    pass


def _no_passphrase() -> bytes:
    raise _EncryptedKey


def _read(path: str, flag: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{flag} {path}: {exc.strerror or exc}") from None


def uvicorn_tls(config: ServerConfig) -> dict[str, Any]:
    """Extra ``uvicorn.Config`` arguments: HTTPS when TLS is configured."""
    if config.cert_file is None:
        return {}
    return {"ssl_certfile": config.cert_file, "ssl_keyfile": config.key_file}


def grpc_credentials(config: ServerConfig) -> Any:
    """``grpc.ssl_server_credentials`` for the configured pair; None: plaintext."""
    tls = check_tls(config)
    if tls is None:
        return None
    import grpc

    return grpc.ssl_server_credentials([(tls.key, tls.cert)])
