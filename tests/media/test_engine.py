"""The engine over real sockets on 127.0.0.1: paths, latching, rewriting, leak counters."""

import asyncio
import itertools
import struct

import numpy as np
import pytest

from audiocodecs.g711 import alaw_decode, ulaw_encode
from mediaserver.media.engine import MediaEngine, StreamStateError
from mediaserver.media.stream import MediaStream, StreamMode, UnsupportedStreamError
from mediaserver.rtp.rtcp import ReceiverReport, ReportBlock, serialize_compound
from mediaserver.rtp.source_latch import PROBATION_PACKETS

from .rtp_peer import RtpPeer, open_rtp_peer, peak_frequency

RATE = 8000


def rtp(sequence_number: int, timestamp: int, payload: bytes, payload_type: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, payload_type, sequence_number, timestamp, 0xABCD) + payload


def tone_frames(frequency: float, frames: int) -> list[np.ndarray]:
    t = np.arange(frames * 160) / RATE
    pcm = (10000 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
    return [pcm[i * 160 : (i + 1) * 160] for i in range(frames)]


async def bridged(
    engine: MediaEngine, first_codec: str = "PCMU", second_codec: str = "PCMU"
) -> tuple[MediaStream, MediaStream, RtpPeer, RtpPeer]:
    first = await engine.open_stream(
        first_codec, payload_type=None if first_codec != "opus" else 111
    )
    second = await engine.open_stream(
        second_codec, payload_type=None if second_codec != "opus" else 111
    )
    caller, callee = await open_rtp_peer(), await open_rtp_peer()
    engine.set_remote(first, "127.0.0.1", caller.port)
    engine.set_remote(second, "127.0.0.1", callee.port)
    engine.connect(first, second)
    return first, second, caller, callee


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


async def test_open_stream_binds_even_rtp_port_and_rtcp_next_to_it(engine: MediaEngine) -> None:
    stream = await engine.open_stream("PCMU")
    muxed = await engine.open_stream("PCMA", rtcp_mux=True)
    assert stream.local_address[1] % 2 == 0
    assert stream.rtcp is not None
    assert stream.rtcp.local_address[1] == stream.local_address[1] + 1
    assert muxed.rtcp is None
    assert engine.statistics().bound_ports == 3
    engine.close_stream(stream)
    engine.close_stream(muxed)
    assert engine.statistics().is_idle()


async def test_unsupported_streams_are_refused(engine: MediaEngine) -> None:
    with pytest.raises(UnsupportedStreamError, match="ptime"):
        await engine.open_stream("PCMU", ptime_ms=30)
    with pytest.raises(UnsupportedStreamError, match="payload type"):
        await engine.open_stream("opus")
    with pytest.raises(KeyError):
        await engine.open_stream("G729")
    assert engine.statistics().bound_ports == 0


async def test_opus_fec_is_encoded_only_for_a_peer_that_decodes_it(engine: MediaEngine) -> None:
    asked = await engine.open_stream("opus", payload_type=111, peer_fmtp="useinbandfec=1")
    silent = await engine.open_stream("opus", payload_type=111)
    assert (asked.format.inband_fec, silent.format.inband_fec) == (True, False)
    engine.change_format(silent, "opus", 111, peer_fmtp="minptime=10;useinbandfec=1")
    assert silent.format.inband_fec
    engine.change_format(asked, "PCMU", 0, peer_fmtp="useinbandfec=1")
    assert not asked.format.inband_fec  # a G.711 stream has no such thing
    for stream in (asked, silent):
        engine.close_stream(stream)


async def test_same_codec_bridge_relays_with_rewritten_header(engine: MediaEngine) -> None:
    first, second, caller, callee = await bridged(engine)
    assert first.mode is second.mode is StreamMode.RELAY
    for index in range(10):
        caller.send_to(first, rtp(1000 + index, 5000 + 160 * index, bytes([index]) * 160))
    await settle()
    assert len(callee.received) == 10
    headers = [struct.unpack("!BBHII", data[:12]) for data, _ in callee.received]
    assert {ssrc for *_, ssrc in headers} == {second.sender.ssrc}
    sequence_numbers = [h[2] for h in headers]
    assert sequence_numbers == [(sequence_numbers[0] + i) & 0xFFFF for i in range(10)]
    assert [(h[3] - headers[0][3]) & 0xFFFFFFFF for h in headers] == [160 * i for i in range(10)]
    assert callee.payloads() == [bytes([i]) * 160 for i in range(10)]
    # Symmetric RTP (RFC 4961): sent from the port the callee sends to.
    assert {addr[1] for _, addr in callee.received} == {second.local_address[1]}


async def test_reordering_survives_the_relay(engine: MediaEngine) -> None:
    first, _, caller, callee = await bridged(engine)
    for index in (0, 2, 1, 3):
        caller.send_to(first, rtp(7 + index, 160 * index, bytes([index]) * 160))
    await settle()
    sequence_numbers = [struct.unpack_from("!H", data, 2)[0] for data, _ in callee.received]
    base = sequence_numbers[0]
    assert [(s - base) & 0xFFFF for s in sequence_numbers] == [0, 2, 1, 3]


async def test_stream_latches_onto_the_real_source(engine: MediaEngine) -> None:
    first, second, caller, callee = await bridged(engine)
    engine.set_remote(first, "127.0.0.1", 9)  # SDP says discard; the caller sits elsewhere
    for index in range(PROBATION_PACKETS):  # comedia: learnt after probation (RFC 7362)
        caller.send_to(first, rtp(1 + index, 160 * index, bytes([index]) * 160))
    await settle()
    stranger = await open_rtp_peer()
    stranger.send_to(first, rtp(50, 0, b"\x00" * 160))
    callee.send_to(second, rtp(1, 0, b"\x7f" * 160))
    await settle()
    assert caller.payloads() == [b"\x7f" * 160]
    assert callee.payloads() == [bytes([PROBATION_PACKETS - 1]) * 160]  # nothing of the stranger
    assert first.rtp.statistics().dropped_foreign == PROBATION_PACKETS


async def test_garbage_is_counted_not_fatal(engine: MediaEngine) -> None:
    first, _, caller, _ = await bridged(engine, "PCMU", "PCMA")
    # (asyncio sends no empty datagram: the socket's own tests have that one)
    for junk in (b"\x80", b"\x00" * 12, b"\x80\x00" + b"\xff" * 5, b"\xbf\xff" * 8):
        caller.send_to(first, junk)
    caller.send_to(first, rtp(1, 0, b"\xff" * 160))
    await settle(0.1)
    assert first.mode is StreamMode.BATCH
    assert first.rtp.statistics().dropped_invalid == 4
    assert first.rtp.statistics().packets_received == 1


@pytest.mark.parametrize(("second_codec", "mode"), [("PCMU", "relay"), ("PCMA", "batch")])
async def test_junk_between_the_peers_packets_changes_nothing_downstream(
    engine: MediaEngine, second_codec: str, mode: str
) -> None:
    """A dropped datagram costs a counter and nothing else, on either path: what the callee
    gets is what it gets without junk (the same count, every sequence number in order)."""
    first, _, caller, callee = await bridged(engine, "PCMU", second_codec)
    assert first.mode.value == mode
    stranger = await open_rtp_peer()
    junk = [
        b"\x80",
        b"\x40" + rtp(9, 0, b"")[1:],
        rtp(40_000, 0, b"\x00" * 160),
        rtp(3, 0, b"", 96),
    ]
    for index, frame in enumerate(tone_frames(1000, 25)):
        caller.send_to(first, rtp(index, 160 * index, ulaw_encode(frame).tobytes()))
        for data in junk:
            caller.send_to(first, data)
            stranger.send_to(first, data)
        stranger.send_to(first, rtp(5000 + index, 0, b"\x00" * 160))
        await asyncio.sleep(0.02)
    await settle(0.2)
    sequence_numbers = [struct.unpack_from("!H", data, 2)[0] for data, _ in callee.received]
    assert {(b - a) & 0xFFFF for a, b in itertools.pairwise(sequence_numbers)} == {1}
    assert len(sequence_numbers) >= 20
    statistics = engine.stream_statistics(first)
    assert (statistics.packets_received, statistics.packets_lost) == (25, 0)
    assert statistics.dropped_invalid == 25 * 7  # the lone jump from the caller too
    assert statistics.dropped_foreign == 25 * 2
    assert statistics.source_changes == 0


async def test_rtp_totals_outlive_their_streams(engine: MediaEngine) -> None:
    first, second, caller, _ = await bridged(engine)
    stranger = await open_rtp_peer()
    caller.send_to(first, rtp(1, 0, b"\xff" * 160))
    caller.send_to(first, b"\x40" * 12)
    stranger.send_to(first, rtp(1, 0, b"\xff" * 160))
    await settle()
    engine.close_stream(first)
    totals = engine.statistics()
    assert (totals.rtp_packets_received, totals.rtp_packets_sent) == (1, 1)
    assert (totals.rtp_dropped_invalid, totals.rtp_dropped_foreign) == (1, 1)
    engine.close_stream(second)
    assert engine.statistics().rtp_packets_sent == 1


async def test_pcmu_to_pcma_is_transcoded_on_the_batch_path(engine: MediaEngine) -> None:
    first, second, caller, callee = await bridged(engine, "PCMU", "PCMA")
    assert first.mode is second.mode is StreamMode.BATCH
    for index, frame in enumerate(tone_frames(1000, 25)):
        caller.send_to(first, rtp(index, 160 * index, ulaw_encode(frame).tobytes()))
        await asyncio.sleep(0.02)
    await settle(0.2)
    assert len(callee.received) >= 20
    assert {data[1] & 0x7F for data, _ in callee.received} == {8}
    pcm = alaw_decode(np.frombuffer(b"".join(callee.payloads()), np.uint8))
    assert abs(peak_frequency(pcm) - 1000) < 30


async def test_tap_moves_both_sides_to_batch_and_back_keeping_sequence(
    engine: MediaEngine,
) -> None:
    first, second, caller, callee = await bridged(engine)
    caller.send_to(first, rtp(1, 0, b"\xff" * 160))
    await settle()
    digits: list[str] = []
    engine.detect_dtmf(first, lambda event: digits.append(event.digit))
    assert first.mode is second.mode is StreamMode.BATCH
    assert engine.statistics().timers == 1
    for index in range(2, 8):
        caller.send_to(first, rtp(index, 160 * index, b"\xff" * 160))
        await asyncio.sleep(0.02)
    await settle(0.1)
    engine.stop_detecting_dtmf(first)
    assert first.mode is StreamMode.RELAY
    assert engine.statistics().timers == 0
    caller.send_to(first, rtp(9, 160 * 9, b"\xff" * 160))
    await settle()
    sequence_numbers = [struct.unpack_from("!H", data, 2)[0] for data, _ in callee.received]
    steps = {(b - a) & 0xFFFF for a, b in itertools.pairwise(sequence_numbers)}
    assert steps == {1}, sequence_numbers
    assert len(sequence_numbers) >= 6


async def test_commands_on_closed_or_busy_streams_raise(engine: MediaEngine) -> None:
    first, second, _, _ = await bridged(engine)
    third = await engine.open_stream("PCMU")
    with pytest.raises(StreamStateError, match="already connected"):
        engine.connect(first, third)
    engine.close_stream(second)
    assert first.peer is None
    assert first.mode is StreamMode.IDLE
    with pytest.raises(StreamStateError, match="closed"):
        engine.set_remote(second, "127.0.0.1", 4000)
    engine.close_stream(second)  # closing twice is harmless


async def test_peer_reports_about_our_stream_are_kept(engine: MediaEngine) -> None:
    """RFC 3550 §6.4: the far side's receiver report on what we send: loss and jitter."""
    peer = await open_rtp_peer()
    stream = await engine.open_stream("PCMU")
    engine.set_remote(stream, "127.0.0.1", peer.port)
    ours = ReportBlock(stream.sender.ssrc, 64, 12, 1000, 80)
    other = ReportBlock(stream.sender.ssrc ^ 1, 255, 99, 1000, 800)
    report = serialize_compound([ReceiverReport(0xABCD, (other, ours))])
    assert peer.transport is not None
    peer.send_to(stream, rtp(1, 0, b"\xff" * 160))  # RTCP counts once RTP says who the peer is
    await asyncio.sleep(0.05)
    peer.transport.sendto(report, ("127.0.0.1", stream.ports.rtp_port + 1))
    one_block_missing = b"\x81\xc9\x00\x01" + (0xABCD).to_bytes(4, "big")
    peer.transport.sendto(one_block_missing, ("127.0.0.1", stream.ports.rtp_port + 1))
    await asyncio.sleep(0.1)
    assert stream.peer_report == ours
    assert (stream.rtcp_reports, stream.rtcp_invalid) == (1, 1)
