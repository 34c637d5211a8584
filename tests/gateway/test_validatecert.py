"""ValidateCert with real certificates made by `cryptography`: self-signed, CA-issued,
expired, not for mail, unreadable, and a chain with a missing link."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from commandhelp import run
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from synchelp import START, Harness

from protocol.xml import E, children, text


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


def certificate(name, *, issuer=None, issuer_key=None, days=(-10, 365), ca=False, eku=None):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.subject if issuer else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(START + timedelta(days=days[0]))
               .not_valid_after(START + timedelta(days=days[1]))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert, key


def der64(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


async def statuses(env, certificates, chain=()):
    root = E("ValidateCert:ValidateCert",
             E("ValidateCert:Certificates", *[E("ValidateCert:Certificate", c)
                                              for c in certificates]))
    if chain:
        root.append(E("ValidateCert:CertificateChain",
                      *[E("ValidateCert:Certificate", c) for c in chain]))
    answer = await run(await env.client(), "ValidateCert", root)
    assert text(answer.document, "ValidateCert:Status") == "1"
    return [text(c, "ValidateCert:Status")
            for c in children(answer.document, "ValidateCert:Certificate")]


async def test_each_failure_has_its_status(env):
    assert datetime.now(UTC) > START  # the gateway clock, not the machine's, decides
    ca, ca_key = certificate("Lab CA", ca=True)
    leaf, _ = certificate("alice@contoso.com", issuer=ca, issuer_key=ca_key,
                          eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION])
    self_signed, _ = certificate("self")
    expired, _ = certificate("old", days=(-400, -1))
    server_only, _ = certificate("www", eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    assert await statuses(env, [der64(self_signed), der64(expired), der64(server_only),
                                base64.b64encode(b"not a certificate").decode()]) == \
        ["4", "7", "6", "10"]
    assert await statuses(env, [der64(leaf)], chain=[der64(ca)]) == ["4"]
    assert await statuses(env, [der64(leaf)]) == ["5"]
