"""ValidateCert (MS-ASCMD 2.2.1.22): is this S/MIME certificate good to use?

Each ``Certificate`` (base64 DER) is parsed with `cryptography` and checked, in this order,
each failure answered by its own status (MS-ASCMD 2.2.3.177.17):
- not a certificate we can read: 10 (information missing or incorrect);
- outside its validity period at the gateway clock's now: 7 (expired or not yet valid);
- a key usage that excludes signing, or an extended key usage without e-mail protection: 6;
- a chain (through the request's ``CertificateChain``) whose signatures do not verify: 3;
- a chain that ends at a certificate this machine does not trust — which is every
  self-signed certificate of a test lab: 4 (untrusted source); a chain with a missing link:
  5 (chain not formed correctly);
- otherwise 1. The trusted roots are the system's CA bundle. Revocation (``CheckCRL``) is
  not checked: the gateway makes no outbound connections.
"""
from __future__ import annotations

import base64
import binascii
import warnings
from datetime import datetime
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.commands.base import CommandContext, CommandResult
from gateway.errors import CommandFailure
from protocol.status import GlobalStatus
from protocol.xml import E, child, children, sub

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
VALID, BAD_SIGNATURE, UNTRUSTED, BROKEN_CHAIN = 1, 3, 4, 5
NOT_FOR_SIGNING, EXPIRED, UNREADABLE = 6, 7, 10
MAX_CHAIN = 10


async def handle(ctx: CommandContext) -> CommandResult:
    container = child(ctx.document, "ValidateCert:Certificates") \
        if ctx.document is not None else None
    if container is None or not len(container):
        raise CommandFailure(GlobalStatus.INVALID_XML, "no Certificates")
    chain_element = child(ctx.document, "ValidateCert:CertificateChain")
    chain = [c for c in map(_load, _texts(chain_element)) if c is not None]
    now = ctx.services.clock.now()
    root = E("ValidateCert:ValidateCert", E("ValidateCert:Status", 1))
    for value in _texts(container):
        answer = sub(root, "ValidateCert:Certificate")
        sub(answer, "ValidateCert:Status", validate(value, chain, now))
    return CommandResult(root)


def _texts(container) -> list[str]:
    if container is None:
        return []
    return [c.text or "" for c in children(container, "ValidateCert:Certificate")]


def _load(value: str) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(base64.b64decode(value, validate=False))
    except (ValueError, binascii.Error):
        return None


def validate(value: str, chain: list[x509.Certificate], now: datetime) -> int:
    certificate = _load(value)
    if certificate is None:
        return UNREADABLE
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        return EXPIRED
    if not _may_sign_mail(certificate):
        return NOT_FOR_SIGNING
    return _chain_status(certificate, chain)


def _may_sign_mail(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.digital_signature or usage.content_commitment):
            return False
    except x509.ExtensionNotFound:
        pass
    try:
        extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        return ExtendedKeyUsageOID.EMAIL_PROTECTION in extended or \
            ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in extended
    except x509.ExtensionNotFound:
        return True


def _chain_status(certificate: x509.Certificate, chain: list[x509.Certificate]) -> int:
    trusted = trusted_roots()
    current = certificate
    for _ in range(MAX_CHAIN):
        if _fingerprint(current) in trusted:
            return VALID
        issuer = _issuer_of(current, chain, trusted)
        if issuer is None:
            return UNTRUSTED if current.issuer == current.subject else BROKEN_CHAIN
        try:
            current.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError):
            return BAD_SIGNATURE
        if issuer is current:
            return UNTRUSTED  # self-signed, and not among the trusted roots
        current = issuer
    return BROKEN_CHAIN


def _issuer_of(certificate: x509.Certificate, chain: list[x509.Certificate],
               trusted: dict[bytes, x509.Certificate]) -> x509.Certificate | None:
    for candidate in (*chain, *trusted.values()):
        if candidate.subject == certificate.issuer and candidate is not certificate:
            return candidate
    if certificate.issuer == certificate.subject:
        return certificate
    return None


def _fingerprint(certificate: x509.Certificate) -> bytes:
    return certificate.fingerprint(hashes.SHA256())


@cache
def trusted_roots() -> dict[bytes, x509.Certificate]:
    """The system's CA bundle, read once (empty when the machine has none)."""
    try:
        with warnings.catch_warnings():
            # Some distribution bundles hold an old root with a non-positive serial number.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            roots = x509.load_pem_x509_certificates(SYSTEM_BUNDLE.read_bytes())
    except (OSError, ValueError):
        return {}
    return {_fingerprint(root): root for root in roots}
