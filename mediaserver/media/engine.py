"""The media engine's command API: the only way the call layer touches media.

Commands: open_stream, set_remote, connect/disconnect, play, record, detect_dtmf, send_dtmf,
mix (conferences), close_stream, statistics and stream_statistics. The call layer never
chooses a media path: after every command the engine puts each affected stream on the relay
fast path (connected to a stream of the same codec, nothing attached) or on the batch path
(anything else), or leaves it idle. Keeping the API this narrow is what lets media move to
worker processes later.

The engine runs no tasks of its own: packets arrive through datagram callbacks and the batch
path runs on one timer chain (ticker.py), so statistics() counts timers, not tasks.
"""

import asyncio
import itertools
import logging

from mediaserver.clock import Clock
from mediaserver.config import RtpConfig
from mediaserver.media.batch import BatchProcessor
from mediaserver.media.digit_tone_queue import DEFAULT_DURATION_MS
from mediaserver.media.dtls_srtp import DtlsCertificate, DtlsRole
from mediaserver.media.floor import FloorHandler, FloorTracker
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.mixer import Conference, RoomSound, room_rate
from mediaserver.media.port import MediaSink, MediaSource
from mediaserver.media.port_allocator import PortAllocator
from mediaserver.media.relay import RelayDirection
from mediaserver.media.rtp_socket import Address, RtcpSocket, RtpSocket
from mediaserver.media.stream import (
    SUPPORTED_PTIME_MS,
    DigitHandler,
    DtmfMethod,
    MediaStream,
    StreamFormat,
    StreamMode,
    UnsupportedStreamError,
)
from mediaserver.media.stream_statistics import (
    EngineStatistics,
    RtpTotals,
    StreamStatistics,
    stream_statistics,
)
from mediaserver.media.ticker import Ticker
from mediaserver.media.webrtc_transport import WebRtcTransport
from mediaserver.rtp.ice_lite import IceCredentials

logger = logging.getLogger(__name__)


class StreamStateError(RuntimeError):
    """A command that does not fit the stream's state (closed, already connected...)."""


class MediaEngine:
    def __init__(
        self, config: RtpConfig, clock: Clock, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._allocator = PortAllocator(config.address, config.port_min, config.port_max)
        self._batch = BatchProcessor(clock, opus_complexity=config.opus_complexity)
        self._batch.on_stream_changed = self._update
        self._ticker = Ticker(self._loop, clock, self._batch.tick)
        self._streams: dict[int, MediaStream] = {}
        self._relays: dict[int, RelayDirection] = {}
        self._conferences: list[Conference] = []
        self._stream_ids = itertools.count(1)
        self._clock = clock
        self._rtp_totals = RtpTotals()
        self._certificate: DtlsCertificate | None = None  # made for the first WebRTC stream

    async def open_stream(
        self,
        encoding_name: str,
        ptime_ms: int = SUPPORTED_PTIME_MS,
        payload_type: int | None = None,
        telephone_event_pt: int | None = None,
        rtcp_mux: bool = False,
        peer_fmtp: str | None = None,
        ice: IceCredentials | None = None,
    ) -> MediaStream:
        """Bind an RTP port (and RTCP on +1 unless rtcp_mux) for one negotiated codec;
        `peer_fmtp` is the peer's a=fmtp for it (what its decoder takes). With `ice` the
        stream is WebRTC: ICE-lite, DTLS-SRTP and RTCP on the one port (webrtc_transport.py),
        and start_dtls once the peer's SDP has come."""
        stream_format = StreamFormat.negotiated(
            encoding_name, ptime_ms, payload_type, telephone_event_pt, peer_fmtp
        )
        rtcp_mux = rtcp_mux or ice is not None
        ports = self._allocator.allocate(rtcp_mux)
        stream_id = next(self._stream_ids)
        rtp = RtpSocket(_drop, _discard_rtcp, rtcp_mux, self._clock.now, stream_format.clock_rate)
        rtp.accept_payload_types(stream_format.payload_type, stream_format.telephone_event_pt)
        rtcp = None
        webrtc = None if ice is None else self._webrtc_transport(rtp, ice)
        try:
            await self._endpoint(ports.rtp_socket, webrtc or rtp)
            if ports.rtcp_socket is not None:
                rtcp = RtcpSocket(rtp)
                await self._endpoint(ports.rtcp_socket, rtcp)
        except BaseException:
            self._allocator.release(ports)
            raise
        stream = MediaStream(stream_id, stream_format, ports, rtp, rtcp)
        stream.webrtc = webrtc
        rtp.rtcp_handler = stream.receive_rtcp
        self._streams[stream_id] = stream
        return stream

    def change_format(
        self,
        stream: MediaStream,
        encoding_name: str,
        payload_type: int | None = None,
        telephone_event_pt: int | None = None,
        peer_fmtp: str | None = None,
    ) -> None:
        """Carry another codec on the same ports: an answer settled on something else than
        the stream was opened with, or a re-INVITE changed it (RFC 3264 §8.3.2)."""
        self._check_open(stream)
        new_format = StreamFormat.negotiated(
            encoding_name, stream.format.ptime_ms, payload_type, telephone_event_pt, peer_fmtp
        )
        if new_format == stream.format:
            return
        self._set_mode(stream, StreamMode.IDLE)
        stream.format = new_format
        stream.rtp.accept_payload_types(new_format.payload_type, new_format.telephone_event_pt)
        stream.rtp.receive_statistics.set_clock_rate(new_format.clock_rate)
        self._update(stream)

    def start_webrtc(
        self,
        stream: MediaStream,
        remote_ufrag: str,
        role: DtlsRole,
        remote_fingerprint: tuple[str, str],
    ) -> None:
        """A WebRTC stream's peer described itself: its ICE username fragment, its
        certificate's fingerprint and its DTLS role (RFC 5763 §5) start the handshake."""
        self._check_open(stream)
        if stream.webrtc is None:
            raise StreamStateError(f"{stream!r} is not a WebRTC stream")
        stream.webrtc.ice.expect_checks_from(remote_ufrag, self._clock.now())
        stream.webrtc.start_dtls(role, remote_fingerprint)

    def certificate_fingerprint(self) -> str:
        """The sha-256 fingerprint of the certificate every WebRTC stream presents."""
        return self._dtls_certificate().fingerprint()

    def connectivity_lost(self, stream: MediaStream) -> bool:
        """A WebRTC stream's peer is gone: ICE consent expired or DTLS failed or closed."""
        return stream.webrtc is not None and stream.webrtc.failed()

    def set_remote(self, stream: MediaStream, host: str, port: int, rtcp_port: int = 0) -> None:
        """The address from the peer's SDP; latching may replace it (comedia, RFC 4961)."""
        self._check_open(stream)
        stream.rtp.set_remote((host, port))
        if stream.rtcp is not None:
            stream.rtcp.remote_address = (host, rtcp_port or port + 1)

    def connect(self, first: MediaStream, second: MediaStream) -> None:
        """Bridge two streams both ways (a B2BUA call)."""
        for stream in (first, second):
            self._check_open(stream)
            if stream.peer is not None or stream.in_conference:
                raise StreamStateError(f"{stream!r} is already connected")
        if first is second:
            raise StreamStateError("a stream cannot be connected to itself")
        first.peer, second.peer = second, first
        self._update(first, second)

    def disconnect(self, stream: MediaStream) -> None:
        peer = stream.peer
        if peer is None:
            return
        stream.peer = peer.peer = None
        self._update(stream, peer)

    def play(
        self, stream: MediaStream, source: MediaSource, mixed: bool = False
    ) -> "asyncio.Future[bool]":
        """Send `source` instead of the peer's audio, or (`mixed`) added to it; the future
        says True when it ran out."""
        self._check_open(stream)
        self.stop_playing(stream)
        stream.source = source
        stream.source_mixed = mixed
        stream.playback_done = self._loop.create_future()
        self._update(stream)
        return stream.playback_done

    def stop_playing(self, stream: MediaStream) -> None:
        done = stream.playback_done
        stream.source = stream.playback_done = None
        if done is not None and not done.done():
            done.set_result(False)
        self._update(stream)

    def record(self, stream: MediaStream, sink: MediaSink, sent_too: bool = True) -> None:
        """Write what the stream receives, and (`sent_too`) what it sends mixed in, frame by
        frame into `sink`."""
        self._check_open(stream)
        stream.sink = sink
        stream.sink_hears_sent = sent_too
        self._update(stream)

    def stop_recording(self, stream: MediaStream) -> None:
        stream.sink = None
        self._update(stream)

    def detect_dtmf(self, stream: MediaStream, handler: DigitHandler, inband: bool = True) -> None:
        """Report digits (RFC 4733 events always; Goertzel on the audio if `inband`)."""
        self._check_open(stream)
        stream.digit_handler = handler
        stream.inband_detection = inband
        self._update(stream)

    def stop_detecting_dtmf(self, stream: MediaStream) -> None:
        stream.digit_handler = None
        stream.inband_detection = False
        self._update(stream)

    def send_dtmf(
        self,
        stream: MediaStream,
        digits: str,
        mode: DtmfMethod = DtmfMethod.RFC4733,
        duration_ms: int | None = None,
    ) -> "asyncio.Future[bool]":
        """Queue digits as RFC 4733 events or as in-band tones of `duration_ms` each (queued
        behind tones already playing, and played over a file or TTS, which then resumes:
        digit_tone_queue.py). The future says True once all have gone."""
        self._check_open(stream)
        tone_ms = DEFAULT_DURATION_MS if duration_ms is None else duration_ms
        if mode is DtmfMethod.INBAND:
            for digit in digits:
                stream.digit_tones.add(digit, tone_ms)
        elif stream.format.telephone_event_pt is None:
            raise UnsupportedStreamError(f"{stream!r} negotiated no telephone-event")
        else:
            self._batch.queue_telephone_events(stream, digits)
        done: asyncio.Future[bool] = self._loop.create_future()
        stream.dtmf_waiters.append(done)
        self._update(stream)
        return done

    def mix(self, streams: list[MediaStream]) -> Conference:
        """A conference of `streams` (more may join with join_conference)."""
        conference = Conference()
        self._conferences.append(conference)
        self._batch.conferences.append(conference)
        for stream in streams:
            self.join_conference(conference, stream)
        return conference

    def join_conference(self, conference: Conference, stream: MediaStream) -> None:
        self._check_open(stream)
        if stream.peer is not None:
            raise StreamStateError(f"{stream!r} is connected; disconnect it first")
        conference.add(stream)
        self._update(stream)

    def leave_conference(self, conference: Conference, stream: MediaStream) -> None:
        conference.remove(stream)
        self._update(stream)

    def mute_member(self, conference: Conference, stream: MediaStream, muted: bool) -> None:
        """A muted member is not mixed into what the others hear; it still hears them."""
        (conference.muted.add if muted else conference.muted.discard)(stream.stream_id)

    def deafen_member(self, conference: Conference, stream: MediaStream, deaf: bool) -> None:
        """A deaf member receives silence; the others still hear it."""
        (conference.deaf.add if deaf else conference.deaf.discard)(stream.stream_id)

    def play_to_conference(
        self, conference: Conference, source: MediaSource, sample_rate: int = SAMPLE_RATE
    ) -> "asyncio.Future[bool]":
        """Mix `source` (frames at `sample_rate`) into what every member hears; True once it
        ran out."""
        done: asyncio.Future[bool] = self._loop.create_future()
        conference.sounds.append(RoomSound(source, done, sample_rate))
        return done

    def watch_floor(self, conference: Conference, handler: FloorHandler | None) -> None:
        """Tell `handler` each time another member takes the floor (None: stop)."""
        conference.floor = None if handler is None else FloorTracker(handler)

    def record_conference(
        self, conference: Conference, sink: MediaSink | None, sample_rate: int = SAMPLE_RATE
    ) -> None:
        """Every member and every room sound, mixed, into `sink` (None: stop), which takes
        frames at `sample_rate`, whatever rate the room mixes at (it may change as wideband
        members come and go)."""
        conference.sink = sink
        conference.sink_rate = sample_rate

    def conference_rate(self, conference: Conference) -> int:
        """The rate the room mixes at with its members of now (mixer.py room_rate)."""
        return room_rate(conference.members)

    def close_conference(self, conference: Conference) -> None:
        conference.stop_sounds()
        conference.sink = conference.floor = None
        for stream in list(conference.members):
            self.leave_conference(conference, stream)
        if conference in self._conferences:
            self._conferences.remove(conference)
            self._batch.conferences.remove(conference)

    def close_stream(self, stream: MediaStream) -> None:
        """Detach everything, close the sockets and give the ports back."""
        if stream.closed:
            return
        self.disconnect(stream)
        for conference in self._conferences:
            conference.remove(stream)
        self.stop_playing(stream)
        stream.digit_tones.clear()
        stream.sink = stream.digit_handler = None
        stream.finish_dtmf(sent=False)
        stream.closed = True
        self._update(stream)
        self._rtp_totals.add_closed(stream_statistics(stream))
        stream.rtp.close()
        if stream.rtcp is not None:
            stream.rtcp.close()
        self._allocator.release(stream.ports)
        del self._streams[stream.stream_id]

    def close(self) -> None:
        for conference in list(self._conferences):
            self.close_conference(conference)
        for stream in list(self._streams.values()):
            self.close_stream(stream)
        self._ticker.stop()

    def statistics(self) -> EngineStatistics:
        streams = list(self._streams.values())
        ticks = self._ticker.statistics()
        modes = [stream.mode for stream in streams]
        return EngineStatistics(
            streams=len(streams),
            webrtc_streams=sum(s.webrtc is not None for s in streams),
            relay_streams=modes.count(StreamMode.RELAY),
            batch_streams=modes.count(StreamMode.BATCH),
            transcoding_streams=sum(
                s.peer is not None and s.peer.format.codec != s.format.codec for s in streams
            ),
            bound_ports=self._allocator.statistics().bound_ports,
            open_sockets=sum(
                (s.rtp.transport is not None)
                + (s.rtcp is not None and s.rtcp.transport is not None)
                for s in streams
            ),
            conferences=len(self._conferences),
            players=sum(s.source is not None or bool(s.digit_tones) for s in streams),
            recorders=sum(s.sink is not None for s in streams),
            dtmf_detectors=sum(s.digit_handler is not None for s in streams),
            timers=int(ticks.running),
            buffered_bytes=self._batch.bytes_buffered(),
            late_ticks=ticks.late_ticks,
            skipped_ticks=ticks.skipped_ticks,
            **{
                f"rtp_{name}": total
                for name, total in self._rtp_totals.totals(map(stream_statistics, streams)).items()
            },
        )

    def packets_received(self, stream: MediaStream) -> int:
        """Valid RTP the stream has taken from its source (stream_statistics' first figure,
        without the rest: a cheap question for a check that asks every second)."""
        return stream.rtp.packets_received

    def stream_statistics(self, stream: MediaStream) -> StreamStatistics:
        """A snapshot of one stream's counters (the call layer reads no stream internals)."""
        return stream_statistics(stream)

    def _webrtc_transport(self, rtp: RtpSocket, ice: IceCredentials) -> WebRtcTransport:
        return WebRtcTransport(rtp, ice, self._dtls_certificate(), self._clock, self._loop)

    def _dtls_certificate(self) -> DtlsCertificate:
        if self._certificate is None:
            self._certificate = DtlsCertificate()
        return self._certificate

    async def _endpoint(self, sock: object, protocol: asyncio.DatagramProtocol) -> None:
        await self._loop.create_datagram_endpoint(lambda: protocol, sock=sock)  # type: ignore[arg-type]

    def _check_open(self, stream: MediaStream) -> None:
        if stream.closed or self._streams.get(stream.stream_id) is not stream:
            raise StreamStateError(f"{stream!r} is closed or not ours")

    def _update(self, *streams: MediaStream) -> None:
        """Re-decide the path of each stream (and its peer) after a command."""
        affected = {s.stream_id: s for s in streams}
        affected.update({s.peer.stream_id: s.peer for s in streams if s.peer is not None})
        for stream in affected.values():
            self._set_mode(stream, _mode_for(stream))
        if self._batch.stream_count():
            self._ticker.start()
        else:
            self._ticker.stop()

    def _set_mode(self, stream: MediaStream, mode: StreamMode) -> None:
        if stream.mode is mode and mode is not StreamMode.RELAY:
            return
        self._keep_time(stream, mode)
        relay = self._relays.pop(stream.stream_id, None)
        if relay is not None:
            relay.stop()
        if stream.mode is StreamMode.BATCH and mode is not StreamMode.BATCH:
            self._batch.remove(stream)
        stream.mode = mode
        stream.rtp.relay = None
        if mode is StreamMode.RELAY:
            assert stream.peer is not None
            relay = RelayDirection(stream, stream.peer)
            self._relays[stream.stream_id] = relay
            stream.rtp.relay = relay.relay
            stream.rtp.handler = _drop
        elif mode is StreamMode.BATCH:
            stream.rtp.handler = self._batch.add(stream)
        else:
            stream.rtp.handler = _drop

    def _keep_time(self, stream: MediaStream, mode: StreamMode) -> None:
        """RFC 3550 §5.1: the timestamp is the sampling instant, so it runs on while an idle
        stream sends nothing (the batch path advances it every tick, even in silence)."""
        now = self._clock.now()
        if mode is StreamMode.IDLE:
            stream.idle_since = now
        elif stream.mode is StreamMode.IDLE and stream.idle_since is not None:
            frames = round((now - stream.idle_since) * 1000 / stream.format.ptime_ms)
            stream.sender.advance(frames * stream.format.samples_per_packet)
            stream.idle_since = None


def _mode_for(stream: MediaStream) -> StreamMode:
    if stream.closed:
        return StreamMode.IDLE
    peer = stream.peer
    if peer is None:
        return StreamMode.BATCH if stream.tapped() else StreamMode.IDLE
    if stream.format.relays_to(peer.format) and not stream.tapped() and not peer.tapped():
        return StreamMode.RELAY
    return StreamMode.BATCH


def _drop(data: bytes, addr: Address) -> None:
    """An idle stream: nothing consumes its media, so packets are dropped (counted by the
    socket as received)."""


def _discard_rtcp(data: bytes, addr: Address) -> None:
    """Until the stream takes its RTCP (MediaStream.receive_rtcp), there is nothing to read."""
