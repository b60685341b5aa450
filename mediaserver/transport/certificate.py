"""The TLS certificate and key a WSS listener presents, and the self-signed pair made when the
configuration names none (so that `make run` serves browsers over WSS out of the box).

The pair is written once and reused on later starts: a browser told to trust it keeps trusting
it. It is made with `cryptography`, which aiortc already brings in.
"""

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SELF_SIGNED_DAYS = 825  # the longest lifetime Apple platforms accept for a server certificate
SELF_SIGNED_NAME = "mediaserver self-signed"
SELF_SIGNED_HOSTS = ("localhost",)
SELF_SIGNED_ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files: the certificate (chain) and its private key."""

    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context with the standard library's secure defaults (TLS 1.2+)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate, self.key)
        return context


def self_signed(directory: Path, now: float) -> tuple[TlsFiles, bool]:
    """The pair under `directory`, made first if it is not there; True when it was made now."""
    files = TlsFiles(directory / "certificate.pem", directory / "key.pem")
    if files.certificate.exists() and files.key.exists():
        return files, False
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    _write_private(files.key, _key_pem(key))
    files.certificate.write_bytes(_certificate(key, now).public_bytes(serialization.Encoding.PEM))
    return files, True


def _certificate(key: ec.EllipticCurvePrivateKey, now: float) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SELF_SIGNED_NAME)])
    start = datetime.datetime.fromtimestamp(now, datetime.UTC) - datetime.timedelta(minutes=5)
    names: list[x509.GeneralName] = [x509.DNSName(host) for host in SELF_SIGNED_HOSTS]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in SELF_SIGNED_ADDRESSES]
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=SELF_SIGNED_DAYS))
        # RFC 5280 §4.2.1.6: browsers match the host against subjectAltName only.
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    """Readable by the server's user only, from the moment the file exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
