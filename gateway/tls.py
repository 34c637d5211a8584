"""TLS for the HTTPS listener: the operator's certificate and key, or a self-signed
certificate made with `cryptography` on first start and kept under ``var/tls/`` so that a
client that accepted it once keeps trusting it across restarts.
"""
from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.config import Config, ConfigError

SELF_SIGNED_DIR = "tls"
CERT_NAME = "easgate-cert.pem"
KEY_NAME = "easgate-key.pem"
VALID_DAYS = 825  # the longest validity Apple's clients accept for a TLS server certificate


def server_context(config: Config) -> ssl.SSLContext:
    """A server SSLContext from the configured pair, or the self-signed one."""
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("tls_cert and tls_key go together: give both or neither")
    if config.tls_cert is not None and config.tls_key is not None:
        cert, key = config.tls_cert, config.tls_key
    else:
        cert, key = ensure_self_signed(config.var_dir / SELF_SIGNED_DIR,
                                       _names(config))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate {cert}: {exc}") from None
    return context


def ensure_self_signed(directory: Path, names: list[str]) -> tuple[Path, Path]:
    """The certificate and key files in ``directory``, made once when missing."""
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())  # fast to make, accepted by every client
    cert = _self_signed(key, names)
    _write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _self_signed(key: ec.EllipticCurvePrivateKey, names: list[str]) -> x509.Certificate:
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "easgate (self-signed)"),
    ])
    now = _dt.datetime.now(_dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_san(name) for name in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(key, hashes.SHA256())
    )


def _names(config: Config) -> list[str]:
    names = ["localhost", "127.0.0.1"]
    if config.https is not None and config.https.host not in ("", "0.0.0.0", "::"):
        names.insert(0, config.https.host)
    return list(dict.fromkeys(names))


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
