"""The batch path: every 20 ms, all non-relayed streams are processed together.

One tick: pop one frame per stream from its jitter buffer; decode all G.711 frames as one
table lookup over a stacked (streams x samples) array (Opus per stream); run in-band DTMF
detection over the stack; route (peer audio, conference minus-one mixes, players); write
recorders; encode the outputs the same way and send. Per-stream Python work is kept to the
few calls a packet needs (pop, header, send); everything per sample is numpy.

The stacks are 8 kHz. Members of wideband conference rooms have a second row at their room's
rate (wide_rows.py) that the decode fills, the room's mix reads and writes, and the encode
reads; a tick without wideband rooms does none of it.
"""

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from audiocodecs.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from audiocodecs.pcm import Pcm16
from mediaserver.clock import Clock
from mediaserver.media.batch_channel import BatchChannel
from mediaserver.media.dtmf_detector import DtmfDetector
from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.inband_events import HeldDigits, InbandEvents
from mediaserver.media.mixer import Conference, mix_rooms, saturate
from mediaserver.media.rtp_socket import PacketHandler
from mediaserver.media.stream import DtmfMethod, DtmfReceived, MediaStream
from mediaserver.media.wide_rows import WideRows
from mediaserver.rtp.telephone_event import EventReport, TelephoneEventSender

Codes = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]
StreamChanged = Callable[[MediaStream], None]

_DECODERS: dict[str, Callable[[Codes], Pcm16]] = {"PCMU": ulaw_decode, "PCMA": alaw_decode}
_ENCODERS: dict[str, Callable[[Pcm16], Codes]] = {"PCMU": ulaw_encode, "PCMA": alaw_encode}


class BatchProcessor:
    def __init__(self, clock: Clock, *, opus_complexity: int | None = None) -> None:
        self._clock = clock
        self._opus_complexity = opus_complexity
        self._channels: dict[int, BatchChannel] = {}
        self._detector = DtmfDetector()
        self._inband_events = InbandEvents()
        self.conferences: list[Conference] = []
        self._wide_stream_ids: set[int] = set()  # channels running at a wideband room's rate
        self.on_stream_changed: StreamChanged = _ignore_change

    def add(self, stream: MediaStream) -> PacketHandler:
        """Put `stream` on the batch path; returns its datagram handler."""
        channel = self._channels.get(stream.stream_id)
        if channel is None:
            channel = BatchChannel(
                stream, self._clock, self._telephone_event_received, self._opus_complexity
            )
            self._channels[stream.stream_id] = channel
            if stream.digit_held is not None:
                self._detector.hold(stream.stream_id, stream.digit_held)
        return channel.receive

    def remove(self, stream: MediaStream) -> None:
        self._channels.pop(stream.stream_id, None)
        stream.digit_held = self._detector.forget(stream.stream_id)
        self._inband_events.forget(stream.stream_id)

    def stream_count(self) -> int:
        return len(self._channels)

    def bytes_buffered(self) -> int:
        return sum(channel.bytes_buffered() for channel in self._channels.values())

    def queue_telephone_events(self, stream: MediaStream, digits: str) -> None:
        """RFC 4733 §2.5: each press as packets on successive ticks, sharing one timestamp."""
        sender = TelephoneEventSender()
        timestamp = stream.sender.timestamp
        for digit in digits:
            packets = sender.start(digit, timestamp)
            for packet in packets:
                stream.dtmf_outbox.append((packet.payload, packet.marker, packet.timestamp))
            # The next press starts when this one's last packet has gone, one per tick.
            elapsed = len(packets) * stream.format.samples_per_packet
            timestamp = (timestamp + elapsed) & 0xFFFFFFFF

    def _telephone_event_received(self, stream: MediaStream, report: EventReport) -> None:
        """Report each press once, and pass it on."""
        if report.started and stream.digit_handler is not None:
            stream.digit_handler(DtmfReceived(stream.stream_id, report.digit, DtmfMethod.RFC4733))
        self._pass_event(stream, report)

    def _pass_event(self, stream: MediaStream, report: EventReport) -> None:
        """A digit crosses a bridge as RFC 4733 when the peer negotiated events (like the relay
        path would), else as a tone that follows the event in its audio (what a trunk without
        telephone-event expects; digit_tone_queue.py)."""
        peer = stream.peer
        if peer is None:
            return
        if peer.format.telephone_event_pt is not None:
            if report.started:
                self.queue_telephone_events(peer, report.digit)
            return
        was_idle = not peer.digit_tones
        peer.digit_tones.follow(report, stream.format.clock_rate)
        if was_idle:
            self.on_stream_changed(peer)

    def tick(self, index: int) -> None:
        channels = list(self._channels.values())
        if not channels:
            return
        self._follow_room_rates()
        wide = WideRows.of(channels)
        inputs, active = self._decode(channels, self._clock.now(), wide)
        self._detect(channels, inputs, active)
        outputs, sending = self._route(channels, inputs, active, wide)
        self._record(channels, inputs, outputs)
        self._send(channels, outputs, sending, wide)

    def _follow_room_rates(self) -> None:
        """Each channel runs at its room's rate (mixer.py room_rate), 8 kHz outside a room;
        only members of wideband rooms, and those that just left one, are looked at."""
        wide_ids: set[int] = set()
        for conference in self.conferences:
            rate = conference.follow_rate()
            if rate == SAMPLE_RATE:
                continue
            for stream in conference.members:
                channel = self._channels.get(stream.stream_id)
                if channel is not None:
                    channel.set_rate(rate)
                    wide_ids.add(stream.stream_id)
        for stream_id in self._wide_stream_ids - wide_ids:
            channel = self._channels.get(stream_id)
            if channel is not None:
                channel.set_rate(SAMPLE_RATE)
        self._wide_stream_ids = wide_ids

    def _decode(
        self, channels: Sequence[BatchChannel], now: float, wide: WideRows
    ) -> tuple[Pcm16, Mask]:
        inputs = np.zeros((len(channels), FRAME_SAMPLES), np.int16)
        active = np.zeros(len(channels), np.bool_)
        stacked: dict[str, tuple[list[int], list[bytes]]] = {"PCMU": ([], []), "PCMA": ([], [])}
        for row, channel in enumerate(channels):
            frame = channel.take(now)
            if frame is None:
                continue
            active[row] = True
            if isinstance(frame, bytes):
                rows, payloads = stacked[channel.codec]
                rows.append(row)
                payloads.append(frame)
            elif channel.codec_rate == SAMPLE_RATE:
                inputs[row] = frame
            else:
                wide.inputs[wide.index_of_row[row]] = frame
        for codec, (rows, payloads) in stacked.items():
            if rows:
                codes = np.frombuffer(b"".join(payloads), np.uint8)
                inputs[rows] = _DECODERS[codec](codes.reshape(len(rows), FRAME_SAMPLES))
        wide.receive(channels, inputs)
        return inputs, active

    def _detect(self, channels: Sequence[BatchChannel], inputs: Pcm16, active: Mask) -> None:
        rows = [row for row, channel in enumerate(channels) if channel.stream.detects_inband()]
        if not rows:
            self._inband_events.follow({})  # an event whose stream stopped detecting ends
            return
        digits = self._detector.detect(
            [channels[row].stream.stream_id for row in rows], inputs[rows]
        )
        for row, digit in zip(rows, digits, strict=True):
            if digit is None:
                continue
            stream = channels[row].stream
            if stream.digit_handler is not None:
                stream.digit_handler(DtmfReceived(stream.stream_id, digit, DtmfMethod.INBAND))
        self._inband_events.follow(self._held_for_events())

    def _held_for_events(self) -> HeldDigits:
        """The digits held now on streams whose peer takes them as RFC 4733 events."""
        held: HeldDigits = {}
        for stream_id, digit in self._detector.held().items():
            peer = self._channels[stream_id].stream.peer
            if peer is not None and peer.format.telephone_event_pt is not None:
                held[stream_id] = (peer, digit)
        return held

    def _route(
        self, channels: Sequence[BatchChannel], inputs: Pcm16, active: Mask, wide: WideRows
    ) -> tuple[Pcm16, Mask]:
        outputs = np.zeros_like(inputs)
        sending = np.zeros(len(channels), np.bool_)
        row_of = {channel.stream.stream_id: row for row, channel in enumerate(channels)}
        targets, sources = _peer_rows(channels, row_of)
        if targets:
            outputs[targets] = inputs[sources]
            sending[targets] = active[sources]
        self._mix(row_of, inputs, active, outputs, sending, wide)
        for row, channel in enumerate(channels):
            if channel.stream.digit_tones:
                sending[row] = self._play_digit_tones(channel, outputs, row, wide)
            elif channel.stream.source is not None:
                played = self._play(channel, outputs, row, wide)
                sending[row] = played or (channel.stream.in_conference and bool(sending[row]))
        wide.send(channels, outputs)
        return outputs, sending

    def _mix(
        self,
        row_of: dict[int, int],
        inputs: Pcm16,
        active: Mask,
        outputs: Pcm16,
        sending: Mask,
        wide: WideRows,
    ) -> None:
        """The rooms of each rate in one pass of their own: 8 kHz rooms over the 8 kHz
        stack, wideband rooms over the wideband rows."""
        narrow_rooms = [c for c in self.conferences if c.sample_rate == SAMPLE_RATE]
        mixed = mix_rooms(narrow_rooms, row_of, inputs, active)
        if mixed.rows:
            outputs[mixed.rows] = mixed.heard
            sending[mixed.rows] = True
        if not wide.rows:
            return
        wide_rooms = [c for c in self.conferences if c.sample_rate != SAMPLE_RATE]
        mixed = mix_rooms(wide_rooms, wide.index_of_stream, wide.inputs, active[wide.rows])
        if mixed.rows:
            wide.outputs[mixed.rows] = mixed.heard
            sending[[wide.rows[index] for index in mixed.rows]] = True

    def _play_digit_tones(
        self, channel: BatchChannel, outputs: Pcm16, row: int, wide: WideRows
    ) -> bool:
        """Tones replace what the stream would send; a file or TTS waits, unread."""
        stream = channel.stream
        frame = stream.digit_tones.read_frame()
        assert frame is not None  # the queue was not empty
        if channel.wide:
            wide.play(channel, row, frame, over=False)
        else:
            outputs[row] = frame
        if not stream.digit_tones:
            self._dtmf_sent(stream)
        return True

    def _play(self, channel: BatchChannel, outputs: Pcm16, row: int, wide: WideRows) -> bool:
        stream = channel.stream
        assert stream.source is not None
        frame = stream.source.read_frame()
        over = stream.in_conference or stream.source_mixed
        if frame is not None and channel.wide:
            wide.play(channel, row, frame, over)
            return True
        if frame is not None and over:
            # A sound to one member is mixed over what the room says, not swapped in; a
            # mixed one over what the bridged peer says.
            outputs[row] = saturate(outputs[row].astype(np.int32) + frame)
            return True
        if frame is not None:
            outputs[row] = frame
            return True
        done = stream.playback_done
        stream.source = stream.playback_done = None
        if done is not None and not done.done():
            done.set_result(True)
        self.on_stream_changed(stream)
        return False

    def _record(self, channels: Sequence[BatchChannel], inputs: Pcm16, outputs: Pcm16) -> None:
        for row, channel in enumerate(channels):
            sink = channel.stream.sink
            if sink is None:
                continue
            if not channel.stream.sink_hears_sent:
                sink.write_frame(inputs[row])
                continue
            both = inputs[row].astype(np.int32) + outputs[row]
            sink.write_frame(np.clip(both, -32768, 32767).astype(np.int16))

    def _send(
        self, channels: Sequence[BatchChannel], outputs: Pcm16, sending: Mask, wide: WideRows
    ) -> None:
        payloads = self._encode(channels, outputs, sending, wide)
        for row, channel in enumerate(channels):
            stream = channel.stream
            if stream.dtmf_outbox:
                self._send_event(stream)
                channel.sending = False
            elif sending[row]:
                header = stream.sender.header(stream.format.payload_type, not channel.sending)
                stream.rtp.send(header + payloads[row])
                channel.sending = True
            else:
                channel.sending = False
            stream.sender.advance(stream.format.samples_per_packet)

    def _encode(
        self, channels: Sequence[BatchChannel], outputs: Pcm16, sending: Mask, wide: WideRows
    ) -> dict[int, bytes]:
        payloads: dict[int, bytes] = {}
        stacked: dict[str, list[int]] = {"PCMU": [], "PCMA": []}
        for row, channel in enumerate(channels):
            if not sending[row] or channel.stream.dtmf_outbox:
                continue
            if channel.stacked:
                stacked[channel.codec].append(row)
            else:
                payloads[row] = channel.encode_alone(wide.encoded_frame(channel, row, outputs))
        for codec, rows in stacked.items():
            if rows:
                blob = _ENCODERS[codec](outputs[rows]).tobytes()
                for index, row in enumerate(rows):
                    payloads[row] = blob[index * FRAME_SAMPLES : (index + 1) * FRAME_SAMPLES]
        return payloads

    def _send_event(self, stream: MediaStream) -> None:
        payload, marker, timestamp = stream.dtmf_outbox.popleft()
        event_type = stream.format.telephone_event_pt
        assert event_type is not None
        audio_timestamp = stream.sender.timestamp
        stream.sender.timestamp = timestamp
        stream.rtp.send(stream.sender.header(event_type, marker) + payload)
        stream.sender.timestamp = audio_timestamp
        if not stream.dtmf_outbox:
            self._dtmf_sent(stream)

    def _dtmf_sent(self, stream: MediaStream) -> None:
        """The outbox or the tones have drained: send_dtmf is done once both have."""
        if not stream.dtmf_outbox and not stream.digit_tones:
            stream.finish_dtmf(sent=True)
        self.on_stream_changed(stream)


def _peer_rows(
    channels: Sequence[BatchChannel], row_of: dict[int, int]
) -> tuple[list[int], list[int]]:
    """(row that sends, row whose input it sends) for every connected pair."""
    targets: list[int] = []
    sources: list[int] = []
    for row, channel in enumerate(channels):
        peer = channel.stream.peer
        if peer is not None and peer.stream_id in row_of:
            targets.append(row)
            sources.append(row_of[peer.stream_id])
    return targets, sources


def _ignore_change(stream: MediaStream) -> None:
    """Default until the engine subscribes: a BatchProcessor used alone (benchmarks)."""
