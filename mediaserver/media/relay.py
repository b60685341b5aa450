"""The relay fast path: same codec both ways, nothing tapping the audio.

Each packet is forwarded inside datagram_received (which hands over the sequence number and
timestamp it unpacked for its checks): copied once into a bytearray, its
sequence number, timestamp and SSRC rewritten in place (RFC 3550 §5.1 fields at offsets 2, 4
and 8; CSRCs, extensions and payload untouched) and sent from the target stream's own socket
(symmetric RTP, RFC 4961). No parsing into objects, no decode, no queue.

Sequence numbers and timestamps are shifted by a constant offset fixed at the first
forwarded packet, so the target's numbering continues where the batch path left it, and
reordering and loss in the input stay visible to the far side's jitter buffer (RFC 3550
§A.1). Payload types are mapped when the two sides negotiated different dynamic numbers for
the same codec or for telephone-event (RFC 4733 events are relayed like audio).
"""

import struct

from mediaserver.media.rtp_socket import Address, RtpSocket
from mediaserver.media.stream import MediaStream

_SEQUENCE_TIMESTAMP = struct.Struct("!HI")
_SEQUENCE_TIMESTAMP_SSRC = struct.Struct("!HII")
_unpack_from = _SEQUENCE_TIMESTAMP.unpack_from
_pack_into = _SEQUENCE_TIMESTAMP_SSRC.pack_into


class RelayDirection:
    """Forwards the packets that `source` receives out of `target`'s socket."""

    __slots__ = (
        "_payload_type_table",
        "_sequence_offset",
        "_ssrc",
        "_started",
        "_target",
        "_target_socket",
        "_timestamp_offset",
        "last_sequence_number",
        "last_timestamp",
    )

    def __init__(self, source: MediaStream, target: MediaStream) -> None:
        self._target = target
        self._target_socket: RtpSocket = target.rtp
        self._ssrc = target.sender.ssrc
        self._payload_type_table = _payload_type_table(source, target)
        self._started = False
        self._sequence_offset = 0
        self._timestamp_offset = 0
        self.last_sequence_number = 0
        self.last_timestamp = 0

    def forward(self, data: bytes, addr: Address) -> None:
        """A PacketHandler's view of `relay`, for a packet whose numbers are not at hand."""
        sequence_number, timestamp = _unpack_from(data, 2)
        self.relay(data, sequence_number, timestamp)

    def relay(self, data: bytes, sequence_number: int, timestamp: int) -> None:
        """The per-packet hot path: the source socket's RelayHandler, called from its
        datagram_received with the numbers it unpacked."""
        packet = bytearray(data)
        if not self._started:
            self._start(sequence_number, timestamp)
        sequence_number = (sequence_number + self._sequence_offset) & 0xFFFF
        timestamp = (timestamp + self._timestamp_offset) & 0xFFFFFFFF
        _pack_into(packet, 2, sequence_number, timestamp, self._ssrc)
        if self._payload_type_table is not None:
            packet[1] = self._payload_type_table[packet[1]]
        self.last_sequence_number = sequence_number
        self.last_timestamp = timestamp
        self._target_socket.send(packet)

    def stop(self) -> None:
        """Hand the numbering back to the target's sender, one packet past the last relayed."""
        if not self._started:
            return
        sender = self._target.sender
        sender.sequence_number = (self.last_sequence_number + 1) & 0xFFFF
        sender.timestamp = (
            self.last_timestamp + self._target.format.samples_per_packet
        ) & 0xFFFFFFFF

    def _start(self, sequence_number: int, timestamp: int) -> None:
        sender = self._target.sender
        self._sequence_offset = sender.sequence_number - sequence_number
        self._timestamp_offset = sender.timestamp - timestamp
        self._started = True


def _payload_type_table(source: MediaStream, target: MediaStream) -> bytes | None:
    """A 256-entry translation of the second header octet (marker bit kept), or None."""
    mapping = {source.format.payload_type: target.format.payload_type}
    source_event, target_event = source.format.telephone_event_pt, target.format.telephone_event_pt
    if source_event is not None and target_event is not None:
        mapping[source_event] = target_event
    if all(key == value for key, value in mapping.items()):
        return None
    table = bytearray(range(256))
    for source_type, target_type in mapping.items():
        table[source_type] = target_type
        table[source_type | 0x80] = target_type | 0x80
    return bytes(table)
