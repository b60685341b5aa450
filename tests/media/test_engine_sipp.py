"""SIPp streams a 1 kHz tone into an engine stream; the far side must hear 1 kHz.

The engine has no SIP: a SIPp UAS answers the SIPp UAC with SDP that points the UAC's media
at the engine's port (fixtures/sipp/media_uas.xml, -set engine_port), and the UAC's
rtp_stream action sends tone.wav (8 kHz u-law, made with sox) as PCMU there. The stream is
connected to a second stream whose remote address is a test socket; what arrives there is
decoded and its FFT peak compared with the tone.
"""

import asyncio
import shutil
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from audiocodecs.g711 import alaw_decode, ulaw_decode
from mediaserver.media.engine import MediaEngine
from mediaserver.media.stream import MediaStream, StreamMode

from .rtp_peer import RtpPeer, open_rtp_peer, peak_frequency

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        shutil.which("sipp") is None or shutil.which("sox") is None, reason="needs sipp and sox"
    ),
]

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sipp"
TONE_HZ = 1000
TONE_SECONDS = 2
OPUS_PT = 111


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def far_end() -> AsyncIterator[RtpPeer]:
    peer = await open_rtp_peer()
    yield peer
    assert peer.transport is not None
    peer.transport.close()


async def sipp_call(engine_port: int, workdir: Path) -> None:
    """One SIPp call whose caller streams the tone as PCMU to `engine_port`."""
    sox = await asyncio.create_subprocess_exec(
        "sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", str(workdir / "tone.wav"),
        "synth", str(TONE_SECONDS), "sine", str(TONE_HZ),
    )  # fmt: skip
    assert await sox.wait() == 0
    uas_port = free_udp_port()
    common = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", "20"]
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(FIXTURES / "media_uas.xml"), "-set", "engine_port", str(engine_port),
        "-p", str(uas_port), "-mp", str(free_udp_port()), *common,
        cwd=workdir, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.3)
    uac = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(FIXTURES / "media_uac.xml"), f"127.0.0.1:{uas_port}",
        "-p", str(free_udp_port()), "-mp", str(free_udp_port()), *common,
        cwd=workdir, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert await asyncio.wait_for(uac.wait(), 25) == 0
        assert await asyncio.wait_for(uas.wait(), 10) == 0
    finally:
        for process in (uac, uas):
            if process.returncode is None:
                process.kill()
                await process.wait()


def payloads_in_order(packets: list[bytes]) -> bytes:
    """Payloads sorted by sequence number (RFC 3550 §A.1 unwrapping is not needed here)."""
    numbered = sorted((struct.unpack_from("!H", p, 2)[0], p[12:]) for p in packets)
    return b"".join(payload for _, payload in numbered)


def assert_tone(pcm: np.ndarray) -> None:
    assert len(pcm) >= 0.8 * TONE_SECONDS * 8000
    assert abs(peak_frequency(pcm) - TONE_HZ) < 20


async def caller_stream(engine: MediaEngine) -> MediaStream:
    return await engine.open_stream("PCMU")


async def test_pcmu_to_pcmu_is_relayed(
    engine: MediaEngine, far_end: RtpPeer, tmp_path: Path
) -> None:
    caller = await caller_stream(engine)
    callee = await engine.open_stream("PCMU")
    engine.set_remote(callee, "127.0.0.1", far_end.port)
    engine.connect(caller, callee)
    assert caller.mode is callee.mode is StreamMode.RELAY
    await sipp_call(caller.local_address[1], tmp_path)
    assert engine.statistics().relay_streams == 2
    assert_tone(ulaw_decode(np.frombuffer(payloads_in_order(far_end.packets), np.uint8)))


async def test_pcmu_to_pcma_is_transcoded(
    engine: MediaEngine, far_end: RtpPeer, tmp_path: Path
) -> None:
    caller = await caller_stream(engine)
    callee = await engine.open_stream("PCMA")
    engine.set_remote(callee, "127.0.0.1", far_end.port)
    engine.connect(caller, callee)
    assert engine.statistics().batch_streams == 2
    await sipp_call(caller.local_address[1], tmp_path)
    assert {p[1] & 0x7F for p in far_end.packets} == {8}
    assert_tone(alaw_decode(np.frombuffer(payloads_in_order(far_end.packets), np.uint8)))


async def test_pcmu_through_opus_and_back(
    engine: MediaEngine, far_end: RtpPeer, tmp_path: Path
) -> None:
    caller = await caller_stream(engine)
    opus_out = await engine.open_stream("opus", payload_type=OPUS_PT)
    opus_in = await engine.open_stream("opus", payload_type=OPUS_PT)
    callee = await engine.open_stream("PCMU")
    engine.set_remote(opus_out, "127.0.0.1", opus_in.local_address[1])
    engine.set_remote(opus_in, "127.0.0.1", opus_out.local_address[1])
    engine.set_remote(callee, "127.0.0.1", far_end.port)
    engine.connect(caller, opus_out)
    engine.connect(opus_in, callee)
    await sipp_call(caller.local_address[1], tmp_path)
    assert opus_in.rtp.statistics().packets_received >= 0.8 * TONE_SECONDS * 50
    assert_tone(ulaw_decode(np.frombuffer(payloads_in_order(far_end.packets), np.uint8)))
