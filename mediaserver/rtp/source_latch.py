"""Whether RTP from a new address may take a stream over: latching that strangers cannot move.

RFC 7362 §4: a media server sends to the address the peer's packets come from ("latching",
"comedia"), since behind a NAT the SDP address is not where the peer can be reached; with
symmetric RTP (RFC 4961) that is where the peer receives too. RFC 7362 §5 warns what follows:
whoever sends to the port first, or last, gets the media (CVE-2017-14099, "RTP Bleed"). So a
new address has to behave like the peer before the stream moves to it:

- probation (RFC 3550 §A.1's MIN_SEQUENTIAL, for a new source): PROBATION_PACKETS valid
  packets in a row from the address, one SSRC, each sequence number one more than the last.
  Random junk, or packets with random headers, never get through it; a stranger who sends a
  proper stream does, which is why the next rule and not a longer probation guards a stream
  already latched. (Two packets: a peer behind a NAT loses only its first.)
- once a source has been latched, the candidate must also find it gone quiet: not one packet
  from it since the candidate's first, and for at least:
  - REBIND_QUIET_SECONDS when the candidate carries the source's own SSRC and continues its
    sequence numbers: the same sender seen through a new NAT binding. The SSRC is 32 random
    bits (RFC 3550 §8.1) that a stranger off the path cannot know, so the wait only has to
    span a few packet intervals, to tell a source that stopped from a late packet: 60 ms is
    three 20 ms packets. Counted from the new address's first packet, the stream moves about
    80 ms after the old address fell silent, and a rebinding phone is heard again within
    200 ms.
  - NEW_SOURCE_QUIET_SECONDS for anything else (another SSRC): a sender that is not the
    source must wait out a whole second of silence, so that short losses or a late burst from
    the peer never hand its stream to a stranger. A peer that stays silent for longer (no
    comfort noise, on hold) can still lose its stream to a stranger with a steady stream:
    it gets it back at once by sending from its SDP address (the SDP address always wins,
    see RtpSocket), but behind a NAT only once the stranger stops, or with an offer that
    names a new address.

Never while the current source is still sending: any packet from it resets the candidates.
Candidates are kept per address, so a stranger's stream cannot keep resetting a rebinding
peer's probation; there are at most MAX_CANDIDATES, and a full table makes room by dropping
the one heard from least recently, never one that carries the source's SSRC for one that
does not (a stranger off the path, however many addresses it sends from, cannot push the
rebinding peer out). Pure: addresses, numbers and `now` in, a yes or no out.
"""

from dataclasses import dataclass
from typing import Any

PROBATION_PACKETS = 2
REBIND_QUIET_SECONDS = 0.06
NEW_SOURCE_QUIET_SECONDS = 1.0
MAX_CANDIDATES = 8
_MAX_DROPOUT = 3000  # RFC 3550 §A.1: how far ahead a continuing sequence may jump

Address = tuple[Any, ...]
# The current source: (packets received from it, its SSRC, its highest sequence number).
Source = tuple[int, int, int]


@dataclass(slots=True)
class _Candidate:
    ssrc: int
    next_sequence: int
    packets: int
    since: float
    last_seen: float
    source_packets: int  # what the current source had sent when this candidate began
    rebinding: bool  # the source's own SSRC, continuing its sequence


class SourceLatch:
    def __init__(self) -> None:
        self._candidates: dict[Address, _Candidate] = {}

    def clear(self) -> None:
        self._candidates.clear()

    def takes_over(
        self, address: Address, ssrc: int, sequence_number: int, now: float, source: Source | None
    ) -> bool:
        """A valid RTP packet from `address`, which is not the current source: does the
        stream move to it? `source` is None while the stream has latched onto nothing."""
        source_packets = 0 if source is None else source[0]
        candidate = self._candidates.get(address)
        if (
            candidate is None
            or candidate.ssrc != ssrc
            or candidate.next_sequence != sequence_number
            or candidate.source_packets != source_packets
        ):
            self._start(address, ssrc, sequence_number, now, source)
            return False
        candidate.packets += 1
        candidate.next_sequence = (sequence_number + 1) & 0xFFFF
        candidate.last_seen = now
        if candidate.packets < PROBATION_PACKETS or now - candidate.since < _quiet(
            candidate, source
        ):
            return False
        self._candidates.clear()
        return True

    def _start(
        self, address: Address, ssrc: int, sequence_number: int, now: float, source: Source | None
    ) -> None:
        rebinding = source is not None and _continues(ssrc, sequence_number, source)
        full = address not in self._candidates and len(self._candidates) >= MAX_CANDIDATES
        if full and not self._make_room(rebinding):
            return
        source_packets = 0 if source is None else source[0]
        self._candidates[address] = _Candidate(
            ssrc, (sequence_number + 1) & 0xFFFF, 1, now, now, source_packets, rebinding
        )

    def _make_room(self, rebinding: bool) -> bool:
        """Drop the candidate heard from least recently, sparing rebinding ones for a
        newcomer; False when there is nothing the newcomer may replace."""
        replaceable = [
            (candidate.last_seen, address)
            for address, candidate in self._candidates.items()
            if rebinding or not candidate.rebinding
        ]
        if not replaceable:
            return False
        del self._candidates[min(replaceable)[1]]
        return True


def _continues(ssrc: int, sequence_number: int, source: Source) -> bool:
    _, source_ssrc, max_sequence = source
    return ssrc == source_ssrc and 0 < (sequence_number - max_sequence) & 0xFFFF < _MAX_DROPOUT


def _quiet(candidate: _Candidate, source: Source | None) -> float:
    if source is None:
        return 0.0  # nothing latched yet (comedia): probation alone decides
    return REBIND_QUIET_SECONDS if candidate.rebinding else NEW_SOURCE_QUIET_SECONDS
