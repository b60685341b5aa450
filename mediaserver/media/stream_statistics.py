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
