"""DTLS-SRTP (RFC 5763, RFC 5764) for one media stream, without I/O: datagrams in, datagrams
out, and the SRTP sessions the handshake keys.

OpenSSL (pyOpenSSL) runs the handshake on memory buffers; the socket is the stream's own,
owned by the WebRTC transport. The peer's certificate is self-signed, so it is trusted only
when it matches the a=fingerprint its SDP carried (RFC 8122 §5; the SDP came over the
signalling channel the peer authenticated on). The keys come out of the handshake (RFC 5764
§4.2) into libsrtp (pylibsrtp), which protects and unprotects every packet afterwards.
"""

import datetime
import enum
import secrets
from dataclasses import dataclass

import pylibsrtp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from OpenSSL import SSL

HASHES = {"sha-256": hashes.SHA256(), "sha-384": hashes.SHA384(), "sha-512": hashes.SHA512()}
CERTIFICATE_LIFETIME = datetime.timedelta(days=30)
_RECORD_SIZE = 1500


@dataclass(frozen=True, slots=True)
class SrtpProfile:
    """RFC 5764 §4.1.2 (and RFC 7714 §14.2): a protection profile and its key sizes."""

    openssl_name: bytes
    libsrtp_profile: int
    key_length: int
    salt_length: int


# Our preference order; browsers offer both.
SRTP_PROFILES = (
    SrtpProfile(b"SRTP_AEAD_AES_128_GCM", pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12),
    SrtpProfile(b"SRTP_AES128_CM_SHA1_80", pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
)


class DtlsRole(enum.Enum):
    """RFC 5763 §5: a=setup:active is the DTLS client, passive the server."""

    CLIENT = "active"
    SERVER = "passive"


class DtlsState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    CLOSED = "closed"


class DtlsCertificate:
    """One self-signed ECDSA certificate for every stream of the process (as browsers keep
    one per peer connection): generating a key per call would cost each call milliseconds."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, secrets.token_hex(8))])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + CERTIFICATE_LIFETIME)
            .sign(self.key, hashes.SHA256())
        )

    def fingerprint(self, algorithm: str = "sha-256") -> str:
        return fingerprint_of(self.certificate, algorithm)

    def context(self) -> SSL.Context:
        context = SSL.Context(SSL.DTLS_METHOD)
        context.set_options(SSL.OP_NO_TICKET)
        # Any certificate passes OpenSSL; the fingerprint decides (RFC 8122 §5).
        context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, _accept_any)
        context.use_certificate(self.certificate)
        context.use_privatekey(self.key)
        context.set_tlsext_use_srtp(b":".join(p.openssl_name for p in SRTP_PROFILES))
        return context


def fingerprint_of(certificate: x509.Certificate, algorithm: str) -> str:
    """RFC 8122 §5: upper-case hex pairs joined by colons."""
    digest = certificate.fingerprint(HASHES[algorithm]).hex().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


class DtlsSrtpSession:
    def __init__(
        self, certificate: DtlsCertificate, role: DtlsRole, remote_fingerprint: tuple[str, str]
    ) -> None:
        self.role = role
        self.state = DtlsState.CONNECTING
        self.failure = ""
        self._remote_fingerprint = remote_fingerprint
        self._ssl = SSL.Connection(certificate.context(), None)
        if role is DtlsRole.SERVER:
            self._ssl.set_accept_state()
        else:
            self._ssl.set_connect_state()
        self._inbound: pylibsrtp.Session | None = None
        self._outbound: pylibsrtp.Session | None = None
        self.unprotect_failures = 0

    def start(self) -> list[bytes]:
        """The first flight: a client's ClientHello; nothing for a server."""
        return self._handshake() if self.role is DtlsRole.CLIENT else []

    def receive(self, data: bytes) -> list[bytes]:
        """A DTLS record from the peer; what to send back."""
        self._ssl.bio_write(data)
        if self.state is DtlsState.CONNECTING:
            return self._handshake()
        try:
            self._ssl.recv(_RECORD_SIZE)
        except SSL.ZeroReturnError:
            self.state = DtlsState.CLOSED  # close_notify: the peer closed its connection
        except SSL.Error:
            pass  # WebRTC carries no application data here (no data channel)
        return self._outgoing()

    def timeout(self) -> float | None:
        """Seconds until a handshake flight is due again (RFC 6347 §4.2.4), or None."""
        if self.state is not DtlsState.CONNECTING:
            return None
        return self._ssl.DTLSv1_get_timeout()

    def handle_timeout(self) -> list[bytes]:
        self._ssl.DTLSv1_handle_timeout()
        return self._outgoing()

    def protect(self, packet: bytes) -> bytes:
        assert self._outbound is not None
        return self._outbound.protect(packet)

    def protect_rtcp(self, packet: bytes) -> bytes:
        assert self._outbound is not None
        return self._outbound.protect_rtcp(packet)

    def unprotect(self, packet: bytes, rtcp: bool) -> bytes | None:
        """The plain packet, or None when it fails authentication or replays (RFC 3711 §3.3)."""
        if self._inbound is None:
            return None
        try:
            if rtcp:
                return self._inbound.unprotect_rtcp(packet)
            return self._inbound.unprotect(packet)
        except pylibsrtp.Error:
            self.unprotect_failures += 1
            return None

    def _handshake(self) -> list[bytes]:
        try:
            self._ssl.do_handshake()
        except SSL.WantReadError:
            return self._outgoing()
        except SSL.Error as error:
            self._fail(f"DTLS handshake: {error}")
            return self._outgoing()
        self._connected()
        return self._outgoing()

    def _connected(self) -> None:
        certificate = self._ssl.get_peer_certificate(as_cryptography=True)
        algorithm, expected = self._remote_fingerprint
        if certificate is None or algorithm not in HASHES:
            self._fail("no peer certificate, or a fingerprint hash we do not know")
            return
        if fingerprint_of(certificate, algorithm) != expected.upper():
            self._fail("the peer's certificate does not match its SDP fingerprint")
            return
        profile = self._selected_profile()
        if profile is None:
            self._fail("no SRTP protection profile negotiated (RFC 5764 §4.1.1)")
            return
        self._key(profile)
        self.state = DtlsState.CONNECTED

    def _selected_profile(self) -> SrtpProfile | None:
        selected = self._ssl.get_selected_srtp_profile()
        return next((p for p in SRTP_PROFILES if p.openssl_name == selected), None)

    def _key(self, profile: SrtpProfile) -> None:
        """RFC 5764 §4.2: client key, server key, client salt, server salt."""
        key, salt = profile.key_length, profile.salt_length
        material = self._ssl.export_keying_material(b"EXTRACTOR-dtls_srtp", 2 * (key + salt))
        client = material[:key] + material[2 * key : 2 * key + salt]
        server = material[key : 2 * key] + material[2 * key + salt :]
        local, remote = (client, server) if self.role is DtlsRole.CLIENT else (server, client)
        self._outbound = pylibsrtp.Session(
            _policy(local, profile, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        )
        self._inbound = pylibsrtp.Session(
            _policy(remote, profile, pylibsrtp.Policy.SSRC_ANY_INBOUND)
        )

    def _fail(self, reason: str) -> None:
        self.state = DtlsState.FAILED
        self.failure = reason

    def _outgoing(self) -> list[bytes]:
        datagrams: list[bytes] = []
        while True:
            try:
                datagrams.append(self._ssl.bio_read(_RECORD_SIZE))
            except SSL.Error:
                return datagrams


def _policy(key: bytes, profile: SrtpProfile, ssrc_type: int) -> pylibsrtp.Policy:
    policy = pylibsrtp.Policy(key=key, ssrc_type=ssrc_type, srtp_profile=profile.libsrtp_profile)
    # RFC 3711 §3.3.2: a replay window wide enough for a browser's retransmissions.
    policy.window_size = 1024
    policy.allow_repeat_tx = True
    return policy


def _accept_any(*_: object) -> bool:
    return True
