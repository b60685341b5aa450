"""A SIPp UAC as a caller that sends a tone and stays until the server hangs up
(fixtures/sipp/conference_member.xml), with what it receives captured on loopback.

    with SippMember(tmp_path / "carol", server.sip_port, "carol", "secret", "PCMA", 2640,
                    "room") as carol:
        ...                           # the call is placed at once
        carol.wait()                  # after the server's BYE: (exit code, output)
        carol.heard(start, end)       # decoded G.711 the server sent it, in that wall time

The caller authenticates with digest as an endpoint (its credentials in an injection file),
offers one G.711 codec and streams the tone with SIPp's own rtp_stream (a raw G.711 file
made by sox, looped). SIPp plays no role in the measurement: dumpcap keeps the packets the
kernel delivers to its RTP port, and the test decodes them.
"""

import subprocess
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import numpy.typing as npt

from audiocodecs.g711 import alaw_decode, ulaw_decode
from mediaserver.rtp.packet import RtpPacket
from tests.conftest import SIP_DOMAIN
from tests.interop.sipp import SippServer, free_udp_port
from tests.loopback_capture import LoopbackCapture

# Static payload types (RFC 3551 §6), sox's name for the encoding, and its decoder.
G711 = {"PCMU": (0, "u-law", ulaw_decode), "PCMA": (8, "a-law", alaw_decode)}
TONE_SECONDS = 2  # looped; a whole number of cycles of any integer frequency
TONE_VOLUME = 0.3  # of full scale, about -10 dBFS


class SippMember:
    def __init__(
        self,
        workdir: Path,
        server_port: int,
        username: str,
        password: str,
        codec: str,
        tone_hz: int,
        called: str,
    ) -> None:
        self.workdir = workdir
        self.codec = codec
        self.media_port = free_udp_port()
        self._arguments = [
            "-inf", str(self._injection_file(username, password)), "-s", called,
            "-mp", str(self.media_port), "-rtp_payload", str(G711[codec][0]),
            "-key", "pt", str(G711[codec][0]), "-key", "rtpmap", f"{codec}/8000",
        ]  # fmt: skip
        self._server = f"127.0.0.1:{server_port}"
        self._tone_hz = tone_hz
        self._stack = ExitStack()
        self._capture: LoopbackCapture | None = None
        self._sipp: SippServer | None = None

    def __enter__(self) -> "SippMember":
        self._make_tone()
        with self._stack as stack:
            self._capture = stack.enter_context(
                LoopbackCapture(self.workdir / "received.pcap", f"udp dst port {self.media_port}")
            )
            sipp = SippServer(
                "conference_member.xml", *self._arguments, cwd=self.workdir, target=self._server
            )
            self._sipp = stack.enter_context(sipp)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def wait(self, timeout: float = 30) -> tuple[int, str]:
        assert self._sipp is not None
        return self._sipp.wait(timeout)

    def heard(self, start: float, end: float) -> npt.NDArray[np.float64]:
        """The audio of the RTP that reached SIPp's port between wall times `start` and `end`
        (the capture is complete once the block has ended)."""
        assert self._capture is not None
        decode = G711[self.codec][2]
        payloads = [
            RtpPacket.parse(data).payload
            for arrival, data in self._capture.udp_payloads()
            if start <= arrival <= end
        ]
        codes = np.frombuffer(b"".join(payloads), np.uint8)
        return decode(codes).astype(np.float64)

    def _injection_file(self, username: str, password: str) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "caller.csv"
        path.write_text(
            f"SEQUENTIAL\n{username};{SIP_DOMAIN};"
            f"[authentication username={username} password={password}]\n"
        )
        return path

    def _make_tone(self) -> None:
        subprocess.run(
            ["sox", "-n", "-r", "8000", "-c", "1", "-e", G711[self.codec][1], "-t", "raw",
             str(self.workdir / "tone.raw"), "synth", str(TONE_SECONDS), "sine",
             str(self._tone_hz), "vol", str(TONE_VOLUME)],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
