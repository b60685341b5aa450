"""In-band digits crossing a bridge as RFC 4733 events that follow the tone.

A stream without telephone-event whose peer negotiated it has its in-band digits detected on
the batch path; the peer then sends each digit as one event that lasts as long as the key is
held (RFC 4733 §2.5.1.2): the first packet on the tick the detector confirms the digit, an
update on every tick while the detector holds it, the final packet three times on the tick
it lets go (§2.5.1.4). The far receiver thus sees roughly the tone's own duration: the event
starts about 40 ms into the tone (two windows to confirm) and ends about as long after it
(four windows without the digit bridge a Q.24 break of 10 ms).
"""

from dataclasses import dataclass

from mediaserver.media.stream import MediaStream
from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.telephone_event import TelephoneEventInProgress

# Per detecting stream with a digit held now: its peer, and the digit.
HeldDigits = dict[int, tuple[MediaStream, str]]


@dataclass(slots=True)
class _Sending:
    peer: MediaStream
    event: TelephoneEventInProgress


class InbandEvents:
    def __init__(self) -> None:
        self._sending: dict[int, _Sending] = {}  # by the detecting stream's id

    def follow(self, held: HeldDigits) -> None:
        """One tick: end the events whose digit was let go (or changed, or whose stream
        stopped detecting or changed peer), start or update the others."""
        for stream_id, sending in list(self._sending.items()):
            if held.get(stream_id) != (sending.peer, sending.event.digit):
                del self._sending[stream_id]
                _queue(sending.peer, sending.event.end())
        for stream_id, (peer, digit) in held.items():
            if stream_id not in self._sending:
                self._sending[stream_id] = _Sending(peer, _start(peer, digit))
            _queue(peer, [self._sending[stream_id].event.update()])

    def forget(self, stream_id: int) -> None:
        """The stream left the batch path: nothing more is sent for it."""
        self._sending.pop(stream_id, None)


def _start(peer: MediaStream, digit: str) -> TelephoneEventInProgress:
    event_type = peer.format.telephone_event_pt
    assert event_type is not None
    # §2.2.1: every packet of the event carries the timestamp of its start, here the tick
    # that recognised it (§2.5.1.2: sending starts as soon as the event is recognised).
    return TelephoneEventInProgress(
        digit, peer.sender.timestamp, peer.format.samples_per_packet, event_type
    )


def _queue(peer: MediaStream, packets: list[RtpPacket]) -> None:
    """Into the outbox the tick sends from, one packet a tick, instead of audio."""
    peer.dtmf_outbox.extend((p.payload, p.marker, p.timestamp) for p in packets)
