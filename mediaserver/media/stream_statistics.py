"""What a stream has received and sent, as /metrics and the call record see it: a snapshot
per stream, and totals over every stream an engine has had (closed ones included, so an
attack or a broken NAT stays visible after its calls ended)."""

from collections.abc import Iterable
from dataclasses import dataclass

from mediaserver.media.stream import MediaStream


@dataclass(frozen=True, slots=True)
class StreamStatistics:
    packets_received: int  # valid RTP from the latched source, handed on
    packets_sent: int
    packets_lost: int  # RFC 3550 §A.3: expected minus received, negative with duplicates
    dropped_foreign: int  # RTP and RTCP from an address that is not the peer's
    dropped_invalid: int  # not RTP/RTCP for this stream (§A.1, §A.2), or out of sequence
    source_changes: int  # the stream latched onto a new source address (NAT rebinding)
    jitter_ms: float  # the mean of §A.8's interarrival jitter estimate


def stream_statistics(stream: MediaStream) -> StreamStatistics:
    rtp = stream.rtp
    received = rtp.receive_statistics
    return StreamStatistics(
        packets_received=rtp.packets_received,
        packets_sent=rtp.packets_sent,
        packets_lost=received.packets_lost,
        dropped_foreign=rtp.dropped_foreign,
        dropped_invalid=rtp.dropped_invalid + stream.rtcp_invalid,
        source_changes=rtp.source_changes,
        jitter_ms=1000 * received.mean_jitter / received.clock_rate,
    )


@dataclass(frozen=True, slots=True)
class EngineStatistics:
    streams: int
    webrtc_streams: int  # ICE-lite and DTLS-SRTP in front of their RTP
    relay_streams: int
    batch_streams: int
    transcoding_streams: int  # connected to a peer of another codec
    bound_ports: int
    open_sockets: int
    conferences: int
    players: int
    recorders: int
    dtmf_detectors: int
    timers: int
    buffered_bytes: int
    # The media clock since start: ticks that ran late (caught up in a burst) or were skipped
    # after a long stall; either one is audio a far jitter buffer may have had to conceal.
    late_ticks: int
    skipped_ticks: int
    # RTP totals over every stream the engine has had, closed ones included.
    rtp_packets_received: int
    rtp_packets_sent: int
    rtp_packets_lost: int
    rtp_dropped_foreign: int
    rtp_dropped_invalid: int
    rtp_source_changes: int

    def is_idle(self) -> bool:
        """True when nothing is left open: the leak check after a call or a test."""
        return all(value == 0 for value in (
            self.streams, self.bound_ports, self.open_sockets, self.conferences,
            self.players, self.recorders, self.dtmf_detectors, self.timers, self.buffered_bytes,
        ))  # fmt: skip


class RtpTotals:
    """The counters of StreamStatistics summed; the jitter is not a count and stays out."""

    NAMES = (
        "packets_received", "packets_sent", "packets_lost", "dropped_foreign",
        "dropped_invalid", "source_changes",
    )  # fmt: skip

    def __init__(self) -> None:
        self._closed = dict.fromkeys(self.NAMES, 0)

    def add_closed(self, final: StreamStatistics) -> None:
        for name in self.NAMES:
            self._closed[name] += getattr(final, name)

    def totals(self, live: Iterable[StreamStatistics]) -> dict[str, int]:
        totals = dict(self._closed)
        for current in live:
            for name in self.NAMES:
                totals[name] += getattr(current, name)
        return totals
