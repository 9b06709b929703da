"""`nerve serve --cert-file --key-file`: HTTPS and gRPC over TLS with a self-signed
certificate made here; a key that does not match its certificate is one clear error."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nerve.engine.core import Engine
from nerve.server.proto import token_classification_pb2 as tc
from nerve.server.proto import token_classification_pb2_grpc as tc_grpc

from .procs import free_port

crypto = pytest.importorskip("cryptography")
grpc = pytest.importorskip("grpc")

TEXT = "Mozilla is headquartered in San Francisco, CA"


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def serve_command(model_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "nerve.cli.main", "serve", "--model", str(model_dir), *args]


def test_https_and_grpc_over_tls(model_dir: Path, engine: Engine, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "server")
    http_port, grpc_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    command = serve_command(
        model_dir,
        "--http-port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
        "--cert-file",
        str(cert),
        "--key-file",
        str(key),
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"https://127.0.0.1:{http_port}"
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/health", verify=trust, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        # Plain HTTP on the TLS port is not served.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{http_port}/health", timeout=5)
        body = httpx.post(url + "/predict", json={"inputs": [TEXT]}, verify=trust).json()
        want = [
            e.label for e in engine(TEXT, aggregation_strategy="none", ignore_labels=[]).entities
        ]
        assert [t["label"] for t in body["results"][0]["tokens"]] == want

        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{grpc_port}", credentials) as channel:
            reply = tc_grpc.TokenClassificationInferenceStub(channel).Predict(
                tc.TokenClassificationRequest(inputs=[TEXT]), timeout=30
            )
        assert [t.label for t in reply.results[0].tokens] == want
        plain = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")  # plaintext: refused
        with plain, pytest.raises(grpc.RpcError):
            tc_grpc.TokenClassificationInferenceStub(plain).Predict(
                tc.TokenClassificationRequest(inputs=[TEXT]), timeout=10
            )
        assert "HTTP on https://" in log.read_text() and "gRPC (TLS)" in log.read_text()
        # gRPC's C core logged the plaintext client's failed handshake as a raw INFO line,
        # whatever --log-level said.
        assert "ssl_transport_security" not in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("mismatch", "does not match the certificate in --cert-file"),
        ("missing", "No such file or directory"),
        ("half", "TLS needs both --cert-file and --key-file"),
        ("garbage", "are not a usable PEM certificate and private key"),
        # OpenSSL asked for a passphrase on the terminal and waited, or said "invalid argument".
        ("encrypted", "is encrypted (it needs a passphrase)"),
    ],
)
def test_bad_tls_files_are_one_clear_error(
    model_dir: Path, tmp_path: Path, which: str, message: str
) -> None:
    cert, _ = self_signed(tmp_path, "a")
    _, other_key = self_signed(tmp_path, "b")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not pem")
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(_encrypted(tmp_path / "a.key"))
    args = {
        "mismatch": ["--cert-file", str(cert), "--key-file", str(other_key)],
        "missing": ["--cert-file", str(tmp_path / "none.crt"), "--key-file", str(other_key)],
        "half": ["--cert-file", str(cert)],
        "garbage": ["--cert-file", str(garbage), "--key-file", str(garbage)],
        "encrypted": ["--cert-file", str(cert), "--key-file", str(encrypted)],
    }[which]
    done = subprocess.run(
        serve_command(model_dir, "--http-port", str(free_port()), *args),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def _encrypted(key_path: Path) -> bytes:
    """``key_path``'s key under a passphrase."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
