"""STUN messages (RFC 8489) as ICE connectivity checks use them (RFC 8445 §7).

Only what a Binding transaction with short-term credentials needs: the header, attributes as
type-length-value, MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT (CRC-32). STUN shares the
RTP port with DTLS and SRTP; RFC 7983 §7 tells them apart by the first octet (0-3 for STUN).
"""

import hashlib
import hmac
import ipaddress
import struct
import zlib
from dataclasses import dataclass

MAGIC_COOKIE = 0x2112A442  # RFC 8489 §5
HEADER_SIZE = 20
BINDING_REQUEST = 0x0001
BINDING_SUCCESS_RESPONSE = 0x0101
# RFC 8489 §18.2 and RFC 8445 §16.1 attribute types.
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
XOR_MAPPED_ADDRESS = 0x0020
PRIORITY = 0x0024
USE_CANDIDATE = 0x0025
FINGERPRINT = 0x8028
ICE_CONTROLLED = 0x8029
ICE_CONTROLLING = 0x802A
FINGERPRINT_XOR = 0x5354554E  # RFC 8489 §14.7: "STUN" in ASCII
_INTEGRITY_SIZE = 4 + 20  # attribute header + HMAC-SHA1
_FINGERPRINT_SIZE = 4 + 4
_HEADER = struct.Struct("!HHI12s")
_ATTRIBUTE_HEADER = struct.Struct("!HH")


class StunParseError(ValueError):
    """Not a well-formed STUN message."""


@dataclass(frozen=True, slots=True)
class StunMessage:
    message_type: int
    transaction_id: bytes
    attributes: tuple[tuple[int, bytes], ...]
    # The message's bytes before MESSAGE-INTEGRITY (what the HMAC covers, §14.5), if it has one.
    signed_part: bytes = b""

    def attribute(self, attribute_type: int) -> bytes | None:
        return next((value for kind, value in self.attributes if kind == attribute_type), None)

    def has_attribute(self, attribute_type: int) -> bool:
        return self.attribute(attribute_type) is not None

    @classmethod
    def parse(cls, data: bytes) -> "StunMessage":
        """§5 and §14: the header, then attributes padded to 4 octets."""
        if len(data) < HEADER_SIZE or data[0] > 3:
            raise StunParseError("too short, or not STUN (RFC 7983 §7)")
        message_type, length, cookie, transaction_id = _HEADER.unpack_from(data)
        if cookie != MAGIC_COOKIE or length % 4 or HEADER_SIZE + length != len(data):
            raise StunParseError("bad magic cookie or length")
        attributes: list[tuple[int, bytes]] = []
        signed_part = b""
        offset = HEADER_SIZE
        while offset < len(data):
            if offset + 4 > len(data):
                raise StunParseError("truncated attribute header")
            kind, size = _ATTRIBUTE_HEADER.unpack_from(data, offset)
            value = data[offset + 4 : offset + 4 + size]
            if len(value) != size:
                raise StunParseError("truncated attribute")
            if kind == MESSAGE_INTEGRITY:
                signed_part = data[:offset]
            attributes.append((kind, value))
            offset += 4 + size + (-size % 4)
        return cls(message_type, transaction_id, tuple(attributes), signed_part)

    def integrity_matches(self, key: bytes) -> bool:
        """§14.5: the HMAC over the message up to MESSAGE-INTEGRITY, whose length field
        counts up to and including that attribute."""
        received = self.attribute(MESSAGE_INTEGRITY)
        if received is None or not self.signed_part:
            return False
        length = len(self.signed_part) - HEADER_SIZE + _INTEGRITY_SIZE
        signed = self.signed_part[:2] + struct.pack("!H", length) + self.signed_part[4:]
        expected = hmac.new(key, signed, hashlib.sha1).digest()
        return hmac.compare_digest(expected, received)


def binding_success(request: StunMessage, source: tuple[str, int], key: bytes) -> bytes:
    """RFC 8445 §7.3.1.1: the success response to a check, XOR-MAPPED-ADDRESS telling the
    checker its address as seen here, signed with our password and fingerprinted."""
    body = _attribute(XOR_MAPPED_ADDRESS, xor_mapped_address(source, request.transaction_id))
    return serialize(BINDING_SUCCESS_RESPONSE, request.transaction_id, body, key)


def serialize(message_type: int, transaction_id: bytes, body: bytes, key: bytes) -> bytes:
    """The message with MESSAGE-INTEGRITY (§14.5) and FINGERPRINT (§14.7) appended."""
    length = len(body) + _INTEGRITY_SIZE
    header = _HEADER.pack(message_type, length, MAGIC_COOKIE, transaction_id)
    integrity = hmac.new(key, header + body, hashlib.sha1).digest()
    message = header + body + _attribute(MESSAGE_INTEGRITY, integrity)
    length += _FINGERPRINT_SIZE
    message = message[:2] + struct.pack("!H", length) + message[4:]
    crc = (zlib.crc32(message) ^ FINGERPRINT_XOR) & 0xFFFFFFFF
    return message + _attribute(FINGERPRINT, struct.pack("!I", crc))


def fingerprint_matches(data: bytes) -> bool:
    """§14.7: the last attribute is FINGERPRINT and its CRC-32 covers everything before."""
    if len(data) < HEADER_SIZE + _FINGERPRINT_SIZE:
        return False
    kind, size = _ATTRIBUTE_HEADER.unpack_from(data, len(data) - _FINGERPRINT_SIZE)
    if (kind, size) != (FINGERPRINT, 4):
        return False
    received: int = struct.unpack_from("!I", data, len(data) - 4)[0]
    return received == (zlib.crc32(data[:-_FINGERPRINT_SIZE]) ^ FINGERPRINT_XOR) & 0xFFFFFFFF


def xor_mapped_address(address: tuple[str, int], transaction_id: bytes) -> bytes:
    """§14.2: the port XORed with the cookie's top half, the address with cookie (+ ID)."""
    host, port = address[0], address[1]
    packed = ipaddress.ip_address(host).packed
    family = 0x01 if len(packed) == 4 else 0x02
    mask = struct.pack("!I", MAGIC_COOKIE) + transaction_id
    xored = bytes(a ^ b for a, b in zip(packed, mask, strict=False))
    return struct.pack("!BBH", 0, family, port ^ (MAGIC_COOKIE >> 16)) + xored


def _attribute(kind: int, value: bytes) -> bytes:
    return _ATTRIBUTE_HEADER.pack(kind, len(value)) + value + bytes(-len(value) % 4)
